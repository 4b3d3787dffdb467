//! A network quantised to int8: quantisation from f32 parameters and
//! calibration ranges, the integer forward pass that generated code mirrors
//! node for node, and the tensors of an int8 weight file.

use super::conv::conv;
use super::dense::dense;
use super::elementwise::{add_into, add_store, affine, rescale, table, ADD_SHIFT};
use super::pool::{global_avg_pool, pool};
use super::{Output, Requant};
use crate::conv::{ConvGeometry, PoolGeometry};
use crate::graph::Op;
use crate::plan::{Plan, Role};
use crate::Activation;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

/// A tensor's quantisation: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantParams {
    /// The real step between two adjacent int8 values.
    pub scale: f32,
    /// The int8 value of real zero.
    pub zero_point: i32,
}

impl QuantParams {
    /// The asymmetric quantisation of `[min, max]` widened to include 0, so
    /// real zero is exact.
    pub fn from_range(min: f32, max: f32) -> QuantParams {
        let (min, max) = (min.min(0.0) as f64, max.max(0.0) as f64);
        if !(max - min).is_finite() || max - min <= f64::from(f32::MIN_POSITIVE) {
            return QuantParams { scale: 1.0, zero_point: 0 };
        }
        let scale = (max - min) / 255.0;
        let zero_point = libm::round(-128.0 - min / scale).clamp(-128.0, 127.0) as i32;
        QuantParams { scale: scale as f32, zero_point }
    }

    /// `x` as int8, rounded half away from zero and saturated ([`super::quantize_value`]).
    pub fn quantize(&self, x: f32) -> i8 {
        super::quantize_value(x, self.scale, self.zero_point)
    }

    /// The real value of `q`.
    pub fn dequantize(&self, q: i8) -> f32 {
        super::dequantize_value(q, self.scale, self.zero_point)
    }
}

impl Requant {
    /// The fixed-point form of a real multiplier; none when it is too large
    /// (2^30 or more) or not finite. Multipliers below 2^−31 become zero.
    pub fn from_real(real: f64) -> Option<Requant> {
        if !real.is_finite() {
            return None;
        }
        if real == 0.0 {
            return Some(Requant { multiplier: 0, shift: 0 });
        }
        let (fraction, mut exponent) = libm::frexp(real);
        let mut mantissa = libm::round(fraction * 2_147_483_648.0) as i64;
        if mantissa.abs() == 1 << 31 {
            mantissa /= 2;
            exponent += 1;
        }
        if exponent > 30 {
            return None;
        }
        if exponent < -31 {
            return Some(Requant { multiplier: 0, shift: 0 });
        }
        Some(Requant { multiplier: mantissa as i32, shift: exponent })
    }
}

/// What the output of the integer pass still needs in f32 (the row-wise
/// activation of the last node, which has no int8 form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Nothing: the dequantised output is the network's output.
    None,
    /// The integer pass ends at the logits; `predict` applies softmax.
    Softmax,
    /// The integer pass ends at the logits; `predict` applies log-softmax.
    LogSoftmax,
}

/// What an int8 node computes.
#[derive(Debug, Clone, PartialEq)]
pub enum QKind {
    /// The network's input, in its own quantisation.
    Input,
    /// Its input's values unchanged (dropout, flatten, a standardisation
    /// folded into the input's quantisation, a last softmax left to `predict`).
    Copy,
    /// A dense layer: weights `[outputs][inputs]`, the input's zero point
    /// folded into the bias; `table`, if any, maps the requantised
    /// pre-activation to the output (any activation other than ReLU, which
    /// `output.min` fuses, and the identity).
    Dense {
        /// int8 weights, row-major `[outputs][inputs]`.
        weight: Vec<i8>,
        /// Each output channel's weight scale.
        weight_scale: Vec<f32>,
        /// i32 biases in each channel's accumulator scale.
        bias: Vec<i32>,
        /// Each channel's requantisation.
        requant: Vec<Requant>,
        /// The store of the requantised values.
        output: Output,
        /// The pre-activation's quantisation and the activation's table.
        table: Option<(QuantParams, Vec<i8>)>,
    },
    /// A convolution (`[out][in/groups][kh][kw]` weights).
    Conv {
        /// Its sizes.
        geometry: ConvGeometry,
        /// int8 weights.
        weight: Vec<i8>,
        /// Each output channel's weight scale.
        weight_scale: Vec<f32>,
        /// i32 biases.
        bias: Vec<i32>,
        /// Each channel's requantisation.
        requant: Vec<Requant>,
        /// The store of the requantised values.
        output: Output,
    },
    /// A max or average pool (the input's quantisation).
    Pool(PoolGeometry),
    /// The mean of each channel (the input's quantisation).
    GlobalAvgPool,
    /// An activation as a 256-entry table.
    Table(Vec<i8>),
    /// A residual sum: each input's rescaling (after the [`ADD_SHIFT`]
    /// headroom), then the sum's.
    Add {
        /// One per input.
        inputs: Vec<Requant>,
        /// From the sum to the output.
        output: Requant,
    },
    /// A concatenation: each input rescaled into the output's quantisation.
    Concat(Vec<Requant>),
    /// Per channel `y = a·x + b` (batch normalisation in inference, a
    /// standardisation not folded into the input's quantisation).
    Affine {
        /// `a · s_x / s_y` per channel.
        requant: Vec<Requant>,
        /// `b / s_y` per channel.
        offset: Vec<i32>,
    },
}

