//! A bounded reader of the ONNX protobuf messages the importer needs: the
//! model, its graph, nodes, attributes, tensors and value infos.
//!
//! Every length is checked against the bytes left, so a damaged or hostile
//! file costs at most memory proportional to its size: a tensor's data is
//! decoded only when its declared element count matches the bytes it holds,
//! and subgraphs (attributes of `If` or `Loop`) are skipped, never recursed
//! into. Fields the importer does not read are skipped by wire type.

use std::fmt;

/// Why bytes are not an ONNX model.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(DecodeError(message.into()))
}

/// The most elements one tensor may declare: far above any network nnspec
/// compiles (its parameter limit is lower), far below what would exhaust memory.
pub const MAX_ELEMENTS: u64 = 1 << 28;

/// One field of a message: its number and its value.
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of one message, in order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return fail("the file ends inside a number (truncated?)");
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        fail("a number is longer than ten bytes (not a protobuf file?)")
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8]> {
        let left = (self.bytes.len() - self.at) as u64;
        if len > left {
            return fail(format!("a field claims {len} bytes where {left} are left (truncated or damaged file)"));
        }
        let start = self.at;
        self.at += len as usize;
        Ok(&self.bytes[start..self.at])
    }

    fn next(&mut self) -> Result<Option<(u32, Field<'a>)>> {
        if self.at >= self.bytes.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = u32::try_from(key >> 3).unwrap_or(u32::MAX);
        if number == 0 {
            return fail("a field numbered 0 (not a protobuf file?)");
        }
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => Field::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"))),
            2 => {
                let len = self.varint()?;
                Field::Bytes(self.take(len)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"))),
            wire => return fail(format!("wire type {wire} is not used by ONNX (damaged file?)")),
        };
        Ok(Some((number, field)))
    }
}

fn text(bytes: &[u8]) -> Result<String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_string()),
        Err(_) => fail("a name is not UTF-8"),
    }
}

/// Repeated integers, packed or not.
fn ints(field: Field<'_>, into: &mut Vec<i64>) -> Result<()> {
    match field {
        Field::Varint(v) => into.push(v as i64),
        Field::Bytes(bytes) => {
            let mut reader = Reader::new(bytes);
            while reader.at < bytes.len() {
                into.push(reader.varint()? as i64);
            }
        }
        _ => return fail("a list of integers has the wrong wire type"),
    }
    Ok(())
}

/// Repeated floats, packed or not.
fn floats(field: Field<'_>, into: &mut Vec<f32>) -> Result<()> {
    match field {
        Field::Fixed32(v) => into.push(f32::from_bits(v)),
        Field::Bytes(bytes) if bytes.len() % 4 == 0 => {
            into.extend(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        }
        _ => return fail("a list of floats has the wrong wire type or length"),
    }
    Ok(())
}

/// Repeated doubles, packed or not.
fn doubles(field: Field<'_>, into: &mut Vec<f64>) -> Result<()> {
    match field {
        Field::Fixed64(v) => into.push(f64::from_bits(v)),
        Field::Bytes(bytes) if bytes.len() % 8 == 0 => {
            into.extend(bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))))
        }
        _ => return fail("a list of doubles has the wrong wire type or length"),
    }
    Ok(())
}

/// A tensor's values, as the importer computes with them.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// FLOAT, DOUBLE (narrowed) and FLOAT16 are not distinguished: weights are f32 in nnspec.
    Float(Vec<f32>),
    /// Every integer and boolean type, widened.
    Int(Vec<i64>),
}

/// A decoded tensor: its name, dims and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The tensor's name (an initializer's, or empty inside an attribute).
    pub name: String,
    /// Its dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Its values, row-major (empty until read when they are in an external file).
    pub data: Data,
    /// Where its values are when the model keeps them in a file of their own.
    pub external: Option<External>,
}

