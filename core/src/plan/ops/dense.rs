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

/// A multiply-add per weight, an addition per bias.
pub(super) fn flops(info: &LayerInfo) -> usize {
    2 * info.inputs * info.units + if info.bias { info.units } else { 0 }
}

pub(super) fn forward(cx: &mut Lowering<'_>, layer: usize, input: Source) -> Source {
    let (info, params) = (&cx.net.layers[layer], &cx.net.params[layer]);
    let (z, a) = (cx.take(info.units, "z"), cx.take(info.units, "a"));
    cx.steps.push(Step::Dense {
        input,
        weight: params.weight.clone(),
        bias: params.bias.clone(),
        output: z,
        inputs: info.inputs,
        outputs: info.units,
    });
    cx.steps.push(Step::Activation { activation: info.activation, z, a });
    cx.state.dense[cx.index] = Some((z, a));
    Source::Buf(a)
}

/// The head's gradient is already with respect to `z` (the loss fuses the
/// output's activation); any other layer first takes its activation's.
pub(super) fn backward(cx: &mut Lowering<'_>, layer: usize, grad: Buf) {
    let (z, a) = cx.state.dense[cx.index].expect("a dense node has its buffers");
    let (info, params) = (&cx.net.layers[layer], &cx.net.params[layer]);
    if cx.index != cx.grads.head {
        cx.steps.push(Step::ActivationBackward { activation: info.activation, z, a, grad });
    }
    let input = cx.node().inputs[0];
    let (dx, accumulate) = cx.input_gradient(input);
    cx.steps.push(Step::DenseBackward {
        input: cx.state.values[input],
        weight: params.weight.clone(),
        bias: params.bias.clone(),
        dz: grad,
        dx,
        inputs: info.inputs,
        outputs: info.units,
    });
    cx.accumulate(dx, accumulate);
}
