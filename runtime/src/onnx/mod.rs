//! ONNX export: any [`Model`] as a standard ONNX model (opset 17, IR version
//! 8), written with a small protobuf encoder of the few messages it needs.
//!
//! The graph takes `input` of shape `[batch, INPUT]` and gives `output` of shape
//! `[batch, OUTPUT]`. Each dense layer is a `Gemm` (or `MatMul` without bias)
//! named after the layer, with its weights as initializers named as in the
//! weight files (`layer.weight` `[in, out]`, `layer.bias`), followed by its
//! activation: `Sigmoid`, `Tanh`, `Relu`, `LeakyRelu`, `Elu`, `Softplus`,
//! `Softmax` and `LogSoftmax` (axis −1) are single ops; exact GELU, which opset
//! 17 lacks, is `0.5·x·(1 + Erf(x/√2))`; the step function is
//! `Cast(GreaterOrEqual(x, 0))`. Dropout is an identity at inference and is
//! left out.

mod qdq;

pub use qdq::{export_int8, save_int8};

use crate::activation::Activation;
use crate::model::{LayerInfo, Model};
use nnspec_core::graph::Op;

/// The opset the exported models declare.
pub const OPSET: i64 = 17;

/// A protobuf message under construction.
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(value as u64);
        self
    }

    fn float(&mut self, field: u32, value: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }

    fn string(&mut self, field: u32, text: &str) -> &mut Self {
        self.bytes(field, text.as_bytes())
    }

    fn message(&mut self, field: u32, message: Message) -> &mut Self {
        self.bytes(field, &message.0)
    }
}

/// A node under construction: inputs, outputs, op type, attributes.
struct Node {
    message: Message,
}

impl Node {
    fn new(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Node {
        let mut message = Message::default();
        for input in inputs {
            message.string(1, input);
        }
        for output in outputs {
            message.string(2, output);
        }
        message.string(3, name).string(4, op);
        Node { message }
    }

    fn float_attribute(mut self, name: &str, value: f32) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name).float(2, value).int(20, 1);
        self.message.message(5, attribute);
        self
    }

    fn ints_attribute(mut self, name: &str, values: &[usize]) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name);
        for &value in values {
            attribute.int(8, value as i64);
        }
        attribute.int(20, 7);
        self.message.message(5, attribute);
        self
    }

    fn int_attribute(mut self, name: &str, value: i64) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name).int(3, value).int(20, 2);
        self.message.message(5, attribute);
        self
    }
}

/// A one-dimensional INT64 tensor (a `Reshape` target).
fn int64_tensor(name: &str, values: &[i64]) -> Message {
    let mut tensor = Message::default();
    tensor.int(1, values.len() as i64);
    tensor.int(2, 7); // INT64
    tensor.string(8, name);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor.bytes(9, &raw);
    tensor
}

/// The ONNX values of the export: each node's output, flat `[N, F]` or
/// shaped `[N, C, (H,) W]`, and the conversions between the two, made once each.
struct Values {
    names: Vec<String>,
    shaped: Vec<bool>,
    shapes: Vec<Vec<usize>>,
}

impl Values {
    /// Node `index`'s value as `[N, F]`.
    fn flat(&mut self, index: usize, nodes: &mut Vec<Node>) -> String {
        if !self.shaped[index] {
            return self.names[index].clone();
        }
        let flat = format!("{}.flat", self.names[index]);
        nodes.push(Node::new("Flatten", &flat, &[&self.names[index]], &[&flat]).int_attribute("axis", 1));
        self.names[index] = flat.clone();
        self.shaped[index] = false;
        flat
    }

    /// Node `index`'s value as `[N, C, (H,) W]`.
    fn shaped(&mut self, index: usize, nodes: &mut Vec<Node>, initializers: &mut Vec<Message>) -> String {
        if self.shaped[index] || self.shapes[index].len() < 2 {
            return self.names[index].clone();
        }
        let (shaped, target) = (format!("{}.shaped", self.names[index]), format!("{}.shape", self.names[index]));
        let dims: Vec<i64> = [0].into_iter().chain(self.shapes[index].iter().map(|&d| d as i64)).collect();
        initializers.push(int64_tensor(&target, &dims));
        nodes.push(Node::new("Reshape", &shaped, &[&self.names[index], &target], &[&shaped]));
        self.names[index] = shaped.clone();
        self.shaped[index] = true;
        shaped
    }
}

