//! A dense layer, [`Op::Dense`](crate::graph::Op::Dense): `z = x·W + b`,
//! then its activation `a = f(z)`.

use super::*;

/// The weight `[inputs][units]`, then the bias `[units]` if it has one.
pub(super) fn tensors(info: &LayerInfo) -> Vec<(Role, Vec<usize>)> {
    let mut tensors = alloc::vec![(Role::Weight, alloc::vec![info.inputs, info.units])];
    if info.bias {
        tensors.push((Role::Bias, alloc::vec![info.units]));
    }
    tensors
}

pub(super) fn forward(
    cx: &mut Lowering,
    state: &mut Forward,
    net: &Parts<'_>,
    index: usize,
    layer: usize,
    input: Source,
) -> Source {
    let info = &net.layers[layer];
    let (z, a) = (cx.take(info.units, "z"), cx.take(info.units, "a"));
    cx.steps.push(Step::Dense {
        input,
        weight: net.params[layer].weight.clone(),
        bias: net.params[layer].bias.clone(),
        output: z,
        inputs: info.inputs,
        outputs: info.units,
    });
    cx.steps.push(Step::Activation { activation: info.activation, z, a });
    state.dense[index] = Some((z, a));
    Source::Buf(a)
}

/// The head's gradient is already with respect to `z` (the loss fuses the
/// output's activation); any other layer first takes its activation's.
pub(super) fn backward(
    cx: &mut Lowering,
    grads: &mut Gradients,
    net: &Parts<'_>,
    state: &Forward,
    index: usize,
    layer: usize,
    grad: Buf,
) {
    let (z, a) = state.dense[index].expect("a dense node has its buffers");
    let info = &net.layers[layer];
    if index != grads.head {
        cx.steps.push(Step::ActivationBackward { activation: info.activation, z, a, grad });
    }
    let input = net.nodes[index].inputs[0];
    let (dx, accumulate) = cx.input_gradient(grads, net.nodes, input);
    cx.steps.push(Step::DenseBackward {
        input: state.values[input],
        weight: net.params[layer].weight.clone(),
        bias: net.params[layer].bias.clone(),
        dz: grad,
        dx,
        inputs: info.inputs,
        outputs: info.units,
    });
    cx.accumulate(dx, accumulate);
}
