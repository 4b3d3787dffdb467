//! From an ONNX graph to nnspec statements: constants and shape arithmetic
//! are folded, the patterns exporters write (a flatten as `Shape`/`Gather`/
//! `Concat`/`Reshape`, GELU as `Div`/`Erf`/`Add`/`Mul`, a standardisation as
//! `Sub`/`Div`, a recurrent layer's zero state and its `Transpose`s) are
//! recognised, and every other node becomes one statement.

use super::proto::{Attribute, Data, Graph, Node, Tensor};
use super::spec::{Op, Recurrent, Statement};
use super::Problem;
use std::collections::HashMap;

mod attributes;
mod conv;
mod dense;
mod fold;
mod recurrent;
mod reshape;

use attributes::{all_near, float_attr, int_attr, ints_attr, per_feature, text_attr};
use fold::{constant_attribute, fold};
use recurrent::channel_first;

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

/// A number as a spec writes it: the shortest text that reads back as the same f32.
pub(super) fn number(value: f32) -> String {
    if value != 0.0 && value.abs() < 1e-3 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}
