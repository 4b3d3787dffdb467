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
//! Workspace, in slot order: for each node of the [graph], its
//! outputs (a dense layer's `z` and `a`; a dropout's `mask` and dropped-out
//! copy `h`; a sum's or a concatenation's result); then the gradients the
//! backward pass writes: one per node (shared with the node it passes its
//! gradient to unchanged, as dropout does, when nothing else reads that node),
//! plus a scratch slot wherever a kernel that overwrites its output adds a
//! second contribution to a gradient (a node read by several others).
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
//! // z and a of each layer, the gradient the loss writes, the gradient of `hidden`.
//! assert_eq!(plan.slots, [4, 4, 1, 1, 1, 4]);
//! assert_eq!(plan.offsets(8).last(), Some(&(8 * 15)));
//! assert!(matches!(plan.forward[0], Step::Dense { inputs: 2, outputs: 4, .. }));
//! ```

use crate::conv::{ConvGeometry, PoolGeometry};
use crate::graph::{self, Node, Op};
use crate::{Activation, Loss};
use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

/// A dense layer: `A = activation(X · W + b)`.
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
}

impl LayerInfo {
    /// A layer of `units` outputs with a bias and no dropout.
    pub fn new(name: impl Into<Cow<'static, str>>, units: usize, activation: Activation) -> LayerInfo {
        LayerInfo { name: name.into(), inputs: 0, units, activation, bias: true }
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
}

/// One parameter tensor of the flat buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The dense layers in order, `inputs` filled in.
    pub layers: Vec<LayerInfo>,
    /// Each dense layer's tensors, in the order of `layers`.
    pub params: Vec<LayerParams>,
    /// Every parameter tensor, in buffer order: node by node, weight (or γ) before bias (or β).
    pub tensors: Vec<ParamTensor>,
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
    /// Lowers a chain of dense layers without dropout: each layer reads the
    /// one before it (the first reads the input), and its `inputs` is set from that.
    pub fn chain(name: impl Into<Cow<'static, str>>, input: usize, layers: Vec<LayerInfo>, loss: Loss) -> Plan {
        let widths: Vec<_> = layers.iter().map(|l| (l.name.clone(), l.units, None)).collect();
        Plan::graph(name, graph::chain(input, &widths), layers, loss).expect("a chain is a valid graph")
    }