/// A tensor's data in an external file: ONNX's `location`, `offset`, `length`.
#[derive(Debug, Clone, PartialEq)]
pub struct External {
    /// The file, relative to the model's directory.
    pub location: String,
    /// The first byte.
    pub offset: u64,
    /// The byte count, when given.
    pub length: Option<u64>,
    /// The ONNX data type.
    pub data_type: i64,
    /// The element count the dims declare.
    pub count: usize,
}

impl Tensor {
    /// The element count.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::Float(v) => v.len(),
            Data::Int(v) => v.len(),
        }
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as floats.
    pub fn floats(&self) -> Vec<f32> {
        match &self.data {
            Data::Float(v) => v.clone(),
            Data::Int(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }

    /// The values as integers, if they are integers.
    pub fn ints(&self) -> Option<&[i64]> {
        match &self.data {
            Data::Int(v) => Some(v),
            Data::Float(_) => None,
        }
    }
}

/// The name of an ONNX data type, for messages.
fn type_name(code: i64) -> &'static str {
    match code {
        1 => "FLOAT",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "STRING",
        9 => "BOOL",
        10 => "FLOAT16",
        11 => "DOUBLE",
        12 => "UINT32",
        13 => "UINT64",
        16 => "BFLOAT16",
        _ => "an unknown type",
    }
}

/// Decodes a `TensorProto`.
pub fn tensor(bytes: &[u8]) -> Result<Tensor> {
    let mut reader = Reader::new(bytes);
    let (mut dims, mut data_type, mut name) = (Vec::new(), 0i64, String::new());
    let (mut float_data, mut int_data, mut double_data) = (Vec::new(), Vec::new(), Vec::new());
    let mut raw: Option<&[u8]> = None;
    let mut external = false;
    let (mut location, mut offset, mut length) = (None, 0u64, None);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, field) => ints(field, &mut dims)?,
            (2, Field::Varint(v)) => data_type = v as i64,
            (4, field) => floats(field, &mut float_data)?,
            (5 | 7 | 11, field) => ints(field, &mut int_data)?,
            (8, Field::Bytes(b)) => name = text(b)?,
            (9, Field::Bytes(b)) => raw = Some(b),
            (10, field) => doubles(field, &mut double_data)?,
            (13, Field::Bytes(entry)) => {
                external = true;
                let (mut key, mut value) = (String::new(), String::new());
                let mut fields = Reader::new(entry);
                while let Some((number, field)) = fields.next()? {
                    match (number, field) {
                        (1, Field::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
                        (2, Field::Bytes(b)) => value = String::from_utf8_lossy(b).into_owned(),
                        _ => {}
                    }
                }
                match key.as_str() {
                    "location" => location = Some(value),
                    "offset" => {
                        offset = value
                            .trim()
                            .parse()
                            .map_err(|_| DecodeError(format!("an external data offset `{value}` is not a number")))?
                    }
                    "length" => {
                        length =
                            Some(value.trim().parse().map_err(|_| {
                                DecodeError(format!("an external data length `{value}` is not a number"))
                            })?)
                    }
                    _ => {}
                }
            }
            (14, Field::Varint(1)) => external = true,
            _ => {}
        }
    }
    let shown = if name.is_empty() { "a constant".to_string() } else { format!("tensor `{name}`") };
    let mut count: u64 = 1;
    let mut shape = Vec::with_capacity(dims.len());
    for &d in &dims {
        if d < 0 {
            return fail(format!("{shown} has a negative dimension {d}"));
        }
        count = count.saturating_mul(d as u64);
        shape.push(d as usize);
    }
    if count > MAX_ELEMENTS {
        return fail(format!("{shown} declares {count} elements, more than nnspec reads ({MAX_ELEMENTS})"));
    }
    let count = count as usize;
    if width(data_type).is_none() {
        return fail(format!("{shown} is of type {} ({data_type}), which nnspec does not read", type_name(data_type)));
    }
    if external {
        let Some(location) = location else {
            return fail(format!("{shown} keeps its data in an external file but names none"));
        };
        let external = External { location, offset, length, data_type, count };
        return Ok(Tensor { name, dims: shape, data: Data::Float(Vec::new()), external: Some(external) });
    }
    let data = if let Some(raw) = raw {
        decode_raw(data_type, raw, count, &shown)?
    } else {
        let data = match data_type {
            1 => Data::Float(float_data),
            11 => Data::Float(double_data.into_iter().map(|v| v as f32).collect()),
            10 => Data::Float(int_data.into_iter().map(|v| half(v as u16)).collect()),
            16 => Data::Float(int_data.into_iter().map(|v| f32::from_bits((v as u32) << 16)).collect()),
            3 => Data::Int(int_data.into_iter().map(|v| i64::from(v as i8)).collect()),
            _ => Data::Int(int_data),
        };
        let held = match &data {
            Data::Float(v) => v.len(),
            Data::Int(v) => v.len(),
        };
        if held != count {
            return fail(format!("{shown} declares {count} elements but holds {held}"));
        }
        data
    };
    Ok(Tensor { name, dims: shape, data, external: None })
}

