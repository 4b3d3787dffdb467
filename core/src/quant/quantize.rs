//! Post-training quantisation: a plan's f32 parameters and calibration
//! ranges into a [`QNetwork`] (the scheme of [the module](super)).

use super::elementwise::ADD_SHIFT;
use super::network::{Finish, QKind, QNetwork, QNode, QuantError, QuantParams, Ranges, RecurrentParams};
use super::recurrent::{GATE_BITS, STATE_BITS};
use super::{Output, Requant, WEIGHT_LIMIT};
use crate::graph::Op;
use crate::plan::{Plan, Role};
use crate::recurrent::{Cell, RecurrentGeometry, MAX_GATE_ROWS};
use crate::Activation;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

/// Per output channel: symmetric int8 weights within ±[`WEIGHT_LIMIT`], their scale.
fn quantize_channel(weights: impl Iterator<Item = f32> + Clone) -> (Vec<i8>, f32) {
    let max = weights.clone().fold(0.0f32, |m, w| m.max(w.abs()));
    let limit = f64::from(WEIGHT_LIMIT);
    let scale = if max > 0.0 && max.is_finite() { (f64::from(max) / limit) as f32 } else { 1.0 };
    let q = weights.map(|w| libm::round(f64::from(w) / f64::from(scale)).clamp(-limit, limit) as i8).collect();
    (q, scale)
}

/// The 256-entry table of `activation` from quantisation `from` to `to`.
fn activation_table(activation: Activation, from: QuantParams, to: QuantParams) -> Vec<i8> {
    (-128..=127).map(|q: i32| to.quantize(activation.apply(from.dequantize(q as i8)))).collect()
}

/// The quantisation of a per-channel affine map `y = a·x + b` from `from` to
/// `to`, its results stored through `output`.
fn affine_kind(
    node: &str,
    (a, b): (&[f64], &[f64]),
    from: QuantParams,
    to: QuantParams,
    output: Output,
) -> Result<QKind, QuantError> {
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
    Ok(QKind::Affine { requant, offset, output })
}

/// The largest bias an accumulator of `products` int8·int8 products can
/// hold beside them in an i32.
pub(super) fn bias_room(products: usize) -> f64 {
    f64::from(i32::MAX) - (products as f64) * 127.0 * 255.0
}

/// The real multiplier from a kernel's accumulator (input scale × weight
/// scale) to its output's scale.
pub(super) fn kernel_real(input: f32, weight: f32, output: f32) -> f64 {
    f64::from(input) * f64::from(weight) / f64::from(output)
}

/// The real multipliers of a residual sum of inputs with `scales` into
/// `output`: each input's (after the `ADD_SHIFT` headroom), then the sum's.
pub(super) fn add_reals(scales: &[f32], output: f32) -> Vec<f64> {
    let largest = scales.iter().fold(0.0f64, |m, &s| m.max(f64::from(s)));
    let sum = 2.0 * largest / (f64::from(1u32 << ADD_SHIFT) * f64::from(output));
    scales.iter().map(|&s| f64::from(s) / (2.0 * largest)).chain(core::iter::once(sum)).collect()
}

/// Whether node `index` of `plan` is quantised per output: the last node of
/// a regression network with several outputs, a dense layer without an
/// activation (a classifier's logits share one scale: argmax compares them).
pub(super) fn per_output(plan: &Plan, index: usize) -> bool {
    let node = &plan.nodes[index];
    index + 1 == plan.nodes.len()
        && !plan.loss.is_classification()
        && matches!(node.op, Op::Dense { activation: Activation::Identity, .. })
        && node.width > 1
}