    /// Lowers a graph whose dense nodes index `layers` (each layer used by
    /// exactly one node). The layers' `inputs` are set from the graph.
    pub fn graph(
        name: impl Into<Cow<'static, str>>,
        nodes: Vec<Node>,
        mut layers: Vec<LayerInfo>,
        loss: Loss,
    ) -> Result<Plan, String> {
        validate(&nodes, &layers)?;
        let input = nodes[0].width;
        for node in &nodes {
            if let Op::Dense(layer) = node.op {
                layers[layer].inputs = nodes[node.inputs[0]].width;
            }
        }
        let mut params = alloc::vec![LayerParams { weight: 0..0, bias: None }; layers.len()];
        let mut tensors = Vec::new();
        let mut offset = 0;
        for (index, node) in nodes.iter().enumerate() {
            let mut add = |role: Role, shape: Vec<usize>| {
                let range = offset..offset + shape.iter().product::<usize>();
                offset = range.end;
                let suffix = if matches!(role, Role::Weight | Role::Scale) { "weight" } else { "bias" };
                let name = alloc::format!("{}.{suffix}", node.name);
                tensors.push(ParamTensor { name, node: index, role, shape, range: range.clone() });
                range
            };
            match node.op {
                Op::Dense(layer) => {
                    let info = &layers[layer];
                    let weight = add(Role::Weight, alloc::vec![info.inputs, info.units]);
                    let bias = info.bias.then(|| add(Role::Bias, alloc::vec![info.units]));
                    params[layer] = LayerParams { weight, bias };
                }
                Op::LayerNorm { .. } => {
                    add(Role::Scale, alloc::vec![node.width]);
                    add(Role::Shift, alloc::vec![node.width]);
                }
                Op::Conv { geometry: g, bias, one_d } => {
                    let per_group = g.in_channels / g.groups.max(1);
                    let shape = if one_d {
                        alloc::vec![g.out_channels, per_group, g.kernel[1]]
                    } else {
                        alloc::vec![g.out_channels, per_group, g.kernel[0], g.kernel[1]]
                    };
                    add(Role::Weight, shape);
                    if bias {
                        add(Role::Bias, alloc::vec![g.out_channels]);
                    }
                }
                _ => {}
            }
        }
        let mut lowering = Lowering { slots: Vec::new(), steps: Vec::new() };
        let parts = Parts { nodes: &nodes, layers: &layers, params: &params, tensors: &tensors };
        let forward = lowering.forward(&parts);
        let head_node = forward.head_node(&nodes);
        let head = (head_node > 0).then(|| {
            let grad = lowering.take(nodes[head_node].width);
            match (nodes[head_node].op, forward.dense[head_node]) {
                (Op::Dense(layer), Some((z, a))) => Head { activation: layers[layer].activation, z, a, grad },
                (Op::Activation(activation), Some((z, a))) => Head { activation, z, a, grad },
                _ => {
                    let value = forward.values[head_node].buf(false).unwrap_or(grad);
                    Head { activation: Activation::Identity, z: value, a: value, grad }
                }
            }
        });
        let forward_steps = core::mem::take(&mut lowering.steps);
        if let Some(head) = head {
            lowering.backward(&parts, &forward, head_node, head.grad);
        }
        Ok(Plan {
            name: name.into(),
            input,
            nodes,
            layers,
            params,
            tensors,
            param_count: offset,
            slots: lowering.slots,
            forward: forward_steps,
            loss,
            head,
            backward: lowering.steps,
            dropout_masks: forward.masks.iter().filter(|m| m.is_some()).count(),
        })
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

/// The structural rules every back end relies on; the compiler reports each
/// of them with a span before a graph gets here.
fn validate(nodes: &[Node], layers: &[LayerInfo]) -> Result<(), String> {
    if nodes.first().map(|n| n.op) != Some(Op::Input) || nodes.iter().skip(1).any(|n| n.op == Op::Input) {
        return Err("the first node, and only it, is the input".into());
    }
    let mut used = alloc::vec![0usize; layers.len()];
    let mut read = alloc::vec![false; nodes.len()];
    for (index, node) in nodes.iter().enumerate().skip(1) {
        let name = &node.name;
        if node.inputs.iter().any(|&i| i >= index) {
            return Err(alloc::format!("`{name}` reads a node that does not come before it"));
        }
        for &i in node.inputs.iter() {
            read[i] = true;
        }
        let widths = node.inputs.iter().map(|&i| nodes[i].width);
        let one = node.inputs.len() == 1;
        let ok = match node.op {
            Op::Input => false,
            Op::Dense(layer) => {
                if layer >= layers.len() || layers[layer].units != node.width {
                    return Err(alloc::format!("`{name}` names no dense layer of its width"));
                }
                used[layer] += 1;
                one
            }
            Op::Dropout(p) => {
                let input = node.inputs.first().map(|&i| nodes[i].op);
                one && (0.0..1.0).contains(&p)
                    && !matches!(input, Some(Op::Input | Op::Dropout(_)))
                    && nodes[node.inputs[0]].width == node.width
            }
            Op::Add => !node.inputs.is_empty() && widths.clone().all(|w| w == node.width),
            Op::Activation(_) | Op::LayerNorm { .. } | Op::Flatten => one && nodes[node.inputs[0]].width == node.width,
            Op::Conv { geometry, .. } => {
                let groups = geometry.groups;
                one && groups > 0
                    && geometry.in_channels % groups == 0
                    && geometry.out_channels % groups == 0
                    && nodes[node.inputs[0]].width == geometry.input_len()
                    && node.width == geometry.output_len()
            }
            Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => {
                one && nodes[node.inputs[0]].width == geometry.input_len() && node.width == geometry.output_len()
            }
            Op::Concat => !node.inputs.is_empty() && widths.sum::<usize>() == node.width,
        };
        if !ok {
            return Err(alloc::format!("`{name}` ({}) has inputs that do not fit it", node.op.name()));
        }
    }
    if used.iter().any(|&n| n != 1) {
        return Err("every dense layer belongs to exactly one node".into());
    }
    if let Some(unread) = (0..nodes.len().saturating_sub(1)).find(|&i| !read[i] && i > 0) {
        return Err(alloc::format!("nothing reads `{}`", nodes[unread].name));
    }
    Ok(())
}

/// Where the forward pass left each node's value.
struct Forward {
    /// What each node's consumers read.
    values: Vec<Source>,
    /// The `z` and `a` of each dense or activation node.
    dense: Vec<Option<(Buf, Buf)>>,
    /// The mask and keep probability of each dropout node that runs.
    masks: Vec<Option<(Buf, f32)>>,
    /// The normalised values and the reciprocal standard deviations of each layer norm.
    norms: Vec<Option<(Buf, Buf)>>,
    /// The chosen indices of each max pool.
    argmax: Vec<Option<Buf>>,
}

/// The ranges of a convolution's weight and bias.
fn weight_bias(tensors: &[ParamTensor], node: usize) -> (Range<usize>, Option<Range<usize>>) {
    let find = |role| tensors.iter().find(|t| t.node == node && t.role == role).map(|t| t.range.clone());
    (find(Role::Weight).unwrap_or(0..0), find(Role::Bias))
}

/// The ranges of a normalisation node's γ and β.
fn scale_shift(tensors: &[ParamTensor], node: usize) -> (Range<usize>, Range<usize>) {
    let find = |role| tensors.iter().find(|t| t.node == node && t.role == role).map_or(0..0, |t| t.range.clone());
    (find(Role::Scale), find(Role::Shift))
}

impl Forward {
    /// The node whose values the loss reads: the output, through dropout that
    /// does not run there.
    fn head_node(&self, nodes: &[Node]) -> usize {
        let mut node = nodes.len() - 1;
        while matches!(nodes[node].op, Op::Dropout(_)) && self.masks[node].is_none() {
            node = nodes[node].inputs[0];
        }
        node
    }
}

/// What lowering reads: the graph, its dense layers and the parameter layout.
#[derive(Clone, Copy)]
struct Parts<'g> {
    nodes: &'g [Node],
    layers: &'g [LayerInfo],
    params: &'g [LayerParams],
    tensors: &'g [ParamTensor],
}

struct Lowering {
    slots: Vec<usize>,
    steps: Vec<Step>,
}

impl Lowering {
    fn take(&mut self, width: usize) -> Buf {
        self.slots.push(width);
        Buf { slot: self.slots.len() - 1, width }
    }