/// One node of an int8 network (the nodes of the f32 graph, in its order).
#[derive(Debug, Clone, PartialEq)]
pub struct QNode {
    /// The node's name in the spec.
    pub name: String,
    /// The nodes it reads.
    pub inputs: Vec<usize>,
    /// Values per sample.
    pub width: usize,
    /// Its output's quantisation.
    pub params: QuantParams,
    /// What it computes.
    pub kind: QKind,
}

/// A network quantised to int8 (see [the module](super)).
#[derive(Debug, Clone, PartialEq)]
pub struct QNetwork {
    /// The network's name.
    pub name: String,
    /// Its nodes: node 0 is the input.
    pub nodes: Vec<QNode>,
    /// What the dequantised output still needs.
    pub finish: Finish,
    /// Per input feature `(mean, std)`: the standardisation the f32 network
    /// was trained behind, folded into the input's quantisation
    /// (`q = round((x − mean)/(std · scale)) + zero_point` per feature), so
    /// [`QNetwork::predict`] reads raw rows and the integer pass never sees it.
    pub input_standardization: Option<(Vec<f32>, Vec<f32>)>,
}

/// The range of values each node took on the calibration data.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranges {
    /// `(min, max)` of each node's output (node 0: the raw input).
    pub outputs: Vec<(f32, f32)>,
    /// `(min, max)` of each dense or activation node's pre-activation.
    pub pre_activations: Vec<Option<(f32, f32)>>,
}

impl Ranges {
    /// `[-1, 1]` everywhere: the ranges of a network's size figures, before any calibration.
    pub fn unit(plan: &Plan) -> Ranges {
        Ranges {
            outputs: vec![(-1.0, 1.0); plan.nodes.len()],
            pre_activations: plan.pre_activations.iter().map(|z| z.map(|_| (-1.0, 1.0))).collect(),
        }
    }
}

/// Why a network could not be quantised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantError {
    /// An op without an int8 kernel.
    Unsupported {
        /// The node.
        node: String,
        /// Its statement.
        op: String,
    },
    /// A multiplier or an accumulator out of the integer range (a scale that
    /// calibration made absurd, or a layer too wide for an i32 sum).
    Range {
        /// The node.
        node: String,
        /// What overflowed.
        what: String,
    },
    /// The parameters, buffers, ranges or standardisation do not fit the network.
    Mismatch(String),
}

impl core::fmt::Display for QuantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QuantError::Unsupported { node, op } => {
                write!(f, "`{node}` is a `{op}`, which has no int8 kernel; int8 networks take dense, conv1d/2d, pools, global_avg_pool, flatten, dropout, add, concat, batch_norm, standardize and element-wise activations")
            }
            QuantError::Range { node, what } => write!(f, "`{node}`: {what} does not fit in 32-bit integers"),
            QuantError::Mismatch(what) => f.write_str(what),
        }
    }
}

/// Per output channel: symmetric int8 weights, their scale.
fn quantize_channel(weights: impl Iterator<Item = f32> + Clone) -> (Vec<i8>, f32) {
    let max = weights.clone().fold(0.0f32, |m, w| m.max(w.abs()));
    let scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
    let q = weights.map(|w| libm::round(f64::from(w) / f64::from(scale)).clamp(-127.0, 127.0) as i8).collect();
    (q, scale)
}

/// The 256-entry table of `activation` from quantisation `from` to `to`.
fn activation_table(activation: Activation, from: QuantParams, to: QuantParams) -> Vec<i8> {
    (-128..=127).map(|q: i32| to.quantize(activation.apply(from.dequantize(q as i8)))).collect()
}

/// The quantisation of a per-channel affine map `y = a·x + b` from `from` to `to`.
fn affine_kind(node: &str, a: &[f64], b: &[f64], from: QuantParams, to: QuantParams) -> Result<QKind, QuantError> {
    let mut requant = Vec::with_capacity(a.len());
    let mut offset = Vec::with_capacity(a.len());
    for (a, b) in a.iter().zip(b) {
        requant.push(multiplier(node, a * f64::from(from.scale) / f64::from(to.scale))?);
        let o = libm::round(b / f64::from(to.scale));
        if o.abs() > f64::from(i32::MAX / 2) {
            return Err(QuantError::Range { node: node.to_string(), what: "an offset".into() });
        }
        offset.push(o as i32);
    }
    Ok(QKind::Affine { requant, offset })
}

fn multiplier(node: &str, real: f64) -> Result<Requant, QuantError> {
    Requant::from_real(real)
        .ok_or_else(|| QuantError::Range { node: node.to_string(), what: "a requantisation multiplier".into() })
}

