//! From an ONNX graph to nnspec statements: constants and shape arithmetic
//! are folded, the patterns exporters write (a flatten as `Shape`/`Gather`/
//! `Concat`/`Reshape`, GELU as `Div`/`Erf`/`Add`/`Mul`, a standardisation as
//! `Sub`/`Div`, a recurrent layer's zero state and its `Transpose`s) are
//! recognised, and every other node becomes one statement.

use super::proto::{Attribute, Data, Graph, Node, Tensor};
use super::spec::{Op, Recurrent, Statement};
use super::Problem;
use std::collections::HashMap;

/// One dimension of a shape computed in the graph: known, or the batch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dim {
    Known(i64),
    Batch,
    Unknown,
}

/// A value of the graph as the importer sees it.
#[derive(Debug, Clone)]
enum Value {
    /// A constant tensor.
    Const(Tensor),
    /// A one-dimensional integer vector with the batch size in it (`Shape(x)` and what is computed from it).
    Shape(Vec<Dim>),
    /// Zeros of a shape that involves the batch size (a recurrent layer's initial state).
    Zeros,
    /// A per-sample value computed by statement `stmt`; `shape` is its ONNX shape without the batch axis.
    Flow(Flow),
    /// A pattern under way: arithmetic that is part of GELU, a standardisation or a step.
    Partial(Partial, Origin),
    /// A flow transposed to time first, `[T, N, F]`, for a recurrent layer.
    TimeFirst(Flow),
    /// A convolution's `[N, C, L]` transposed to `[N, L, C]` (PyTorch's
    /// `x.transpose(1, 2)` before a `batch_first` recurrent layer); `shape` is `[L, C]`.
    Transposed(Flow),
    /// An output of a recurrent statement: its axes in ONNX order.
    Recurrent { stmt: usize, sequence: bool, axes: Vec<(Axis, usize)> },
    /// A value whose node could not be imported (already reported).
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Axis {
    Time,
    Direction,
    Batch,
    Hidden,
}

#[derive(Debug, Clone)]
struct Flow {
    stmt: usize,
    shape: Vec<usize>,
    /// Whether this is the statement's own output (not an alias through an
    /// `Identity` or a reshape), so that an activation or a bias may be folded into it.
    own: bool,
}

#[derive(Debug, Clone)]
enum Partial {
    /// `x · factor` (a `Mul`, or a `Div` by its inverse).
    Scaled(Flow, Vec<f32>),
    /// `x − mean`.
    Centred(Flow, Vec<f32>),
    /// `erf(x/√2)`.
    Erf(Flow),
    /// `1 + erf(x/√2)`.
    ErfPlusOne(Flow),
    /// `x · (1 + erf(x/√2))`.
    TwiceGelu(Flow),
    /// `x ≥ 0`.
    AtLeastZero(Flow),
    /// `x > threshold`: PyTorch's softplus switching to `x` where `exp` would overflow.
    Above(Flow),
}

/// The node a partial pattern started at, for messages.
#[derive(Debug, Clone)]
struct Origin {
    op: String,
    node: String,
}

/// The result of converting a graph.
pub(super) struct Converted {
    pub statements: Vec<Statement>,
    pub output: usize,
}

pub(super) struct Converter<'g> {
    graph: &'g Graph,
    values: HashMap<String, Value>,
    uses: HashMap<&'g str, usize>,
    statements: Vec<Statement>,
    problems: Vec<Problem>,
    /// The batch size the input declares, when it is a fixed number.
    fixed_batch: Option<i64>,
    /// The model's opset (defaults changed across versions).
    opset: i64,
}

/// The most values per sample an imported network's value may hold.
const MAX_VALUES: usize = 1 << 28;

/// The number of values in a value of shape `dims`, or `None` when it would
/// exceed [`MAX_VALUES`] (a size a hostile file writes, never a network's).
fn volume(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_VALUES)
}

fn problem(node: &Node, message: impl Into<String>) -> Problem {
    Problem { op: node.op.clone(), node: node.name.clone(), message: message.into() }
}

fn int_attr(node: &Node, name: &str, default: i64) -> i64 {
    match node.attribute(name) {
        Some(Attribute::Int(v)) => *v,
        _ => default,
    }
}

fn float_attr(node: &Node, name: &str, default: f32) -> f32 {
    match node.attribute(name) {
        Some(Attribute::Float(v)) => *v,
        _ => default,
    }
}

fn ints_attr(node: &Node, name: &str) -> Option<Vec<i64>> {
    match node.attribute(name) {
        Some(Attribute::Ints(v)) => Some(v.clone()),
        _ => None,
    }
}

fn text_attr(node: &Node, name: &str) -> Option<String> {
    match node.attribute(name) {
        Some(Attribute::Text(v)) => Some(v.clone()),
        _ => None,
    }
}

/// Whether every value of `values` is within `tolerance` of `target`.
fn all_near(values: &[f32], target: f32, tolerance: f32) -> bool {
    !values.is_empty() && values.iter().all(|v| (v - target).abs() <= tolerance)
}

/// A constant's values broadcast to `width` features, if it is a scalar or has `width` values.
fn per_feature(tensor: &Tensor, width: usize) -> Option<Vec<f32>> {
    let values = tensor.floats();
    match values.len() {
        1 => Some(vec![values[0]; width]),
        n if n == width && tensor.dims.iter().filter(|&&d| d != 1).count() <= 1 => Some(values),
        _ => None,
    }
}

impl<'g> Converter<'g> {
    pub(super) fn new(graph: &'g Graph, opset: i64) -> Converter<'g> {
        let mut uses = HashMap::new();
        for node in &graph.nodes {
            for input in &node.inputs {
                *uses.entry(input.as_str()).or_insert(0) += 1;
            }
        }
        for output in &graph.outputs {
            *uses.entry(output.name.as_str()).or_insert(0) += 1;
        }
        Converter {
            graph,
            values: HashMap::new(),
            uses,
            statements: Vec::new(),
            problems: Vec::new(),
            fixed_batch: None,
            opset,
        }
    }

    /// Converts the graph: the statements and the index of the output's, or every problem found.
    pub(super) fn convert(mut self) -> Result<Converted, Vec<Problem>> {
        let graph = self.graph;
        for tensor in &graph.initializers {
            self.values.insert(tensor.name.clone(), Value::Const(tensor.clone()));
        }
        let inputs: Vec<_> = graph.inputs.iter().filter(|i| !self.values.contains_key(&i.name)).collect();
        if inputs.len() != 1 {
            let names: Vec<String> = inputs.iter().map(|i| format!("`{}`", i.name)).collect();
            return Err(vec![Problem::graph(format!(
                "the graph has {} inputs ({}); an nnspec network has exactly one",
                inputs.len(),
                names.join(", ")
            ))]);
        }
        let input = inputs[0];
        let Some(dims) = &input.shape else {
            return Err(vec![Problem::graph(format!("the input `{}` declares no shape", input.name))]);
        };
        if input.elem_type != 1 && input.elem_type != 0 {
            return Err(vec![Problem::graph(format!(
                "the input `{}` is not of type FLOAT (type {}); nnspec networks take f32 values",
                input.name, input.elem_type
            ))]);
        }
        let mut shape = Vec::new();
        for (axis, dim) in dims.iter().enumerate() {
            match dim {
                super::proto::Dim::Size(size) if axis == 0 => self.fixed_batch = Some(*size),
                super::proto::Dim::Size(size) if *size > 0 => shape.push(*size as usize),
                super::proto::Dim::Symbol(_) if axis == 0 => {}
                other => {
                    return Err(vec![Problem::graph(format!(
                        "the input `{}` has axis {axis} of size {other:?}; nnspec needs the batch first and every other size fixed",
                        input.name
                    ))])
                }
            }
        }
        if shape.is_empty() {
            return Err(vec![Problem::graph(format!(
                "the input `{}` has no axis besides the batch; an nnspec input has at least one feature",
                input.name
            ))]);
        }
        if volume(&shape).is_none() {
            return Err(vec![Problem::graph(format!(
                "the input `{}` has {shape:?} values per sample, more than nnspec's {MAX_VALUES}",
                input.name
            ))]);
        }
        self.statements.push(Statement {
            name: input.name.clone(),
            op: Op::Input,
            inputs: Vec::new(),
            shape: shape.clone(),
        });
        self.values.insert(input.name.clone(), Value::Flow(Flow { stmt: 0, shape, own: true }));

        for node in &graph.nodes {
            if !node.domain.is_empty() && node.domain != "ai.onnx" {
                self.problems.push(problem(node, format!("is in the operator domain `{}`, not ONNX's", node.domain)));
                self.fail(node);
                continue;
            }
            let mut missing = Vec::new();
            let mut failed = false;
            for name in node.inputs.iter().filter(|n| !n.is_empty()) {
                match self.values.get(name) {
                    None => missing.push(format!("`{name}`")),
                    Some(Value::Failed) => failed = true,
                    Some(_) => {}
                }
            }
            if !missing.is_empty() {
                self.problems.push(problem(
                    node,
                    format!(
                        "reads {} that no earlier node writes (a cycle, an unsorted graph or a missing initializer)",
                        missing.join(", ")
                    ),
                ));
                self.fail(node);
                continue;
            }
            if failed {
                if !SUPPORTED.contains(&node.op.as_str()) {
                    self.problems.push(unsupported(node));
                }
                self.fail(node);
                continue;
            }
            if let Err(problem) = self.node(node) {
                self.problems.push(problem);
                self.fail(node);
            }
        }
        let output = self.output();
        if !self.problems.is_empty() {
            return Err(self.problems);
        }
        let output = output.expect("problems are reported when the output is not a flow");
        Ok(Converted { statements: self.statements, output })
    }

    fn output(&mut self) -> Option<usize> {
        let graph = self.graph;
        if graph.outputs.len() != 1 {
            self.problems.push(Problem::graph(format!(
                "the graph has {} outputs; an nnspec network has one (concatenate them in the model before exporting)",
                graph.outputs.len()
            )));
            return None;
        }
        match self.values.get(&graph.outputs[0].name) {
            Some(Value::Flow(flow)) => Some(flow.stmt),
            Some(Value::Failed) => None,
            Some(Value::Recurrent { .. } | Value::TimeFirst(_)) => {
                self.problems.push(Problem::graph(format!(
                    "the output `{}` is a recurrent layer's state in ONNX's layout; nnspec writes it batch first ([N, T, D·H] or [N, D·H])",
                    graph.outputs[0].name
                )));
                None
            }
            Some(Value::Partial(_, origin)) => {
                self.problems.push(Problem {
                    op: origin.op.clone(),
                    node: origin.node.clone(),
                    message: "computes arithmetic on the network's values that nnspec has no statement for".into(),
                });
                None
            }
            Some(_) => {
                self.problems.push(Problem::graph(format!(
                    "the output `{}` does not depend on the input",
                    graph.outputs[0].name
                )));
                None
            }
            None => {
                self.problems
                    .push(Problem::graph(format!("the output `{}` is written by no node", graph.outputs[0].name)));
                None
            }
        }
    }

    fn fail(&mut self, node: &Node) {
        for output in &node.outputs {
            self.values.insert(output.clone(), Value::Failed);
        }
    }

    fn get(&self, name: &str) -> Option<&Value> {
        if name.is_empty() {
            None
        } else {
            self.values.get(name)
        }
    }

    fn input(&self, node: &Node, index: usize) -> Option<&Value> {
        node.inputs.get(index).and_then(|n| self.get(n))
    }

    fn constant(&self, node: &Node, index: usize) -> Option<&Tensor> {
        match self.input(node, index) {
            Some(Value::Const(t)) => Some(t),
            _ => None,
        }
    }

    fn flow(&self, node: &Node, index: usize) -> Result<Flow, Problem> {
        match self.input(node, index) {
            Some(Value::Flow(flow)) => Ok(flow.clone()),
            Some(Value::Partial(_, origin)) => Err(problem(
                node,
                format!(
                    "reads the result of `{}` (`{}`), arithmetic that nnspec has no statement for",
                    origin.op, origin.node
                ),
            )),
            Some(Value::Recurrent { .. } | Value::TimeFirst(_)) => Err(problem(
                node,
                "reads a recurrent layer's value in a layout nnspec cannot express (it writes the last state as [N, D·H] and the sequence as [N, T, D·H])",
            )),
            Some(_) => Err(problem(node, "computes on constants or shapes only where nnspec expects the network's values")),
            None => Err(problem(node, format!("has no input {index}"))),
        }
    }

    fn set(&mut self, node: &Node, value: Value) {
        if let Some(output) = node.outputs.first() {
            self.values.insert(output.clone(), value);
        }
    }

    /// Whether the value `name` is read exactly once.
    fn read_once(&self, name: &str) -> bool {
        self.uses.get(name).copied().unwrap_or(0) == 1
    }

    /// Adds a statement reading `inputs`; its output as a flow.
    fn push(&mut self, node: &Node, op: Op, inputs: Vec<usize>, shape: Vec<usize>) -> Flow {
        self.push_onnx(node, op, inputs, shape.clone(), shape)
    }

    fn push_onnx(&mut self, node: &Node, op: Op, inputs: Vec<usize>, shape: Vec<usize>, onnx: Vec<usize>) -> Flow {
        let name = self.name_of(node, &op);
        self.statements.push(Statement { name, op, inputs, shape });
        Flow { stmt: self.statements.len() - 1, shape: onnx, own: true }
    }

    /// A statement name hint for `node` computing `op`: its weight's module
    /// path, else its ONNX name without the op's own suffix, else the op's word.
    fn name_of(&self, node: &Node, op: &Op) -> String {
        for input in node.inputs.iter().skip(1) {
            if let Some(module) = input.strip_suffix(".weight").or_else(|| input.strip_suffix(".weight_ih_l0")) {
                if !module.is_empty() && !module.starts_with("onnx::") {
                    return module.to_string();
                }
            }
        }
        let word = match op {
            Op::Activation(a) => a.split('(').next().unwrap_or(a).to_string(),
            Op::Input => "input".into(),
            Op::Standardize { .. } => "standardized".into(),
            Op::Dense { .. } => "dense".into(),
            Op::Conv { .. } => "conv".into(),
            Op::BatchNorm { .. } => "batch_norm".into(),
            Op::LayerNorm { .. } => "layer_norm".into(),
            Op::Pool { max: true, .. } => "max_pool".into(),
            Op::Pool { max: false, .. } => "avg_pool".into(),
            Op::GlobalAvgPool => "global_avg_pool".into(),
            Op::Flatten => "flatten".into(),
            Op::Add => "add".into(),
            Op::Concat => "concat".into(),
            Op::Recurrent(r) if r.lstm => "lstm".into(),
            Op::Recurrent(_) => "gru".into(),
        };
        let lower = node.op.to_lowercase();
        let generic = |name: &str| {
            let name = name.to_lowercase();
            let rest = name.strip_prefix(&lower).or_else(|| name.strip_prefix(&word));
            name.is_empty()
                || rest.is_some_and(|r| {
                    (r.is_empty() || r.starts_with('_')) && r.chars().all(|c| c == '_' || c.is_ascii_digit())
                })
        };
        // nnspec's own export names the parts of a statement `node.relu`, `node.scale`, `node.add1`.
        let name = match node.name.rsplit_once('.') {
            Some((base, part))
                if !base.is_empty()
                    && !node.name.contains('/')
                    && part.starts_with(|c: char| c.is_ascii_lowercase())
                    && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) =>
            {
                base
            }
            _ => node.name.as_str(),
        };
        let segments: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
        let hint = match segments.as_slice() {
            [] => "",
            [only] => only.strip_prefix("node_").unwrap_or(only),
            [.., module, last] if generic(last) => module,
            [.., last] => last,
        };
        if generic(hint) {
            word
        } else {
            hint.to_string()
        }
    }