fn tensor(name: &str, dims: &[usize], values: &[f32]) -> Message {
    let mut tensor = Message::default();
    for &d in dims {
        tensor.int(1, d as i64);
    }
    tensor.int(2, 1); // FLOAT
    tensor.string(8, name);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor.bytes(9, &raw);
    tensor
}

fn value_info(name: &str, width: usize) -> Message {
    let mut batch = Message::default();
    batch.string(2, "batch");
    let mut features = Message::default();
    features.int(1, width as i64);
    let mut shape = Message::default();
    shape.message(1, batch).message(1, features);
    let mut tensor_type = Message::default();
    tensor_type.int(1, 1).message(2, shape);
    let mut type_proto = Message::default();
    type_proto.message(1, tensor_type);
    let mut info = Message::default();
    info.string(1, name).message(2, type_proto);
    info
}

/// The ONNX model of `model` with its current parameters.
pub fn export(model: &dyn Model) -> Vec<u8> {
    export_standardized(model, None)
}

/// The ONNX model of `model` that takes raw inputs: with a `standardizer`, a
/// `Sub` and a `Div` node (initializers `input.mean`, `input.std`) apply the
/// standardisation the network was trained with before its first layer.
pub fn export_standardized(model: &dyn Model, standardizer: Option<&crate::data::Standardizer>) -> Vec<u8> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut initializers: Vec<Message> = Vec::new();
    let mut current = "input".to_string();
    if let Some(standardizer) = standardizer {
        initializers.push(tensor("input.mean", &[standardizer.mean.len()], &standardizer.mean));
        initializers.push(tensor("input.std", &[standardizer.std.len()], &standardizer.std));
        nodes.push(Node::new("Sub", "input.centre", &["input", "input.mean"], &["input.centred"]));
        nodes.push(Node::new("Div", "input.scale", &["input.centred", "input.std"], &["input.standardized"]));
        current = "input.standardized".to_string();
    }
    let graph_nodes = model.nodes();
    let layers = model.layers();
    let count = graph_nodes.len().max(1);
    let mut values = Values {
        names: vec![current; count],
        shaped: vec![false; count],
        shapes: graph_nodes.iter().map(|n| n.shape.to_vec()).collect(),
    };
    let params = model.params();
    let find = |node: &str, suffix: &str| model.tensors().iter().find(|t| t.name == format!("{node}.{suffix}"));
    for (index, node) in graph_nodes.iter().enumerate().skip(1) {
        let last = index + 1 == graph_nodes.len();
        let name = node.name.as_ref();
        let out = if last { "output".to_string() } else { format!("{name}.out") };
        let spatial = node.shape.len() > 1;
        // Element-wise ops keep their input's form; the others ask for theirs.
        let input = |values: &mut Values, k: usize, shaped: bool, nodes: &mut Vec<Node>, inits: &mut Vec<Message>| {
            let i = node.inputs[k];
            if shaped {
                values.shaped(i, nodes, inits)
            } else {
                values.flat(i, nodes)
            }
        };
        let (name_out, shaped_out) = match node.op {
            Op::Input => continue,
            Op::Dense(layer) => {
                let x = input(&mut values, 0, false, &mut nodes, &mut initializers);
                let out = if last { out } else { format!("{name}.a") };
                dense(model, &layers[layer], &x, &out, &mut nodes, &mut initializers);
                (out, false)
            }
            // Inverted dropout is the identity at inference.
            Op::Dropout(_) => {
                let i = node.inputs[0];
                let (x, shaped) = (values.names[i].clone(), values.shaped[i]);
                if last {
                    nodes.push(Node::new("Identity", name, &[&x], &[&out]));
                    (out, shaped)
                } else {
                    (x, shaped)
                }
            }
            Op::Add => {
                let inputs: Vec<String> = (0..node.inputs.len())
                    .map(|k| input(&mut values, k, spatial, &mut nodes, &mut initializers))
                    .collect();
                let mut sum = inputs[0].clone();
                for (k, x) in inputs.iter().enumerate().skip(1) {
                    let next = if k + 1 == inputs.len() { out.clone() } else { format!("{name}.partial{k}") };
                    nodes.push(Node::new("Add", &format!("{name}.add{k}"), &[&sum, x], &[&next]));
                    sum = next;
                }
                (out, spatial)
            }
            Op::Concat => {
                let inputs: Vec<String> = (0..node.inputs.len())
                    .map(|k| input(&mut values, k, spatial, &mut nodes, &mut initializers))
                    .collect();
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                nodes.push(Node::new("Concat", name, &refs, &[&out]).int_attribute("axis", 1));
                (out, spatial)
            }
            Op::Activation(f) => {
                // Softmax and log-softmax take the whole sample, as nnspec does.
                let shaped = values.shaped[node.inputs[0]] && !f.is_rowwise();
                let x = input(&mut values, 0, shaped, &mut nodes, &mut initializers);
                activation(name, f, &x, &out, &mut nodes, &mut initializers);
                (out, shaped)
            }
            Op::LayerNorm { eps } => {
                let x = input(&mut values, 0, false, &mut nodes, &mut initializers);
                let (scale, shift) = (format!("{name}.weight"), format!("{name}.bias"));
                for (info, onnx_name) in [(find(name, "weight"), &scale), (find(name, "bias"), &shift)] {
                    let info = info.expect("a layer norm has its scale and shift");
                    initializers.push(tensor(onnx_name, &info.shape, &params[info.range()]));
                }
                nodes.push(
                    Node::new("LayerNormalization", name, &[&x, &scale, &shift], &[&out])
                        .int_attribute("axis", -1)
                        .float_attribute("epsilon", eps),
                );
                (out, false)
            }
            Op::Standardize => {
                // `(x − mean)/std` on the flat sample, the statistics as initializers.
                let x = input(&mut values, 0, false, &mut nodes, &mut initializers);
                let (mean, std) = (format!("{name}.mean"), format!("{name}.std"));
                for onnx_name in [&mean, &std] {
                    let info = model.buffer_tensors().iter().find(|t| &t.name == onnx_name);
                    let info = info.expect("a standardisation has its statistics");
                    initializers.push(tensor(onnx_name, &info.shape, &model.buffers()[info.range()]));
                }
                let centred = format!("{name}.centred");
                nodes.push(Node::new("Sub", &format!("{name}.centre"), &[&x, &mean], &[&centred]));
                nodes.push(Node::new("Div", &format!("{name}.scale"), &[&centred, &std], &[&out]));
                (out, false)
            }
            Op::BatchNorm { eps, .. } => {
                // Inference: the running statistics, as nnspec's `predict` uses them.
                let x = input(&mut values, 0, spatial, &mut nodes, &mut initializers);
                let mut operands = vec![x];
                for suffix in ["weight", "bias"] {
                    let info = find(name, suffix).expect("a batch norm has its scale and shift");
                    let onnx_name = format!("{name}.{suffix}");
                    initializers.push(tensor(&onnx_name, &info.shape, &params[info.range()]));
                    operands.push(onnx_name);
                }
                for suffix in ["running_mean", "running_var"] {
                    let onnx_name = format!("{name}.{suffix}");
                    let info = model.buffer_tensors().iter().find(|t| t.name == onnx_name);
                    let info = info.expect("a batch norm has its running statistics");
                    initializers.push(tensor(&onnx_name, &info.shape, &model.buffers()[info.range()]));
                    operands.push(onnx_name);
                }
                let refs: Vec<&str> = operands.iter().map(String::as_str).collect();
                let written = if last && spatial { format!("{name}.out") } else { out.clone() };
                nodes.push(Node::new("BatchNormalization", name, &refs, &[&written]).float_attribute("epsilon", eps));
                (written, spatial)
            }
            Op::Conv { geometry: g, one_d, .. } => {
                let x = input(&mut values, 0, true, &mut nodes, &mut initializers);
                let weight = find(name, "weight").expect("a convolution has its weights");
                let weight_name = format!("{name}.weight");
                initializers.push(tensor(&weight_name, &weight.shape, &params[weight.range()]));
                let mut operands = vec![x, weight_name];
                if let Some(bias) = find(name, "bias") {
                    let bias_name = format!("{name}.bias");
                    initializers.push(tensor(&bias_name, &bias.shape, &params[bias.range()]));
                    operands.push(bias_name);
                }
                let refs: Vec<&str> = operands.iter().map(String::as_str).collect();
                let axes = |pair: [usize; 2]| if one_d { vec![pair[1]] } else { pair.to_vec() };
                let pads = if one_d {
                    vec![g.padding[1], g.padding[1]]
                } else {
                    vec![g.padding[0], g.padding[1], g.padding[0], g.padding[1]]
                };
                let written = if last { format!("{name}.out") } else { out.clone() };
                nodes.push(
                    Node::new("Conv", name, &refs, &[&written])
                        .ints_attribute("kernel_shape", &axes(g.kernel))
                        .ints_attribute("strides", &axes(g.stride))
                        .ints_attribute("pads", &pads)
                        .ints_attribute("dilations", &axes(g.dilation))
                        .int_attribute("group", g.groups as i64),
                );
                (written, true)
            }
            Op::Pool { geometry: g, one_d } => {
                let x = input(&mut values, 0, true, &mut nodes, &mut initializers);
                let axes = |pair: [usize; 2]| if one_d { vec![pair[1]] } else { pair.to_vec() };
                let op = if g.max { "MaxPool" } else { "AveragePool" };
                let written = if last { format!("{name}.out") } else { out.clone() };
                nodes.push(
                    Node::new(op, name, &[&x], &[&written])
                        .ints_attribute("kernel_shape", &axes(g.kernel))
                        .ints_attribute("strides", &axes(g.stride)),
                );
                (written, true)
            }
            Op::GlobalAvgPool(_) => {
                let x = input(&mut values, 0, true, &mut nodes, &mut initializers);
                let pooled = format!("{name}.pooled");
                nodes.push(Node::new("GlobalAveragePool", name, &[&x], &[&pooled]));
                nodes.push(
                    Node::new("Flatten", &format!("{name}.flatten"), &[&pooled], &[&out]).int_attribute("axis", 1),
                );
                (out, false)
            }
            Op::Flatten => {
                let x = input(&mut values, 0, false, &mut nodes, &mut initializers);
                if last {
                    nodes.push(Node::new("Identity", name, &[&x], &[&out]));
                    (out, false)
                } else {
                    (x, false)
                }
            }
        };
        values.names[index] = name_out;
        values.shaped[index] = shaped_out;
        if last && values.shaped[index] {
            let flat = values.flat(index, &mut nodes);
            nodes.push(Node::new("Identity", &format!("{name}.output"), &[&flat], &["output"]));
        }
    }
    model_bytes(model.name(), nodes, initializers, (model.input_size(), model.output_size()))
}

