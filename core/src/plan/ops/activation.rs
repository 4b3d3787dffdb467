//! An activation on its own, [`Op::Activation`](crate::graph::Op::Activation):
//! `a = f(z)` element by element (row by row for softmax).

use super::*;
use crate::Activation;

pub(super) fn forward(cx: &mut Lowering<'_>, activation: Activation, input: Source) -> Source {
    let width = cx.node().width;
    let z = match input {
        Source::Buf(buf) => buf,
        source => {
            let copy = cx.take(width, "z");
            cx.steps.push(Step::Copy { from: source, to: copy });
            copy
        }
    };
    let a = cx.take(width, "a");
    cx.steps.push(Step::Activation { activation, z, a });
    cx.state.dense[cx.index] = Some((z, a));
    Source::Buf(a)
}

/// The gradient with respect to `z` is written over `grad` and handed to the input.
pub(super) fn backward(cx: &mut Lowering<'_>, activation: Activation, grad: Buf) {
    let (z, a) = cx.state.dense[cx.index].expect("an activation node has its buffers");
    if cx.index != cx.grads.head {
        cx.steps.push(Step::ActivationBackward { activation, z, a, grad });
    }
    cx.pass_through(cx.node().inputs[0], grad);
}