/// The bytes per element of a data type nnspec reads.
fn width(data_type: i64) -> Option<u64> {
    match data_type {
        1 | 6 | 12 => Some(4),
        2 | 3 | 9 => Some(1),
        4 | 5 | 10 | 16 => Some(2),
        7 | 11 | 13 => Some(8),
        _ => None,
    }
}

/// Little-endian `raw` bytes of `count` elements of `data_type`.
pub(super) fn decode_raw(data_type: i64, raw: &[u8], count: usize, shown: &str) -> Result<Data> {
    let Some(width) = width(data_type) else {
        return fail(format!("{shown} is of type {} ({data_type}), which nnspec does not read", type_name(data_type)));
    };
    if raw.len() as u64 != count as u64 * width {
        return fail(format!("{shown} declares {count} elements but holds {} bytes of data", raw.len()));
    }
    Ok(match data_type {
        1 => Data::Float(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()),
        11 => Data::Float(raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32).collect()),
        10 => Data::Float(raw.chunks_exact(2).map(|c| half(u16::from_le_bytes([c[0], c[1]]))).collect()),
        16 => Data::Float(
            raw.chunks_exact(2).map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16)).collect(),
        ),
        2 | 9 => Data::Int(raw.iter().map(|&b| i64::from(b)).collect()),
        3 => Data::Int(raw.iter().map(|&b| i64::from(b as i8)).collect()),
        4 => Data::Int(raw.chunks_exact(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect()),
        5 => Data::Int(raw.chunks_exact(2).map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect()),
        6 => Data::Int(raw.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()),
        12 => Data::Int(raw.chunks_exact(4).map(|c| i64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()),
        _ => Data::Int(raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8"))).collect()),
    })
}

/// An IEEE half-precision value as f32.
fn half(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let fraction = f32::from(bits & 0x3ff);
    match exponent {
        0 => sign * fraction * 2f32.powi(-24),
        31 if fraction == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + fraction / 1024.0) * 2f32.powi(e - 15),
    }
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// `f`.
    Float(f32),
    /// `i`.
    Int(i64),
    /// `s`.
    Text(String),
    /// `t`.
    Tensor(Tensor),
    /// `floats`.
    Floats(Vec<f32>),
    /// `ints`.
    Ints(Vec<i64>),
    /// A subgraph or a list of strings, tensors or graphs: not read.
    Other,
}

/// A node of the graph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Node {
    /// Input value names (an empty name is an omitted optional input).
    pub inputs: Vec<String>,
    /// Output value names.
    pub outputs: Vec<String>,
    /// The node's name (may be empty).
    pub name: String,
    /// Its operator.
    pub op: String,
    /// Its operator's domain (empty for the standard one).
    pub domain: String,
    /// Its attributes, in file order.
    pub attributes: Vec<(String, Attribute)>,
}

impl Node {
    /// The attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
}

