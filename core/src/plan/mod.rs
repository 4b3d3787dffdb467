//! A network lowered once into what both back ends execute.
//!
//! A [`Plan`] holds the parameter layout (one flat buffer, node by node, each
//! node's tensors as its op's module declares them: a dense layer's weight
//! matrix `[inputs][units]` then its bias `[units]`), the workspace slots (a
//! width per batch row; a batch of `B` rows gives slot `s` the range
//! `o[s]..o[s] + B·width` where `o` is the prefix sum of [`Plan::offsets`]),
//! and the ordered kernel calls of the forward pass, the loss head and the
//! backward pass.
//!
//! `nnspec-codegen` emits each [`Step`] as one kernel call with literal sizes;
//! `nnspec::Interpreter` runs the same steps through the same kernels. Generated code
//! and the interpreter therefore compute the same numbers in the same order by
//! construction, not by a test that keeps two hand-written passes in step.
//!
//! Workspace, in slot order: for each node of the [graph], its
//! outputs (a dense layer's `z` and `a`; a dropout's `mask` and dropped-out
//! copy `h`; a sum's or a concatenation's result); then the gradients the
//! backward pass writes: one per node (shared with the node it passes its
//! gradient to unchanged, as dropout does, when nothing else reads that node),
//! plus a scratch slot wherever a kernel that overwrites its output adds a
//! second contribution to a gradient (a node read by several others).
//!
//! ```
//! use nnspec_core::plan::{Plan, Step};
//! use nnspec_core::{Activation, Loss};
//!
//! let layers = [("hidden", 4, Activation::Tanh), ("output", 1, Activation::Sigmoid)];
//! let plan = Plan::chain("Xor", 2, &layers, Loss::BinaryCrossEntropy);
//! assert_eq!(plan.param_count, 2 * 4 + 4 + 4 * 1 + 1);
//! // z and a of each layer, the gradient the loss writes, the gradient of `hidden`.
//! assert_eq!(plan.slots, [4, 4, 1, 1, 1, 4]);
//! assert_eq!(plan.offsets(8).last(), Some(&(8 * 15)));
//! assert!(matches!(plan.forward[0], Step::Dense { inputs: 2, outputs: 4, .. }));
//! ```

use crate::graph::{self, Node, Op};
use crate::vocabulary::Init;
use crate::{Activation, Loss};
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

mod lower;
mod ops;
mod step;

use lower::{validate, Lowering, Parts};
pub use step::Step;

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

/// The loss on the output: it reads the output layer's `z` and `a` (fusing
/// sigmoid with BCE and softmax with cross-entropy) and writes `∂L/∂z` into
/// `grad`. An output that is not a dense layer has the identity as its
/// activation and the same buffer as `z` and `a`.
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

/// What a parameter tensor is to its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A dense layer's weight matrix `[inputs][units]`.
    Weight,
    /// A dense layer's bias `[units]`.
    Bias,
    /// A normalisation's γ, `[features]` (initialised to ones).
    Scale,
    /// A normalisation's β, `[features]` (initialised to zeros).
    Shift,
    /// A recurrent layer's input weights `[G·H][F]` (PyTorch's `weight_ih_l0`, `…_reverse`).
    InputWeight {
        /// Of the reverse direction.
        reverse: bool,
    },
    /// A recurrent layer's state weights `[G·H][H]` (`weight_hh_l0`).
    StateWeight {
        /// Of the reverse direction.
        reverse: bool,
    },
    /// A recurrent layer's input bias `[G·H]` (`bias_ih_l0`).
    InputBias {
        /// Of the reverse direction.
        reverse: bool,
    },
    /// A recurrent layer's state bias `[G·H]` (`bias_hh_l0`).
    StateBias {
        /// Of the reverse direction.
        reverse: bool,
    },
}

impl Role {
    /// The tensor's name after its node's, as PyTorch names it: `weight` (γ
    /// for a normalisation) or `bias` (β).
    pub fn suffix(self) -> &'static str {
        match self {
            Role::Weight | Role::Scale => "weight",
            Role::Bias | Role::Shift => "bias",
            Role::InputWeight { reverse: false } => "weight_ih_l0",
            Role::InputWeight { reverse: true } => "weight_ih_l0_reverse",
            Role::StateWeight { reverse: false } => "weight_hh_l0",
            Role::StateWeight { reverse: true } => "weight_hh_l0_reverse",
            Role::InputBias { reverse: false } => "bias_ih_l0",
            Role::InputBias { reverse: true } => "bias_ih_l0_reverse",
            Role::StateBias { reverse: false } => "bias_hh_l0",
            Role::StateBias { reverse: true } => "bias_hh_l0_reverse",
        }
    }
}

