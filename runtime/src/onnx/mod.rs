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

mod ops;
mod proto;
mod qdq;

pub use qdq::{export_int8, save_int8};

use crate::model::Model;
use nnspec_core::plan::Role;
use nnspec_core::Loss;
use proto::{int64_tensor, model_bytes, tensor, Message, Node};

/// The opset the exported models declare.
pub const OPSET: i64 = 17;

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

/// The ONNX model of `model` with its current parameters.
pub fn export(model: &dyn Model) -> Vec<u8> {
    export_standardized(model, None)
}

/// The ONNX model of `model` that takes raw inputs: with a `standardizer`, a
/// `Sub` and a `Div` node (initializers `input.mean`, `input.std`) apply the
/// standardisation the network was trained with before its first layer.
pub fn export_standardized(model: &dyn Model, standardizer: Option<&crate::data::Standardizer>) -> Vec<u8> {
    export_with(model, standardizer, false)
}

/// [`export_standardized`], and with `probabilities` a graph that ends where
/// `nnspec predict` does: for a loss that takes logits
/// (`softmax_cross_entropy`, `binary_cross_entropy_with_logits`) a `Softmax`
/// (or `Sigmoid`) after them, so `output` holds probabilities; the graph of
/// any other loss already ends in what `predict` prints.
pub fn export_with(
    model: &dyn Model,
    standardizer: Option<&crate::data::Standardizer>,
    probabilities: bool,
) -> Vec<u8> {
    let finish = match model.loss_kind() {
        Loss::SoftmaxCrossEntropy if probabilities => Some("Softmax"),
        Loss::BinaryCrossEntropyWithLogits if probabilities => Some("Sigmoid"),
        _ => None,
    };
    let graph_nodes = model.nodes();
    let count = graph_nodes.len().max(1);
    let mut writer = Writer {
        model,
        values: Values {
            names: vec!["input".to_string(); count],
            shaped: vec![false; count],
            shapes: graph_nodes.iter().map(|n| n.shape.to_vec()).collect(),
        },
        nodes: Vec::new(),
        initializers: Vec::new(),
    };
    if let Some(standardizer) = standardizer {
        writer.initializers.push(tensor("input.mean", &[standardizer.mean.len()], &standardizer.mean));
        writer.initializers.push(tensor("input.std", &[standardizer.std.len()], &standardizer.std));
        writer.nodes.push(Node::new("Sub", "input.centre", &["input", "input.mean"], &["input.centred"]));
        writer.nodes.push(Node::new("Div", "input.scale", &["input.centred", "input.std"], &["input.standardized"]));
        writer.values.names = vec!["input.standardized".to_string(); count];
    }
    for (index, node) in graph_nodes.iter().enumerate().skip(1) {
        let last = index + 1 == graph_nodes.len();
        let name = node.name.as_ref();
        let written = if finish.is_some() { "logits" } else { "output" };
        let out = Out { name: if last { written.to_string() } else { format!("{name}.out") }, last, node: index };
        let (value, shaped) = ops::write(&mut writer, node, out);
        writer.values.names[index] = value;
        writer.values.shaped[index] = shaped;
        if last && shaped {
            let flat = writer.values.flat(index, &mut writer.nodes);
            writer.nodes.push(Node::new("Identity", &format!("{name}.output"), &[&flat], &[written]));
        }
    }
    if let Some(op) = finish {
        let mut node = Node::new(op, "probabilities", &["logits"], &["output"]);
        if op == "Softmax" {
            node = node.int_attribute("axis", -1);
        }
        writer.nodes.push(node);
    }
    let widths = (model.input_size(), model.output_size());
    model_bytes(model.name(), writer.nodes, writer.initializers, widths, Some(model.loss_kind().name()))
}

/// An export under construction: the ONNX nodes and initializers written so
/// far, and where each graph node's value is.
struct Writer<'m> {
    model: &'m dyn Model,
    values: Values,
    nodes: Vec<Node>,
    initializers: Vec<Message>,
}

/// The name a node's output takes: `output` for the network's last node.
struct Out {
    name: String,
    last: bool,
    /// The graph node's index (its tensors are found by node and role).
    node: usize,
}

impl Writer<'_> {
    /// Graph node `index`'s value, shaped `[N, C, (H,) W]` or flat `[N, F]`.
    fn input(&mut self, index: usize, shaped: bool) -> String {
        if shaped {
            self.values.shaped(index, &mut self.nodes, &mut self.initializers)
        } else {
            self.values.flat(index, &mut self.nodes)
        }
    }

    /// Graph node `node`'s parameter tensor of `role`, found by node and role.
    fn param_values(&self, node: usize, role: Role) -> Option<(&crate::model::TensorInfo, &[f32])> {
        let info = self.model.tensors().iter().find(|t| t.node == node && t.role == Some(role))?;
        Some((info, &self.model.params()[info.range()]))
    }

    /// Graph node `node`'s parameter tensor of `role` as an initializer named as the tensor.
    fn param(&mut self, node: usize, role: Role) -> Option<String> {
        let (info, values) = self.param_values(node, role)?;
        let (name, shape, values) = (info.name.to_string(), info.shape.to_vec(), values.to_vec());
        Some(self.initializer(name, &shape, &values))
    }

    /// Node `node`'s buffer tensor `node.suffix` (a running statistic) as an initializer of that name.
    fn buffer(&mut self, node: &str, suffix: &str) -> Option<String> {
        let name = format!("{node}.{suffix}");
        let info = self.model.buffer_tensors().iter().find(|t| t.name == name)?;
        Some(self.initializer(name, &info.shape, &self.model.buffers()[info.range()]))
    }

    /// An f32 initializer; its name.
    fn initializer(&mut self, name: String, shape: &[usize], values: &[f32]) -> String {
        self.initializers.push(tensor(&name, shape, values));
        name
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
    save_with(model, standardizer, false, path)
}

/// Writes [`export_with`] to `path` atomically.
pub fn save_with(
    model: &dyn Model,
    standardizer: Option<&crate::data::Standardizer>,
    probabilities: bool,
    path: impl AsRef<std::path::Path>,
) -> Result<(), crate::Error> {
    crate::weights::write_atomically(path.as_ref(), &export_with(model, standardizer, probabilities))
}
