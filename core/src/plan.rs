//! A network lowered once into what both back ends execute.
//!
//! A [`Plan`] holds the parameter layout (one flat buffer, each layer's weight
//! matrix `[inputs][units]` then its bias `[units]`), the workspace slots (a
//! width per batch row; a batch of `B` rows gives slot `s` the range
//! `o[s]..o[s] + B·width` where `o` is the prefix sum of [`Plan::offsets`]),
//! and the ordered kernel calls of the forward pass, the loss head and the
//! backward pass.
//!
//! `nnspec-codegen` emits each [`Step`] as one kernel call with literal sizes;
//! `nnspec::Mlp` runs the same steps through the same kernels. Generated code
//! and the interpreter therefore compute the same numbers in the same order by
//! construction, not by a test that keeps two hand-written passes in step.
//!
//! Workspace, in slot order: per layer `z` and `a` (`units` wide), and for a
//! hidden layer with dropout its `mask` and dropped-out output `h`; then two
//! gradient slots as wide as the widest layer, which the backward pass
//! alternates between.
//!
//! ```
//! use nnspec_core::plan::{LayerInfo, Plan, Step};
//! use nnspec_core::{Activation, Loss};
//!
//! let layers = vec![
//!     LayerInfo::new("hidden", 4, Activation::Tanh),
//!     LayerInfo::new("output", 1, Activation::Sigmoid),
//! ];
//! let plan = Plan::chain("Xor", 2, layers, Loss::BinaryCrossEntropy);
//! assert_eq!(plan.param_count, 2 * 4 + 4 + 4 * 1 + 1);
//! assert_eq!(plan.offsets(8).last(), Some(&(8 * (4 + 4 + 1 + 1 + 4 + 4))));
//! assert!(matches!(plan.forward[0], Step::Dense { inputs: 2, outputs: 4, .. }));
//! ```

use crate::{Activation, Loss};
use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::ops::Range;

/// A dense layer: `A = activation(A_prev · W + b)`, then, while training,
/// inverted dropout on `A` if it is a hidden layer with a dropout probability.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerInfo {
    /// The layer's name.
    pub name: Cow<'static, str>,
    /// Input width (filled in from the chain by [`Plan::chain`]).
    pub inputs: usize,
    /// Output width.
    pub units: usize,
    /// Its activation.
    pub activation: Activation,
    /// Whether it has a bias.
    pub bias: bool,
    /// Dropout probability applied to its output while training.
    pub dropout: Option<f32>,
}

impl LayerInfo {
    /// A layer of `units` outputs with a bias and no dropout.
    pub fn new(name: impl Into<Cow<'static, str>>, units: usize, activation: Activation) -> LayerInfo {
        LayerInfo { name: name.into(), inputs: 0, units, activation, bias: true, dropout: None }
    }
}

/// `width` values per batch row of workspace slot `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buf {
    /// The slot.
    pub slot: usize,
    /// Values per row (at most the slot's width).
    pub width: usize,
}

/// Where a kernel reads its input rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The batch the pass was called with.
    Input,
    /// A workspace buffer.
    Buf(Buf),
    /// A layer output with dropout: the dropped-out copy while training, the
    /// plain output otherwise (inverted dropout is the identity at inference).
    Dropout {
        /// Read while training.
        training: Buf,
        /// Read otherwise.
        inference: Buf,
    },
}

impl Source {
    /// The buffer read, if any, for a pass in this mode.
    pub fn buf(self, training: bool) -> Option<Buf> {
        match self {
            Source::Input => None,
            Source::Buf(buf) => Some(buf),
            Source::Dropout { training: t, inference: i } => Some(if training { t } else { i }),
        }
    }
}

/// One kernel call of a pass.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
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

/// The loss on the last layer: it reads the layer's `z` and `a` (fusing
/// sigmoid with BCE and softmax with cross-entropy) and writes `∂L/∂z` into `grad`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// The last layer's activation.
    pub activation: Activation,
    /// Its pre-activations.
    pub z: Buf,
    /// Its activations: the network's output.
    pub a: Buf,
    /// Where the gradient with respect to `z` goes.
    pub grad: Buf,
}

/// Where a lowered layer's values live, for the backward pass.
#[derive(Clone, Copy)]
struct Lowered {
    z: Buf,
    a: Buf,
    /// What the layer reads.
    input: Source,
    /// Its dropout mask and keep probability.
    dropout: Option<(Buf, f32)>,
}

/// A layer's tensors in the flat parameter buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerParams {
    /// The weight matrix `[inputs][units]`.
    pub weight: Range<usize>,
    /// The bias `[units]`, if any.
    pub bias: Option<Range<usize>>,
}

