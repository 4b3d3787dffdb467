//! A [`QNetwork`] as the tensors of an int8 weight file, and back.

use super::network::{Finish, QKind, QNetwork, QNode, QuantError, QuantParams, RecurrentParams};
use super::quantize::{
    add_reals, bias_room, kernel_real, per_output, recurrent_reals, state_bias_room, state_output_real,
    unsupported_rowwise,
};
use super::{Output, Requant};
use crate::graph::Op;
use crate::plan::Plan;
use crate::recurrent::Cell;
use crate::Activation;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

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

/// An i32 bias the accumulator of `inputs` int8 products can hold beside it
/// (the bound `quantize` keeps).
fn check_bias(name: &str, bias: &[i32], inputs: usize) -> Result<(), QuantError> {
    match bias.iter().find(|b| f64::from(**b).abs() > bias_room(inputs)) {
        Some(b) => Err(QuantError::Mismatch(alloc::format!(
            "`{name}.bias` holds {b}, which leaves the 32-bit accumulator no room for its {inputs} products"
        ))),
        None => Ok(()),
    }
}

impl QNetwork {
    /// The tensors of its weight file, node by node: every node's `scale` and
    /// `zero_point` (its output's quantisation), and what its kernel reads:
    /// `weight` (int8; a dense layer's `[units][inputs]`, a convolution's as in
    /// f32), `weight_scale`, `bias` (i32), `requant` (`[channels][2]`:
    /// multiplier and shift, a sum's inputs then its output), `clamp` (the
    /// stored range of a dense layer, a convolution or an affine map, narrowed
    /// by a fused ReLU), `table` (256 entries) with
    /// `pre_scale` and `pre_zero_point` (the quantisation the table reads),
    /// `offset` (an affine node's i32 offsets); a recurrent layer's
    /// `weight_ih`, `weight_hh` (`[D·G·H][F]`, `[D·G·H][H]`, PyTorch's row order),
    /// their row scales `weight_ih_scale` and `weight_hh_scale`, `bias_ih`,
    /// `bias_hh`, `requant_ih` and `requant_hh` (into Q3.12), `requant` (from
    /// the Q0.15 state to the output) and, for an LSTM, `cell_bits`.
    pub fn tensors(&self) -> Vec<QTensor> {
        let mut tensors = Vec::new();
        let mut push = |node: &str, suffix: &str, shape: Vec<usize>, data: QData| {
            tensors.push(QTensor { name: alloc::format!("{node}.{suffix}"), shape, data });
        };
        for node in &self.nodes {
            let n = node.name.as_str();
            if node.unit_scales.is_empty() {
                push(n, "scale", Vec::new(), QData::F32(vec![node.params.scale]));
            } else {
                push(n, "scale", vec![node.width], QData::F32(node.unit_scales.clone()));
            }
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
                QKind::Conv { geometry: g, weight, weight_scale, bias, requant, output } => {
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
                    push(n, "clamp", vec![2], QData::I32(vec![output.min, output.max]));
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
                QKind::Affine { requant, offset, output } => {
                    push(n, "requant", vec![requant.len(), 2], QData::I32(requant_values(requant)));
                    push(n, "offset", vec![offset.len()], QData::I32(offset.clone()));
                    push(n, "clamp", vec![2], QData::I32(vec![output.min, output.max]));
                }
                QKind::Recurrent(layer) => {
                    let g = &layer.geometry;
                    let rows = g.directions() * g.gates() * g.hidden;
                    push(n, "weight_ih", vec![rows, g.features], QData::I8(layer.weight_ih.clone()));
                    push(n, "weight_hh", vec![rows, g.hidden], QData::I8(layer.weight_hh.clone()));
                    push(n, "weight_ih_scale", vec![rows], QData::F32(layer.weight_ih_scale.clone()));
                    push(n, "weight_hh_scale", vec![rows], QData::F32(layer.weight_hh_scale.clone()));
                    push(n, "bias_ih", vec![rows], QData::I32(layer.bias_ih.clone()));
                    push(n, "bias_hh", vec![rows], QData::I32(layer.bias_hh.clone()));
                    push(n, "requant_ih", vec![rows, 2], QData::I32(requant_values(&layer.requant_ih)));
                    push(n, "requant_hh", vec![rows, 2], QData::I32(requant_values(&layer.requant_hh)));
                    push(n, "requant", vec![1, 2], QData::I32(requant_values(&[layer.output])));
                    if g.cell == Cell::Lstm {
                        push(n, "cell_bits", Vec::new(), QData::I32(vec![layer.cell_bits as i32]));
                    }
                }
                QKind::Input | QKind::Copy | QKind::Relu | QKind::Pool(_) | QKind::GlobalAvgPool => {}
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
            let has_clamp = get(&alloc::format!("{name}.clamp")).is_some();
            let has_table = get(&alloc::format!("{name}.table")).is_some();
            let scale_shape = get(&alloc::format!("{name}.scale")).map(|t| t.shape);
            let last = index + 1 == count;
            let by_unit = per_output(plan, index) && scale_shape.as_deref() == Some(&[node.width][..]);
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
            let unit_scales = if by_unit { typed!("scale", &[node.width], F32) } else { Vec::new() };
            let scale = if by_unit {
                match unit_scales.iter().all(|s| s.is_finite() && *s > 0.0) {
                    true => unit_scales.iter().fold(0.0f32, |m, &s| m.max(s)),
                    false => f32::NAN,
                }
            } else {
                typed!("scale", &[], F32)[0]
            };
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
                // A multiplier is a normalised mantissa, `|m| ∈ [2^30, 2^31)`, or zero with a zero shift.
                let normal = |r: &Requant| {
                    (r.multiplier == 0 && r.shift == 0)
                        || ((1i64 << 30)..(1i64 << 31)).contains(&i64::from(r.multiplier).abs()) && r.shift >= -31
                };
                if let Some(r) = all.iter().find(|r| !normal(r)) {
                    return Err(QuantError::Mismatch(alloc::format!(
                        "`{name}.requant` holds multiplier {} with shift {}, which no quantisation writes",
                        r.multiplier,
                        r.shift
                    )));
                }
                Ok(all)
            };
            let positive = |what: &str, values: &[f32]| -> Result<(), QuantError> {
                match values.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                    Some(s) => Err(QuantError::Mismatch(alloc::format!(
                        "`{name}.{what}` holds {s}; a scale is a positive, finite number"
                    ))),
                    None => Ok(()),
                }
            };
            // The requantisations a kernel's scales imply (as `quantize` computes them):
            // a file whose multipliers disagree with its own scales was altered.
            let implied = |requant: &[Requant], scales: &mut dyn Iterator<Item = f64>| -> Result<(), QuantError> {
                for (channel, (r, real)) in requant.iter().zip(scales).enumerate() {
                    if Requant::from_real(real) != Some(*r) {
                        return Err(QuantError::Mismatch(alloc::format!(
                            "`{name}.requant` row {channel} ({}, {}) disagrees with the scales in the file",
                            r.multiplier,
                            r.shift
                        )));
                    }
                }
                Ok(())
            };
            let input_scale = node.inputs.first().and_then(|&i| nodes.get(i)).map_or(1.0, |n| n.params.scale);
            // A stored range within int8, its lower end first.
            let ordered = |clamp: &[i32]| -> Result<Output, QuantError> {
                let (min, max) = (clamp[0], clamp[1]);
                if !(-128 <= min && min <= max && max <= 127) {
                    return Err(QuantError::Mismatch(alloc::format!(
                        "`{name}.clamp` is [{min}, {max}]; a clamp is a range within -128..=127, its lower end first"
                    )));
                }
                Ok(Output { zero_point, min, max })
            };
            let kind = match node.op {
                Op::Recurrent(geometry) => {
                    let (rows, units) = (geometry.directions() * geometry.gates() * geometry.hidden, geometry.hidden);
                    let weight_ih = typed!("weight_ih", &[rows, geometry.features], I8);
                    let weight_hh = typed!("weight_hh", &[rows, units], I8);
                    let weight_ih_scale = typed!("weight_ih_scale", &[rows], F32);
                    let weight_hh_scale = typed!("weight_hh_scale", &[rows], F32);
                    let bias_ih = typed!("bias_ih", &[rows], I32);
                    let bias_hh = typed!("bias_hh", &[rows], I32);
                    let requant_ih = requants(typed!("requant_ih", &[rows, 2], I32))?;
                    let requant_hh = requants(typed!("requant_hh", &[rows, 2], I32))?;
                    let output = requants(typed!("requant", &[1, 2], I32))?;
                    let cell_bits = match geometry.cell {
                        Cell::Lstm => match typed!("cell_bits", &[], I32)[0] {
                            bits @ 0..=15 => bits as u32,
                            bits => {
                                return Err(QuantError::Mismatch(alloc::format!(
                                    "`{name}.cell_bits` is {bits}; a 16-bit cell state has 0 to 15 fraction bits"
                                )))
                            }
                        },
                        Cell::Gru => 0,
                    };
                    positive("weight_ih_scale", &weight_ih_scale)?;
                    positive("weight_hh_scale", &weight_hh_scale)?;
                    let reals: Vec<(f64, f64)> = weight_ih_scale
                        .iter()
                        .zip(&weight_hh_scale)
                        .map(|(&ih, &hh)| recurrent_reals(input_scale, ih, hh))
                        .collect();
                    implied(&requant_ih, &mut reals.iter().map(|r| r.0))?;
                    implied(&requant_hh, &mut reals.iter().map(|r| r.1))?;
                    implied(&output, &mut core::iter::once(state_output_real(scale)))?;
                    check_bias(&name, &bias_ih, geometry.features)?;
                    if let Some(b) = bias_hh.iter().find(|b| f64::from(**b).abs() > state_bias_room(units)) {
                        return Err(QuantError::Mismatch(alloc::format!(
                            "`{name}.bias_hh` holds {b}, which leaves the 32-bit accumulator no room for its {units} products"
                        )));
                    }
                    QKind::Recurrent(RecurrentParams {
                        geometry,
                        weight_ih,
                        weight_hh,
                        weight_ih_scale,
                        weight_hh_scale,
                        bias_ih,
                        bias_hh,
                        requant_ih,
                        requant_hh,
                        cell_bits,
                        output: output[0],
                    })
                }
                Op::Input => QKind::Input,
                Op::Dropout(_) | Op::Flatten => QKind::Copy,
                Op::Pool { geometry, .. } => QKind::Pool(geometry),
                Op::GlobalAvgPool(_) => QKind::GlobalAvgPool,
                Op::Dense { activation, .. } => {
                    let (units, inputs) = (node.width, plan.nodes[node.inputs[0]].width);
                    let weight = typed!("weight", &[units, inputs], I8);
                    let weight_scale = typed!("weight_scale", &[units], F32);
                    let bias = typed!("bias", &[units], I32);
                    let requant = requants(typed!("requant", &[units, 2], I32))?;
                    let clamp = typed!("clamp", &[2], I32);
                    let lookup = match activation {
                        Activation::Identity | Activation::Relu => None,
                        Activation::Softmax | Activation::LogSoftmax if last => {
                            finish =
                                if activation == Activation::Softmax { Finish::Softmax } else { Finish::LogSoftmax };
                            None
                        }
                        Activation::Softmax | Activation::LogSoftmax => {
                            return Err(unsupported_rowwise(&name, activation))
                        }
                        _ => {
                            let entries = typed!("table", &[256], I8);
                            let pre_scale = typed!("pre_scale", &[], F32)[0];
                            let pre_zero = typed!("pre_zero_point", &[], I32)[0];
                            positive("pre_scale", &[pre_scale])?;
                            if !(-128..=127).contains(&pre_zero) {
                                return Err(QuantError::Mismatch(alloc::format!(
                                    "`{name}.pre_zero_point` is {pre_zero}, outside int8's -128..=127"
                                )));
                            }
                            Some((QuantParams { scale: pre_scale, zero_point: pre_zero }, entries))
                        }
                    };
                    positive("weight_scale", &weight_scale)?;
                    let target = lookup.as_ref().map_or(scale, |(pre, _)| pre.scale);
                    let mut reals = weight_scale
                        .iter()
                        .enumerate()
                        .map(|(o, &w)| kernel_real(input_scale, w, unit_scales.get(o).copied().unwrap_or(target)));
                    implied(&requant, &mut reals)?;
                    check_bias(&name, &bias, inputs)?;
                    let zero = lookup.as_ref().map_or(zero_point, |(pre, _)| pre.zero_point);
                    let output = Output { zero_point: zero, ..ordered(&clamp)? };
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
                    positive("weight_scale", &weight_scale)?;
                    implied(&requant, &mut weight_scale.iter().map(|&w| kernel_real(input_scale, w, scale)))?;
                    check_bias(&name, &bias, g.weight_len() / g.out_channels.max(1))?;
                    // Files written before a fused ReLU could clamp a convolution have no `clamp`.
                    let output =
                        if has_clamp { ordered(&typed!("clamp", &[2], I32))? } else { Output::new(zero_point) };
                    QKind::Conv { geometry: g, weight, weight_scale, bias, requant, output }
                }
                Op::Activation(activation) => match activation {
                    Activation::Softmax | Activation::LogSoftmax if last => {
                        finish = if activation == Activation::Softmax { Finish::Softmax } else { Finish::LogSoftmax };
                        QKind::Copy
                    }
                    Activation::Softmax | Activation::LogSoftmax => return Err(unsupported_rowwise(&name, activation)),
                    Activation::Identity => QKind::Copy,
                    // A ReLU without a table (files from before have one) runs in its input's quantisation.
                    Activation::Relu if !has_table => {
                        if nodes.get(node.inputs[0]).map(|n| n.params) != Some(params) {
                            return Err(QuantError::Mismatch(alloc::format!(
                                "`{name}` is a ReLU without a table, so its quantisation is its input's, and the file gives it another"
                            )));
                        }
                        QKind::Relu
                    }
                    _ => QKind::Table(typed!("table", &[256], I8)),
                },
                Op::Add => {
                    let n = node.inputs.len();
                    let mut all = requants(typed!("requant", &[n + 1, 2], I32))?;
                    let scales: Vec<f32> = node.inputs.iter().map(|&i| nodes[i].params.scale).collect();
                    implied(&all, &mut add_reals(&scales, scale).into_iter())?;
                    let output = all.pop().unwrap_or(Requant { multiplier: 0, shift: 0 });
                    QKind::Add { inputs: all, output }
                }
                Op::Concat => {
                    let requant = requants(typed!("requant", &[node.inputs.len(), 2], I32))?;
                    let mut reals = node.inputs.iter().map(|&i| f64::from(nodes[i].params.scale) / f64::from(scale));
                    implied(&requant, &mut reals)?;
                    QKind::Concat(requant)
                }
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
                        if let Some(o) = offset.iter().find(|o| o.unsigned_abs() > (i32::MAX / 2) as u32) {
                            return Err(QuantError::Mismatch(alloc::format!(
                                "`{name}.offset` holds {o}, beyond what `quantize` writes (±2^30)"
                            )));
                        }
                        let output =
                            if has_clamp { ordered(&typed!("clamp", &[2], I32))? } else { Output::new(zero_point) };
                        QKind::Affine { requant, offset, output }
                    }
                }
                Op::LayerNorm { .. } => {
                    return Err(QuantError::Unsupported { node: name, op: node.op.name().to_string() })
                }
            };
            nodes.push(QNode { name, inputs: node.inputs.to_vec(), width: node.width, params, unit_scales, kind });
        }
        Ok(QNetwork { name: plan.name.to_string(), nodes, finish, input_standardization })
    }
}
