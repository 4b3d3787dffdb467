//! Normalisations: [`Op::LayerNorm`](crate::graph::Op::LayerNorm) over each
//! sample's features, [`Op::BatchNorm`](crate::graph::Op::BatchNorm) per
//! channel over the batch, and [`Op::Standardize`](crate::graph::Op::Standardize)
//! with the training data's statistics.

use super::*;
use core::ops::Range;

/// γ and β, `[features]` each.
/// (ones and zeros unless the node says otherwise; no penalties).
pub(super) fn scale_shift(features: usize, node: &Node) -> Vec<TensorSpec> {
    let fans = (node.width, node.width);
    let settings = node.params;
    alloc::vec![
        TensorSpec {
            role: Role::Scale,
            shape: alloc::vec![features],
            init: settings.init.unwrap_or(Init::Constant(1.0)),
            fans,
            penalties: (0.0, 0.0),
        },
        TensorSpec {
            role: Role::Shift,
            shape: alloc::vec![features],
            init: settings.bias_init.unwrap_or(Init::Zeros),
            fans,
            penalties: (0.0, 0.0),
        },
    ]
}

/// One input of its width, whole channels, `eps ≥ 0` and `momentum` in `[0, 1]`.
pub(super) fn batch_norm_fits(channels: usize, eps: f32, momentum: f32, node: &Node, nodes: &[Node]) -> bool {
    channels > 0
        && node.width % channels == 0
        && single(node, nodes).is_some_and(|input| input.width == node.width)
        && eps >= 0.0
        && (0.0..=1.0).contains(&momentum)
}

/// It reads the network's input, of its width.
pub(super) fn standardize_fits(node: &Node, nodes: &[Node]) -> bool {
    node.inputs.as_ref() == [0] && nodes[0].width == node.width
}

/// Mean, variance, normalise, scale and shift: about eight operations per feature.
pub(super) fn layer_norm_flops(width: usize) -> usize {
    8 * width
}

/// Normalise, scale and shift (the statistics are shared by the batch).
pub(super) fn batch_norm_flops(width: usize) -> usize {
    4 * width
}

/// A subtraction and a division per feature.
pub(super) fn standardize_flops(width: usize) -> usize {
    2 * width
}

/// The running statistics PyTorch keeps, named as it names them.
pub(super) fn batch_norm_buffers(channels: usize) -> Vec<(&'static str, Vec<usize>, f32)> {
    alloc::vec![
        ("running_mean", alloc::vec![channels], 0.0),
        ("running_var", alloc::vec![channels], 1.0),
        ("num_batches_tracked", Vec::new(), 0.0),
    ]
}

/// The training data's statistics, set by the trainer before training.
pub(super) fn standardize_buffers(width: usize) -> Vec<(&'static str, Vec<usize>, f32)> {
    alloc::vec![("mean", alloc::vec![width], 0.0), ("std", alloc::vec![width], 1.0), ("count", Vec::new(), 0.0),]
}

/// The ranges of the current node's γ and β.
fn scale_and_shift(cx: &Lowering<'_>) -> (Range<usize>, Range<usize>) {
    let find = |role| cx.net.range(cx.index, role).unwrap_or(0..0);
    (find(Role::Scale), find(Role::Shift))
}

pub(super) fn layer_norm_forward(cx: &mut Lowering<'_>, eps: f32, input: Source) -> Source {
    let (scale, shift) = scale_and_shift(cx);
    let width = cx.node().width;
    let (output, xhat, rstd) = (cx.take(width, "out"), cx.take(width, "xhat"), cx.take(1, "rstd"));
    cx.steps.push(Step::LayerNorm { input, scale, shift, output, xhat, rstd, eps });
    cx.state.norms[cx.index] = Some((xhat, rstd));
    Source::Buf(output)
}

pub(super) fn batch_norm_forward(
    cx: &mut Lowering<'_>,
    (channels, eps, momentum): (usize, f32, f32),
    input: Source,
) -> Source {
    let (scale, shift) = scale_and_shift(cx);
    let buffers = cx.net.buffer_range(cx.index);
    let width = cx.node().width;
    let (output, xhat, stats) = (cx.take(width, "out"), cx.take(width, "xhat"), cx.take(3 * channels, "stats"));
    let spatial = width / channels;
    cx.steps.push(Step::BatchNorm {
        input,
        scale,
        shift,
        buffers,
        output,
        xhat,
        stats,
        channels,
        spatial,
        eps,
        momentum,
    });
    cx.state.norms[cx.index] = Some((xhat, stats));
    Source::Buf(output)
}

pub(super) fn standardize_forward(cx: &mut Lowering<'_>, input: Source) -> Source {
    let buffers = cx.net.buffer_range(cx.index);
    let width = cx.node().width;
    let output = cx.take(width, "out");
    cx.steps.push(Step::Standardize { input, buffers, output, width });
    Source::Buf(output)
}

pub(super) fn layer_norm_backward(cx: &mut Lowering<'_>, grad: Buf) {
    let (scale, shift) = scale_and_shift(cx);
    let (xhat, rstd) = cx.state.norms[cx.index].expect("a layer norm has its buffers");
    let (dx, accumulate) = cx.input_gradient(cx.node().inputs[0]);
    cx.steps.push(Step::LayerNormBackward { grad, scale, shift, xhat, rstd, dx });
    cx.accumulate(dx, accumulate);
}

pub(super) fn batch_norm_backward(cx: &mut Lowering<'_>, channels: usize, grad: Buf) {
    let (scale, shift) = scale_and_shift(cx);
    let (xhat, stats) = cx.state.norms[cx.index].expect("a batch norm has its buffers");
    let (dx, accumulate) = cx.input_gradient(cx.node().inputs[0]);
    let spatial = cx.node().width / channels;
    cx.steps.push(Step::BatchNormBackward { grad, scale, shift, xhat, stats, dx, channels, spatial });
    cx.accumulate(dx, accumulate);
}
