//! The few protobuf messages of an ONNX model, encoded by hand: nodes with
//! their attributes, tensors, value infos and the model around its graph.

use super::OPSET;

/// A protobuf message under construction.
#[derive(Default)]
pub(super) struct Message(Vec<u8>);

impl Message {
    pub(super) fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    pub(super) fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    pub(super) fn int(&mut self, field: u32, value: i64) -> &mut Self {
        self.key(field, 0);
        self.varint(value as u64);
        self
    }

    pub(super) fn float(&mut self, field: u32, value: f32) -> &mut Self {
        self.key(field, 5);
        self.0.extend_from_slice(&value.to_le_bytes());
        self
    }

    pub(super) fn bytes(&mut self, field: u32, bytes: &[u8]) -> &mut Self {
        self.key(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }

    pub(super) fn string(&mut self, field: u32, text: &str) -> &mut Self {
        self.bytes(field, text.as_bytes())
    }

    pub(super) fn message(&mut self, field: u32, message: Message) -> &mut Self {
        self.bytes(field, &message.0)
    }
}

/// A node under construction: inputs, outputs, op type, attributes.
pub(super) struct Node {
    message: Message,
}

impl Node {
    pub(super) fn new(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Node {
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

    pub(super) fn float_attribute(mut self, name: &str, value: f32) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name).float(2, value).int(20, 1);
        self.message.message(5, attribute);
        self
    }

    pub(super) fn ints_attribute(mut self, name: &str, values: &[usize]) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name);
        for &value in values {
            attribute.int(8, value as i64);
        }
        attribute.int(20, 7);
        self.message.message(5, attribute);
        self
    }

    pub(super) fn string_attribute(mut self, name: &str, value: &str) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name).string(4, value).int(20, 3);
        self.message.message(5, attribute);
        self
    }

    pub(super) fn int_attribute(mut self, name: &str, value: i64) -> Node {
        let mut attribute = Message::default();
        attribute.string(1, name).int(3, value).int(20, 2);
        self.message.message(5, attribute);
        self
    }
}

/// A one-dimensional INT64 tensor (a `Reshape` target).
pub(super) fn int64_tensor(name: &str, values: &[i64]) -> Message {
    let mut tensor = Message::default();
    tensor.int(1, values.len() as i64);
    tensor.int(2, 7); // INT64
    tensor.string(8, name);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor.bytes(9, &raw);
    tensor
}

pub(super) fn tensor(name: &str, dims: &[usize], values: &[f32]) -> Message {
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

/// The bytes of an ONNX model (IR version 8, opset [`OPSET`]) whose graph
/// `name` takes `input` `[batch, widths.0]` and gives `output` `[batch, widths.1]`;
/// the network's loss, when given, goes into the metadata as `nnspec.loss`
/// (what `nnspec import` reads back).
pub(super) fn model_bytes(
    name: &str,
    nodes: Vec<Node>,
    initializers: Vec<Message>,
    widths: (usize, usize),
    loss: Option<&str>,
) -> Vec<u8> {
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
    if let Some(loss) = loss {
        let mut entry = Message::default();
        entry.string(1, "nnspec.loss").string(2, loss);
        onnx.message(14, entry);
    }
    onnx.0
}
