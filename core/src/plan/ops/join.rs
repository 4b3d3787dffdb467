//! Nodes that join several inputs: [`Op::Add`](crate::graph::Op::Add), their
//! element-wise sum, and [`Op::Concat`](crate::graph::Op::Concat), their
//! features side by side.

use super::*;

/// At least one input, each of the sum's width.
pub(super) fn add_fits(node: &Node, nodes: &[Node]) -> bool {
    !node.inputs.is_empty() && node.inputs.iter().all(|&i| nodes[i].width == node.width)
}

/// At least one input; their widths add up to the node's.
pub(super) fn concat_fits(node: &Node, nodes: &[Node]) -> bool {
    !node.inputs.is_empty() && node.inputs.iter().map(|&i| nodes[i].width).sum::<usize>() == node.width
}

/// An addition per feature for each input after the first.
pub(super) fn add_flops(node: &Node) -> usize {
    node.width * node.inputs.len().saturating_sub(1)
}

pub(super) fn add_forward(cx: &mut Lowering<'_>, inputs: &[Source]) -> Source {
    let out = cx.take(cx.node().width, "out");
    cx.steps.push(Step::Copy { from: inputs[0], to: out });
    for &from in &inputs[1..] {
        cx.steps.push(Step::Accumulate { from, into: out });
    }
    Source::Buf(out)
}

pub(super) fn concat_forward(cx: &mut Lowering<'_>, inputs: &[Source]) -> Source {
    let node = cx.node();
    let out = cx.take(node.width, "out");
    let mut offset = 0;
    for (&from, &i) in inputs.iter().zip(node.inputs.iter()) {
        let width = cx.net.nodes[i].width;
        cx.steps.push(Step::PlaceColumns { from, width, to: out, offset });
        offset += width;
    }
    Source::Buf(out)
}

/// Every input's gradient receives the sum's whole gradient.
pub(super) fn add_backward(cx: &mut Lowering<'_>, grad: Buf) {
    for &input in cx.node().inputs.iter() {
        if matches!(cx.net.nodes[input].op, Op::Input) {
            continue;
        }
        match cx.grads.of[input] {
            None => {
                let to = cx.contribution(input).0;
                cx.steps.push(Step::Copy { from: Source::Buf(grad), to });
            }
            Some(into) => cx.steps.push(Step::Accumulate { from: Source::Buf(grad), into }),
        }
    }
}

/// Every input's gradient receives its own columns of the concatenation's.
pub(super) fn concat_backward(cx: &mut Lowering<'_>, grad: Buf) {
    let mut offset = 0;
    for &input in cx.node().inputs.iter() {
        if !matches!(cx.net.nodes[input].op, Op::Input) {
            let accumulate = cx.grads.of[input].is_some();
            let to = match cx.grads.of[input] {
                Some(to) => to,
                None => cx.contribution(input).0,
            };
            cx.steps.push(Step::TakeColumns { from: grad, to, offset, accumulate });
        }
        offset += cx.net.nodes[input].width;
    }
}