/// Quantises the network of `plan` with f32 `params` and `buffers` (its
/// trained state) and the calibration `ranges` (of the standardised input,
/// where there is a standardisation). `standardization` (per input feature
/// `(mean, std)`, applied to the raw input before the network, as the CLI's
/// `standardize = true` does), or a `standardize` statement that alone reads
/// the input, is folded into the input's quantisation.
pub fn quantize(
    plan: &Plan,
    params: &[f32],
    buffers: &[f32],
    standardization: Option<(&[f32], &[f32])>,
    ranges: &Ranges,
) -> Result<QNetwork, QuantError> {
    let count = plan.nodes.len();
    if params.len() != plan.param_count || buffers.len() != plan.buffer_count {
        return Err(QuantError::Mismatch(alloc::format!(
            "{} parameters and {} buffer values given, `{}` has {} and {}",
            params.len(),
            buffers.len(),
            plan.name,
            plan.param_count,
            plan.buffer_count
        )));
    }
    if ranges.outputs.len() != count || ranges.pre_activations.len() != count {
        return Err(QuantError::Mismatch("the calibration ranges are not those of this network".into()));
    }
    let mut readers = vec![Vec::new(); count];
    for (index, node) in plan.nodes.iter().enumerate() {
        for &input in node.inputs.iter() {
            readers[input].push(index);
        }
    }
    let tensor = |node: usize, role: Role| plan.tensors.iter().find(|t| t.node == node && t.role == role);
    let values = |node: usize, role: Role| tensor(node, role).map(|t| &params[t.range.clone()]);
    let buffer = |node: usize, suffix: &str| {
        let name = alloc::format!("{}.{suffix}", plan.nodes[node].name);
        plan.buffers.iter().find(|b| b.name == name).map(|b| &buffers[b.range.clone()])
    };
    // A standardisation of the input (given, or a `standardize` statement that
    // alone reads the input) becomes part of the input's quantisation.
    let folded = match plan.nodes.get(readers[0].first().copied().unwrap_or(0)) {
        Some(node) if standardization.is_none() && readers[0].len() == 1 && matches!(node.op, Op::Standardize) => {
            Some(readers[0][0])
        }
        _ => None,
    };
    let input_standardization = match (standardization, folded) {
        (Some((mean, std)), _) => {
            if mean.len() != plan.input || std.len() != plan.input {
                return Err(QuantError::Mismatch("the standardisation does not fit the input".into()));
            }
            Some((mean.to_vec(), std.to_vec()))
        }
        (None, Some(node)) => match (buffer(node, "mean"), buffer(node, "std")) {
            (Some(mean), Some(std)) => Some((mean.to_vec(), std.to_vec())),
            _ => return Err(QuantError::Mismatch(alloc::format!("`{}` has no statistics", plan.nodes[node].name))),
        },
        (None, None) => None,
    };
    let mut nodes: Vec<QNode> = Vec::with_capacity(count);
    let mut finish = Finish::None;
    for (index, node) in plan.nodes.iter().enumerate() {
        let name = node.name.to_string();
        let range = ranges.outputs[index];
        let own = QuantParams::from_range(range.0, range.1);
        let input = node.inputs.first().map(|&i| nodes[i].params);
        let from = input.unwrap_or(own);
        let last = index + 1 == count;
        let unsupported = || QuantError::Unsupported { node: name.clone(), op: node.op.name().to_string() };
        let (params, kind) = match node.op {
            Op::Input => {
                let range = folded.map_or(range, |node| ranges.outputs[node]);
                (QuantParams::from_range(range.0, range.1), QKind::Input)
            }
            Op::Dropout(_) | Op::Flatten | Op::Pool { .. } | Op::GlobalAvgPool(_) => {
                let kind = match node.op {
                    Op::Pool { geometry, .. } => QKind::Pool(geometry),
                    Op::GlobalAvgPool(_) => QKind::GlobalAvgPool,
                    _ => QKind::Copy,
                };
                (from, kind)
            }
            Op::Standardize => {
                let (Some(mean), Some(std)) = (buffer(index, "mean"), buffer(index, "std")) else {
                    return Err(QuantError::Mismatch(alloc::format!("`{name}` has no statistics")));
                };
                if folded == Some(index) {
                    (from, QKind::Copy)
                } else {
                    let a: Vec<f64> = std.iter().map(|&s| 1.0 / f64::from(s)).collect();
                    let b: Vec<f64> = mean.iter().zip(&a).map(|(&m, a)| -f64::from(m) * a).collect();
                    (own, affine_kind(&name, &a, &b, from, own)?)
                }
            }
            Op::BatchNorm { channels, eps, .. } => {
                let (Some(gamma), Some(beta)) = (values(index, Role::Scale), values(index, Role::Shift)) else {
                    return Err(QuantError::Mismatch(alloc::format!("`{name}` has no parameters")));
                };
                let (Some(mean), Some(var)) = (buffer(index, "running_mean"), buffer(index, "running_var")) else {
                    return Err(QuantError::Mismatch(alloc::format!("`{name}` has no running statistics")));
                };
                let a: Vec<f64> = (0..channels)
                    .map(|c| f64::from(gamma[c]) / libm::sqrt(f64::from(var[c]) + f64::from(eps)))
                    .collect();
                let b: Vec<f64> = (0..channels).map(|c| f64::from(beta[c]) - a[c] * f64::from(mean[c])).collect();
                (own, affine_kind(&name, &a, &b, from, own)?)
            }
            Op::Dense(layer) => {
                let activation = plan.layers[layer].activation;
                let mut pre_range = ranges.pre_activations[index].unwrap_or(range);
                // Past these inputs tanh and sigmoid move by less than one output
                // step (1/127.5 and 1/255): the pre-activation's 256 levels go where they change.
                let saturation = match activation {
                    Activation::Tanh => Some(3.0),
                    Activation::Sigmoid => Some(6.0),
                    _ => None,
                };
                if let Some(limit) = saturation {
                    pre_range = (pre_range.0.max(-limit), pre_range.1.min(limit));
                }
                let pre = QuantParams::from_range(pre_range.0, pre_range.1);
                let (params, target, table_of, fused_relu) = match activation {
                    Activation::Identity => (pre, pre, None, false),
                    Activation::Relu => (own, own, None, true),
                    Activation::Softmax | Activation::LogSoftmax if last => {
                        finish = if activation == Activation::Softmax { Finish::Softmax } else { Finish::LogSoftmax };
                        (pre, pre, None, false)
                    }
                    Activation::Softmax | Activation::LogSoftmax => return Err(unsupported_rowwise(&name, activation)),
                    other => (own, pre, Some(other), false),
                };
                let weight = values(index, Role::Weight).unwrap_or(&[]);
                let bias = values(index, Role::Bias);
                let (inputs, units) = (plan.layers[layer].inputs, plan.layers[layer].units);
                let mut q_weight = vec![0i8; inputs * units];
                let (mut q_bias, mut requant, mut weight_scale) = (Vec::new(), Vec::new(), Vec::new());
                for o in 0..units {
                    let (row, scale) = quantize_channel((0..inputs).map(|i| weight[i * units + o]));
                    let accumulator = f64::from(from.scale) * f64::from(scale);
                    let sum: i64 = row.iter().map(|&w| i64::from(w)).sum();
                    let b = libm::round(bias.map_or(0.0, |b| f64::from(b[o])) / accumulator)
                        - (i64::from(from.zero_point) * sum) as f64;
                    if b.abs() + (inputs as f64) * 127.0 * 255.0 > f64::from(i32::MAX) {
                        return Err(QuantError::Range { node: name, what: "the accumulator".into() });
                    }
                    q_bias.push(b as i32);
                    requant.push(multiplier(&name, accumulator / f64::from(target.scale))?);
                    weight_scale.push(scale);
                    q_weight[o * inputs..(o + 1) * inputs].copy_from_slice(&row);
                }
                let mut output = Output::new(target.zero_point);
                if fused_relu {
                    output.min = target.zero_point.max(-128);
                }
                let table = table_of.map(|activation| (pre, activation_table(activation, pre, params)));
                let kind = QKind::Dense { weight: q_weight, weight_scale, bias: q_bias, requant, output, table };
                (params, kind)
            }
            Op::Conv { geometry, .. } => {
                let weight = values(index, Role::Weight).unwrap_or(&[]);
                let bias = values(index, Role::Bias);
                let per_channel = geometry.weight_len() / geometry.out_channels.max(1);
                let mut q_weight = Vec::with_capacity(weight.len());
                let (mut q_bias, mut requant, mut weight_scale) = (Vec::new(), Vec::new(), Vec::new());
                for o in 0..geometry.out_channels {
                    let channel = &weight[o * per_channel..(o + 1) * per_channel];
                    let (row, scale) = quantize_channel(channel.iter().copied());
                    let accumulator = f64::from(from.scale) * f64::from(scale);
                    let b = libm::round(bias.map_or(0.0, |b| f64::from(b[o])) / accumulator);
                    if b.abs() + (per_channel as f64) * 127.0 * 255.0 > f64::from(i32::MAX) {
                        return Err(QuantError::Range { node: name, what: "the accumulator".into() });
                    }
                    q_bias.push(b as i32);
                    requant.push(multiplier(&name, accumulator / f64::from(own.scale))?);
                    weight_scale.push(scale);
                    q_weight.extend_from_slice(&row);
                }
                let output = Output::new(own.zero_point);
                (own, QKind::Conv { geometry, weight: q_weight, weight_scale, bias: q_bias, requant, output })
            }
            Op::Activation(activation) => match activation {
                Activation::Softmax | Activation::LogSoftmax if last => {
                    finish = if activation == Activation::Softmax { Finish::Softmax } else { Finish::LogSoftmax };
                    (from, QKind::Copy)
                }
                Activation::Softmax | Activation::LogSoftmax => return Err(unsupported_rowwise(&name, activation)),
                Activation::Identity => (from, QKind::Copy),
                other => (own, QKind::Table(activation_table(other, from, own))),
            },
            Op::Add => {
                let scales: Vec<f64> = node.inputs.iter().map(|&i| f64::from(nodes[i].params.scale)).collect();
                let largest = scales.iter().fold(0.0f64, |m, &s| m.max(s));
                let inputs =
                    scales.iter().map(|s| multiplier(&name, s / (2.0 * largest))).collect::<Result<Vec<_>, _>>()?;
                let output = multiplier(&name, 2.0 * largest / (f64::from(1u32 << ADD_SHIFT) * f64::from(own.scale)))?;
                (own, QKind::Add { inputs, output })
            }
            Op::Concat => {
                let requant = node
                    .inputs
                    .iter()
                    .map(|&i| multiplier(&name, f64::from(nodes[i].params.scale) / f64::from(own.scale)))
                    .collect::<Result<Vec<_>, _>>()?;
                (own, QKind::Concat(requant))
            }
            Op::LayerNorm { .. } => return Err(unsupported()),
        };
        nodes.push(QNode { name, inputs: node.inputs.to_vec(), width: node.width, params, kind });
    }
    Ok(QNetwork { name: plan.name.to_string(), nodes, finish, input_standardization })
}