/// The bytes of an ONNX model (IR version 8, opset [`OPSET`]) whose graph
/// `name` takes `input` `[batch, widths.0]` and gives `output` `[batch, widths.1]`.
fn model_bytes(name: &str, nodes: Vec<Node>, initializers: Vec<Message>, widths: (usize, usize)) -> Vec<u8> {
    let mut graph = Message::default();
    for node in nodes {
        graph.message(1, node.message);
    }
    graph.string(2, name);
    for initializer in initializers {
        graph.message(5, initializer);
    }
    graph.message(11, value_info("input", widths.0));
    graph.message(12, value_info("output", widths.1));
    let mut opset = Message::default();
    opset.string(1, "").int(2, OPSET);
    let mut onnx = Message::default();
    onnx.int(1, 8).string(2, "nnspec").string(3, env!("CARGO_PKG_VERSION")).message(8, opset).message(7, graph);
    onnx.0
}

/// The ONNX nodes of one dense layer reading `input`: `Gemm` (or `MatMul`
/// without a bias), then its activation writing `out`.
fn dense(
    model: &dyn Model,
    layer: &LayerInfo,
    input: &str,
    out: &str,
    nodes: &mut Vec<Node>,
    initializers: &mut Vec<Message>,
) {
    let params = model.params();
    let name = layer.name.as_ref();
    let find = |suffix: &str| model.tensors().iter().find(|t| t.name == format!("{name}.{suffix}"));
    let weight = find("weight").expect("every dense layer has a weight tensor");
    let weight_name = format!("{name}.weight");
    initializers.push(tensor(&weight_name, &weight.shape, &params[weight.range()]));
    let z = format!("{name}.z");
    match find("bias") {
        Some(bias) => {
            let bias_name = format!("{name}.bias");
            initializers.push(tensor(&bias_name, &bias.shape, &params[bias.range()]));
            nodes.push(Node::new("Gemm", name, &[input, &weight_name, &bias_name], &[&z]));
        }
        None => nodes.push(Node::new("MatMul", name, &[input, &weight_name], &[&z])),
    }
    activation(name, layer.activation, &z, out, nodes, initializers);
}