/// One zero point shared by outputs with the ranges `units` and a scale for
/// each: the zero point (of the 256) that leaves the output with the fewest
/// levels over its range (widened to include 0) the most, and for each output
/// the finest scale that holds its range beside that zero point.
pub(super) fn per_output_params(units: &[(f32, f32)]) -> (i32, Vec<f32>) {
    let widened: Vec<(f64, f64)> =
        units.iter().map(|&(min, max)| (f64::from(min.min(0.0)), f64::from(max.max(0.0)))).collect();
    let scale = |(min, max): (f64, f64), zero: i32| -> Option<f64> {
        let above = if max > 0.0 { (127 - zero > 0).then(|| max / f64::from(127 - zero))? } else { 0.0 };
        let below = if min < 0.0 { (zero + 128 > 0).then(|| -min / f64::from(zero + 128))? } else { 0.0 };
        Some(above.max(below))
    };
    let fewest = |zero: i32| -> f64 {
        widened
            .iter()
            .filter(|(min, max)| max - min > f64::from(f32::MIN_POSITIVE))
            .map(|&range| scale(range, zero).map_or(0.0, |s| (range.1 - range.0) / s))
            .fold(f64::INFINITY, f64::min)
    };
    let mut best = (-128, fewest(-128));
    for zero in -127..=127 {
        let levels = fewest(zero);
        if levels > best.1 {
            best = (zero, levels);
        }
    }
    let scales = widened
        .iter()
        .map(|&range| match scale(range, best.0) {
            Some(s) if s > f64::from(f32::MIN_POSITIVE) && s.is_finite() => s as f32,
            _ => 1.0,
        })
        .collect();
    (best.0, scales)
}

/// The largest bias beside `units` products of a Q0.15 state and int8 weights.
pub(super) fn state_bias_room(units: usize) -> f64 {
    f64::from(i32::MAX) - (units as f64) * 32767.0 * f64::from(WEIGHT_LIMIT)
}

/// The real multipliers of a recurrent layer's row with input weight scale
/// `ih` and state weight scale `hh`, into Q3.12: `(input product, state product)`.
pub(super) fn recurrent_reals(input: f32, ih: f32, hh: f32) -> (f64, f64) {
    let gate = f64::from(1u32 << GATE_BITS);
    (f64::from(input) * f64::from(ih) * gate, f64::from(hh) * gate / f64::from(1u32 << STATE_BITS))
}

/// The real multiplier from the Q0.15 state to an output of `scale`.
pub(super) fn state_output_real(scale: f32) -> f64 {
    1.0 / (f64::from(1u32 << STATE_BITS) * f64::from(scale))
}

/// Fraction bits of an LSTM's int16 cell state that holds `extent` (the
/// largest magnitude calibration reached, with a quarter more as margin), or,
/// unmeasured, every value `steps` steps can reach (|c| ≤ T).
pub(super) fn cell_bits(extent: Option<f32>, steps: usize) -> u32 {
    let bound = extent.map_or(steps as f64, |c| 1.25 * f64::from(c));
    let mut integer = 0;
    while integer < STATE_BITS && f64::from(1u32 << integer) <= bound {
        integer += 1;
    }
    STATE_BITS - integer
}

