//! The kernel calls a plan is made of.

use super::{Buf, Source};
use crate::conv::{ConvGeometry, PoolGeometry};
use crate::recurrent::RecurrentGeometry;
use crate::Activation;
use core::ops::Range;

/// One kernel call of a pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A GRU or LSTM over every step of its input rows
    /// (`nnspec_core::recurrent::recurrent_forward`).
    Recurrent {
        /// Input rows, `[T][F]` each.
        input: Source,
        /// The node's parameters, every direction's four tensors.
        params: Range<usize>,
        /// Output rows.
        output: Buf,
        /// The gates and states the backward step reads.
        cache: Buf,
        /// Its sizes.
        geometry: RecurrentGeometry,
    },
    /// Backpropagation through time: the parameters' gradient into the
    /// gradient buffer and, if `dx` is given, the input's
    /// (`nnspec_core::recurrent::recurrent_backward`).
    RecurrentBackward {
        /// The rows the forward step read.
        input: Source,
        /// The node's parameters.
        params: Range<usize>,
        /// The forward step's cache.
        cache: Buf,
        /// The gradient with respect to the output.
        dout: Buf,
        /// The gradient with respect to the input, if needed.
        dx: Option<Buf>,
        /// Its sizes.
        geometry: RecurrentGeometry,
    },
    /// `output = input · W + b` (`nnspec::kernels::dense_forward`).
    Dense {
        /// Input rows, `inputs` wide.
        input: Source,
        /// The weight matrix `[inputs][outputs]` in the parameter buffer.
        weight: Range<usize>,
        /// The bias `[outputs]`, if any.
        bias: Option<Range<usize>>,
        /// Output rows, `outputs` wide.
        output: Buf,
        /// Input width.
        inputs: usize,
        /// Output width.
        outputs: usize,
    },
    /// `a = activation(z)` row by row.
    Activation {
        /// The function.
        activation: Activation,
        /// Pre-activations.
        z: Buf,
        /// Activations.
        a: Buf,
    },
    /// While training only: draws dropout mask number `index`, then
    /// `output = input ⊙ mask / (1 − p)`.
    Dropout {
        /// Mask number, in forward order (for fixed masks in tests).
        index: usize,
        /// The activations dropped out.
        input: Buf,
        /// The 0/1 mask.
        mask: Buf,
        /// The dropped-out copy.
        output: Buf,
        /// Drop probability.
        p: f32,
        /// `1 − p`.
        keep: f32,
    },
    /// `∂W = inputᵀ·∂Z`, `∂b = Σ_rows ∂Z` into the gradient buffer (same layout
    /// as the parameters), and `∂X = ∂Z·Wᵀ` if `dx` is given
    /// (`nnspec::kernels::dense_backward`).
    DenseBackward {
        /// The rows the forward call read.
        input: Source,
        /// The weight matrix.
        weight: Range<usize>,
        /// The bias, if any.
        bias: Option<Range<usize>>,
        /// Gradient of the loss with respect to the layer's output.
        dz: Buf,
        /// Where the gradient with respect to its input goes (none for the first layer).
        dx: Option<Buf>,
        /// Input width.
        inputs: usize,
        /// Output width.
        outputs: usize,
    },
    /// A convolution of each sample of `input` into `output` (`nnspec::conv::conv_forward`).
    Conv {
        /// Samples read.
        input: Source,
        /// The weights `[out][in/groups][kh][kw]`.
        weight: Range<usize>,
        /// The bias `[out]`, if any.
        bias: Option<Range<usize>>,
        /// Samples written.
        output: Buf,
        /// Its sizes.
        geometry: ConvGeometry,
    },
    /// `∂W`, `∂b` of a convolution into the gradient buffer, and `∂x` if `dx` is given.
    ConvBackward {
        /// The samples the forward call read.
        input: Source,
        /// The weights.
        weight: Range<usize>,
        /// The bias, if any.
        bias: Option<Range<usize>>,
        /// Gradient with respect to the output.
        dz: Buf,
        /// Where the gradient with respect to the input goes.
        dx: Option<Buf>,
        /// Its sizes.
        geometry: ConvGeometry,
    },
    /// Max or average pooling; a max pool records the chosen input index of each output in `argmax`.
    Pool {
        /// Samples read.
        input: Source,
        /// Samples written.
        output: Buf,
        /// The chosen indices (max pools only).
        argmax: Option<Buf>,
        /// Its sizes.
        geometry: PoolGeometry,
    },
    /// The gradient of a pool with respect to its input, into `dx`.
    PoolBackward {
        /// Gradient with respect to the output.
        grad: Buf,
        /// The indices the forward pass chose (max pools only).
        argmax: Option<Buf>,
        /// Where the gradient with respect to the input goes.
        dx: Buf,
        /// Its sizes.
        geometry: PoolGeometry,
    },
    /// Layer normalisation of each row of `input` into `output`, keeping the
    /// normalised values `xhat` and the reciprocal standard deviation `rstd`
    /// (one per row) for the backward pass.
    LayerNorm {
        /// Rows read.
        input: Source,
        /// γ in the parameter buffer.
        scale: Range<usize>,
        /// β in the parameter buffer.
        shift: Range<usize>,
        /// `γ·x̂ + β`.
        output: Buf,
        /// `x̂ = (x − μ)·rstd`.
        xhat: Buf,
        /// `1/√(σ² + eps)`, width 1.
        rstd: Buf,
        /// Added to the variance.
        eps: f32,
    },
    /// `∂γ = Σ_rows grad·x̂`, `∂β = Σ_rows grad` into the gradient buffer, and
    /// `∂x = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` with `ĝ = grad·γ` if `dx` is given.
    LayerNormBackward {
        /// Gradient with respect to the output.
        grad: Buf,
        /// γ.
        scale: Range<usize>,
        /// β.
        shift: Range<usize>,
        /// Normalised values of the forward pass.
        xhat: Buf,
        /// Reciprocal standard deviations of the forward pass.
        rstd: Buf,
        /// Where the gradient with respect to the input goes.
        dx: Option<Buf>,
    },
    /// Batch normalisation of `input` into `output` (`nnspec::norm::batch_norm_forward`):
    /// batch statistics while training, the running statistics in the
    /// network's buffers otherwise; keeps `xhat` and `stats` (`rstd`, `μ`,
    /// `σ²` per channel, in the first `3·channels` values of its slot).
    BatchNorm {
        /// Samples read.
        input: Source,
        /// γ in the parameter buffer.
        scale: Range<usize>,
        /// β in the parameter buffer.
        shift: Range<usize>,
        /// `running_mean`, `running_var` and `num_batches_tracked` in the buffers.
        buffers: Range<usize>,
        /// `γ·x̂ + β`.
        output: Buf,
        /// `x̂`.
        xhat: Buf,
        /// The statistics used, width `3·channels` (only the first row is written).
        stats: Buf,
        /// Channels.
        channels: usize,
        /// Positions per channel (1 for a flat input).
        spatial: usize,
        /// Added to the variance.
        eps: f32,
        /// Weight of the batch in the running statistics (applied by `update_buffers`).
        momentum: f32,
    },
    /// `output = (input − mean)/std` per feature, the statistics in the buffers.
    Standardize {
        /// Samples read (the network's input).
        input: Source,
        /// `mean`, `std` and `count` in the buffers.
        buffers: Range<usize>,
        /// Samples written.
        output: Buf,
        /// Features per sample.
        width: usize,
    },
    /// `∂γ`, `∂β` of a batch normalisation into the gradient buffer, and `∂x` if `dx` is given.
    BatchNormBackward {
        /// Gradient with respect to the output.
        grad: Buf,
        /// γ.
        scale: Range<usize>,
        /// β.
        shift: Range<usize>,
        /// Normalised values of the forward pass.
        xhat: Buf,
        /// Statistics of the forward pass.
        stats: Buf,
        /// Where the gradient with respect to the input goes.
        dx: Option<Buf>,
        /// Channels.
        channels: usize,
        /// Positions per channel.
        spatial: usize,
    },
    /// `to ← from`.
    Copy {
        /// Read.
        from: Source,
        /// Written.
        to: Buf,
    },
    /// `into ← into + from`.
    Accumulate {
        /// Read.
        from: Source,
        /// Added to.
        into: Buf,
    },
    /// Each row of `from` into columns `offset..offset + from.width` of `to`.
    PlaceColumns {
        /// Read (`width` wide).
        from: Source,
        /// Its width.
        width: usize,
        /// Written.
        to: Buf,
        /// First column written.
        offset: usize,
    },
    /// Columns `offset..offset + to.width` of `from` into `to`, overwriting
    /// it or, with `accumulate`, adding to it.
    TakeColumns {
        /// Read.
        from: Buf,
        /// Written.
        to: Buf,
        /// First column read.
        offset: usize,
        /// Add instead of overwriting.
        accumulate: bool,
    },
    /// While training only: `grad ← grad ⊙ mask / keep`.
    DropoutBackward {
        /// The mask drawn in the forward pass.
        mask: Buf,
        /// The gradient, in place.
        grad: Buf,
        /// `1 − p`.
        keep: f32,
    },
    /// `grad ← grad · activation′` (from ∂L/∂a to ∂L/∂z), reading `z` or `a`.
    ActivationBackward {
        /// The function.
        activation: Activation,
        /// Pre-activations.
        z: Buf,
        /// Activations.
        a: Buf,
        /// The gradient, in place.
        grad: Buf,
    },
}