/// The ONNX nodes of `activation` on value `z`, writing `out`; `name` prefixes their names.
fn activation(
    name: &str,
    activation: Activation,
    z: &str,
    out: &str,
    nodes: &mut Vec<Node>,
    initializers: &mut Vec<Message>,
) {
    let z = z.to_string();
    let act = |op: &str| Node::new(op, &format!("{name}.{}", op.to_lowercase()), &[&z], &[out]);
    match activation {
        Activation::Identity => nodes.push(Node::new("Identity", &format!("{name}.identity"), &[&z], &[out])),
        Activation::Sigmoid => nodes.push(act("Sigmoid")),
        Activation::Tanh => nodes.push(act("Tanh")),
        Activation::Relu => nodes.push(act("Relu")),
        Activation::Softplus => nodes.push(act("Softplus")),
        Activation::LeakyRelu(alpha) => nodes.push(act("LeakyRelu").float_attribute("alpha", alpha)),
        Activation::Elu(alpha) => nodes.push(act("Elu").float_attribute("alpha", alpha)),
        Activation::Softmax => nodes.push(act("Softmax").int_attribute("axis", -1)),
        Activation::LogSoftmax => nodes.push(act("LogSoftmax").int_attribute("axis", -1)),
        Activation::Gelu => {
            // 0.5 · x · (1 + erf(x / √2))
            let constant = |suffix: &str, value: f32, initializers: &mut Vec<Message>| {
                let c = format!("{name}.gelu.{suffix}");
                initializers.push(tensor(&c, &[], &[value]));
                c
            };
            let sqrt2 = constant("sqrt2", core::f32::consts::SQRT_2, initializers);
            let one = constant("one", 1.0, initializers);
            let half = constant("half", 0.5, initializers);
            let [scaled, erf, plus, half_x] = ["scaled", "erf", "plus", "half_x"].map(|s| format!("{name}.gelu.{s}"));
            nodes.push(Node::new("Div", &scaled, &[&z, &sqrt2], &[&scaled]));
            nodes.push(Node::new("Erf", &erf, &[&scaled], &[&erf]));
            nodes.push(Node::new("Add", &plus, &[&erf, &one], &[&plus]));
            nodes.push(Node::new("Mul", &half_x, &[&z, &half], &[&half_x]));
            nodes.push(Node::new("Mul", &format!("{name}.gelu"), &[&half_x, &plus], &[out]));
        }
        Activation::Step => {
            let zero = format!("{name}.step.zero");
            initializers.push(tensor(&zero, &[], &[0.0]));
            let test = format!("{name}.step.test");
            nodes.push(Node::new("GreaterOrEqual", &test, &[&z, &zero], &[&test]));
            nodes.push(Node::new("Cast", &format!("{name}.step"), &[&test], &[out]).int_attribute("to", 1));
        }
    }
}

/// Writes [`export`] to `path` atomically.
pub fn save(model: &dyn Model, path: impl AsRef<std::path::Path>) -> Result<(), crate::Error> {
    save_standardized(model, None, path)
}

/// Writes [`export_standardized`] to `path` atomically.
pub fn save_standardized(
    model: &dyn Model,
    standardizer: Option<&crate::data::Standardizer>,
    path: impl AsRef<std::path::Path>,
) -> Result<(), crate::Error> {
    crate::weights::write_atomically(path.as_ref(), &export_standardized(model, standardizer))
}