    fn forward(&mut self, net: &Parts<'_>) -> Forward {
        let Parts { nodes, layers, params, tensors } = *net;
        let count = nodes.len();
        let mut forward = Forward {
            values: alloc::vec![Source::Input; count],
            dense: alloc::vec![None; count],
            masks: alloc::vec![None; count],
            norms: alloc::vec![None; count],
            argmax: alloc::vec![None; count],
        };
        let mut mask_index = 0;
        for (index, node) in nodes.iter().enumerate().skip(1) {
            let inputs: Vec<Source> = node.inputs.iter().map(|&i| forward.values[i]).collect();
            forward.values[index] = match node.op {
                Op::Input => Source::Input,
                Op::Dense(layer) => {
                    let info = &layers[layer];
                    let (z, a) = (self.take(info.units), self.take(info.units));
                    self.steps.push(Step::Dense {
                        input: inputs[0],
                        weight: params[layer].weight.clone(),
                        bias: params[layer].bias.clone(),
                        output: z,
                        inputs: info.inputs,
                        outputs: info.units,
                    });
                    self.steps.push(Step::Activation { activation: info.activation, z, a });
                    forward.dense[index] = Some((z, a));
                    Source::Buf(a)
                }
                // Dropout on the output would zero predictions at random; it runs nowhere.
                Op::Dropout(p) if p > 0.0 && index + 1 < count => {
                    let (Some(input), Some(inference)) = (inputs[0].buf(true), inputs[0].buf(false)) else {
                        return forward;
                    };
                    let (mask, h) = (self.take(node.width), self.take(node.width));
                    let keep = 1.0 - p;
                    self.steps.push(Step::Dropout { index: mask_index, input, mask, output: h, p, keep });
                    mask_index += 1;
                    forward.masks[index] = Some((mask, keep));
                    Source::Dropout { training: h, inference }
                }
                Op::Dropout(_) => inputs[0],
                Op::Activation(activation) => {
                    let z = match inputs[0] {
                        Source::Buf(buf) => buf,
                        source => {
                            let copy = self.take(node.width);
                            self.steps.push(Step::Copy { from: source, to: copy });
                            copy
                        }
                    };
                    let a = self.take(node.width);
                    self.steps.push(Step::Activation { activation, z, a });
                    forward.dense[index] = Some((z, a));
                    Source::Buf(a)
                }
                Op::LayerNorm { eps } => {
                    let (scale, shift) = scale_shift(tensors, index);
                    let (output, xhat, rstd) = (self.take(node.width), self.take(node.width), self.take(1));
                    self.steps.push(Step::LayerNorm { input: inputs[0], scale, shift, output, xhat, rstd, eps });
                    forward.norms[index] = Some((xhat, rstd));
                    Source::Buf(output)
                }
                Op::Conv { geometry, .. } => {
                    let (weight, bias) = weight_bias(tensors, index);
                    let output = self.take(node.width);
                    self.steps.push(Step::Conv { input: inputs[0], weight, bias, output, geometry });
                    Source::Buf(output)
                }
                Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => {
                    let output = self.take(node.width);
                    let argmax = geometry.max.then(|| self.take(node.width));
                    self.steps.push(Step::Pool { input: inputs[0], output, argmax, geometry });
                    forward.argmax[index] = argmax;
                    Source::Buf(output)
                }
                Op::Flatten => inputs[0],
                Op::Add => {
                    let out = self.take(node.width);
                    self.steps.push(Step::Copy { from: inputs[0], to: out });
                    for &from in &inputs[1..] {
                        self.steps.push(Step::Accumulate { from, into: out });
                    }
                    Source::Buf(out)
                }
                Op::Concat => {
                    let out = self.take(node.width);
                    let mut offset = 0;
                    for (&from, &i) in inputs.iter().zip(node.inputs.iter()) {
                        let width = nodes[i].width;
                        self.steps.push(Step::PlaceColumns { from, width, to: out, offset });
                        offset += width;
                    }
                    Source::Buf(out)
                }
            };
        }
        forward
    }