/// A parameter tensor as its op's module declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    /// What it is to its node.
    pub role: Role,
    /// Its shape.
    pub shape: Vec<usize>,
    /// How it starts: the node's setting, else the op's default.
    pub init: Init,
    /// `(fan_in, fan_out)` for the initializers that scale by them (PyTorch's definition).
    pub fans: (usize, usize),
    /// The L1 and L2 penalty coefficients on it (the node's, on a weight that takes them).
    pub penalties: (f32, f32),
}

/// One parameter tensor of the flat buffer: the only description of a
/// parameter, from which weight files, initialisation, penalties, generated
/// `TENSORS` and every exporter take theirs.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamTensor {
    /// `node.weight` or `node.bias` (γ and β are a normalisation's `weight` and `bias`, as in PyTorch).
    pub name: alloc::string::String,
    /// The node it belongs to.
    pub node: usize,
    /// What it is.
    pub role: Role,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Where it lies in the flat buffer.
    pub range: Range<usize>,
    /// How it starts.
    pub init: Init,
    /// `(fan_in, fan_out)`.
    pub fans: (usize, usize),
    /// The L1 and L2 penalty coefficients on it.
    pub penalties: (f32, f32),
}

/// One tensor of a network's state that training updates without an optimizer
/// (a batch normalisation's running statistics, a standardisation's
/// statistics of the training data), in one flat `[f32]` buffer beside the
/// parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferTensor {
    /// `node.running_mean`, `node.running_var` or `node.num_batches_tracked` (as PyTorch names them).
    pub name: alloc::string::String,
    /// The node it belongs to.
    pub node: usize,
    /// Its shape (`[]` for the batch counter).
    pub shape: Vec<usize>,
    /// Where it lies in the flat buffer.
    pub range: Range<usize>,
    /// Its value before training (0 for means and the counter, 1 for variances).
    pub initial: f32,
}

/// The parameters and the floating-point operations per sample (2 per
/// multiply-add; element-wise activations and moves count 0) of node `index`,
/// as its op's module counts them.
pub fn node_cost(nodes: &[Node], index: usize) -> (usize, usize) {
    let params = node_tensors(nodes, index).iter().map(|t| t.shape.iter().product::<usize>()).sum();
    (params, ops::flops(&nodes[index], nodes))
}

/// The parameter tensors of node `index`, in buffer order, as its op's module declares them.
pub fn node_tensors(nodes: &[Node], index: usize) -> Vec<TensorSpec> {
    ops::tensors(&nodes[index], nodes)
}

/// The one parameter layout: every node's tensors, node by node, each as its
/// op's module declares them, one after another in a flat buffer; with the
/// buffer's length. `None` when there would be more than `max` parameters
/// (sizes are checked before they are multiplied or added).
pub fn param_layout(nodes: &[Node], max: usize) -> Option<(Vec<ParamTensor>, usize)> {
    let mut tensors = Vec::new();
    let mut offset: usize = 0;
    for index in 0..nodes.len() {
        for spec in node_tensors(nodes, index) {
            let size = spec.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d))?;
            let end = offset.checked_add(size).filter(|&end| end <= max)?;
            let range = offset..end;
            offset = end;
            let name = alloc::format!("{}.{}", nodes[index].name, spec.role.suffix());
            let TensorSpec { role, shape, init, fans, penalties } = spec;
            tensors.push(ParamTensor { name, node: index, role, shape, range, init, fans, penalties });
        }
    }
    Some((tensors, offset))
}

/// A network lowered into its parameter layout, workspace and kernel calls.
///
/// Lowering order: the forward steps follow the graph's node order; the
/// backward steps walk the nodes in reverse, so a node's gradient is complete
/// (every reader has added its part) before its own backward step reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The network's name.
    pub name: Cow<'static, str>,
    /// Input features per sample.
    pub input: usize,
    /// The graph the plan was lowered from.
    pub nodes: Vec<Node>,
    /// Every parameter tensor, in buffer order: node by node, weight (or γ) before bias (or β).
    pub tensors: Vec<ParamTensor>,
    /// Total number of parameters.
    pub param_count: usize,
    /// Every buffer tensor, node by node (empty unless the network has a batch normalisation).
    pub buffers: Vec<BufferTensor>,
    /// Total number of buffer values.
    pub buffer_count: usize,
    /// Per-row width of each workspace slot.
    pub slots: Vec<usize>,
    /// What each slot holds, `{node}_{role}`: a dense node's `z` and `a`, a
    /// node's `out`, a dropout's `mask`, a normalisation's `xhat` and `rstd`
    /// or `stats`, a max pool's `argmax`, a node's gradient `grad` and a
    /// further contribution to it `grad_part`. Not unique: two nodes may
    /// write their gradient contributions to slots of one name.
    pub slot_names: Vec<String>,
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
    /// Where each node's value lies after the forward pass (dropout reads
    /// through to its input outside training): what calibration reads.
    pub values: Vec<Source>,
    /// The pre-activations `z` of each dense or activation node.
    pub pre_activations: Vec<Option<Buf>>,
    /// The cache each recurrent node's forward step writes for its backward step.
    pub recurrent_caches: Vec<Option<Buf>>,
}