fn unsupported_rowwise(node: &str, activation: Activation) -> QuantError {
    QuantError::Unsupported { node: node.to_string(), op: alloc::format!("{} before the last node", activation.name()) }
}

impl QNetwork {
    /// Input features per sample.
    pub fn input_size(&self) -> usize {
        self.nodes.first().map_or(0, |n| n.width)
    }

    /// Outputs per sample.
    pub fn output_size(&self) -> usize {
        self.nodes.last().map_or(0, |n| n.width)
    }

    /// The input's quantisation.
    pub fn input_params(&self) -> QuantParams {
        self.nodes.first().map_or(QuantParams { scale: 1.0, zero_point: 0 }, |n| n.params)
    }

    /// The output's quantisation.
    pub fn output_params(&self) -> QuantParams {
        self.nodes.last().map_or(QuantParams { scale: 1.0, zero_point: 0 }, |n| n.params)
    }

    /// The integer forward pass of one sample: every node's int8 value
    /// (`values[k]` is node `k`'s), through the kernels generated code calls.
    ///
    /// # Panics
    ///
    /// If `x` holds fewer than [`Self::input_size`] values.
    pub fn run(&self, x: &[i8]) -> Vec<Vec<i8>> {
        let mut values: Vec<Vec<i8>> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let mut y = vec![0i8; node.width];
            let input = |k: usize| values[node.inputs[k]].as_slice();
            match &node.kind {
                QKind::Input => y.copy_from_slice(&x[..node.width]),
                QKind::Copy => y.copy_from_slice(&input(0)[..node.width]),
                QKind::Dense { weight, bias, requant, output, table: lookup, .. } => {
                    dense(input(0), weight, bias, requant, *output, &mut y);
                    if let Some((_, entries)) = lookup {
                        let pre = y.clone();
                        table(&pre, entries, &mut y);
                    }
                }
                QKind::Conv { geometry, weight, bias, requant, output, .. } => {
                    let zero = self.nodes[node.inputs[0]].params.zero_point;
                    let mut acc = vec![0i32; geometry.out_h * geometry.out_w];
                    conv(input(0), weight, bias, requant, zero, *output, geometry, &mut acc, &mut y);
                }
                QKind::Pool(geometry) => pool(input(0), &mut y, geometry),
                QKind::GlobalAvgPool => global_avg_pool(input(0), &mut y),
                QKind::Table(entries) => table(input(0), entries, &mut y),
                QKind::Add { inputs, output } => {
                    let mut acc = vec![0i32; node.width];
                    for (k, requant) in inputs.iter().enumerate() {
                        add_into(input(k), self.nodes[node.inputs[k]].params.zero_point, *requant, &mut acc);
                    }
                    add_store(&acc, *output, Output::new(node.params.zero_point), &mut y);
                }
                QKind::Concat(requant) => {
                    let mut start = 0;
                    for (k, requant) in requant.iter().enumerate() {
                        let source = &self.nodes[node.inputs[k]];
                        let end = start + source.width;
                        let output = Output::new(node.params.zero_point);
                        rescale(input(k), source.params.zero_point, *requant, output, &mut y[start..end]);
                        start = end;
                    }
                }
                QKind::Affine { requant, offset } => {
                    let zero = node.inputs.first().map_or(0, |&i| self.nodes[i].params.zero_point);
                    affine(input(0), zero, requant, offset, Output::new(node.params.zero_point), &mut y);
                }
            }
            values.push(y);
        }
        values
    }

    /// One f32 sample (raw, before any standardisation) as the integer pass's input.
    pub fn quantize_input(&self, x: &[f32]) -> Vec<i8> {
        let input = self.input_params();
        match &self.input_standardization {
            Some((mean, std)) => {
                x.iter().zip(mean).zip(std).map(|((&v, &m), &s)| input.quantize((v - m) / s)).collect()
            }
            None => x.iter().map(|&v| input.quantize(v)).collect(),
        }
    }

    /// The int8 output of one quantised sample (panics as [`Self::run`] does).
    pub fn predict_q(&self, x: &[i8]) -> Vec<i8> {
        self.run(x).pop().unwrap_or_default()
    }

    /// The f32 output of one f32 sample: quantised, run in integers, dequantised
    /// (and the softmax of a classifier's logits applied). Panics as [`Self::run`] does.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let q = self.quantize_input(x);
        let output = self.output_params();
        let mut y: Vec<f32> = self.predict_q(&q).iter().map(|&v| output.dequantize(v)).collect();
        match self.finish {
            Finish::None => {}
            Finish::Softmax => crate::activation::softmax_row_in_place(&mut y),
            Finish::LogSoftmax => crate::activation::log_softmax_row_in_place(&mut y),
        }
        y
    }

    /// Bytes of what integer inference reads besides its input: int8
    /// weights and tables, i32 biases, offsets and requantisations (a
    /// multiplier and a shift each).
    pub fn weight_bytes(&self) -> usize {
        self.nodes
            .iter()
            .map(|node| match &node.kind {
                QKind::Dense { weight, bias, requant, table, .. } => {
                    weight.len() + 4 * bias.len() + 8 * requant.len() + table.as_ref().map_or(0, |t| t.1.len())
                }
                QKind::Conv { weight, bias, requant, .. } => weight.len() + 4 * bias.len() + 8 * requant.len(),
                QKind::Table(entries) => entries.len(),
                QKind::Add { inputs, .. } => 8 * (inputs.len() + 1),
                QKind::Concat(requant) => 8 * requant.len(),
                QKind::Affine { requant, offset } => 8 * requant.len() + 4 * offset.len(),
                QKind::Input | QKind::Copy | QKind::Pool(_) | QKind::GlobalAvgPool => 0,
            })
            .sum()
    }
}

