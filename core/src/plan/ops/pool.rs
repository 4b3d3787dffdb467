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

/// A comparison or an addition per window element and output.
pub(super) fn flops(g: &PoolGeometry) -> usize {
    g.output_len() * g.kernel[0] * g.kernel[1]
}

/// A max pool also keeps the index each output came from, for the backward pass.
pub(super) fn forward(cx: &mut Lowering<'_>, geometry: PoolGeometry, input: Source) -> Source {
    let width = cx.node().width;
    let output = cx.take(width, "out");
    let argmax = geometry.max.then(|| cx.take(width, "argmax"));
    cx.steps.push(Step::Pool { input, output, argmax, geometry });
    cx.state.argmax[cx.index] = argmax;
    Source::Buf(output)
}

/// Nothing to do on the network's input, which needs no gradient.
pub(super) fn backward(cx: &mut Lowering<'_>, geometry: PoolGeometry, grad: Buf) {
    let input = cx.node().inputs[0];
    if matches!(cx.net.nodes[input].op, Op::Input) {
        return;
    }
    let (dx, accumulate) = cx.contribution(input);
    let argmax = cx.state.argmax[cx.index];
    cx.steps.push(Step::PoolBackward { grad, argmax, dx, geometry });
    cx.accumulate(Some(dx), accumulate);
}