    /// The backward pass from the head's gradient: every node's gradient gets
    /// its own buffer (shared with the node it passes it to unchanged when that
    /// node has no other reader), written by its first contribution in reverse
    /// order and accumulated into by the others.
    fn backward(&mut self, net: &Parts<'_>, forward: &Forward, head_node: usize, head_grad: Buf) {
        let Parts { nodes, layers, params, tensors } = *net;
        let mut readers = alloc::vec![0usize; nodes.len()];
        for node in nodes {
            for &i in node.inputs.iter() {
                readers[i] += 1;
            }
        }
        let mut grads: Vec<Option<Buf>> = alloc::vec![None; nodes.len()];
        grads[head_node] = Some(head_grad);
        for index in (1..=head_node).rev() {
            let Some(grad) = grads[index] else { continue };
            let node = &nodes[index];
            match node.op {
                Op::Input => {}
                Op::Dense(layer) => {
                    let (z, a) = forward.dense[index].expect("a dense node has its buffers");
                    if index != head_node {
                        let activation = layers[layer].activation;
                        self.steps.push(Step::ActivationBackward { activation, z, a, grad });
                    }
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    self.steps.push(Step::DenseBackward {
                        input: forward.values[input],
                        weight: params[layer].weight.clone(),
                        bias: params[layer].bias.clone(),
                        dz: grad,
                        dx,
                        inputs: layers[layer].inputs,
                        outputs: layers[layer].units,
                    });
                    self.accumulate(dx, accumulate);
                }
                Op::Dropout(_) => {
                    if let Some((mask, keep)) = forward.masks[index] {
                        self.steps.push(Step::DropoutBackward { mask, grad, keep });
                    }
                    self.pass_through(&mut grads, nodes, &readers, node.inputs[0], grad);
                }
                Op::Activation(activation) => {
                    let (z, a) = forward.dense[index].expect("an activation node has its buffers");
                    if index != head_node {
                        self.steps.push(Step::ActivationBackward { activation, z, a, grad });
                    }
                    self.pass_through(&mut grads, nodes, &readers, node.inputs[0], grad);
                }
                Op::Conv { geometry, .. } => {
                    let (weight, bias) = weight_bias(tensors, index);
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    let source = forward.values[input];
                    self.steps.push(Step::ConvBackward { input: source, weight, bias, dz: grad, dx, geometry });
                    self.accumulate(dx, accumulate);
                }
                Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => {
                    let input = node.inputs[0];
                    if !matches!(nodes[input].op, Op::Input) {
                        let (dx, accumulate) = self.contribution(&mut grads, nodes, input);
                        let argmax = forward.argmax[index];
                        self.steps.push(Step::PoolBackward { grad, argmax, dx, geometry });
                        if let Some(into) = accumulate {
                            self.steps.push(Step::Accumulate { from: Source::Buf(dx), into });
                        }
                    }
                }
                Op::Flatten => self.pass_through(&mut grads, nodes, &readers, node.inputs[0], grad),
                Op::LayerNorm { .. } => {
                    let (scale, shift) = scale_shift(tensors, index);
                    let (xhat, rstd) = forward.norms[index].expect("a layer norm has its buffers");
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    self.steps.push(Step::LayerNormBackward { grad, scale, shift, xhat, rstd, dx });
                    self.accumulate(dx, accumulate);
                }
                Op::Add => {
                    for &input in node.inputs.iter() {
                        if matches!(nodes[input].op, Op::Input) {
                            continue;
                        }
                        match grads[input] {
                            None => {
                                let to = self.contribution(&mut grads, nodes, input).0;
                                self.steps.push(Step::Copy { from: Source::Buf(grad), to });
                            }
                            Some(into) => self.steps.push(Step::Accumulate { from: Source::Buf(grad), into }),
                        }
                    }
                }
                Op::Concat => {
                    let mut offset = 0;
                    for &input in node.inputs.iter() {
                        if !matches!(nodes[input].op, Op::Input) {
                            let accumulate = grads[input].is_some();
                            let to = match grads[input] {
                                Some(to) => to,
                                None => self.contribution(&mut grads, nodes, input).0,
                            };
                            self.steps.push(Step::TakeColumns { from: grad, to, offset, accumulate });
                        }
                        offset += nodes[input].width;
                    }
                }
            }
        }
    }