/// The peak bytes of live node values in one sample's forward pass, at
/// `bytes` per value: a node's value lives from its computation to its last
/// reader (the output to the end), and a residual sum adds its i32
/// accumulator while it runs when `accumulator` is set.
pub fn activation_bytes(nodes: &[crate::graph::Node], bytes: usize, accumulator: bool) -> usize {
    let count = nodes.len();
    let mut last_read: Vec<usize> = (0..count).collect();
    for (index, node) in nodes.iter().enumerate() {
        for &input in node.inputs.iter() {
            last_read[input] = last_read[input].max(index);
        }
    }
    if let Some(last) = last_read.last_mut() {
        *last = count;
    }
    let mut peak = 0;
    for (index, node) in nodes.iter().enumerate() {
        let live: usize = (0..=index).filter(|&k| last_read[k] >= index).map(|k| nodes[k].width * bytes).sum();
        let scratch = if accumulator && matches!(node.op, Op::Add) { node.width * 4 } else { 0 };
        peak = peak.max(live + scratch);
    }
    peak
}

/// The values of one tensor of an int8 weight file.
#[derive(Debug, Clone, PartialEq)]
pub enum QData {
    /// int8 weights and tables.
    I8(Vec<i8>),
    /// Biases, offsets, zero points, requantisations (`[n, 2]`: multiplier, shift).
    I32(Vec<i32>),
    /// Scales.
    F32(Vec<f32>),
}

