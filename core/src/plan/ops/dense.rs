//! A dense layer, [`Op::Dense`](crate::graph::Op::Dense): `z = x·W + b`,
//! then its activation `a = f(z)`.

use super::*;

/// The input width and the units of a dense node.
fn sizes(node: &Node, nodes: &[Node]) -> (usize, usize) {
    (nodes[node.inputs[0]].width, node.width)
}

/// The weight `[inputs][units]` (Xavier-uniform by default, penalties
/// apply), then the bias `[units]` if it has one (zeros by default).
pub(super) fn tensors(bias: bool, node: &Node, nodes: &[Node]) -> Vec<TensorSpec> {
    let (inputs, units) = sizes(node, nodes);
    let settings = node.params;
    let mut tensors = alloc::vec![TensorSpec {
        role: Role::Weight,
        shape: alloc::vec![inputs, units],
        init: settings.init.unwrap_or(Init::XavierUniform),
        fans: (inputs, units),
        penalties: (settings.l1, settings.l2),
    }];
    if bias {
        tensors.push(TensorSpec {
            role: Role::Bias,
            shape: alloc::vec![units],
            init: settings.bias_init.unwrap_or(Init::Zeros),
            fans: (inputs, units),
            penalties: (0.0, 0.0),
        });
    }
    tensors
}

/// A multiply-add per weight, an addition per bias.
pub(super) fn flops(bias: bool, node: &Node, nodes: &[Node]) -> usize {
    let (inputs, units) = sizes(node, nodes);
    2 * inputs * units + if bias { units } else { 0 }
}

pub(super) fn forward(cx: &mut Lowering<'_>, activation: Activation, input: Source) -> Source {
    let (inputs, units) = sizes(cx.node(), cx.net.nodes);
    let (weight, bias) = (cx.net.range(cx.index, Role::Weight), cx.net.range(cx.index, Role::Bias));
    let z = cx.take(units, "z");
    let weight = weight.expect("a dense node has a weight");
    cx.steps.push(Step::Dense { input, weight, bias, output: z, inputs, outputs: units });
    // Without an activation the output is `z` itself: no copy, no slot.
    let a = if activation == Activation::Identity {
        z
    } else {
        let a = cx.take(units, "a");
        cx.steps.push(Step::Activation { activation, z, a });
        a
    };
    cx.state.dense[cx.index] = Some((z, a));
    Source::Buf(a)
}

/// The head's gradient is already with respect to `z` (the loss fuses the
/// output's activation); any other layer first takes its activation's.
pub(super) fn backward(cx: &mut Lowering<'_>, activation: Activation, grad: Buf) {
    let (z, a) = cx.state.dense[cx.index].expect("a dense node has its buffers");
    let (inputs, units) = sizes(cx.node(), cx.net.nodes);
    let weight = cx.net.range(cx.index, Role::Weight).expect("a dense node has a weight");
    let bias = cx.net.range(cx.index, Role::Bias);
    if cx.index != cx.grads.head && activation != Activation::Identity {
        cx.steps.push(Step::ActivationBackward { activation, z, a, grad });
    }
    let input = cx.node().inputs[0];
    let (dx, accumulate) = cx.input_gradient(input);
    cx.steps.push(Step::DenseBackward {
        input: cx.state.values[input],
        weight,
        bias,
        dz: grad,
        dx,
        inputs,
        outputs: units,
    });
    cx.accumulate(dx, accumulate);
}
