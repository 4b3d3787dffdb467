//! ONNX export of an int8 network in the QDQ form: every tensor that is int8
//! in nnspec passes through `QuantizeLinear` → `DequantizeLinear` with its
//! scale and zero point, weights are INT8 initializers dequantised per output
//! channel (`axis = 0`), biases INT32 in the scale `input scale · weight
//! scale`, and the float ops sit between (the form onnxruntime's quantisation
//! tools write, and from which it builds its integer kernels). Activations
//! that nnspec runs as tables are their float ops between two quantisations.

use super::ops::activation::nodes as activation;
use super::{tensor, Message, Node, Values};
use crate::quant::{Output, QKind, QNetwork, QuantParams, Requant};
use nnspec_core::graph::Op;
use nnspec_core::quant::Finish;
use nnspec_core::Plan;

/// An INT8 (`data_type` 3) or INT32 (6) initializer.
fn int_tensor(name: &str, dims: &[usize], data_type: i64, raw: Vec<u8>) -> Message {
    let mut tensor = Message::default();
    for &d in dims {
        tensor.int(1, d as i64);
    }
    tensor.int(2, data_type);
    tensor.string(8, name);
    tensor.bytes(9, &raw);
    tensor
}

fn int8_tensor(name: &str, dims: &[usize], values: &[i8]) -> Message {
    int_tensor(name, dims, 3, values.iter().map(|&v| v as u8).collect())
}

