//! A network as a graph of named nodes, in an order where every node comes
//! after the nodes it reads (the order of the spec's statements).
//!
//! Node 0 is the input; the last node is the output the loss reads. A node's
//! value is `[batch][width]`, row-major. Every node describes itself: its op
//! carries its attributes, and [`ParamSettings`] how its parameters start and
//! which penalties they carry (the op's module decides what `None` means).

use crate::vocabulary::Init;
use alloc::borrow::Cow;

/// How a node's parameters start and the penalties on its weight; `None` is
/// the op's default (for a dense layer Xavier-uniform weights and zero
/// biases, for a convolution PyTorch's default, for a normalisation ones and zeros).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ParamSettings {
    /// The weight's initializer.
    pub init: Option<Init>,
    /// The bias's initializer.
    pub bias_init: Option<Init>,
    /// L1 penalty coefficient on the weight (`l1·Σ|W|` added to the loss).
    pub l1: f32,
    /// L2 penalty coefficient on the weight (`½·l2·ΣW²` added to the loss).
    pub l2: f32,
}

impl ParamSettings {
    /// Every setting at the op's default, no penalties.
    pub const DEFAULT: ParamSettings = ParamSettings { init: None, bias_init: None, l1: 0.0, l2: 0.0 };
}

/// What a node computes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Op {
    /// The network's input.
    Input,
    /// A dense layer `a = activation(x·W + b)` of the node's width: parameters
    /// `weight` `[inputs][units]` and, with `bias`, `bias` `[units]`.
    Dense {
        /// Its activation (the loss fuses the output layer's).
        activation: crate::Activation,
        /// Whether it has a bias.
        bias: bool,
    },
    /// Inverted dropout with this drop probability while training; the identity otherwise.
    Dropout(f32),
    /// The element-wise sum of its inputs, which all have its width.
    Add,
    /// Its inputs side by side along the feature axis (`torch.cat(…, dim=1)`).
    Concat,
    /// An activation on its own, element by element (or row by row for softmax).
    Activation(crate::Activation),
    /// A 1-D or 2-D convolution (`one_d` for `[C, L]` inputs, stored as height 1);
    /// parameters `weight` `[out][in/groups][k…]` and, with `bias`, `bias` `[out]`.
    Conv {
        /// Its sizes.
        geometry: crate::conv::ConvGeometry,
        /// Whether it has a bias.
        bias: bool,
        /// A `conv1d` (else `conv2d`).
        one_d: bool,
    },
    /// Max or average pooling of each channel (`one_d` for `[C, L]` inputs).
    Pool {
        /// Its sizes.
        geometry: crate::conv::PoolGeometry,
        /// A 1-D pool (else 2-D).
        one_d: bool,
    },
    /// A GRU or LSTM layer over a time-first `[T, F]` input (PyTorch's
    /// `nn.GRU`/`nn.LSTM`, `batch_first=True`, zero initial state): the last
    /// state `[D·H]` or every step's `[T, D·H]`; parameters `weight_ih_l0`,
    /// `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0` (and `…_reverse`), PyTorch's layout.
    Recurrent(crate::recurrent::RecurrentGeometry),
    /// The mean of each channel over every position: `[C, …] → [C]`.
    GlobalAvgPool(crate::conv::PoolGeometry),
    /// `[C, …] → [C·…]` in channel-first order (the values do not move).
    Flatten,
    /// Layer normalisation over the features of each sample: `γ·(x − μ)/√(σ² + eps) + β`
    /// with the biased variance; parameters `weight` (γ) and `bias` (β).
    LayerNorm {
        /// Added to the variance inside the square root.
        eps: f32,
    },
    /// `(x − mean)/std` per feature, with the statistics of the training data
    /// (buffers `mean`, `std` and `count`, set by the trainer before training);
    /// reads the network's input.
    Standardize,
    /// Batch normalisation per channel (`shape[0]` of its input), over the batch
    /// and every position: batch statistics while training, running statistics
    /// otherwise (PyTorch's `BatchNorm1d/2d`). Parameters `weight` (γ) and
    /// `bias` (β); buffers `running_mean`, `running_var`, `num_batches_tracked`.
    BatchNorm {
        /// Channels (features for a flat input).
        channels: usize,
        /// Added to the variance inside the square root.
        eps: f32,
        /// The weight of the new batch in the running statistics (PyTorch's convention).
        momentum: f32,
    },
}