    /// Where a kernel writes its gradient with respect to `input` (none for the
    /// network's input), and the buffer to add it to afterwards if that is
    /// not its first contribution.
    fn input_gradient(
        &mut self,
        grads: &mut [Option<Buf>],
        nodes: &[Node],
        input: usize,
    ) -> (Option<Buf>, Option<Buf>) {
        match nodes[input].op {
            Op::Input => (None, None),
            _ => {
                let (buf, accumulate) = self.contribution(grads, nodes, input);
                (Some(buf), accumulate)
            }
        }
    }

    /// Adds a contribution written to a scratch buffer into the gradient it belongs to.
    fn accumulate(&mut self, written: Option<Buf>, into: Option<Buf>) {
        if let (Some(from), Some(into)) = (written, into) {
            self.steps.push(Step::Accumulate { from: Source::Buf(from), into });
        }
    }

    /// Hands `grad`, already the gradient with respect to `input`'s value, on
    /// to `input`: as its gradient buffer when nothing else reads it, else
    /// copied or added into that buffer.
    fn pass_through(&mut self, grads: &mut [Option<Buf>], nodes: &[Node], readers: &[usize], input: usize, grad: Buf) {
        if matches!(nodes[input].op, Op::Input) {
            return;
        }
        match grads[input] {
            None if readers[input] == 1 => grads[input] = Some(grad),
            None => {
                let to = self.contribution(grads, nodes, input).0;
                self.steps.push(Step::Copy { from: Source::Buf(grad), to });
            }
            Some(into) => self.steps.push(Step::Accumulate { from: Source::Buf(grad), into }),
        }
    }

    /// Where a kernel that overwrites its output puts a contribution to the
    /// gradient of `node`: its gradient buffer for the first contribution, else
    /// a scratch buffer to accumulate from (returned second).
    fn contribution(&mut self, grads: &mut [Option<Buf>], nodes: &[Node], node: usize) -> (Buf, Option<Buf>) {
        match grads[node] {
            None => {
                let buf = self.take(nodes[node].width);
                grads[node] = Some(buf);
                (buf, None)
            }
            Some(into) => (self.take(nodes[node].width), Some(into)),
        }
    }
}