fn attribute(bytes: &[u8]) -> Result<(String, Attribute)> {
    let mut reader = Reader::new(bytes);
    let mut name = String::new();
    let (mut f, mut i, mut s, mut t) = (None, None, None, None);
    let (mut fs, mut is) = (Vec::new(), Vec::new());
    let mut kind = 0i64;
    let mut other = false;
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => name = text(b)?,
            (2, Field::Fixed32(v)) => f = Some(f32::from_bits(v)),
            (3, Field::Varint(v)) => i = Some(v as i64),
            (4, Field::Bytes(b)) => s = Some(String::from_utf8_lossy(b).into_owned()),
            (5, Field::Bytes(b)) => t = Some(tensor(b)?),
            (6 | 9 | 10 | 11 | 21, _) => other = true,
            (7, field) => floats(field, &mut fs)?,
            (8, field) => ints(field, &mut is)?,
            (20, Field::Varint(v)) => kind = v as i64,
            _ => {}
        }
    }
    let value = match (kind, f, i, s, t) {
        (1, Some(f), ..) | (0, Some(f), None, None, None) => Attribute::Float(f),
        (2, _, Some(i), ..) | (0, None, Some(i), None, None) => Attribute::Int(i),
        (3, _, _, Some(s), _) | (0, None, None, Some(s), None) => Attribute::Text(s),
        (4, .., Some(t)) | (0, None, None, None, Some(t)) => Attribute::Tensor(t),
        (6, ..) => Attribute::Floats(fs),
        (7, ..) => Attribute::Ints(is),
        (0, ..) if !fs.is_empty() => Attribute::Floats(fs),
        (0, ..) if !is.is_empty() => Attribute::Ints(is),
        // An integer attribute with the value 0 is often written without its `i`.
        (2, ..) => Attribute::Int(0),
        (1, ..) => Attribute::Float(0.0),
        _ if other => Attribute::Other,
        _ => Attribute::Other,
    };
    Ok((name, value))
}

fn node(bytes: &[u8]) -> Result<Node> {
    let mut reader = Reader::new(bytes);
    let mut node = Node::default();
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => node.inputs.push(text(b)?),
            (2, Field::Bytes(b)) => node.outputs.push(text(b)?),
            (3, Field::Bytes(b)) => node.name = text(b)?,
            (4, Field::Bytes(b)) => node.op = text(b)?,
            (7, Field::Bytes(b)) => node.domain = text(b)?,
            (5, Field::Bytes(b)) => node.attributes.push(attribute(b)?),
            _ => {}
        }
    }
    Ok(node)
}

/// One dimension of a value's declared shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// A fixed size.
    Size(i64),
    /// A named or unknown size (the batch, usually).
    Symbol(String),
}

/// A graph input or output: its name, element type and shape (`None` when not declared).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    /// The value's name.
    pub name: String,
    /// Its ONNX element type (1 is FLOAT), 0 when not declared.
    pub elem_type: i64,
    /// Its shape.
    pub shape: Option<Vec<Dim>>,
}