/// A network lowered into its parameter layout, workspace and kernel calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The network's name.
    pub name: Cow<'static, str>,
    /// Input features per sample.
    pub input: usize,
    /// The layers in order, `inputs` filled in.
    pub layers: Vec<LayerInfo>,
    /// Each layer's tensors, in the order of `layers`.
    pub params: Vec<LayerParams>,
    /// Total number of parameters.
    pub param_count: usize,
    /// Per-row width of each workspace slot.
    pub slots: Vec<usize>,
    /// The forward pass. `Dropout` steps run only while training.
    pub forward: Vec<Step>,
    /// The loss.
    pub loss: Loss,
    /// The loss head (none for a network without layers).
    pub head: Option<Head>,
    /// The backward pass, after the head. `DropoutBackward` steps run only while training.
    pub backward: Vec<Step>,
    /// Number of dropout masks a training pass draws.
    pub dropout_masks: usize,
}

impl Plan {
    /// Lowers a chain of dense layers: each layer reads the one before it (the
    /// first reads the input), and its `inputs` is set from that.
    pub fn chain(name: impl Into<Cow<'static, str>>, input: usize, mut layers: Vec<LayerInfo>, loss: Loss) -> Plan {
        let mut params = Vec::with_capacity(layers.len());
        let mut offset = 0;
        let mut width = input;
        for layer in &mut layers {
            layer.inputs = width;
            width = layer.units;
            let weight = offset..offset + layer.inputs * layer.units;
            offset = weight.end;
            let bias = layer.bias.then(|| offset..offset + layer.units);
            if let Some(bias) = &bias {
                offset = bias.end;
            }
            params.push(LayerParams { weight, bias });
        }

        let mut slots = Vec::new();
        let mut take = |width: usize| {
            slots.push(width);
            Buf { slot: slots.len() - 1, width }
        };
        let last = layers.len().saturating_sub(1);
        let mut forward = Vec::new();
        let mut lowered: Vec<Lowered> = Vec::new();
        let mut input_source = Source::Input;
        let mut dropout_masks = 0;
        for (index, (layer, tensors)) in layers.iter().zip(&params).enumerate() {
            let (z, a) = (take(layer.units), take(layer.units));
            forward.push(Step::Dense {
                input: input_source,
                weight: tensors.weight.clone(),
                bias: tensors.bias.clone(),
                output: z,
                inputs: layer.inputs,
                outputs: layer.units,
            });
            forward.push(Step::Activation { activation: layer.activation, z, a });
            let dropout = layer.dropout.filter(|p| index != last && *p > 0.0);
            let (output, mask) = match dropout {
                Some(p) => {
                    let (mask, h) = (take(layer.units), take(layer.units));
                    let keep = 1.0 - p;
                    forward.push(Step::Dropout { index: dropout_masks, input: a, mask, output: h, p, keep });
                    dropout_masks += 1;
                    (Source::Dropout { training: h, inference: a }, Some((mask, keep)))
                }
                None => (Source::Buf(a), None),
            };
            lowered.push(Lowered { z, a, input: input_source, dropout: mask });
            input_source = output;
        }

        let widest = layers.iter().map(|l| l.units).max().unwrap_or(0);
        let gradients = [take(widest), take(widest)];
        let head = layers.last().map(|layer| {
            let Lowered { z, a, .. } = lowered[last];
            Head { activation: layer.activation, z, a, grad: Buf { slot: gradients[0].slot, width: layer.units } }
        });
        let mut backward = Vec::new();
        for index in (0..layers.len()).rev() {
            let layer = &layers[index];
            let turn = (layers.len() - 1 - index) % 2;
            let (current, next) = (gradients[turn].slot, gradients[1 - turn].slot);
            let dx = (index > 0).then_some(Buf { slot: next, width: layer.inputs });
            backward.push(Step::DenseBackward {
                input: lowered[index].input,
                weight: params[index].weight.clone(),
                bias: params[index].bias.clone(),
                dz: Buf { slot: current, width: layer.units },
                dx,
                inputs: layer.inputs,
                outputs: layer.units,
            });
            if let Some(grad) = dx {
                let Lowered { z, a, dropout, .. } = lowered[index - 1];
                if let Some((mask, keep)) = dropout {
                    backward.push(Step::DropoutBackward { mask, grad, keep });
                }
                backward.push(Step::ActivationBackward { activation: layers[index - 1].activation, z, a, grad });
            }
        }
        Plan {
            name: name.into(),
            input,
            layers,
            params,
            param_count: offset,
            slots,
            forward,
            loss,
            head,
            backward,
            dropout_masks,
        }
    }

    /// Outputs per sample.
    pub fn output_size(&self) -> usize {
        self.layers.last().map_or(self.input, |l| l.units)
    }

    /// The start of every slot for a batch of `batch` rows, and the total as the last entry.
    pub fn offsets(&self, batch: usize) -> Vec<usize> {
        let mut offsets = Vec::with_capacity(self.slots.len() + 1);
        let mut total = 0;
        offsets.push(0);
        for width in &self.slots {
            total += batch * width;
            offsets.push(total);
        }
        offsets
    }
}