/// One tensor of an int8 weight file.
#[derive(Debug, Clone, PartialEq)]
pub struct QTensor {
    /// `node.weight`, `node.scale`, …
    pub name: String,
    /// Its shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// Its values.
    pub data: QData,
}

fn requant_values(requant: &[Requant]) -> Vec<i32> {
    requant.iter().flat_map(|r| [r.multiplier, r.shift]).collect()
}

impl QNetwork {
    /// The tensors of its weight file, node by node: every node's `scale` and
    /// `zero_point` (its output's quantisation), and what its kernel reads:
    /// `weight` (int8; a dense layer's `[units][inputs]`, a convolution's as in
    /// f32), `weight_scale`, `bias` (i32), `requant` (`[channels][2]`:
    /// multiplier and shift, a sum's inputs then its output), `clamp` (a dense
    /// layer's stored range, narrowed by a fused ReLU), `table` (256 entries) with
    /// `pre_scale` and `pre_zero_point` (the quantisation the table reads),
    /// `offset` (an affine node's i32 offsets).
    pub fn tensors(&self) -> Vec<QTensor> {
        let mut tensors = Vec::new();
        let mut push = |node: &str, suffix: &str, shape: Vec<usize>, data: QData| {
            tensors.push(QTensor { name: alloc::format!("{node}.{suffix}"), shape, data });
        };
        for node in &self.nodes {
            let n = node.name.as_str();
            push(n, "scale", Vec::new(), QData::F32(vec![node.params.scale]));
            push(n, "zero_point", Vec::new(), QData::I32(vec![node.params.zero_point]));
            if let (QKind::Input, Some((mean, std))) = (&node.kind, &self.input_standardization) {
                push(n, "mean", vec![mean.len()], QData::F32(mean.clone()));
                push(n, "std", vec![std.len()], QData::F32(std.clone()));
            }
            match &node.kind {
                QKind::Dense { weight, weight_scale, bias, requant, output, table: lookup } => {
                    let units = bias.len();
                    push(n, "weight", vec![units, weight.len() / units.max(1)], QData::I8(weight.clone()));
                    push(n, "weight_scale", vec![units], QData::F32(weight_scale.clone()));
                    push(n, "bias", vec![units], QData::I32(bias.clone()));
                    push(n, "requant", vec![units, 2], QData::I32(requant_values(requant)));
                    push(n, "clamp", vec![2], QData::I32(vec![output.min, output.max]));
                    if let Some((pre, entries)) = lookup {
                        push(n, "table", vec![256], QData::I8(entries.clone()));
                        push(n, "pre_scale", Vec::new(), QData::F32(vec![pre.scale]));
                        push(n, "pre_zero_point", Vec::new(), QData::I32(vec![pre.zero_point]));
                    }
                }
                QKind::Conv { geometry: g, weight, weight_scale, bias, requant, .. } => {
                    let per_group = g.in_channels / g.groups.max(1);
                    let shape = if g.in_h == 1 && g.kernel[0] == 1 {
                        vec![g.out_channels, per_group, g.kernel[1]]
                    } else {
                        vec![g.out_channels, per_group, g.kernel[0], g.kernel[1]]
                    };
                    push(n, "weight", shape, QData::I8(weight.clone()));
                    push(n, "weight_scale", vec![g.out_channels], QData::F32(weight_scale.clone()));
                    push(n, "bias", vec![g.out_channels], QData::I32(bias.clone()));
                    push(n, "requant", vec![g.out_channels, 2], QData::I32(requant_values(requant)));
                }
                QKind::Table(entries) => push(n, "table", vec![256], QData::I8(entries.clone())),
                QKind::Add { inputs, output } => {
                    let mut all = inputs.clone();
                    all.push(*output);
                    push(n, "requant", vec![all.len(), 2], QData::I32(requant_values(&all)));
                }
                QKind::Concat(requant) => {
                    push(n, "requant", vec![requant.len(), 2], QData::I32(requant_values(requant)))
                }
                QKind::Affine { requant, offset } => {
                    push(n, "requant", vec![requant.len(), 2], QData::I32(requant_values(requant)));
                    push(n, "offset", vec![offset.len()], QData::I32(offset.clone()));
                }
                QKind::Input | QKind::Copy | QKind::Pool(_) | QKind::GlobalAvgPool => {}
            }
        }
        tensors
    }