impl Plan {
    /// Lowers a chain of dense layers (name, units, activation) without
    /// dropout, each reading the one before it (the first reads the input).
    pub fn chain(
        name: impl Into<Cow<'static, str>>,
        input: usize,
        layers: &[(&str, usize, Activation)],
        loss: Loss,
    ) -> Plan {
        let layers: Vec<_> = layers
            .iter()
            .map(|&(name, units, activation)| (String::from(name).into(), units, activation, None))
            .collect();
        Plan::graph(name, graph::chain(input, &layers), loss).expect("a chain is a valid graph")
    }

    /// Lowers a graph of nodes that describe themselves.
    pub fn graph(name: impl Into<Cow<'static, str>>, nodes: Vec<Node>, loss: Loss) -> Result<Plan, String> {
        validate(&nodes)?;
        let input = nodes[0].width;
        let (tensors, param_count) = param_layout(&nodes, usize::MAX).ok_or("the parameters do not fit in memory")?;
        let mut buffers = Vec::new();
        let mut buffer_count = 0;
        for (index, node) in nodes.iter().enumerate() {
            for (suffix, shape, initial) in ops::buffers(node) {
                let range = buffer_count..buffer_count + shape.iter().product::<usize>();
                buffer_count = range.end;
                let name = alloc::format!("{}.{suffix}", node.name);
                buffers.push(BufferTensor { name, node: index, shape, range, initial });
            }
        }
        let parts = Parts { nodes: &nodes, tensors: &tensors, buffers: &buffers };
        let mut lowering = Lowering::new(parts);
        lowering.forward();
        let head_node = lowering.state.head_node(&nodes);
        let head = (head_node > 0).then(|| {
            let name = alloc::format!("{}_grad", nodes[head_node].name);
            let grad = lowering.take_named(nodes[head_node].width, name);
            match (nodes[head_node].op, lowering.state.dense[head_node]) {
                (Op::Dense { activation, .. }, Some((z, a))) => Head { activation, z, a, grad },
                (Op::Activation(activation), Some((z, a))) => Head { activation, z, a, grad },
                _ => {
                    let value = lowering.state.values[head_node].buf(false).unwrap_or(grad);
                    Head { activation: Activation::Identity, z: value, a: value, grad }
                }
            }
        });
        let forward_steps = core::mem::take(&mut lowering.steps);
        if let Some(head) = head {
            lowering.backward(head_node, head.grad);
        }
        let Lowering { slots, names: slot_names, steps: backward, state: forward, .. } = lowering;
        Ok(Plan {
            name: name.into(),
            input,
            nodes,
            tensors,
            param_count,
            buffers,
            buffer_count,
            slots,
            slot_names,
            forward: forward_steps,
            loss,
            head,
            backward,
            dropout_masks: forward.masks.iter().filter(|m| m.is_some()).count(),
            pre_activations: forward.dense.iter().map(|d| d.map(|(z, _)| z)).collect(),
            recurrent_caches: forward.caches.clone(),
            values: forward.values,
        })
    }

    /// The buffers' values before training.
    pub fn initial_buffers(&self) -> Vec<f32> {
        let mut values = alloc::vec![0.0; self.buffer_count];
        for tensor in &self.buffers {
            values[tensor.range.clone()].fill(tensor.initial);
        }
        values
    }

    /// Whether a training pass takes statistics over its whole batch (a batch normalisation).
    pub fn batch_statistics(&self) -> bool {
        self.forward.iter().any(|step| matches!(step, Step::BatchNorm { .. }))
    }

    /// The fewest rows a training batch needs: a batch normalisation over
    /// features needs two (its unbiased variance divides by `rows − 1`).
    pub fn min_training_rows(&self) -> usize {
        self.forward
            .iter()
            .filter_map(|step| match step {
                Step::BatchNorm { spatial, .. } => Some(if *spatial >= 2 { 1 } else { 2 }),
                _ => None,
            })
            .max()
            .unwrap_or(1)
    }

    /// Outputs per sample.
    pub fn output_size(&self) -> usize {
        self.nodes.last().map_or(self.input, |n| n.width)
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