    fn node(&mut self, node: &Node) -> Result<(), Problem> {
        let op = node.op.as_str();
        match op {
            "Constant" => {
                let value = constant_attribute(node)?;
                self.set(node, Value::Const(value));
            }
            "Identity" | "Dropout" => {
                let value = self.input(node, 0).cloned().ok_or_else(|| problem(node, "has no input"))?;
                let value = match value {
                    Value::Flow(mut flow) => {
                        flow.own = false;
                        Value::Flow(flow)
                    }
                    other => other,
                };
                self.set(node, value);
            }
            "Shape" => self.shape(node)?,
            "Gather" | "Unsqueeze" | "Squeeze" | "Concat" | "Slice" | "Cast" | "Reshape" | "Flatten" | "Transpose"
            | "ConstantOfShape" | "Expand" | "Add" | "Sub" | "Mul" | "Div" | "Sqrt" | "Neg" | "Erf"
            | "GreaterOrEqual"
                if self.all_constant(node) =>
            {
                let value = fold(node, &self.inputs_of(node))?;
                self.set(node, value);
            }
            "Gather" | "Unsqueeze" | "Squeeze" | "Concat" | "Slice" | "Cast" | "ConstantOfShape" | "Expand" | "Add"
            | "Mul" | "Div" | "Sub" | "Reshape"
                if self.shape_arithmetic(node) =>
            {
                let value = self.fold_shape(node)?;
                self.set(node, value);
            }
            "Gemm" => self.gemm(node)?,
            "MatMul" => self.matmul(node)?,
            "Add" => self.add(node)?,
            "Sub" | "Mul" | "Div" => self.arithmetic(node)?,
            "Erf" => match self.input(node, 0) {
                Some(Value::Partial(Partial::Scaled(x, factor), origin))
                    if all_near(factor, std::f32::consts::FRAC_1_SQRT_2, 1e-4) =>
                {
                    let value = Value::Partial(Partial::Erf(x.clone()), origin.clone());
                    self.set(node, value);
                }
                _ => return Err(problem(node, "is supported only as part of GELU, `x·(1 + erf(x/√2))/2`")),
            },
            "GreaterOrEqual" => {
                let x = self.flow(node, 0)?;
                match self.constant(node, 1) {
                    Some(zero) if zero.floats().iter().all(|v| *v == 0.0) => {
                        let origin = Origin { op: node.op.clone(), node: node.name.clone() };
                        self.set(node, Value::Partial(Partial::AtLeastZero(x), origin));
                    }
                    _ => return Err(problem(node, "is supported only as the step function, `Cast(x ≥ 0)`")),
                }
            }
            "Greater" => {
                let x = self.flow(node, 0)?;
                match self.constant(node, 1).map(Tensor::floats) {
                    Some(threshold) if threshold.len() == 1 && threshold[0] >= 15.0 => {
                        let origin = Origin { op: node.op.clone(), node: node.name.clone() };
                        self.set(node, Value::Partial(Partial::Above(x), origin));
                    }
                    _ => {
                        return Err(problem(
                            node,
                            "is supported only as softplus's threshold (`Where(x > 20, x, softplus(x))`)",
                        ))
                    }
                }
            }
            "Where" => {
                let (condition, x, y) = (self.input(node, 0).cloned(), self.flow(node, 1)?, self.flow(node, 2)?);
                let softplus_of_x =
                    |s: &Statement| matches!(&s.op, Op::Activation(a) if a == "softplus") && s.inputs == [x.stmt];
                match condition {
                    // Above the threshold softplus(x) and x agree to f32 precision (e^-15 < 2^-21).
                    Some(Value::Partial(Partial::Above(c), _))
                        if c.stmt == x.stmt && softplus_of_x(&self.statements[y.stmt]) =>
                    {
                        self.set(node, Value::Flow(Flow { own: false, ..y }));
                    }
                    _ => {
                        return Err(problem(
                            node,
                            "is supported only as softplus's threshold (`Where(x > 20, x, softplus(x))`)",
                        ))
                    }
                }
            }
            "Cast" => match self.input(node, 0) {
                Some(Value::Partial(Partial::AtLeastZero(x), _)) if int_attr(node, "to", 1) == 1 => {
                    let x = x.clone();
                    self.activation(node, x, "step".into())?;
                }
                Some(Value::Flow(flow)) if int_attr(node, "to", 1) == 1 => {
                    let flow = flow.clone();
                    self.set(node, Value::Flow(Flow { own: false, ..flow }));
                }
                _ => return Err(problem(node, "casts a computed value to a type other than FLOAT")),
            },
            "Relu" | "Sigmoid" | "Tanh" | "Softplus" => {
                let x = self.flow(node, 0)?;
                self.activation(node, x, op.to_lowercase())?;
            }
            "LeakyRelu" => {
                let x = self.flow(node, 0)?;
                self.activation(node, x, format!("leaky_relu({})", number(float_attr(node, "alpha", 0.01))))?;
            }
            "Elu" => {
                let x = self.flow(node, 0)?;
                self.activation(node, x, format!("elu({})", number(float_attr(node, "alpha", 1.0))))?;
            }
            "Gelu" => {
                let approximate = text_attr(node, "approximate").unwrap_or_else(|| "none".into());
                if approximate != "none" {
                    return Err(problem(
                        node,
                        format!("has approximate = \"{approximate}\"; nnspec's gelu is the exact one (erf)"),
                    ));
                }
                let x = self.flow(node, 0)?;
                self.activation(node, x, "gelu".into())?;
            }
            "Softmax" | "LogSoftmax" => {
                let mut x = self.flow(node, 0)?;
                let rank = x.shape.len() as i64 + 1;
                // Before opset 13 the axis defaults to 1 and everything from it is one row.
                let coerced = self.opset < 13;
                let axis = int_attr(node, "axis", if coerced { 1 } else { -1 });
                let axis = if axis < 0 { axis + rank } else { axis };
                if coerced && axis == 1 && x.shape.len() > 1 {
                    let total = x.shape.iter().product();
                    x = self.reshaped(node, x, vec![total])?;
                } else if x.shape.len() != 1 || axis != 1 {
                    return Err(problem(
                        node,
                        format!(
                            "normalises axis {axis} of a value of shape {:?}; nnspec's {} takes each sample's features (a flat value)",
                            x.shape,
                            op.to_lowercase()
                        ),
                    ));
                }
                let name = if op == "Softmax" { "softmax" } else { "log_softmax" };
                self.activation(node, x, name.into())?;
            }
            "Conv" => self.conv(node)?,
            "BatchNormalization" => self.batch_norm(node)?,
            "LayerNormalization" => self.layer_norm(node)?,
            "MaxPool" | "AveragePool" => self.pool(node)?,
            "GlobalAveragePool" => {
                let x = self.flow(node, 0)?;
                self.global_pool(node, x, true)?;
            }
            "ReduceMean" => self.reduce_mean(node)?,
            "Flatten" => {
                let x = self.flow(node, 0)?;
                let axis = int_attr(node, "axis", 1);
                if axis != 1 {
                    return Err(problem(node, format!("flattens from axis {axis}; nnspec flattens a sample (axis 1)")));
                }
                let total = x.shape.iter().product();
                let flow = self.reshaped(node, x, vec![total])?;
                self.set(node, Value::Flow(flow));
            }
            "Reshape" => self.reshape(node)?,
            "Squeeze" => self.squeeze(node)?,
            "Concat" => self.concat(node)?,
            "Transpose" => self.transpose(node)?,
            "GRU" | "LSTM" => self.recurrent(node)?,
            "Gather" => self.gather(node)?,
            _ => return Err(unsupported(node)),
        }
        Ok(())
    }

