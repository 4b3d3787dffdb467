//! Inverted dropout, [`Op::Dropout`](crate::graph::Op::Dropout): while
//! training, `h = x ⊙ mask / (1 − p)`; the identity otherwise.

use super::*;

/// One input of its width that is neither the network's input nor another dropout.
pub(super) fn fits(p: f32, node: &Node, nodes: &[Node]) -> bool {
    (0.0..1.0).contains(&p)
        && single(node, nodes)
            .is_some_and(|input| input.width == node.width && !matches!(input.op, Op::Input | Op::Dropout(_)))
}

/// Dropout with `p = 0`, or on the output (it would zero predictions at
/// random), runs nowhere: consumers read the input.
pub(super) fn forward(cx: &mut Lowering<'_>, p: f32, input: Source) -> Source {
    let (Some(training), Some(inference)) = (input.buf(true), input.buf(false)) else {
        return input;
    };
    if p <= 0.0 || cx.index + 1 == cx.net.nodes.len() {
        return input;
    }
    let width = cx.node().width;
    let (mask, h) = (cx.take(width, "mask"), cx.take(width, "out"));
    let keep = 1.0 - p;
    let number = cx.state.masks.iter().flatten().count();
    cx.steps.push(Step::Dropout { index: number, input: training, mask, output: h, p, keep });
    cx.state.masks[cx.index] = Some((mask, keep));
    Source::Dropout { training: h, inference }
}

pub(super) fn backward(cx: &mut Lowering<'_>, grad: Buf) {
    if let Some((mask, keep)) = cx.state.masks[cx.index] {
        cx.steps.push(Step::DropoutBackward { mask, grad, keep });
    }
    cx.pass_through(cx.node().inputs[0], grad);
}