    /// Reads the network of `plan` back from its tensors (`get` returns a
    /// tensor by name), checking each one's shape and type.
    pub fn from_tensors(plan: &Plan, mut get: impl FnMut(&str) -> Option<QTensor>) -> Result<QNetwork, QuantError> {
        let count = plan.nodes.len();
        let mut nodes: Vec<QNode> = Vec::with_capacity(count);
        let mut finish = Finish::None;
        let mut input_standardization = None;
        for (index, node) in plan.nodes.iter().enumerate() {
            let name = node.name.to_string();
            if let Op::LayerNorm { .. } = node.op {
                // Named before any tensor is looked for: no file can give it an int8 form.
                return Err(QuantError::Unsupported { node: name, op: node.op.name().to_string() });
            }
            if index == 0 {
                let read = |suffix: &str, get: &mut dyn FnMut(&str) -> Option<QTensor>| {
                    get(&alloc::format!("{name}.{suffix}")).map(|t| match t.data {
                        QData::F32(v) if t.shape == [node.width] && v.iter().all(|s| s.is_finite()) => Ok(v),
                        _ => Err(QuantError::Mismatch(alloc::format!(
                            "`{name}.{suffix}` is not {} finite f32 values",
                            node.width
                        ))),
                    })
                };
                if let (Some(mean), Some(std)) = (read("mean", &mut get), read("std", &mut get)) {
                    let (mean, std) = (mean?, std?);
                    if std.iter().any(|&s| s <= 0.0) {
                        return Err(QuantError::Mismatch(alloc::format!("`{name}.std` is not positive")));
                    }
                    input_standardization = Some((mean, std));
                }
            }
            let has_requant = get(&alloc::format!("{name}.requant")).is_some();
            let mut read = |suffix: &str, shape: &[usize]| -> Result<QData, QuantError> {
                let full = alloc::format!("{name}.{suffix}");
                let tensor = get(&full).ok_or_else(|| QuantError::Mismatch(alloc::format!("`{full}` is missing")))?;
                if tensor.shape != shape {
                    return Err(QuantError::Mismatch(alloc::format!(
                        "`{full}` has shape {:?}, the network needs {shape:?}",
                        tensor.shape
                    )));
                }
                Ok(tensor.data)
            };
            let wrong = |what: &str| QuantError::Mismatch(alloc::format!("`{name}.{what}` has the wrong type"));
            macro_rules! typed {
                ($suffix:expr, $shape:expr, $variant:ident) => {
                    match read($suffix, $shape)? {
                        QData::$variant(values) => values,
                        _ => return Err(wrong($suffix)),
                    }
                };
            }
            let scale = typed!("scale", &[], F32)[0];
            let zero_point = typed!("zero_point", &[], I32)[0];
            if !(scale.is_finite() && scale > 0.0 && (-128..=127).contains(&zero_point)) {
                return Err(QuantError::Mismatch(alloc::format!("`{name}` has an invalid quantisation")));
            }
            let params = QuantParams { scale, zero_point };
            let requants = |values: Vec<i32>| -> Result<Vec<Requant>, QuantError> {
                let all: Vec<Requant> =
                    values.chunks_exact(2).map(|p| Requant { multiplier: p[0], shift: p[1] }).collect();
                if all.iter().any(|r| r.shift > 30) {
                    return Err(QuantError::Mismatch(alloc::format!("`{name}.requant` has a shift above 30")));
                }
                Ok(all)
            };
            let last = index + 1 == count;
            let kind = match node.op {
                Op::Input => QKind::Input,
                Op::Dropout(_) | Op::Flatten => QKind::Copy,
                Op::Pool { geometry, .. } => QKind::Pool(geometry),
                Op::GlobalAvgPool(_) => QKind::GlobalAvgPool,
                Op::Dense(layer) => {
                    let info = &plan.layers[layer];
                    let (units, inputs) = (info.units, info.inputs);
                    let weight = typed!("weight", &[units, inputs], I8);
                    let weight_scale = typed!("weight_scale", &[units], F32);
                    let bias = typed!("bias", &[units], I32);
                    let requant = requants(typed!("requant", &[units, 2], I32))?;
                    let clamp = typed!("clamp", &[2], I32);
                    let lookup = match info.activation {
                        Activation::Identity | Activation::Relu => None,
                        Activation::Softmax | Activation::LogSoftmax if last => {
                            finish = if info.activation == Activation::Softmax {
                                Finish::Softmax
                            } else {
                                Finish::LogSoftmax
                            };
                            None
                        }
                        Activation::Softmax | Activation::LogSoftmax => {
                            return Err(unsupported_rowwise(&name, info.activation))
                        }
                        _ => {
                            let entries = typed!("table", &[256], I8);
                            let pre_scale = typed!("pre_scale", &[], F32)[0];
                            let pre_zero = typed!("pre_zero_point", &[], I32)[0];
                            Some((QuantParams { scale: pre_scale, zero_point: pre_zero }, entries))
                        }
                    };
                    let zero = lookup.as_ref().map_or(zero_point, |(pre, _)| pre.zero_point);
                    let output =
                        Output { zero_point: zero, min: clamp[0].clamp(-128, 127), max: clamp[1].clamp(-128, 127) };
                    QKind::Dense { weight, weight_scale, bias, requant, output, table: lookup }
                }
                Op::Conv { geometry: g, one_d, .. } => {
                    let per_group = g.in_channels / g.groups.max(1);
                    let shape = if one_d {
                        vec![g.out_channels, per_group, g.kernel[1]]
                    } else {
                        vec![g.out_channels, per_group, g.kernel[0], g.kernel[1]]
                    };
                    let weight = typed!("weight", &shape, I8);
                    let weight_scale = typed!("weight_scale", &[g.out_channels], F32);
                    let bias = typed!("bias", &[g.out_channels], I32);
                    let requant = requants(typed!("requant", &[g.out_channels, 2], I32))?;
                    let output = Output::new(zero_point);
                    QKind::Conv { geometry: g, weight, weight_scale, bias, requant, output }
                }
                Op::Activation(activation) => match activation {
                    Activation::Softmax | Activation::LogSoftmax if last => {
                        finish = if activation == Activation::Softmax { Finish::Softmax } else { Finish::LogSoftmax };
                        QKind::Copy
                    }
                    Activation::Softmax | Activation::LogSoftmax => return Err(unsupported_rowwise(&name, activation)),
                    Activation::Identity => QKind::Copy,
                    _ => QKind::Table(typed!("table", &[256], I8)),
                },
                Op::Add => {
                    let n = node.inputs.len();
                    let mut all = requants(typed!("requant", &[n + 1, 2], I32))?;
                    let output = all.pop().unwrap_or(Requant { multiplier: 0, shift: 0 });
                    QKind::Add { inputs: all, output }
                }
                Op::Concat => QKind::Concat(requants(typed!("requant", &[node.inputs.len(), 2], I32))?),
                Op::Standardize | Op::BatchNorm { .. } => {
                    let channels = match node.op {
                        Op::BatchNorm { channels, .. } => channels,
                        _ => node.width,
                    };
                    let folded = matches!(node.op, Op::Standardize) && !has_requant;
                    if folded {
                        QKind::Copy
                    } else {
                        let requant = requants(typed!("requant", &[channels, 2], I32))?;
                        let offset = typed!("offset", &[channels], I32);
                        QKind::Affine { requant, offset }
                    }
                }
                Op::LayerNorm { .. } => {
                    return Err(QuantError::Unsupported { node: name, op: node.op.name().to_string() })
                }
            };
            nodes.push(QNode { name, inputs: node.inputs.to_vec(), width: node.width, params, kind });
        }
        Ok(QNetwork { name: plan.name.to_string(), nodes, finish, input_standardization })
    }
}