impl Op {
    /// The statement that writes it in a spec.
    pub fn name(self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Dense { .. } => "dense",
            Op::Dropout(_) => "dropout",
            Op::Add => "add",
            Op::Concat => "concat",
            Op::Activation(activation) => activation.name(),
            Op::LayerNorm { .. } => "layer_norm",
            Op::BatchNorm { .. } => "batch_norm",
            Op::Standardize => "standardize",
            Op::Conv { one_d: true, .. } => "conv1d",
            Op::Conv { .. } => "conv2d",
            Op::Pool { geometry, one_d: true } if geometry.max => "max_pool1d",
            Op::Pool { geometry, .. } if geometry.max => "max_pool2d",
            Op::Pool { one_d: true, .. } => "avg_pool1d",
            Op::Pool { .. } => "avg_pool2d",
            Op::GlobalAvgPool(_) => "global_avg_pool",
            Op::Recurrent(g) => match g.cell {
                crate::recurrent::Cell::Gru => "gru",
                crate::recurrent::Cell::Lstm => "lstm",
            },
            Op::Flatten => "flatten",
        }
    }
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Node {
    /// Its name (a layer's name for a dense node).
    pub name: Cow<'static, str>,
    /// What it computes.
    pub op: Op,
    /// The nodes it reads, by index; all come before it.
    pub inputs: Cow<'static, [usize]>,
    /// Values per sample of its output.
    pub width: usize,
    /// The per-sample shape of its output, channel-first: `[F]`, `[C, L]` or `[C, H, W]`.
    pub shape: Cow<'static, [usize]>,
    /// How its parameters start and their penalties (ignored by ops without parameters).
    pub params: ParamSettings,
}

impl Node {
    /// A node reading `inputs`.
    pub fn new(name: impl Into<Cow<'static, str>>, op: Op, inputs: &[usize], width: usize) -> Node {
        Node {
            name: name.into(),
            op,
            inputs: Cow::Owned(inputs.to_vec()),
            width,
            shape: Cow::Owned(alloc::vec![width]),
            params: ParamSettings::default(),
        }
    }

    /// A dense layer of `units` with a bias, reading node `input`.
    pub fn dense(
        name: impl Into<Cow<'static, str>>,
        input: usize,
        units: usize,
        activation: crate::Activation,
    ) -> Node {
        Node::new(name, Op::Dense { activation, bias: true }, &[input], units)
    }

    /// The node with these parameter settings.
    pub fn with_params(mut self, params: ParamSettings) -> Node {
        self.params = params;
        self
    }

    /// The node with this per-sample shape (its width becomes their product).
    pub fn with_shape(mut self, shape: &[usize]) -> Node {
        self.width = shape.iter().product();
        self.shape = Cow::Owned(shape.to_vec());
        self
    }
}

/// The graph of a chain: the input, then dense layers (name, units,
/// activation, settings) each reading the one before it, each followed by a
/// dropout node where `dropout` gives a probability.
pub fn chain(
    input: usize,
    layers: &[(Cow<'static, str>, usize, crate::Activation, Option<f32>)],
) -> alloc::vec::Vec<Node> {
    let mut nodes = alloc::vec![Node::new("input", Op::Input, &[], input)];
    for (name, units, activation, dropout) in layers {
        let previous = nodes.len() - 1;
        nodes.push(Node::dense(name.clone(), previous, *units, *activation));
        if let Some(p) = dropout {
            let previous = nodes.len() - 1;
            nodes.push(Node::new(alloc::format!("{name}.dropout"), Op::Dropout(*p), &[previous], *units));
        }
    }
    nodes
}
