//! Max or average pooling of each channel, [`Op::Pool`](crate::graph::Op::Pool),
//! and its whole-channel form [`Op::GlobalAvgPool`](crate::graph::Op::GlobalAvgPool).

use super::*;
use crate::conv::{output_size, PoolGeometry};

/// Every window lies inside the input; the widths are the geometry's.
pub(super) fn fits(g: &PoolGeometry, node: &Node, nodes: &[Node]) -> bool {
    let axis = |a: usize, input: usize| output_size(input, g.kernel[a], g.stride[a], 0, 1);
    axis(0, g.in_h) == Some(g.out_h)
        && axis(1, g.in_w) == Some(g.out_w)
        && single(node, nodes).is_some_and(|input| input.width == g.input_len())
        && node.width == g.output_len()
}

/// A max pool also keeps the index each output came from, for the backward pass.
pub(super) fn forward(
    cx: &mut Lowering,
    state: &mut Forward,
    index: usize,
    geometry: PoolGeometry,
    input: Source,
) -> Source {
    let width = geometry.output_len();
    let output = cx.take(width, "out");
    let argmax = geometry.max.then(|| cx.take(width, "argmax"));
    cx.steps.push(Step::Pool { input, output, argmax, geometry });
    state.argmax[index] = argmax;
    Source::Buf(output)
}

pub(super) fn backward(
    cx: &mut Lowering,
    grads: &mut Gradients,
    net: &Parts<'_>,
    state: &Forward,
    index: usize,
    geometry: PoolGeometry,
    grad: Buf,
) {
    let input = net.nodes[index].inputs[0];
    if matches!(net.nodes[input].op, Op::Input) {
        return;
    }
    let (dx, accumulate) = cx.contribution(grads, net.nodes, input);
    let argmax = state.argmax[index];
    cx.steps.push(Step::PoolBackward { grad, argmax, dx, geometry });
    if let Some(into) = accumulate {
        cx.steps.push(Step::Accumulate { from: Source::Buf(dx), into });
    }
}