    fn inputs_of(&self, node: &Node) -> Vec<Option<Tensor>> {
        node.inputs
            .iter()
            .map(|n| match self.get(n) {
                Some(Value::Const(t)) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    fn all_constant(&self, node: &Node) -> bool {
        !node.inputs.is_empty()
            && node.inputs.iter().all(|n| n.is_empty() || matches!(self.get(n), Some(Value::Const(_))))
    }

    /// Whether `node` computes on shapes (and constants) only.
    fn shape_arithmetic(&self, node: &Node) -> bool {
        let mut any_shape = false;
        for name in node.inputs.iter().filter(|n| !n.is_empty()) {
            match self.get(name) {
                Some(Value::Shape(_) | Value::Zeros) => any_shape = true,
                Some(Value::Const(_)) => {}
                _ => return false,
            }
        }
        any_shape
    }

    fn shape(&mut self, node: &Node) -> Result<(), Problem> {
        let dims: Vec<Dim> = match self.input(node, 0) {
            Some(Value::Flow(flow)) => {
                std::iter::once(Dim::Batch).chain(flow.shape.iter().map(|&d| Dim::Known(d as i64))).collect()
            }
            Some(Value::Transposed(flow)) => {
                std::iter::once(Dim::Batch).chain(flow.shape.iter().map(|&d| Dim::Known(d as i64))).collect()
            }
            Some(Value::TimeFirst(flow)) => {
                let mut dims = vec![Dim::Known(flow.shape[0] as i64), Dim::Batch];
                dims.extend(flow.shape[1..].iter().map(|&d| Dim::Known(d as i64)));
                dims
            }
            Some(Value::Recurrent { axes, .. }) => axes
                .iter()
                .map(|&(axis, size)| if axis == Axis::Batch { Dim::Batch } else { Dim::Known(size as i64) })
                .collect(),
            Some(Value::Const(t)) => t.dims.iter().map(|&d| Dim::Known(d as i64)).collect(),
            _ => return Err(problem(node, "takes the shape of a value whose shape is not known")),
        };
        let rank = dims.len() as i64;
        let clamp = |v: i64| if v < 0 { (v + rank).max(0) } else { v.min(rank) } as usize;
        let start = clamp(int_attr(node, "start", 0));
        let end = clamp(int_attr(node, "end", rank));
        let value = dims.get(start..end.max(start)).unwrap_or(&[]).to_vec();
        self.set(node, Value::Shape(value));
        Ok(())
    }

    /// Folds shape arithmetic in which the batch size appears.
    fn fold_shape(&mut self, node: &Node) -> Result<Value, Problem> {
        let as_dims = |value: Option<&Value>| -> Option<Vec<Dim>> {
            match value? {
                Value::Shape(dims) => Some(dims.clone()),
                Value::Const(t) => t.ints().map(|v| v.iter().map(|&x| Dim::Known(x)).collect()),
                _ => None,
            }
        };
        let op = node.op.as_str();
        let unsupported_here = || problem(node, "computes a shape nnspec cannot follow");
        if matches!(self.input(node, 0), Some(Value::Zeros))
            && matches!(op, "Slice" | "Gather" | "Unsqueeze" | "Squeeze" | "Cast" | "Expand")
        {
            return Ok(Value::Zeros);
        }
        let value = match op {
            "ConstantOfShape" | "Expand" => Value::Zeros,
            "Cast" => self.input(node, 0).cloned().ok_or_else(unsupported_here)?,
            // A shape vector reshaped to one axis (or to a scalar, when it has one entry) keeps its entries.
            "Reshape" => match self.input(node, 0) {
                Some(Value::Shape(dims)) if dims.len() <= 1 || self.constant(node, 1).is_some_and(|t| t.len() == 1) => {
                    Value::Shape(dims.clone())
                }
                _ => return Err(unsupported_here()),
            },
            "Unsqueeze" => self.input(node, 0).cloned().ok_or_else(unsupported_here)?,
            "Squeeze" => self.input(node, 0).cloned().ok_or_else(unsupported_here)?,
            "Gather" => {
                let dims = as_dims(self.input(node, 0)).ok_or_else(unsupported_here)?;
                let indices =
                    self.constant(node, 1).and_then(|t| t.ints().map(<[i64]>::to_vec)).ok_or_else(unsupported_here)?;
                let mut picked = Vec::new();
                for index in indices {
                    let at = if index < 0 { index + dims.len() as i64 } else { index };
                    picked.push(
                        *dims.get(usize::try_from(at).map_err(|_| unsupported_here())?).ok_or_else(unsupported_here)?,
                    );
                }
                Value::Shape(picked)
            }
            "Concat" => {
                let mut all = Vec::new();
                for index in 0..node.inputs.len() {
                    all.extend(as_dims(self.input(node, index)).ok_or_else(unsupported_here)?);
                }
                Value::Shape(all)
            }
            "Slice" => {
                let dims = as_dims(self.input(node, 0)).ok_or_else(unsupported_here)?;
                let first = |i: usize| self.constant(node, i).and_then(|t| t.ints().and_then(|v| v.first().copied()));
                let len = dims.len() as i64;
                let clamp = |v: i64| if v < 0 { (v + len).max(0) } else { v.min(len) } as usize;
                let (start, end) = (first(1).unwrap_or(0), first(2).unwrap_or(len));
                if first(4).is_some_and(|s| s != 1) {
                    return Err(unsupported_here());
                }
                let (start, end) = (clamp(start), clamp(end));
                Value::Shape(dims.get(start..end.max(start)).unwrap_or(&[]).to_vec())
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let (a, b) = (
                    as_dims(self.input(node, 0)).ok_or_else(unsupported_here)?,
                    as_dims(self.input(node, 1)).ok_or_else(unsupported_here)?,
                );
                let len = a.len().max(b.len());
                if (a.len() != len && a.len() != 1) || (b.len() != len && b.len() != 1) {
                    return Err(unsupported_here());
                }
                let at = |d: &[Dim], i: usize| if d.len() == 1 { d[0] } else { d[i] };
                Value::Shape(
                    (0..len)
                        .map(|i| match (at(&a, i), at(&b, i)) {
                            (Dim::Known(x), Dim::Known(y)) => match op {
                                "Add" => Dim::Known(x.wrapping_add(y)),
                                "Sub" => Dim::Known(x.wrapping_sub(y)),
                                "Mul" => Dim::Known(x.wrapping_mul(y)),
                                _ if y != 0 => Dim::Known(x.wrapping_div(y)),
                                _ => Dim::Unknown,
                            },
                            (Dim::Batch, Dim::Known(1)) if op == "Mul" || op == "Div" => Dim::Batch,
                            (Dim::Known(1), Dim::Batch) if op == "Mul" => Dim::Batch,
                            (Dim::Batch, Dim::Known(0)) if op == "Add" || op == "Sub" => Dim::Batch,
                            _ => Dim::Unknown,
                        })
                        .collect(),
                )
            }
            _ => return Err(unsupported_here()),
        };
        Ok(value)
    }

    /// Folds `activation` into the dense layer `x` comes from, or adds an activation statement.
    fn activation(&mut self, node: &Node, x: Flow, name: String) -> Result<(), Problem> {
        if x.own && self.read_once(&node.inputs[0]) {
            if let Op::Dense { activation: activation @ None, .. } = &mut self.statements[x.stmt].op {
                *activation = Some(name);
                self.set(node, Value::Flow(Flow { own: false, ..x }));
                return Ok(());
            }
        }
        let shape = self.statements[x.stmt].shape.clone();
        let flow = self.push_onnx(node, Op::Activation(name), vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn dense(&mut self, node: &Node, x: Flow, weight: Vec<f32>, units: usize, bias: Option<Vec<f32>>) {
        let flow = self.push(node, Op::Dense { units, weight, bias, activation: None }, vec![x.stmt], vec![units]);
        self.set(node, Value::Flow(flow));
    }

    fn gemm(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        if int_attr(node, "transA", 0) != 0 {
            return Err(problem(node, "has transA = 1; a dense layer reads the samples as rows"));
        }
        let Some(b) = self.constant(node, 1).cloned() else {
            return Err(problem(node, "multiplies by a computed matrix; a dense layer's weight is a constant"));
        };
        let width: usize = x.shape.iter().product();
        if x.shape.len() != 1 || b.dims.len() != 2 {
            return Err(problem(node, format!("multiplies a value of shape {:?} by a {:?} matrix", x.shape, b.dims)));
        }
        let trans_b = int_attr(node, "transB", 0) != 0;
        let (rows, cols) = (b.dims[0], b.dims[1]);
        let (inputs, units) = if trans_b { (cols, rows) } else { (rows, cols) };
        if inputs != width {
            return Err(problem(node, format!("multiplies {width} features by a {:?} matrix", b.dims)));
        }
        let alpha = float_attr(node, "alpha", 1.0);
        let values = b.floats();
        let mut weight = vec![0.0; inputs * units];
        for i in 0..inputs {
            for o in 0..units {
                let v = if trans_b { values[o * cols + i] } else { values[i * cols + o] };
                weight[i * units + o] = alpha * v;
            }
        }
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            None => None,
            Some(_) => {
                let Some(c) = self.constant(node, 2) else {
                    return Err(problem(node, "adds a computed value as its bias; a dense layer's bias is a constant"));
                };
                let beta = float_attr(node, "beta", 1.0);
                let values = per_feature(c, units)
                    .ok_or_else(|| problem(node, format!("has a bias of shape {:?} for {units} units", c.dims)))?;
                Some(values.into_iter().map(|v| beta * v).collect())
            }
        };
        self.dense(node, x, weight, units, bias);
        Ok(())
    }

    fn matmul(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let Some(b) = self.constant(node, 1).cloned() else {
            return Err(problem(node, "multiplies by a computed matrix; a dense layer's weight is a constant"));
        };
        if x.shape.len() != 1 || b.dims.len() != 2 || b.dims[0] != x.shape[0] {
            return Err(problem(
                node,
                format!(
                    "multiplies a value of shape {:?} by a {:?} matrix; a dense layer takes a flat value",
                    x.shape, b.dims
                ),
            ));
        }
        let units = b.dims[1];
        self.dense(node, x, b.floats(), units, None);
        Ok(())
    }

    fn add(&mut self, node: &Node) -> Result<(), Problem> {
        let (a, b) = (self.input(node, 0).cloned(), self.input(node, 1).cloned());
        match (a, b) {
            (Some(Value::Flow(a)), Some(Value::Flow(b))) => {
                let shape = self.statements[a.stmt].shape.clone();
                if a.shape != b.shape {
                    return Err(problem(
                        node,
                        format!(
                            "adds values of shapes {:?} and {:?}; nnspec's add takes equal shapes",
                            a.shape, b.shape
                        ),
                    ));
                }
                let flow = self.push_onnx(node, Op::Add, vec![a.stmt, b.stmt], shape, a.shape);
                self.set(node, Value::Flow(flow));
            }
            (Some(Value::Flow(x)), Some(Value::Const(c))) | (Some(Value::Const(c)), Some(Value::Flow(x))) => {
                let flow_name = if matches!(self.input(node, 0), Some(Value::Flow(_))) { 0 } else { 1 };
                let once = self.read_once(&node.inputs[flow_name]);
                if let Op::Dense { bias: bias @ None, activation: None, units, .. } = &mut self.statements[x.stmt].op {
                    if x.own && once {
                        *bias = Some(per_feature(&c, *units).ok_or_else(|| {
                            problem(node, format!("adds a constant of shape {:?} to {units} units", c.dims))
                        })?);
                        self.set(node, Value::Flow(x));
                        return Ok(());
                    }
                }
                return Err(problem(
                    node,
                    "adds a constant to a computed value; nnspec adds constants only as a dense layer's bias",
                ));
            }
            (Some(Value::Partial(Partial::Erf(x), origin)), Some(Value::Const(c)))
            | (Some(Value::Const(c)), Some(Value::Partial(Partial::Erf(x), origin)))
                if all_near(&c.floats(), 1.0, 1e-6) =>
            {
                self.set(node, Value::Partial(Partial::ErfPlusOne(x), origin));
            }
            _ => return Err(problem(node, "adds values nnspec cannot add")),
        }
        Ok(())
    }

    /// `Sub`, `Mul` and `Div` that are part of a standardisation or GELU.
    fn arithmetic(&mut self, node: &Node) -> Result<(), Problem> {
        let op = node.op.as_str();
        let origin = Origin { op: node.op.clone(), node: node.name.clone() };
        let (a, b) = (self.input(node, 0).cloned(), self.input(node, 1).cloned());
        let constant = |c: &Tensor, x: &Flow| per_feature(c, x.shape.iter().product());
        let value = match (op, a, b) {
            ("Sub", Some(Value::Flow(x)), Some(Value::Const(c))) => match constant(&c, &x) {
                Some(mean) => Value::Partial(Partial::Centred(x, mean), origin),
                None => return Err(problem(node, format!("subtracts a constant of shape {:?}", c.dims))),
            },
            ("Div", Some(Value::Partial(Partial::Centred(x, mean), _)), Some(Value::Const(c))) => {
                let std = constant(&c, &x).ok_or_else(|| problem(node, format!("divides by a constant of shape {:?}", c.dims)))?;
                return self.standardize(node, x, mean, std);
            }
            ("Mul", Some(Value::Partial(Partial::Centred(x, mean), _)), Some(Value::Const(c)))
            | ("Mul", Some(Value::Const(c)), Some(Value::Partial(Partial::Centred(x, mean), _))) => {
                let factor = constant(&c, &x).ok_or_else(|| problem(node, format!("multiplies by a constant of shape {:?}", c.dims)))?;
                return self.standardize(node, x, mean, factor.iter().map(|f| 1.0 / f).collect());
            }
            ("Div", Some(Value::Flow(x)), Some(Value::Const(c))) => match constant(&c, &x) {
                Some(divisor) => Value::Partial(Partial::Scaled(x, divisor.iter().map(|d| 1.0 / d).collect()), origin),
                None => return Err(problem(node, format!("divides by a constant of shape {:?}", c.dims))),
            },
            ("Mul", Some(Value::Flow(x)), Some(Value::Const(c))) | ("Mul", Some(Value::Const(c)), Some(Value::Flow(x))) => {
                match constant(&c, &x) {
                    Some(factor) => Value::Partial(Partial::Scaled(x, factor), origin),
                    None => return Err(problem(node, format!("multiplies by a constant of shape {:?}", c.dims))),
                }
            }
            ("Mul", Some(Value::Flow(x)), Some(Value::Partial(Partial::ErfPlusOne(y), o)))
            | ("Mul", Some(Value::Partial(Partial::ErfPlusOne(y), o)), Some(Value::Flow(x)))
                if x.stmt == y.stmt =>
            {
                Value::Partial(Partial::TwiceGelu(x), o)
            }
            ("Mul", Some(Value::Partial(Partial::Scaled(x, half), _)), Some(Value::Partial(Partial::ErfPlusOne(y), _)))
            | ("Mul", Some(Value::Partial(Partial::ErfPlusOne(y), _)), Some(Value::Partial(Partial::Scaled(x, half), _)))
                if x.stmt == y.stmt && all_near(&half, 0.5, 1e-6) =>
            {
                return self.activation(node, x, "gelu".into());
            }
            ("Mul", Some(Value::Partial(Partial::TwiceGelu(x), _)), Some(Value::Const(c)))
            | ("Mul", Some(Value::Const(c)), Some(Value::Partial(Partial::TwiceGelu(x), _)))
                if all_near(&c.floats(), 0.5, 1e-6) =>
            {
                return self.activation(node, x, "gelu".into());
            }
            ("Div", Some(Value::Partial(Partial::TwiceGelu(x), _)), Some(Value::Const(c))) if all_near(&c.floats(), 2.0, 1e-6) => {
                return self.activation(node, x, "gelu".into());
            }
            _ => {
                return Err(problem(
                    node,
                    "computes arithmetic nnspec has no statement for (it reads `Sub`/`Div` by constants only as the input's standardisation, and `Div`/`Erf`/`Add`/`Mul` only as GELU)",
                ))
            }
        };
        self.set(node, value);
        Ok(())
    }

    fn standardize(&mut self, node: &Node, x: Flow, mean: Vec<f32>, std: Vec<f32>) -> Result<(), Problem> {
        if !matches!(self.statements[x.stmt].op, Op::Input) {
            return Err(problem(
                node,
                "standardises a computed value; nnspec's standardize reads the network's input (a constant `Sub`/`Div` elsewhere has no statement)",
            ));
        }
        if std.iter().any(|s| !(s.is_finite() && *s > 0.0)) || mean.iter().any(|m| !m.is_finite()) {
            return Err(problem(
                node,
                "divides by a value that is not positive and finite, which no standardisation does",
            ));
        }
        let shape = self.statements[x.stmt].shape.clone();
        let flow = self.push_onnx(node, Op::Standardize { mean, std }, vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn conv(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let Some(w) = self.constant(node, 1).cloned() else {
            return Err(problem(node, "has computed weights; a convolution's weights are constants"));
        };
        let spatial = x.shape.len().saturating_sub(1);
        if !(1..=2).contains(&spatial) || w.dims.len() != spatial + 2 {
            return Err(problem(
                node,
                format!(
                    "convolves a value of shape {:?} with weights {:?}; nnspec has conv1d and conv2d",
                    x.shape, w.dims
                ),
            ));
        }
        let groups = int_attr(node, "group", 1);
        let channels = x.shape[0];
        if groups < 1 || channels % groups as usize != 0 || w.dims[1] * groups as usize != channels {
            return Err(problem(
                node,
                format!("has {groups} groups, weights {:?} and {channels} input channels", w.dims),
            ));
        }
        let out = w.dims[0];
        let kernel: Vec<usize> = w.dims[2..].to_vec();
        if out == 0 || kernel.contains(&0) {
            return Err(problem(node, format!("has weights of shape {:?}, with an empty axis", w.dims)));
        }
        let axes = |name: &str, default: usize| -> Result<Vec<usize>, Problem> {
            match ints_attr(node, name) {
                None => Ok(vec![default; spatial]),
                Some(v) if v.len() == spatial && v.iter().all(|&s| s >= 1) => {
                    Ok(v.iter().map(|&s| s as usize).collect())
                }
                Some(v) => Err(problem(node, format!("has {name} {v:?} for {spatial} spatial axes"))),
            }
        };
        let (stride, dilation) = (axes("strides", 1)?, axes("dilations", 1)?);
        if let Some(k) = ints_attr(node, "kernel_shape") {
            if k.iter().map(|&v| v as usize).ne(kernel.iter().copied()) {
                return Err(problem(node, format!("has kernel_shape {k:?} and weights {:?}", w.dims)));
            }
        }
        let padding = self.padding(node, spatial, &kernel, &stride, &dilation, &x.shape[1..])?;
        let mut size = Vec::new();
        for a in 0..spatial {
            let reach = dilation[a].saturating_mul(kernel[a] - 1).saturating_add(1);
            let padded = x.shape[1 + a].saturating_add(padding[a].saturating_mul(2));
            if padded < reach {
                return Err(problem(node, format!("has a kernel wider than its padded input on axis {}", a + 2)));
            }
            size.push((padded - reach) / stride[a] + 1);
        }
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            None => None,
            Some(_) => match self.constant(node, 2) {
                Some(b) if b.len() == out => Some(b.floats()),
                _ => return Err(problem(node, format!("has a bias that is not {out} constants"))),
            },
        };
        let shape: Vec<usize> = std::iter::once(out).chain(size).collect();
        if volume(&shape).is_none() {
            return Err(problem(node, format!("has padding {padding:?}, which makes outputs of shape {shape:?}")));
        }
        let op = Op::Conv { kernel, stride, padding, dilation, groups: groups as usize, out, weight: w.floats(), bias };
        let flow = self.push(node, op, vec![x.stmt], shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    /// Symmetric padding per spatial axis, from `pads` or `auto_pad`.
    fn padding(
        &self,
        node: &Node,
        spatial: usize,
        kernel: &[usize],
        stride: &[usize],
        dilation: &[usize],
        sizes: &[usize],
    ) -> Result<Vec<usize>, Problem> {
        let auto = text_attr(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        match auto.as_str() {
            "NOTSET" => {
                let pads = ints_attr(node, "pads").unwrap_or_else(|| vec![0; 2 * spatial]);
                if pads.len() != 2 * spatial || pads.iter().any(|&p| p < 0) {
                    return Err(problem(node, format!("has pads {pads:?} for {spatial} spatial axes")));
                }
                if (0..spatial).any(|a| pads[a] != pads[a + spatial]) {
                    return Err(problem(
                        node,
                        format!("has pads {pads:?}, more on one side than the other; nnspec pads both sides alike (as PyTorch)"),
                    ));
                }
                Ok(pads[..spatial].iter().map(|&p| p as usize).collect())
            }
            "VALID" => Ok(vec![0; spatial]),
            "SAME_UPPER" | "SAME_LOWER" => {
                let mut padding = Vec::new();
                for a in 0..spatial {
                    let out = sizes[a].div_ceil(stride[a]);
                    let reach = dilation[a].saturating_mul(kernel[a] - 1).saturating_add(1);
                    let total = (out - 1).saturating_mul(stride[a]).saturating_add(reach).saturating_sub(sizes[a]);
                    if total % 2 != 0 {
                        return Err(problem(
                            node,
                            format!(
                                "has auto_pad = {auto}, which pads axis {} unevenly; nnspec pads both sides alike",
                                a + 2
                            ),
                        ));
                    }
                    padding.push(total / 2);
                }
                Ok(padding)
            }
            other => Err(problem(node, format!("has auto_pad = {other}"))),
        }
    }

    fn batch_norm(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        if int_attr(node, "training_mode", 0) != 0 || node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(problem(node, "is in training mode; nnspec imports inference graphs (export in eval mode)"));
        }
        if int_attr(node, "spatial", 1) != 1 {
            return Err(problem(
                node,
                "has spatial = 0 (statistics per position); nnspec's batch_norm keeps them per channel",
            ));
        }
        let channels = x.shape[0];
        let mut parts = Vec::new();
        for (index, what) in [(1, "scale"), (2, "shift"), (3, "running mean"), (4, "running variance")] {
            match self.constant(node, index) {
                Some(t) if t.len() == channels => parts.push(t.floats()),
                _ => return Err(problem(node, format!("has a {what} that is not {channels} constants"))),
            }
        }
        let eps = float_attr(node, "epsilon", 1e-5);
        let momentum = 1.0 - float_attr(node, "momentum", 0.9);
        let var = parts.pop().expect("four parts");
        let mean = parts.pop().expect("three parts");
        let bias = parts.pop().expect("two parts");
        let weight = parts.pop().expect("one part");
        let shape = self.statements[x.stmt].shape.clone();
        let op = Op::BatchNorm { eps, momentum, weight, bias, mean, var };
        let flow = self.push_onnx(node, op, vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn layer_norm(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let axis = int_attr(node, "axis", -1);
        let rank = x.shape.len() as i64 + 1;
        if x.shape.len() != 1 || !(axis == -1 || axis == rank - 1) {
            return Err(problem(
                node,
                format!(
                    "normalises from axis {axis} a value of shape {:?}; nnspec's layer_norm normalises a flat sample",
                    x.shape
                ),
            ));
        }
        let width = x.shape[0];
        let weight = match self.constant(node, 1) {
            Some(t) if t.len() == width => t.floats(),
            _ => return Err(problem(node, format!("has a scale that is not {width} constants"))),
        };
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            None => vec![0.0; width],
            Some(_) => match self.constant(node, 2) {
                Some(t) if t.len() == width => t.floats(),
                _ => return Err(problem(node, format!("has a shift that is not {width} constants"))),
            },
        };
        let eps = float_attr(node, "epsilon", 1e-5);
        let shape = self.statements[x.stmt].shape.clone();
        let flow = self.push_onnx(node, Op::LayerNorm { eps, weight, bias }, vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn pool(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let spatial = x.shape.len().saturating_sub(1);
        if !(1..=2).contains(&spatial) {
            return Err(problem(node, format!("pools a value of shape {:?}; nnspec pools 1-D and 2-D", x.shape)));
        }
        let kernel: Vec<usize> = match ints_attr(node, "kernel_shape") {
            Some(k) if k.len() == spatial && k.iter().all(|&v| v >= 1) => k.iter().map(|&v| v as usize).collect(),
            other => return Err(problem(node, format!("has kernel_shape {other:?} for {spatial} spatial axes"))),
        };
        let stride: Vec<usize> = match ints_attr(node, "strides") {
            None => vec![1; spatial],
            Some(s) if s.len() == spatial && s.iter().all(|&v| v >= 1) => s.iter().map(|&v| v as usize).collect(),
            Some(s) => return Err(problem(node, format!("has strides {s:?}"))),
        };
        if ints_attr(node, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
            return Err(problem(node, "has dilations; nnspec's pools read adjacent values"));
        }
        let auto = text_attr(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        if ints_attr(node, "pads").is_some_and(|p| p.iter().any(|&v| v != 0)) || !(auto == "NOTSET" || auto == "VALID")
        {
            return Err(problem(
                node,
                "pads its input; nnspec's pools take no padding (every window inside the input)",
            ));
        }
        let mut size = Vec::new();
        for a in 0..spatial {
            if x.shape[1 + a] < kernel[a] {
                return Err(problem(node, format!("has a window wider than its input on axis {}", a + 2)));
            }
            let span = x.shape[1 + a] - kernel[a];
            if int_attr(node, "ceil_mode", 0) != 0 && span % stride[a] != 0 {
                return Err(problem(
                    node,
                    "has ceil_mode = 1 with a partial last window; nnspec's pools keep whole windows (ceil_mode = 0)",
                ));
            }
            size.push(span / stride[a] + 1);
        }
        if node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(problem(node, "writes the indices of the maxima, which nnspec does not compute"));
        }
        let shape: Vec<usize> = std::iter::once(x.shape[0]).chain(size).collect();
        let op = Op::Pool { max: node.op == "MaxPool", kernel, stride };
        let flow = self.push(node, op, vec![x.stmt], shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn global_pool(&mut self, node: &Node, x: Flow, keep: bool) -> Result<(), Problem> {
        if x.shape.len() < 2 {
            return Err(problem(node, format!("averages a value of shape {:?}, which has no positions", x.shape)));
        }
        let channels = x.shape[0];
        let onnx = if keep {
            std::iter::once(channels).chain(x.shape[1..].iter().map(|_| 1)).collect()
        } else {
            vec![channels]
        };
        let flow = self.push_onnx(node, Op::GlobalAvgPool, vec![x.stmt], vec![channels], onnx);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn reduce_mean(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let axes = match (ints_attr(node, "axes"), self.constant(node, 1)) {
            (Some(axes), _) => axes,
            (None, Some(t)) => t.ints().map(<[i64]>::to_vec).unwrap_or_default(),
            (None, None) => Vec::new(),
        };
        let rank = x.shape.len() as i64 + 1;
        let mut axes: Vec<i64> = axes.into_iter().map(|a| if a < 0 { a + rank } else { a }).collect();
        axes.sort_unstable();
        if x.shape.len() < 2 || axes != (2..rank).collect::<Vec<_>>() {
            return Err(problem(
                node,
                format!("averages axes {axes:?} of a value of shape {:?}; nnspec averages every position of each channel (global_avg_pool)", x.shape),
            ));
        }
        self.global_pool(node, x, int_attr(node, "keepdims", 1) != 0)
    }

    /// `x` with ONNX shape `target`: an alias, a `flatten` statement, or the input's shape.
    fn reshaped(&mut self, node: &Node, x: Flow, target: Vec<usize>) -> Result<Flow, Problem> {
        let nn = self.statements[x.stmt].shape.clone();
        if target == x.shape || target == nn || (target.len() == 1 && nn.len() == 1) {
            return Ok(Flow { stmt: x.stmt, shape: target, own: false });
        }
        if target.len() == 1 {
            let total = target[0];
            return Ok(self.push_onnx(node, Op::Flatten, vec![x.stmt], vec![total], target));
        }
        // Giving the input (or its standardisation) a shape: nnspec's input declares it.
        let readers = |s: usize| self.statements.iter().filter(|st| st.inputs.contains(&s)).count();
        let standardized = matches!(self.statements[x.stmt].op, Op::Standardize { .. })
            && self.statements[x.stmt].inputs == [0]
            && readers(0) == 1;
        if x.shape.len() == 1 && (x.stmt == 0 || standardized) && readers(x.stmt) == 0 {
            self.statements[0].shape = target.clone();
            self.statements[x.stmt].shape = target.clone();
            return Ok(Flow { stmt: x.stmt, shape: target, own: false });
        }
        Err(problem(
            node,
            format!(
                "reshapes a value of shape {:?} to {:?}; nnspec reshapes only to flatten a sample or to give the input its shape",
                x.shape, target
            ),
        ))
    }

    fn reshape(&mut self, node: &Node) -> Result<(), Problem> {
        let dims: Vec<Dim> = match self.input(node, 1) {
            Some(Value::Shape(dims)) => dims.clone(),
            Some(Value::Const(t)) if t.ints().is_some() => {
                t.ints().unwrap_or(&[]).iter().map(|&v| Dim::Known(v)).collect()
            }
            _ => return Err(problem(node, "reshapes to a shape nnspec cannot compute")),
        };
        if let Some(Value::Recurrent { stmt, sequence, axes }) = self.input(node, 0).cloned() {
            let value = self.recurrent_reshape(node, stmt, sequence, axes, &dims)?;
            self.set(node, value);
            return Ok(());
        }
        let x = self.flow(node, 0)?;
        let target = self.per_sample(node, &dims, &x.shape)?;
        let flow = self.reshaped(node, x, target)?;
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    /// The per-sample shape a `Reshape` target gives a value of per-sample shape `from`.
    fn per_sample(&self, node: &Node, dims: &[Dim], from: &[usize]) -> Result<Vec<usize>, Problem> {
        let total: usize = from.iter().product();
        let allow_zero = int_attr(node, "allowzero", 0) != 0;
        let Some((first, rest)) = dims.split_first() else {
            return Err(problem(node, "reshapes to a scalar"));
        };
        let batch_first = match first {
            Dim::Batch => true,
            Dim::Known(0) => !allow_zero,
            Dim::Known(n) => Some(*n) == self.fixed_batch,
            _ => false,
        };
        let mut shape = Vec::new();
        let mut infer = None;
        for (i, dim) in rest.iter().enumerate() {
            match dim {
                Dim::Known(-1) if infer.is_none() => {
                    infer = Some(i);
                    shape.push(1);
                }
                Dim::Known(0) if !allow_zero => {
                    shape.push(*from.get(i).ok_or_else(|| problem(node, "copies an axis the value lacks"))?)
                }
                Dim::Known(n) if *n > 0 => shape.push(*n as usize),
                _ => return Err(problem(node, format!("reshapes to {dims:?}, which nnspec cannot follow"))),
            }
        }
        let too_large =
            || problem(node, format!("reshapes to {dims:?}, more than nnspec's {MAX_VALUES} values per sample"));
        let known = volume(&shape).ok_or_else(too_large)?;
        if let Some(i) = infer {
            if known == 0 || total % known != 0 {
                return Err(problem(node, format!("reshapes {total} values per sample to {dims:?}")));
            }
            shape[i] = total / known;
        }
        let batch_first = batch_first || (matches!(first, Dim::Known(-1)) && infer.is_none());
        if !batch_first || volume(&shape) != Some(total) || shape.is_empty() {
            return Err(problem(
                node,
                format!("reshapes a batch of samples of shape {from:?} to {dims:?}, which mixes samples or changes their size"),
            ));
        }
        Ok(shape)
    }

    fn squeeze(&mut self, node: &Node) -> Result<(), Problem> {
        let axes = match (ints_attr(node, "axes"), self.constant(node, 1)) {
            (Some(axes), _) => Some(axes),
            (None, Some(t)) => t.ints().map(<[i64]>::to_vec),
            (None, None) => None,
        };
        match self.input(node, 0).cloned() {
            Some(Value::Recurrent { stmt, sequence, axes: mut layout }) => {
                let rank = layout.len() as i64;
                let squeezed: Vec<usize> = match axes {
                    Some(axes) => axes.iter().map(|&a| (if a < 0 { a + rank } else { a }) as usize).collect(),
                    None => (0..layout.len()).filter(|&a| layout[a].1 == 1 && layout[a].0 != Axis::Batch).collect(),
                };
                for &a in squeezed.iter().rev() {
                    match layout.get(a) {
                        Some((Axis::Direction, 1)) => {
                            layout.remove(a);
                        }
                        _ => {
                            return Err(problem(
                                node,
                                "squeezes an axis of a recurrent output other than a single direction",
                            ))
                        }
                    }
                }
                self.set(node, Value::Recurrent { stmt, sequence, axes: layout });
                Ok(())
            }
            _ => {
                let x = self.flow(node, 0)?;
                let rank = x.shape.len() as i64 + 1;
                let axes: Vec<i64> = match axes {
                    Some(axes) => axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect(),
                    None => (1..rank).filter(|&a| x.shape[a as usize - 1] == 1).collect(),
                };
                if axes.iter().any(|&a| a < 1 || a >= rank || x.shape[a as usize - 1] != 1) {
                    return Err(problem(node, format!("squeezes axes {axes:?} of a value of shape {:?}", x.shape)));
                }
                let target: Vec<usize> = x
                    .shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !axes.contains(&(*i as i64 + 1)))
                    .map(|(_, &d)| d)
                    .collect();
                let target = if target.is_empty() { vec![1] } else { target };
                let flow = self.reshaped(node, x, target)?;
                self.set(node, Value::Flow(flow));
                Ok(())
            }
        }
    }

    fn concat(&mut self, node: &Node) -> Result<(), Problem> {
        let mut flows = Vec::new();
        for index in 0..node.inputs.len() {
            flows.push(self.flow(node, index)?);
        }
        let first = flows[0].shape.clone();
        let rank = first.len() as i64 + 1;
        let axis = int_attr(node, "axis", 1);
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis != 1 {
            return Err(problem(
                node,
                format!("concatenates along axis {axis}; nnspec concatenates features or channels (axis 1)"),
            ));
        }
        if flows.iter().any(|f| f.shape.len() != first.len() || f.shape[1..] != first[1..]) {
            let shapes: Vec<_> = flows.iter().map(|f| f.shape.clone()).collect();
            return Err(problem(node, format!("concatenates values of shapes {shapes:?}")));
        }
        let mut shape = first.clone();
        shape[0] = flows.iter().map(|f| f.shape[0]).sum();
        if volume(&shape).is_none() {
            return Err(problem(
                node,
                format!("concatenates to a value of shape {shape:?}, more than nnspec's {MAX_VALUES} values"),
            ));
        }
        let nn_flat = flows.iter().all(|f| self.statements[f.stmt].shape.len() == 1);
        let nn_shape = if nn_flat { vec![shape.iter().product()] } else { shape.clone() };
        let flow = self.push_onnx(node, Op::Concat, flows.iter().map(|f| f.stmt).collect(), nn_shape, shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    fn transpose(&mut self, node: &Node) -> Result<(), Problem> {
        let perm = ints_attr(node, "perm").unwrap_or_default();
        let channel_first = |x: &Flow| x.shape.len() == 2 && channel_first(&self.statements, x.stmt);
        let swapped = |x: Flow| Flow { shape: vec![x.shape[1], x.shape[0]], own: false, ..x };
        match self.input(node, 0).cloned() {
            // A convolution's [N, C, L] read as L steps of C features, as nnspec reads it.
            Some(Value::Flow(x)) if channel_first(&x) && perm == [2, 0, 1] => {
                self.set(node, Value::TimeFirst(swapped(x)));
                Ok(())
            }
            Some(Value::Flow(x)) if channel_first(&x) && perm == [0, 2, 1] => {
                self.set(node, Value::Transposed(swapped(x)));
                Ok(())
            }
            Some(Value::Transposed(x)) if perm == [1, 0, 2] => {
                self.set(node, Value::TimeFirst(x));
                Ok(())
            }
            Some(Value::Flow(x)) if x.shape.len() == 2 && !channel_first(&x) && perm == [1, 0, 2] => {
                self.set(node, Value::TimeFirst(x));
                Ok(())
            }
            Some(Value::TimeFirst(x)) if perm == [1, 0, 2] => {
                self.set(node, Value::Flow(Flow { own: false, ..x }));
                Ok(())
            }
            Some(Value::Recurrent { stmt, sequence, axes }) if perm.len() == axes.len() => {
                let mut moved = Vec::new();
                for &p in &perm {
                    moved.push(*axes.get(p as usize).ok_or_else(|| problem(node, format!("has perm {perm:?}")))?);
                }
                let value = self.recurrent_value(stmt, sequence, moved);
                self.set(node, value);
                Ok(())
            }
            _ => Err(problem(
                node,
                format!("transposes with perm {perm:?}; nnspec follows a transpose only into and out of a recurrent layer's time-first layout"),
            )),
        }
    }

    /// A recurrent output in `axes` order: a flow once it is batch first, as nnspec writes it.
    fn recurrent_value(&self, stmt: usize, sequence: bool, axes: Vec<(Axis, usize)>) -> Value {
        let kinds: Vec<Axis> = axes.iter().map(|a| a.0).collect();
        let batch_first = if sequence {
            matches!(
                kinds.as_slice(),
                [Axis::Batch, Axis::Time, Axis::Hidden] | [Axis::Batch, Axis::Time, Axis::Direction, Axis::Hidden]
            )
        } else {
            matches!(kinds.as_slice(), [Axis::Batch, Axis::Hidden] | [Axis::Batch, Axis::Direction, Axis::Hidden])
        };
        if batch_first {
            Value::Flow(Flow { stmt, shape: axes[1..].iter().map(|a| a.1).collect(), own: true })
        } else {
            Value::Recurrent { stmt, sequence, axes }
        }
    }

    /// A `Reshape` of a recurrent output: the same bytes as a batch-first value when every axis before the batch has one entry.
    fn recurrent_reshape(
        &mut self,
        node: &Node,
        stmt: usize,
        sequence: bool,
        axes: Vec<(Axis, usize)>,
        dims: &[Dim],
    ) -> Result<Value, Problem> {
        let Some(at) = axes.iter().position(|a| a.0 == Axis::Batch) else {
            return Err(problem(node, "reshapes a recurrent output whose batch axis was taken away"));
        };
        // [.., D, H] → [.., D·H] with every other axis kept: PyTorch's merge of the two directions.
        let n = axes.len();
        if n >= 3 && dims.len() == n - 1 && axes[n - 2].0 == Axis::Direction && axes[n - 1].0 == Axis::Hidden {
            let kept = axes[..n - 2].iter().zip(dims).all(|(&(axis, size), dim)| match (axis, dim) {
                (Axis::Batch, Dim::Batch | Dim::Known(0)) => true,
                (Axis::Batch, Dim::Known(k)) => Some(*k) == self.fixed_batch,
                (_, Dim::Known(k)) => *k == 0 || *k == size as i64,
                _ => false,
            });
            let merged = axes[n - 2].1.saturating_mul(axes[n - 1].1);
            if kept && (dims[n - 2] == Dim::Known(-1) || dims[n - 2] == Dim::Known(merged as i64)) {
                let mut merged_axes = axes[..n - 2].to_vec();
                merged_axes.push((Axis::Hidden, merged));
                return Ok(self.recurrent_value(stmt, sequence, merged_axes));
            }
        }
        if axes[..at].iter().any(|a| a.1 != 1) {
            let kinds: Vec<Axis> = axes.iter().map(|a| a.0).collect();
            return Err(problem(
                node,
                format!("reshapes a recurrent output laid out as {kinds:?}, which mixes samples"),
            ));
        }
        let _ = sequence;
        let order: Vec<Axis> = axes[at + 1..].iter().map(|a| a.0).collect();
        let expected: &[Axis] = &[Axis::Time, Axis::Direction, Axis::Hidden];
        let mut kept = expected.iter().filter(|k| order.contains(k));
        if !order.iter().all(|k| Some(k) == kept.next()) {
            return Err(problem(node, format!("reshapes a recurrent output laid out as {order:?} after the batch")));
        }
        let shape: Vec<usize> = axes[at + 1..].iter().map(|a| a.1).collect();
        let nn = self.statements[stmt].shape.clone();
        let flow = Flow { stmt, shape: if shape.is_empty() { nn } else { shape }, own: true };
        let target = self.per_sample(node, dims, &flow.shape)?;
        Ok(Value::Flow(self.reshaped(node, flow, target)?))
    }

    fn gather(&mut self, node: &Node) -> Result<(), Problem> {
        let index = self.constant(node, 1).and_then(|t| {
            if t.dims.is_empty() {
                t.ints().and_then(|v| v.first().copied())
            } else {
                None
            }
        });
        let axis = int_attr(node, "axis", 0);
        match (self.input(node, 0).cloned(), index) {
            (Some(Value::Recurrent { stmt, sequence, mut axes }), Some(index)) => {
                let rank = axes.len() as i64;
                let axis = if axis < 0 { axis + rank } else { axis } as usize;
                match axes.get(axis) {
                    Some(&(Axis::Direction, 1)) if index == 0 || index == -1 => {
                        axes.remove(axis);
                        let value = self.recurrent_value(stmt, sequence, axes);
                        self.set(node, value);
                        Ok(())
                    }
                    _ => Err(problem(node, "selects from a recurrent output other than its single direction")),
                }
            }
            _ => Err(problem(node, "gathers from the network's values; nnspec gathers only in shape arithmetic")),
        }
    }

    fn recurrent(&mut self, node: &Node) -> Result<(), Problem> {
        let lstm = node.op == "LSTM";
        let x = match self.input(node, 0).cloned() {
            Some(Value::TimeFirst(x)) if int_attr(node, "layout", 0) == 0 => x,
            Some(Value::Transposed(x)) if int_attr(node, "layout", 0) == 1 => x,
            Some(Value::Flow(x))
                if int_attr(node, "layout", 0) == 1 && x.shape.len() == 2 && !channel_first(&self.statements, x.stmt) =>
            {
                x
            }
            _ => {
                return Err(problem(
                    node,
                    "reads a sequence nnspec cannot lay out (a recurrent statement reads [T, F] samples, time first within each)",
                ))
            }
        };
        if !matches!(self.statements[x.stmt].shape.as_slice(), [_, _]) {
            return Err(problem(node, "reads a value that is not a [T, F] sequence"));
        }
        let (steps, features) = (x.shape[0], x.shape[1]);
        let hidden = int_attr(node, "hidden_size", 0);
        let direction = text_attr(node, "direction").unwrap_or_else(|| "forward".into());
        let bidirectional = match direction.as_str() {
            "forward" => false,
            "bidirectional" => true,
            other => {
                return Err(problem(node, format!("runs in direction `{other}`; nnspec runs forward or bidirectional")))
            }
        };
        if !(1..=1 << 20).contains(&hidden) {
            return Err(problem(node, format!("has hidden_size {hidden}")));
        }
        let hidden = hidden as usize;
        if !lstm && int_attr(node, "linear_before_reset", 0) != 1 {
            return Err(problem(
                node,
                "has linear_before_reset = 0; nnspec's GRU is PyTorch's, which applies the reset gate after the hidden layer's product (linear_before_reset = 1)",
            ));
        }
        for attribute in ["activations", "activation_alpha", "activation_beta", "clip"] {
            if node.attribute(attribute).is_some() {
                return Err(problem(node, format!("sets `{attribute}`; nnspec's gates are PyTorch's")));
            }
        }
        if lstm && int_attr(node, "input_forget", 0) != 0 {
            return Err(problem(node, "couples the input and forget gates (input_forget = 1)"));
        }
        if node.inputs.get(4).is_some_and(|n| !n.is_empty()) {
            return Err(problem(node, "has sequence lengths; nnspec's sequences all have T steps"));
        }
        for (index, what) in [(5, "initial hidden state"), (6, "initial cell state")] {
            match self.input(node, index) {
                None | Some(Value::Zeros) => {}
                Some(Value::Const(t)) if t.floats().iter().all(|v| *v == 0.0) => {}
                _ => {
                    return Err(problem(node, format!("has an {what} that is not zero; nnspec's state starts at zero")))
                }
            }
        }
        if lstm && node.inputs.get(7).is_some_and(|n| !n.is_empty()) {
            return Err(problem(node, "has peepholes, which PyTorch's LSTM (and nnspec's) has not"));
        }
        let directions = if bidirectional { 2 } else { 1 };
        let gates = if lstm { 4 } else { 3 };
        let rows = gates * hidden;
        let weight = |index: usize, cols: usize, what: &str| -> Result<Vec<f32>, Problem> {
            match self.constant(node, index) {
                Some(t) if t.dims == [directions, rows, cols] => Ok(t.floats()),
                _ => Err(problem(
                    node,
                    format!("has {what} that are not constants of shape [{directions}, {rows}, {cols}]"),
                )),
            }
        };
        let w = weight(1, features, "input weights")?;
        let r = weight(2, hidden, "recurrent weights")?;
        let b = match node.inputs.get(3).filter(|n| !n.is_empty()) {
            None => vec![0.0; directions * 2 * rows],
            Some(_) => match self.constant(node, 3) {
                Some(t) if t.dims == [directions, 2 * rows] => t.floats(),
                _ => {
                    return Err(problem(
                        node,
                        format!("has biases that are not constants of shape [{directions}, {}]", 2 * rows),
                    ))
                }
            },
        };
        // ONNX's gate blocks (GRU z, r, h; LSTM i, o, f, c) into PyTorch's (r, z, n; i, f, g, o).
        let from: &[usize] = if lstm { &[0, 2, 3, 1] } else { &[1, 0, 2] };
        let reorder = |values: &[f32], cols: usize| -> Vec<f32> {
            let mut out = Vec::with_capacity(values.len());
            for &block in from {
                out.extend_from_slice(&values[block * hidden * cols..(block + 1) * hidden * cols]);
            }
            out
        };
        let mut tensors = Vec::new();
        for d in 0..directions {
            let tail = if d == 1 { "_reverse" } else { "" };
            let wd = &w[d * rows * features..(d + 1) * rows * features];
            let rd = &r[d * rows * hidden..(d + 1) * rows * hidden];
            let bd = &b[d * 2 * rows..(d + 1) * 2 * rows];
            tensors.push((format!("weight_ih_l0{tail}"), reorder(wd, features)));
            tensors.push((format!("weight_hh_l0{tail}"), reorder(rd, hidden)));
            tensors.push((format!("bias_ih_l0{tail}"), reorder(&bd[..rows], 1)));
            tensors.push((format!("bias_hh_l0{tail}"), reorder(&bd[rows..], 1)));
        }
        let (y, y_h) = (node.outputs.first().filter(|n| !n.is_empty()), node.outputs.get(1).filter(|n| !n.is_empty()));
        if node.outputs.get(2).is_some_and(|n| !n.is_empty() && self.uses.get(n.as_str()).copied().unwrap_or(0) > 0) {
            return Err(problem(node, "has its last cell state read; nnspec's LSTM gives its hidden state"));
        }
        let read = |name: Option<&String>| name.is_some_and(|n| self.uses.get(n.as_str()).copied().unwrap_or(0) > 0);
        let sequence =
            match (read(y), read(y_h)) {
                (true, false) => true,
                (false, true) => false,
                (false, false) => return Err(problem(node, "has no output that is read")),
                (true, true) => return Err(problem(
                    node,
                    "has both its sequence and its last state read; an nnspec recurrent statement writes one of them",
                )),
            };
        let op = Op::Recurrent(Recurrent { lstm, hidden, bidirectional, sequence, tensors });
        let shape = if sequence { vec![steps, directions * hidden] } else { vec![directions * hidden] };
        let name = self.name_of(node, &op);
        self.statements.push(Statement { name, op, inputs: vec![x.stmt], shape });
        let stmt = self.statements.len() - 1;
        let axes = if sequence {
            vec![(Axis::Time, steps), (Axis::Direction, directions), (Axis::Batch, 0), (Axis::Hidden, hidden)]
        } else {
            vec![(Axis::Direction, directions), (Axis::Batch, 0), (Axis::Hidden, hidden)]
        };
        let value = if int_attr(node, "layout", 0) == 1 {
            // Batch first: Y is [N, T, D, H], Y_h [N, D, H].
            let mut moved = axes.clone();
            let at = moved.iter().position(|a| a.0 == Axis::Batch).expect("a batch axis");
            let batch = moved.remove(at);
            moved.insert(0, batch);
            self.recurrent_value(stmt, sequence, moved)
        } else {
            Value::Recurrent { stmt, sequence, axes }
        };
        let output = if sequence { y } else { y_h }.expect("the read output exists").clone();
        self.values.insert(output, value);
        let others: Vec<String> =
            node.outputs.iter().filter(|n| !n.is_empty() && !self.values.contains_key(*n)).cloned().collect();
        for other in others {
            self.values.insert(other, Value::Failed);
        }
        Ok(())
    }
}

/// Whether statement `index`'s `[C, L]` value is channel-first (a
/// convolution's or pool's, through statements that keep the layout): the
/// rule nnspec's checker reads a recurrent layer's input by.
fn channel_first(statements: &[Statement], index: usize) -> bool {
    match &statements[index].op {
        Op::Conv { .. } | Op::Pool { .. } => true,
        Op::Activation(_) | Op::LayerNorm { .. } | Op::BatchNorm { .. } => {
            channel_first(statements, statements[index].inputs[0])
        }
        Op::Add | Op::Concat => statements[index].inputs.iter().any(|&i| channel_first(statements, i)),
        _ => false,
    }
}

/// The ops the importer knows, for deciding whether a node after a failed one is worth its own report.
const SUPPORTED: &[&str] = &[
    "Constant",
    "Identity",
    "Dropout",
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Concat",
    "Slice",
    "Cast",
    "Reshape",
    "Flatten",
    "Transpose",
    "ConstantOfShape",
    "Expand",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Sqrt",
    "Neg",
    "Erf",
    "GreaterOrEqual",
    "Gemm",
    "MatMul",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "LeakyRelu",
    "Elu",
    "Gelu",
    "Softmax",
    "LogSoftmax",
    "Conv",
    "BatchNormalization",
    "LayerNormalization",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "ReduceMean",
    "GRU",
    "LSTM",
];

fn unsupported(node: &Node) -> Problem {
    problem(node, "has no nnspec equivalent")
}

fn constant_attribute(node: &Node) -> Result<Tensor, Problem> {
    let tensor = |dims: Vec<usize>, data: Data| Tensor { name: String::new(), dims, data, external: None };
    match node.attributes.first() {
        Some((name, Attribute::Tensor(t))) if name == "value" && t.external.is_none() => Ok(t.clone()),
        Some((name, Attribute::Float(v))) if name == "value_float" => Ok(tensor(Vec::new(), Data::Float(vec![*v]))),
        Some((name, Attribute::Int(v))) if name == "value_int" => Ok(tensor(Vec::new(), Data::Int(vec![*v]))),
        Some((name, Attribute::Floats(v))) if name == "value_floats" => {
            Ok(tensor(vec![v.len()], Data::Float(v.clone())))
        }
        Some((name, Attribute::Ints(v))) if name == "value_ints" => Ok(tensor(vec![v.len()], Data::Int(v.clone()))),
        _ => Err(problem(node, "holds a constant of a kind nnspec does not read (sparse or string)")),
    }
}

/// Evaluates a node whose inputs are all constants (small shape arithmetic and the constants of patterns).
fn fold(node: &Node, inputs: &[Option<Tensor>]) -> Result<Value, Problem> {
    let cannot = || problem(node, "computes constants in a way nnspec does not evaluate");
    let get = |i: usize| inputs.get(i).and_then(Option::as_ref);
    let x = get(0).ok_or_else(cannot)?;
    let tensor =
        |dims: Vec<usize>, data: Data| Value::Const(Tensor { name: String::new(), dims, data, external: None });
    const LIMIT: usize = 1 << 20;
    let value = match node.op.as_str() {
        "Cast" => match int_attr(node, "to", 1) {
            1 | 10 | 11 | 16 => tensor(x.dims.clone(), Data::Float(x.floats())),
            6 | 7 | 9 | 2 | 3 | 12 | 13 => {
                let ints = match &x.data {
                    Data::Int(v) => v.clone(),
                    Data::Float(v) => v.iter().map(|&f| f as i64).collect(),
                };
                tensor(x.dims.clone(), Data::Int(ints))
            }
            _ => return Err(cannot()),
        },
        "Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => {
            let dims = match node.op.as_str() {
                "Flatten" => {
                    let axis = int_attr(node, "axis", 1).clamp(0, x.dims.len() as i64) as usize;
                    vec![x.dims[..axis].iter().product(), x.dims[axis..].iter().product()]
                }
                "Reshape" => {
                    let target = get(1).and_then(|t| t.ints()).ok_or_else(cannot)?;
                    let mut dims: Vec<usize> = Vec::new();
                    let mut infer = None;
                    for (i, &d) in target.iter().enumerate() {
                        match d {
                            -1 => {
                                infer = Some(i);
                                dims.push(1);
                            }
                            0 => dims.push(*x.dims.get(i).ok_or_else(cannot)?),
                            d if d > 0 => dims.push(d as usize),
                            _ => return Err(cannot()),
                        }
                    }
                    if let Some(i) = infer {
                        let known = volume(&dims).ok_or_else(cannot)?;
                        if known == 0 {
                            return Err(cannot());
                        }
                        dims[i] = x.len() / known;
                    }
                    dims
                }
                _ => {
                    let axes = ints_attr(node, "axes").or_else(|| get(1).and_then(|t| t.ints().map(<[i64]>::to_vec)));
                    let mut dims = x.dims.clone();
                    if node.op == "Unsqueeze" {
                        let axes = axes.ok_or_else(cannot)?;
                        let rank = (dims.len() + axes.len()) as i64;
                        let mut axes: Vec<usize> =
                            axes.iter().map(|&a| (if a < 0 { a + rank } else { a }).clamp(0, rank) as usize).collect();
                        axes.sort_unstable();
                        for a in axes {
                            dims.insert(a.min(dims.len()), 1);
                        }
                    } else {
                        dims.retain(|&d| d != 1);
                    }
                    dims
                }
            };
            if volume(&dims) != Some(x.len()) {
                return Err(cannot());
            }
            tensor(dims, x.data.clone())
        }
        "Gather" => {
            let indices = get(1).and_then(|t| t.ints()).ok_or_else(cannot)?;
            if x.dims.len() != 1 || int_attr(node, "axis", 0) != 0 {
                return Err(cannot());
            }
            let n = x.len() as i64;
            let mut picked = Vec::new();
            for &i in indices {
                let at = if i < 0 { i + n } else { i };
                if !(0..n).contains(&at) {
                    return Err(cannot());
                }
                picked.push(at as usize);
            }
            let dims = get(1).map(|t| t.dims.clone()).unwrap_or_default();
            match &x.data {
                Data::Int(v) => tensor(dims, Data::Int(picked.iter().map(|&i| v[i]).collect())),
                Data::Float(v) => tensor(dims, Data::Float(picked.iter().map(|&i| v[i]).collect())),
            }
        }
        "Concat" => {
            let mut ints = Vec::new();
            for t in inputs.iter().flatten() {
                if t.dims.len() > 1 {
                    return Err(cannot());
                }
                ints.extend(t.ints().ok_or_else(cannot)?);
            }
            tensor(vec![ints.len()], Data::Int(ints))
        }
        "Slice" => {
            let first = |i: usize| get(i).and_then(|t| t.ints().and_then(|v| v.first().copied()));
            if x.dims.len() != 1 || first(4).is_some_and(|s| s != 1) {
                return Err(cannot());
            }
            let n = x.len() as i64;
            let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) } as usize;
            let (start, end) = (clamp(first(1).unwrap_or(0)), clamp(first(2).unwrap_or(n)));
            let end = end.max(start);
            match &x.data {
                Data::Int(v) => tensor(vec![end - start], Data::Int(v[start..end].to_vec())),
                Data::Float(v) => tensor(vec![end - start], Data::Float(v[start..end].to_vec())),
            }
        }
        "ConstantOfShape" => {
            let dims: Vec<usize> = x.ints().ok_or_else(cannot)?.iter().map(|&d| d.max(0) as usize).collect();
            let count =
                dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&c| c <= LIMIT).ok_or_else(cannot)?;
            let fill = match node.attribute("value") {
                Some(Attribute::Tensor(t)) => t.floats().first().copied().unwrap_or(0.0),
                _ => 0.0,
            };
            tensor(dims, Data::Float(vec![fill; count]))
        }
        "Expand" => {
            let value = x.floats();
            if value.iter().all(|v| *v == 0.0) {
                let dims: Vec<usize> =
                    get(1).and_then(|t| t.ints()).ok_or_else(cannot)?.iter().map(|&d| d.max(0) as usize).collect();
                let count = dims
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .filter(|&c| c <= LIMIT)
                    .ok_or_else(cannot)?;
                tensor(dims, Data::Float(vec![0.0; count]))
            } else {
                return Err(cannot());
            }
        }
        "Sqrt" | "Neg" | "Erf" => {
            let f = |v: f32| match node.op.as_str() {
                "Sqrt" => v.sqrt(),
                "Neg" => -v,
                _ => libm_erf(v),
            };
            match &x.data {
                Data::Int(v) if node.op == "Neg" => tensor(x.dims.clone(), Data::Int(v.iter().map(|a| -a).collect())),
                _ => tensor(x.dims.clone(), Data::Float(x.floats().into_iter().map(f).collect())),
            }
        }
        "Add" | "Sub" | "Mul" | "Div" | "GreaterOrEqual" => {
            let y = get(1).ok_or_else(cannot)?;
            let (n, m) = (x.len(), y.len());
            if n != m && n != 1 && m != 1 {
                return Err(cannot());
            }
            let (len, dims) = if n >= m { (n, x.dims.clone()) } else { (m, y.dims.clone()) };
            let op = node.op.as_str();
            match (&x.data, &y.data) {
                (Data::Int(a), Data::Int(b)) if op != "GreaterOrEqual" => {
                    let at = |v: &[i64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                    let mut out = Vec::with_capacity(len);
                    for i in 0..len {
                        let (p, q) = (at(a, i), at(b, i));
                        out.push(match op {
                            "Add" => p.wrapping_add(q),
                            "Sub" => p.wrapping_sub(q),
                            "Mul" => p.wrapping_mul(q),
                            _ if q != 0 => p.wrapping_div(q),
                            _ => return Err(cannot()),
                        });
                    }
                    tensor(dims, Data::Int(out))
                }
                _ => {
                    let (a, b) = (x.floats(), y.floats());
                    let at = |v: &[f32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                    let out = (0..len)
                        .map(|i| {
                            let (p, q) = (at(&a, i), at(&b, i));
                            match op {
                                "Add" => p + q,
                                "Sub" => p - q,
                                "Mul" => p * q,
                                "Div" => p / q,
                                _ => f32::from(u8::from(p >= q)),
                            }
                        })
                        .collect();
                    tensor(dims, Data::Float(out))
                }
            }
        }
        "Transpose" => {
            let rank = x.dims.len();
            let perm: Vec<usize> = match ints_attr(node, "perm") {
                Some(p) => p.iter().map(|&a| usize::try_from(a).unwrap_or(usize::MAX)).collect(),
                None => (0..rank).rev().collect(),
            };
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..rank).collect::<Vec<_>>() {
                return Err(cannot());
            }
            let dims: Vec<usize> = perm.iter().map(|&a| x.dims[a]).collect();
            // Row-major strides of the input, read in the output's order.
            let mut strides = vec![1usize; rank];
            for a in (0..rank.saturating_sub(1)).rev() {
                strides[a] = strides[a + 1] * x.dims[a + 1];
            }
            let mut index = vec![0usize; rank];
            let mut order = Vec::with_capacity(x.len());
            for _ in 0..x.len() {
                order.push(index.iter().zip(&perm).map(|(&i, &a)| i * strides[a]).sum::<usize>());
                for a in (0..rank).rev() {
                    index[a] += 1;
                    if index[a] < dims[a] {
                        break;
                    }
                    index[a] = 0;
                }
            }
            match &x.data {
                Data::Int(v) => tensor(dims, Data::Int(order.iter().map(|&i| v[i]).collect())),
                Data::Float(v) => tensor(dims, Data::Float(order.iter().map(|&i| v[i]).collect())),
            }
        }
        _ => return Err(cannot()),
    };
    Ok(value)
}

/// erf for constant folding (single precision is enough for the constants of a pattern).
fn libm_erf(x: f32) -> f32 {
    // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7.
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_72) * t + 0.254_829_6)
            * t
            * (-x * x).exp();
    y.copysign(x)
}

/// A number as a spec writes it: the shortest text that reads back as the same f32.
pub(super) fn number(value: f32) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}