/// A recurrent layer's integer parameters: every direction's rows quantised
/// per row (seven bits), biases in each row's accumulator scale, the
/// requantisations into Q3.12 and out of Q0.15.
fn recurrent_params<'p>(
    name: &str,
    geometry: RecurrentGeometry,
    values: &dyn Fn(Role) -> Option<&'p [f32]>,
    from: QuantParams,
    own: QuantParams,
    cell: Option<f32>,
) -> Result<RecurrentParams, QuantError> {
    let (rows, features, units) = (geometry.gates() * geometry.hidden, geometry.features, geometry.hidden);
    if rows > MAX_GATE_ROWS {
        return Err(QuantError::Range { node: name.to_string(), what: "a layer of more than 1,024 gate rows".into() });
    }
    let missing = || QuantError::Mismatch(alloc::format!("`{name}` has no parameters"));
    let mut layer = RecurrentParams {
        geometry,
        weight_ih: Vec::new(),
        weight_hh: Vec::new(),
        weight_ih_scale: Vec::new(),
        weight_hh_scale: Vec::new(),
        bias_ih: Vec::new(),
        bias_hh: Vec::new(),
        requant_ih: Vec::new(),
        requant_hh: Vec::new(),
        cell_bits: if geometry.cell == Cell::Lstm { cell_bits(cell, geometry.steps) } else { 0 },
        output: multiplier(name, state_output_real(own.scale))?,
    };
    let accumulator = || QuantError::Range { node: name.to_string(), what: "the accumulator".into() };
    for d in 0..geometry.directions() {
        let reverse = d == 1;
        let w_ih = values(Role::InputWeight { reverse }).ok_or_else(missing)?;
        let w_hh = values(Role::StateWeight { reverse }).ok_or_else(missing)?;
        let b_ih = values(Role::InputBias { reverse }).ok_or_else(missing)?;
        let b_hh = values(Role::StateBias { reverse }).ok_or_else(missing)?;
        for r in 0..rows {
            let (row_ih, scale_ih) = quantize_channel(w_ih[r * features..(r + 1) * features].iter().copied());
            let (row_hh, scale_hh) = quantize_channel(w_hh[r * units..(r + 1) * units].iter().copied());
            let sum: i64 = row_ih.iter().map(|&w| i64::from(w)).sum();
            let bias = libm::round(f64::from(b_ih[r]) / (f64::from(from.scale) * f64::from(scale_ih)))
                - (i64::from(from.zero_point) * sum) as f64;
            let state_bias = libm::round(f64::from(b_hh[r]) * f64::from(1u32 << STATE_BITS) / f64::from(scale_hh));
            if bias.abs() > bias_room(features) || state_bias.abs() > state_bias_room(units) {
                return Err(accumulator());
            }
            let (ih, hh) = recurrent_reals(from.scale, scale_ih, scale_hh);
            layer.requant_ih.push(multiplier(name, ih)?);
            layer.requant_hh.push(multiplier(name, hh)?);
            layer.bias_ih.push(bias as i32);
            layer.bias_hh.push(state_bias as i32);
            layer.weight_ih_scale.push(scale_ih);
            layer.weight_hh_scale.push(scale_hh);
            layer.weight_ih.extend_from_slice(&row_ih);
            layer.weight_hh.extend_from_slice(&row_hh);
        }
    }
    Ok(layer)
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
        // A `relu` statement that alone reads a layer which requantises (dense
        // without an activation, a convolution, an affine map) is fused into its
        // requantisation as `activation = relu` is: the layer is quantised over
        // the ReLU's range and clamps at its zero point, and the `relu` node,
        // in that same quantisation, changes nothing.
        let requantises = match node.op {
            Op::Dense { activation, .. } => activation == Activation::Identity,
            Op::Conv { .. } | Op::BatchNorm { .. } => true,
            Op::Standardize => folded != Some(index),
            _ => false,
        };
        let fused = match readers[index].as_slice() {
            [reader] if requantises && matches!(plan.nodes[*reader].op, Op::Activation(Activation::Relu)) => {
                Some(ranges.outputs[*reader])
            }
            _ => None,
        };
        let (min, max) = fused.unwrap_or(range);
        let own = QuantParams::from_range(min, max);
        // The store of a requantising layer: the whole int8 range, or from the zero point up with a fused ReLU.
        let store = |params: QuantParams| Output {
            zero_point: params.zero_point,
            min: if fused.is_some() { params.zero_point } else { -128 },
            max: 127,
        };
        let input = node.inputs.first().map(|&i| nodes[i].params);
        let from = input.unwrap_or(own);
        let last = index + 1 == count;
        let unsupported = || QuantError::Unsupported { node: name.clone(), op: node.op.name().to_string() };
        let mut unit_scales = Vec::new();
        let (params, kind) = match node.op {
            Op::Recurrent(geometry) => {
                let cell = ranges.cells.get(index).copied().filter(|c| *c > 0.0);
                (
                    own,
                    QKind::Recurrent(recurrent_params(&name, geometry, &|role| values(index, role), from, own, cell)?),
                )
            }
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
                    (own, affine_kind(&name, (&a, &b), from, own, store(own))?)
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
                (own, affine_kind(&name, (&a, &b), from, own, store(own))?)
            }
            Op::Dense { activation, .. } => {
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
                // One scale per output, so an output of small range beside one of
                // large range keeps its resolution.
                let by_unit = per_output(plan, index) && ranges.outputs_by_unit.len() == node.width;
                let per_unit = if by_unit {
                    let (zero_point, scales) = per_output_params(&ranges.outputs_by_unit);
                    let largest = scales.iter().fold(0.0f32, |m, &s| m.max(s));
                    unit_scales = scales;
                    Some(QuantParams { scale: largest, zero_point })
                } else {
                    None
                };
                let (params, target, table_of, fused_relu) = match activation {
                    Activation::Identity if fused.is_some() => (own, own, None, true),
                    Activation::Identity => {
                        let p = per_unit.unwrap_or(pre);
                        (p, p, None, false)
                    }
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
                let (inputs, units) = (plan.nodes[node.inputs[0]].width, node.width);
                let mut q_weight = vec![0i8; inputs * units];
                let (mut q_bias, mut requant, mut weight_scale) = (Vec::new(), Vec::new(), Vec::new());
                for o in 0..units {
                    let (row, scale) = quantize_channel((0..inputs).map(|i| weight[i * units + o]));
                    let accumulator = f64::from(from.scale) * f64::from(scale);
                    let sum: i64 = row.iter().map(|&w| i64::from(w)).sum();
                    let b = libm::round(bias.map_or(0.0, |b| f64::from(b[o])) / accumulator)
                        - (i64::from(from.zero_point) * sum) as f64;
                    if b.abs() > bias_room(inputs) {
                        return Err(QuantError::Range { node: name, what: "the accumulator".into() });
                    }
                    q_bias.push(b as i32);
                    let target_scale = unit_scales.get(o).copied().unwrap_or(target.scale);
                    requant.push(multiplier(&name, kernel_real(from.scale, scale, target_scale))?);
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
                    if b.abs() > bias_room(per_channel) {
                        return Err(QuantError::Range { node: name, what: "the accumulator".into() });
                    }
                    q_bias.push(b as i32);
                    requant.push(multiplier(&name, kernel_real(from.scale, scale, own.scale))?);
                    weight_scale.push(scale);
                    q_weight.extend_from_slice(&row);
                }
                let output = store(own);
                (own, QKind::Conv { geometry, weight: q_weight, weight_scale, bias: q_bias, requant, output })
            }
            Op::Activation(activation) => match activation {
                Activation::Softmax | Activation::LogSoftmax if last => {
                    finish = if activation == Activation::Softmax { Finish::Softmax } else { Finish::LogSoftmax };
                    (from, QKind::Copy)
                }
                Activation::Softmax | Activation::LogSoftmax => return Err(unsupported_rowwise(&name, activation)),
                Activation::Identity => (from, QKind::Copy),
                Activation::Relu => (from, QKind::Relu),
                other => (own, QKind::Table(activation_table(other, from, own))),
            },
            Op::Add => {
                let scales: Vec<f32> = node.inputs.iter().map(|&i| nodes[i].params.scale).collect();
                let mut inputs = add_reals(&scales, own.scale)
                    .into_iter()
                    .map(|r| multiplier(&name, r))
                    .collect::<Result<Vec<_>, _>>()?;
                let output = inputs.pop().unwrap_or(Requant { multiplier: 0, shift: 0 });
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
        nodes.push(QNode { name, inputs: node.inputs.to_vec(), width: node.width, params, unit_scales, kind });
    }
    Ok(QNetwork { name: plan.name.to_string(), nodes, finish, input_standardization })
}

pub(super) fn unsupported_rowwise(node: &str, activation: Activation) -> QuantError {
    QuantError::Unsupported { node: node.to_string(), op: alloc::format!("{} before the last node", activation.name()) }
}