fn int32_tensor(name: &str, dims: &[usize], values: &[i32]) -> Message {
    int_tensor(name, dims, 6, values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

fn real(requant: Requant) -> f64 {
    f64::from(requant.multiplier) * 2f64.powi(requant.shift - 31)
}

struct Graph {
    nodes: Vec<Node>,
    initializers: Vec<Message>,
}

impl Graph {
    /// `x` through `QuantizeLinear` and `DequantizeLinear` with `params`; the dequantised value's name.
    fn qdq(&mut self, name: &str, x: &str, params: QuantParams) -> String {
        self.quantized(name, x, &[params.scale], params.zero_point, None)
    }

    /// [`Self::qdq`] with one scale per value of a `[batch, values]` tensor
    /// (`axis = 1`) and the zero point of `params` for all.
    fn qdq_by_unit(&mut self, name: &str, x: &str, scales: &[f32], params: QuantParams) -> String {
        self.quantized(name, x, scales, params.zero_point, Some(1))
    }

    /// `x` through `QuantizeLinear` and `DequantizeLinear` with `scales`
    /// (one, a scalar, or one per value along `axis`) and `zero_point`.
    fn quantized(&mut self, name: &str, x: &str, scales: &[f32], zero_point: i32, axis: Option<i64>) -> String {
        let (scale, zero) = (format!("{name}.scale"), format!("{name}.zero_point"));
        let dims: &[usize] = if axis.is_some() { &[scales.len()] } else { &[] };
        self.initializers.push(tensor(&scale, dims, scales));
        self.initializers.push(int8_tensor(&zero, dims, &vec![zero_point as i8; scales.len()]));
        let (q, dq) = (format!("{name}.q"), format!("{name}.dq"));
        let along = |node: Node| match axis {
            Some(axis) => node.int_attribute("axis", axis),
            None => node,
        };
        self.nodes.push(along(Node::new("QuantizeLinear", &format!("{name}.quantize"), &[x, &scale, &zero], &[&q])));
        self.nodes.push(along(Node::new(
            "DequantizeLinear",
            &format!("{name}.dequantize"),
            &[&q, &scale, &zero],
            &[&dq],
        )));
        dq
    }

    /// `Relu` on `z` where the layer's store clamps at its zero point (a fused
    /// ReLU), else `z` itself.
    fn fused_relu(&mut self, name: &str, z: &str, output: Output) -> String {
        if output.min <= -128 {
            return z.to_string();
        }
        let a = format!("{name}.relu");
        self.nodes.push(Node::new("Relu", &a, &[z], &[&a]));
        a
    }

    /// A mean of `count` values in `params` moved up by a quarter of a step
    /// over `count`, so `QuantizeLinear` (half to even) rounds it as nnspec's
    /// integer mean does (half up): a tie, `k + ½` steps, rounds up, and
    /// every other mean, at least `1/(2·count)` of a step from a tie, keeps
    /// its side of it.
    fn ties_up(&mut self, name: &str, mean: &str, params: QuantParams, count: usize) -> String {
        let (nudge, up) = (format!("{name}.tie"), format!("{name}.ties_up"));
        self.initializers.push(tensor(&nudge, &[], &[params.scale / (4 * count.max(1)) as f32]));
        self.nodes.push(Node::new("Add", &up, &[mean, &nudge], &[&up]));
        up
    }

    /// A weight tensor (INT8, per-channel scales) and its bias (INT32), dequantised.
    fn weights(
        &mut self,
        name: &str,
        weight: (&[i8], &[usize], &[f32]),
        bias: &[i32],
        input_scale: f32,
    ) -> (String, String) {
        let (values, shape, scales) = weight;
        let channels = scales.len();
        let (w, ws, wz, wdq) = (
            format!("{name}.weight"),
            format!("{name}.weight_scale"),
            format!("{name}.weight_zero_point"),
            format!("{name}.weight.dq"),
        );
        self.initializers.push(int8_tensor(&w, shape, values));
        self.initializers.push(tensor(&ws, &[channels], scales));
        self.initializers.push(int8_tensor(&wz, &[channels], &vec![0; channels]));
        self.nodes.push(Node::new("DequantizeLinear", &wdq, &[&w, &ws, &wz], &[&wdq]).int_attribute("axis", 0));
        let (b, bs, bz, bdq) = (
            format!("{name}.bias"),
            format!("{name}.bias_scale"),
            format!("{name}.bias_zero_point"),
            format!("{name}.bias.dq"),
        );
        let bias_scales: Vec<f32> = scales.iter().map(|s| input_scale * s).collect();
        self.initializers.push(int32_tensor(&b, &[channels], bias));
        self.initializers.push(tensor(&bs, &[channels], &bias_scales));
        self.initializers.push(int32_tensor(&bz, &[channels], &vec![0; channels]));
        self.nodes.push(Node::new("DequantizeLinear", &bdq, &[&b, &bs, &bz], &[&bdq]).int_attribute("axis", 0));
        (wdq, bdq)
    }
}

/// The ONNX model (QDQ form) of the int8 `network` of `plan`: input `input`
/// `[batch, INPUT]` of raw f32 rows (its standardisation, if any, as `Sub` and
/// `Div`), output `output` `[batch, OUTPUT]` as [`QNetwork::predict`] gives it.
///
/// # Errors
///
/// A GRU or LSTM node: ONNX has no integer recurrent operator (its `GRU` and
/// `LSTM` are float), so between a `DequantizeLinear` and a
/// `QuantizeLinear` a runtime would compute it in floating point, not the
/// integer kernels nnspec runs, and the export could not promise nnspec's outputs.
pub fn export_int8(plan: &Plan, network: &QNetwork) -> Result<Vec<u8>, crate::Error> {
    let mut graph = Graph { nodes: Vec::new(), initializers: Vec::new() };
    let mut current = "input".to_string();
    if let Some((mean, std)) = &network.input_standardization {
        graph.initializers.push(tensor("input.mean", &[mean.len()], mean));
        graph.initializers.push(tensor("input.std", &[std.len()], std));
        graph.nodes.push(Node::new("Sub", "input.centre", &["input", "input.mean"], &["input.centred"]));
        graph.nodes.push(Node::new("Div", "input.scale", &["input.centred", "input.std"], &["input.standardized"]));
        current = "input.standardized".to_string();
    }
    let count = network.nodes.len();
    let mut values = Values {
        names: vec![current; count],
        shaped: vec![false; count],
        shapes: plan.nodes.iter().map(|n| n.shape.to_vec()).collect(),
    };
    for (index, (node, q)) in plan.nodes.iter().zip(&network.nodes).enumerate() {
        let name = q.name.as_str();
        let spatial = node.shape.len() > 1;
        let input = |values: &mut Values, k: usize, shaped: bool, graph: &mut Graph| {
            let i = node.inputs[k];
            if shaped {
                values.shaped(i, &mut graph.nodes, &mut graph.initializers)
            } else {
                values.flat(i, &mut graph.nodes)
            }
        };
        let input_scale = |k: usize| network.nodes[node.inputs[k]].params.scale;
        let (out, shaped) = match &q.kind {
            QKind::Input => {
                let x = values.names[0].clone();
                (graph.qdq(name, &x, q.params), false)
            }
            QKind::Copy => {
                let i = node.inputs[0];
                if matches!(node.op, Op::Flatten) {
                    (input(&mut values, 0, false, &mut graph), false)
                } else {
                    (values.names[i].clone(), values.shaped[i])
                }
            }
            QKind::Dense { weight, weight_scale, bias, table, output, .. } => {
                let x = input(&mut values, 0, false, &mut graph);
                let inputs = weight.len() / bias.len().max(1);
                let zero = network.nodes[node.inputs[0]].params.zero_point;
                // The int8 kernel folds the input's zero point into the bias; QDQ takes it apart again.
                let unfolded: Vec<i32> = bias
                    .iter()
                    .enumerate()
                    .map(|(o, &b)| {
                        b + zero * weight[o * inputs..(o + 1) * inputs].iter().map(|&w| i32::from(w)).sum::<i32>()
                    })
                    .collect();
                let (w, b) =
                    graph.weights(name, (weight, &[bias.len(), inputs], weight_scale), &unfolded, input_scale(0));
                let z = format!("{name}.z");
                graph.nodes.push(Node::new("Gemm", name, &[&x, &w, &b], &[&z]).int_attribute("transB", 1));
                let out = match table {
                    Some((pre, _)) => {
                        let pre = graph.qdq(&format!("{name}.pre"), &z, *pre);
                        let layer = plan.nodes.iter().find(|n| n.name == node.name).and_then(|n| match n.op {
                            nnspec_core::Op::Dense { activation, .. } => Some(activation),
                            _ => None,
                        });
                        let a = format!("{name}.a");
                        activation(
                            name,
                            layer.unwrap_or(nnspec_core::Activation::Identity),
                            &pre,
                            &a,
                            &mut graph.nodes,
                            &mut graph.initializers,
                        );
                        graph.qdq(name, &a, q.params)
                    }
                    None if !q.unit_scales.is_empty() => graph.qdq_by_unit(name, &z, &q.unit_scales, q.params),
                    None => {
                        let z = graph.fused_relu(name, &z, *output);
                        graph.qdq(name, &z, q.params)
                    }
                };
                (out, false)
            }
            QKind::Conv { geometry: g, weight, weight_scale, bias, output, .. } => {
                let x = input(&mut values, 0, true, &mut graph);
                let one_d = node.shape.len() == 2;
                let per_group = g.in_channels / g.groups.max(1);
                let shape = if one_d {
                    vec![g.out_channels, per_group, g.kernel[1]]
                } else {
                    vec![g.out_channels, per_group, g.kernel[0], g.kernel[1]]
                };
                let (w, b) = graph.weights(name, (weight, &shape, weight_scale), bias, input_scale(0));
                let axes = |pair: [usize; 2]| if one_d { vec![pair[1]] } else { pair.to_vec() };
                let pads = if one_d {
                    vec![g.padding[1], g.padding[1]]
                } else {
                    vec![g.padding[0], g.padding[1], g.padding[0], g.padding[1]]
                };
                let z = format!("{name}.z");
                graph.nodes.push(
                    Node::new("Conv", name, &[&x, &w, &b], &[&z])
                        .ints_attribute("kernel_shape", &axes(g.kernel))
                        .ints_attribute("strides", &axes(g.stride))
                        .ints_attribute("pads", &pads)
                        .ints_attribute("dilations", &axes(g.dilation))
                        .int_attribute("group", g.groups as i64),
                );
                let z = graph.fused_relu(name, &z, *output);
                (graph.qdq(name, &z, q.params), true)
            }
            QKind::Pool(g) => {
                let x = input(&mut values, 0, true, &mut graph);
                let one_d = node.shape.len() == 2;
                let axes = |pair: [usize; 2]| if one_d { vec![pair[1]] } else { pair.to_vec() };
                let pooled = format!("{name}.pooled");
                graph.nodes.push(
                    Node::new(if g.max { "MaxPool" } else { "AveragePool" }, name, &[&x], &[&pooled])
                        .ints_attribute("kernel_shape", &axes(g.kernel))
                        .ints_attribute("strides", &axes(g.stride)),
                );
                let pooled =
                    if g.max { pooled } else { graph.ties_up(name, &pooled, q.params, g.kernel[0] * g.kernel[1]) };
                (graph.qdq(name, &pooled, q.params), true)
            }
            QKind::GlobalAvgPool => {
                let x = input(&mut values, 0, true, &mut graph);
                let (pooled, flat) = (format!("{name}.pooled"), format!("{name}.flat"));
                graph.nodes.push(Node::new("GlobalAveragePool", name, &[&x], &[&pooled]));
                graph.nodes.push(Node::new("Flatten", &flat, &[&pooled], &[&flat]).int_attribute("axis", 1));
                let plane = plan.nodes[node.inputs[0]].width / node.width.max(1);
                let flat = graph.ties_up(name, &flat, q.params, plane);
                (graph.qdq(name, &flat, q.params), false)
            }
            QKind::Relu => {
                let i = node.inputs[0];
                let (x, shaped) = (values.names[i].clone(), values.shaped[i]);
                let a = format!("{name}.a");
                graph.nodes.push(Node::new("Relu", name, &[&x], &[&a]));
                (graph.qdq(name, &a, q.params), shaped)
            }
            QKind::Table(_) => {
                let Op::Activation(f) = node.op else { unreachable!("a table is an activation statement") };
                let i = node.inputs[0];
                let shaped = values.shaped[i];
                let x = values.names[i].clone();
                let a = format!("{name}.a");
                activation(name, f, &x, &a, &mut graph.nodes, &mut graph.initializers);
                (graph.qdq(name, &a, q.params), shaped)
            }
            QKind::Add { .. } => {
                let inputs: Vec<String> =
                    (0..node.inputs.len()).map(|k| input(&mut values, k, spatial, &mut graph)).collect();
                let mut sum = inputs[0].clone();
                for (k, x) in inputs.iter().enumerate().skip(1) {
                    let next = format!("{name}.sum{k}");
                    graph.nodes.push(Node::new("Add", &next, &[&sum, x], &[&next]));
                    sum = next;
                }
                (graph.qdq(name, &sum, q.params), spatial)
            }
            QKind::Concat(_) => {
                let inputs: Vec<String> =
                    (0..node.inputs.len()).map(|k| input(&mut values, k, spatial, &mut graph)).collect();
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                let joined = format!("{name}.joined");
                graph.nodes.push(Node::new("Concat", name, &refs, &[&joined]).int_attribute("axis", 1));
                (graph.qdq(name, &joined, q.params), spatial)
            }
            QKind::Affine { requant, offset, output } => {
                // y = a·x + b per channel, from the requantisation back to reals.
                let x = input(&mut values, 0, spatial, &mut graph);
                let (from, to) = (f64::from(input_scale(0)), f64::from(q.params.scale));
                let a: Vec<f32> = requant.iter().map(|r| (real(*r) * to / from) as f32).collect();
                let b: Vec<f32> = offset.iter().map(|&o| (f64::from(o) * to) as f32).collect();
                // `[C, 1, …]` broadcasts over the positions of `[N, C, …]`; `[F]` over a flat batch.
                let dims =
                    if spatial { [vec![a.len()], vec![1; node.shape.len() - 1]].concat() } else { vec![a.len()] };
                let (an, bn, scaled, shifted) =
                    (format!("{name}.a"), format!("{name}.b"), format!("{name}.scaled"), format!("{name}.shifted"));
                graph.initializers.push(tensor(&an, &dims, &a));
                graph.initializers.push(tensor(&bn, &dims, &b));
                graph.nodes.push(Node::new("Mul", &scaled, &[&x, &an], &[&scaled]));
                graph.nodes.push(Node::new("Add", &shifted, &[&scaled, &bn], &[&shifted]));
                let shifted = graph.fused_relu(name, &shifted, *output);
                (graph.qdq(name, &shifted, q.params), spatial)
            }
            QKind::Recurrent(_) => {
                return Err(crate::Error::Config(format!(
                    "`{name}` is a recurrent layer, which an int8 ONNX model cannot hold: ONNX's GRU and LSTM operators are float, so a runtime would not compute what nnspec's integer kernels do; export the f32 network (its weights file) to ONNX, or run int8 inference in nnspec (`nnspec predict` with the int8 file, or the generated `{}Int8`)",
                    network.name
                )))
            }
        };
        values.names[index] = out;
        values.shaped[index] = shaped;
    }
    let last = count - 1;
    let flat = values.flat(last, &mut graph.nodes);
    match network.finish {
        Finish::None => graph.nodes.push(Node::new("Identity", "output", &[&flat], &["output"])),
        Finish::Softmax => {
            graph.nodes.push(Node::new("Softmax", "output", &[&flat], &["output"]).int_attribute("axis", -1))
        }
        Finish::LogSoftmax => {
            graph.nodes.push(Node::new("LogSoftmax", "output", &[&flat], &["output"]).int_attribute("axis", -1))
        }
    }
    Ok(super::model_bytes(
        &network.name,
        graph.nodes,
        graph.initializers,
        (network.input_size(), network.output_size()),
        None,
    ))
}

/// Writes [`export_int8`] to `path` atomically.
pub fn save_int8(plan: &Plan, network: &QNetwork, path: impl AsRef<std::path::Path>) -> Result<(), crate::Error> {
    crate::weights::write_atomically(path.as_ref(), &export_int8(plan, network)?)
}
