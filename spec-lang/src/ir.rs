//! Stage 4: the typed IR of a checked network: every size known, every name
//! resolved, parameters laid out in one flat buffer.
//!
//! Codegen, the CLI's interpreter and the weight files all read the same layout,
//! the plan's: node by node, each node's tensors as its op's module in
//! `nnspec_core::plan` declares them (a dense layer's weight matrix `[in][out]`,
//! row `i` holding the weights leaving input unit `i`, so a layer computes
//! `Z = A_prev · W + b`, followed by its bias `[out]` if it has one).
//!
//! The IR holds no spans: two specs that mean the same network have equal IRs
//! (the formatter's meaning-preservation test relies on it).

use nnspec_core::plan::Role;
pub use nnspec_core::vocabulary::{EarlyStopping, Init, OptimizerConfig as Optimizer, Schedule};
pub use nnspec_core::{Activation, Loss, Node, Op, ParamSettings};
use serde::Serialize;

/// A checked file: its networks in source order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    /// The networks.
    pub networks: Vec<Network>,
}

impl Program {
    /// The network called `name`.
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }
}

/// One checked network.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    /// The name (a Rust type name in generated code).
    pub name: String,
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The input's name.
    pub input_name: String,
    /// The input's shape as written (flattened to `input_size`).
    pub input_shape: Vec<usize>,
    /// Number of input features per sample.
    pub input_size: usize,
    /// The graph: the input, then one node per statement in order, each
    /// carrying its attributes and parameter settings; the last node is the output.
    pub nodes: Vec<Node>,
    /// The loss.
    pub loss: Loss,
    /// Training defaults.
    pub train: TrainConfig,
    /// Parameter tensors in buffer order.
    pub tensors: Vec<Tensor>,
    /// Total number of parameters.
    pub param_count: usize,
    /// Names listed in `#[allow(...)]` on the network.
    pub allow: Vec<String>,
}

impl Network {
    /// Number of outputs per sample.
    pub fn output_size(&self) -> usize {
        self.nodes.last().map_or(self.input_size, |n| n.width)
    }

    /// The widest node (for workspace sizing).
    pub fn max_width(&self) -> usize {
        self.nodes.iter().map(|n| n.width).chain([self.input_size]).max().unwrap_or(0)
    }

    /// Floating-point operations of one forward pass for one sample (2 per multiply-add).
    pub fn forward_flops(&self) -> usize {
        self.node_costs().iter().map(|(_, flops)| flops).sum()
    }

    /// Each node's parameters and floating-point operations per sample (2 per
    /// multiply-add; element-wise activations and moves count 0), as its op's
    /// module in `nnspec_core::plan` counts them.
    pub fn node_costs(&self) -> Vec<(usize, usize)> {
        (0..self.nodes.len()).map(|node| nnspec_core::plan::node_cost(&self.nodes, node)).collect()
    }

    /// Bytes of node outputs `predict` keeps on the stack (an upper bound:
    /// activations run in place on their layer's array).
    pub fn predict_stack_bytes(&self) -> usize {
        self.nodes.iter().skip(1).map(|n| 4 * n.width).sum()
    }
}

impl Network {
    /// The network lowered into its execution plan: the kernel calls
    /// `nnspec-codegen` emits and `nnspec::Interpreter` runs.
    pub fn plan(&self) -> nnspec_core::Plan {
        nnspec_core::Plan::graph(self.name.clone(), self.nodes.clone(), self.loss)
            .expect("the checker accepts only graphs the plan can lower")
    }
}

/// Lays the parameter tensors out in one buffer, node by node, each node's
/// as its op's module in `nnspec_core::plan` declares them; none when there
/// would be more than `max` parameters (sizes are checked before they are multiplied).
pub fn layout(nodes: &[Node], max: usize) -> Option<(Vec<Tensor>, usize)> {
    let (tensors, count) = nnspec_core::plan::param_layout(nodes, max)?;
    let tensors = tensors
        .into_iter()
        .map(|t| Tensor {
            is_weight: t.role == Role::Weight,
            offset: t.range.start,
            len: t.range.len(),
            name: t.name,
            node: t.node,
            shape: t.shape,
        })
        .collect();
    Some((tensors, count))
}

/// The `train { … }` block, with defaults filled in: what the trainer runs
/// with, and the two settings only a spec has.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TrainConfig {
    /// The trainer's settings (`nnspec::TrainConfig`, defined once in
    /// `nnspec-core`): optimizer (default `adam(lr = 0.001)`), batch (default
    /// 32, `None` for `batch = full`), epochs (default 100), seed of
    /// initialisation, shuffling and dropout (default 0), schedule, clipping,
    /// early stopping, shuffling (default on).
    #[serde(flatten)]
    pub run: nnspec_core::vocabulary::TrainConfig,
    /// Fraction of the training data held out for validation (default 0).
    pub validation_split: f64,
    /// Number of training samples the spec says to expect, if stated.
    pub samples: Option<usize>,
}

/// One parameter tensor in the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tensor {
    /// `node.weight` or `node.bias` (a layer norm's γ and β, as PyTorch names them).
    pub name: String,
    /// Index of the node it belongs to.
    pub node: usize,
    /// True for a weight (of a dense layer or a convolution; the tensors `l1` and `l2` may penalise).
    pub is_weight: bool,
    /// `[in, out]` for dense weights, `[features]` otherwise.
    pub shape: Vec<usize>,
    /// First element in the flat buffer.
    pub offset: usize,
    /// Number of elements.
    pub len: usize,
}