fn value_info(bytes: &[u8]) -> Result<ValueInfo> {
    let mut info = ValueInfo { name: String::new(), elem_type: 0, shape: None };
    let mut reader = Reader::new(bytes);
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => info.name = text(b)?,
            (2, Field::Bytes(type_proto)) => {
                let mut types = Reader::new(type_proto);
                while let Some((number, field)) = types.next()? {
                    let (1, Field::Bytes(tensor_type)) = (number, field) else { continue };
                    let mut fields = Reader::new(tensor_type);
                    while let Some((number, field)) = fields.next()? {
                        match (number, field) {
                            (1, Field::Varint(v)) => info.elem_type = v as i64,
                            (2, Field::Bytes(shape)) => {
                                let mut dims = Vec::new();
                                let mut entries = Reader::new(shape);
                                while let Some((number, field)) = entries.next()? {
                                    let (1, Field::Bytes(dim)) = (number, field) else { continue };
                                    let mut value = Dim::Symbol(String::new());
                                    let mut parts = Reader::new(dim);
                                    while let Some((number, field)) = parts.next()? {
                                        match (number, field) {
                                            (1, Field::Varint(v)) => value = Dim::Size(v as i64),
                                            (2, Field::Bytes(b)) => value = Dim::Symbol(text(b)?),
                                            _ => {}
                                        }
                                    }
                                    dims.push(value);
                                }
                                info.shape = Some(dims);
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// A decoded graph.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// The graph's name.
    pub name: String,
    /// Its nodes, in file order (ONNX requires a topological one).
    pub nodes: Vec<Node>,
    /// Its constant tensors.
    pub initializers: Vec<Tensor>,
    /// Its inputs (initializers may be listed here too, as in IR version 3).
    pub inputs: Vec<ValueInfo>,
    /// Its outputs.
    pub outputs: Vec<ValueInfo>,
    /// How many sparse initializers it has (nnspec reads none).
    pub sparse_initializers: usize,
}

/// A decoded model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Model {
    /// The IR version.
    pub ir_version: i64,
    /// The standard domain's opset (0 when not declared).
    pub opset: i64,
    /// Other operator domains the model imports.
    pub other_domains: Vec<String>,
    /// Who wrote the file (`pytorch 2.5`, …).
    pub producer: String,
    /// The model's metadata entries (`metadata_props`).
    pub metadata: Vec<(String, String)>,
    /// The graph.
    pub graph: Graph,
}

fn graph(bytes: &[u8]) -> Result<Graph> {
    let mut reader = Reader::new(bytes);
    let mut graph = Graph::default();
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => graph.nodes.push(node(b)?),
            (2, Field::Bytes(b)) => graph.name = text(b)?,
            (5, Field::Bytes(b)) => graph.initializers.push(tensor(b)?),
            (11, Field::Bytes(b)) => graph.inputs.push(value_info(b)?),
            (12, Field::Bytes(b)) => graph.outputs.push(value_info(b)?),
            (15, _) => graph.sparse_initializers += 1,
            _ => {}
        }
    }
    Ok(graph)
}

/// Decodes an ONNX `ModelProto`.
pub fn model(bytes: &[u8]) -> Result<Model> {
    let mut reader = Reader::new(bytes);
    let mut model = Model::default();
    let (mut producer, mut version) = (String::new(), String::new());
    let mut graphs = 0;
    while let Some((number, field)) = reader.next()? {
        match (number, field) {
            (1, Field::Varint(v)) => model.ir_version = v as i64,
            (2, Field::Bytes(b)) => producer = String::from_utf8_lossy(b).into_owned(),
            (3, Field::Bytes(b)) => version = String::from_utf8_lossy(b).into_owned(),
            (7, Field::Bytes(b)) => {
                model.graph = graph(b)?;
                graphs += 1;
            }
            (14, Field::Bytes(b)) => {
                let (mut key, mut value) = (String::new(), String::new());
                let mut fields = Reader::new(b);
                while let Some((number, field)) = fields.next()? {
                    match (number, field) {
                        (1, Field::Bytes(b)) => key = String::from_utf8_lossy(b).into_owned(),
                        (2, Field::Bytes(b)) => value = String::from_utf8_lossy(b).into_owned(),
                        _ => {}
                    }
                }
                model.metadata.push((key, value));
            }
            (8, Field::Bytes(b)) => {
                let (mut domain, mut opset) = (String::new(), 0);
                let mut fields = Reader::new(b);
                while let Some((number, field)) = fields.next()? {
                    match (number, field) {
                        (1, Field::Bytes(b)) => domain = String::from_utf8_lossy(b).into_owned(),
                        (2, Field::Varint(v)) => opset = v as i64,
                        _ => {}
                    }
                }
                if domain.is_empty() || domain == "ai.onnx" {
                    model.opset = opset;
                } else {
                    model.other_domains.push(domain);
                }
            }
            _ => {}
        }
    }
    if graphs == 0 {
        return fail("the file holds no graph (is it an ONNX model?)");
    }
    model.producer = format!("{producer} {version}").trim().to_string();
    Ok(model)
}
