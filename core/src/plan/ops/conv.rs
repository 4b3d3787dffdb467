//! A 1-D or 2-D convolution, [`Op::Conv`](crate::graph::Op::Conv).

use super::*;
use crate::conv::{output_size, ConvGeometry};

/// Channels divide into its groups, the output sizes follow from the input's
/// and the input and output widths are the geometry's.
pub(super) fn fits(g: &ConvGeometry, node: &Node, nodes: &[Node]) -> bool {
    let axis = |a: usize, input: usize| output_size(input, g.kernel[a], g.stride[a], g.padding[a], g.dilation[a]);
    g.groups > 0
        && g.in_channels % g.groups == 0
        && g.out_channels % g.groups == 0
        && axis(0, g.in_h) == Some(g.out_h)
        && axis(1, g.in_w) == Some(g.out_w)
        && single(node, nodes).is_some_and(|input| input.width == g.input_len())
        && node.width == g.output_len()
}

/// The weight `[out][in/groups][k…]` (`[out][in/groups][k]` for `conv1d`),
/// then the bias `[out]` if it has one; both PyTorch's default
/// U(±1/√fan_in) unless the node says otherwise, penalties on the weight.
pub(super) fn tensors(g: &ConvGeometry, bias: bool, one_d: bool, settings: ParamSettings) -> Vec<TensorSpec> {
    let groups = g.groups.max(1);
    let per_group = g.in_channels / groups;
    let shape = if one_d {
        alloc::vec![g.out_channels, per_group, g.kernel[1]]
    } else {
        alloc::vec![g.out_channels, per_group, g.kernel[0], g.kernel[1]]
    };
    let window = g.kernel[0] * g.kernel[1];
    let fans = (per_group * window, g.out_channels / groups * window);
    let mut tensors = alloc::vec![TensorSpec {
        role: Role::Weight,
        shape,
        init: settings.init.unwrap_or(Init::TorchDefault),
        fans,
        penalties: (settings.l1, settings.l2),
    }];
    if bias {
        tensors.push(TensorSpec {
            role: Role::Bias,
            shape: alloc::vec![g.out_channels],
            init: settings.bias_init.unwrap_or(Init::TorchDefault),
            fans,
            penalties: (0.0, 0.0),
        });
    }
    tensors
}

/// A multiply-add per weight and output position, an addition per bias and position.
pub(super) fn flops(g: &ConvGeometry, bias: bool) -> usize {
    let positions = g.out_h * g.out_w;
    2 * g.weight_len() * positions + if bias { g.out_channels * positions } else { 0 }
}

pub(super) fn forward(cx: &mut Lowering<'_>, geometry: ConvGeometry, input: Source) -> Source {
    let (weight, bias) = weight_and_bias(cx);
    let output = cx.take(cx.node().width, "out");
    cx.steps.push(Step::Conv { input, weight, bias, output, geometry });
    Source::Buf(output)
}

pub(super) fn backward(cx: &mut Lowering<'_>, geometry: ConvGeometry, grad: Buf) {
    let (weight, bias) = weight_and_bias(cx);
    let input = cx.node().inputs[0];
    let (dx, accumulate) = cx.input_gradient(input);
    let source = cx.state.values[input];
    cx.steps.push(Step::ConvBackward { input: source, weight, bias, dz: grad, dx, geometry });
    cx.accumulate(dx, accumulate);
}

/// The ranges of the current node's weight and bias.
fn weight_and_bias(cx: &Lowering<'_>) -> (core::ops::Range<usize>, Option<core::ops::Range<usize>>) {
    (cx.net.range(cx.index, Role::Weight).unwrap_or(0..0), cx.net.range(cx.index, Role::Bias))
}
