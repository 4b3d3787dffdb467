//! ONNX import: a model trained elsewhere becomes a readable `.nn` spec and a
//! weight file in nnspec's layout.
//!
//! ```no_run
//! let bytes = std::fs::read("model.onnx").unwrap();
//! let options = nnspec_codegen::import::Options::from_path("model.onnx");
//! match nnspec_codegen::import::import(&bytes, &options) {
//!     Ok(imported) => {
//!         std::fs::write("model.nn", &imported.spec).unwrap();
//!         std::fs::write("model.safetensors", &imported.weights).unwrap();
//!     }
//!     Err(error) => eprintln!("{error}"),
//! }
//! ```
//!
//! What is read: `Gemm`, `MatMul` (with an `Add` of a constant as its bias),
//! `Conv` (1-D and 2-D), `BatchNormalization` (running statistics kept),
//! `LayerNormalization` over a flat sample, `Relu`, `Sigmoid`, `Tanh`,
//! `LeakyRelu`, `Elu`, `Softplus`, exact `Gelu` and its `Div`/`Erf`/`Add`/`Mul`
//! form, the step function as `Cast(GreaterOrEqual(x, 0))`, `Softmax` and
//! `LogSoftmax`, `MaxPool`/`AveragePool` without padding, `GlobalAveragePool`
//! and a `ReduceMean` over every position, `Flatten` and the
//! `Reshape`/`Shape`/`Gather`/`Concat` chains of a flatten (folded),
//! `Add` of two values (a residual join), `Concat` along the features or
//! channels, `Sub`/`Div` of the input by constants (a standardisation),
//! `Dropout`/`Identity` (dropped), `GRU` (`linear_before_reset = 1`) and
//! `LSTM` with zero initial state, batch first through their `Transpose`s.
//! Anything else is refused: one error lists every node nnspec cannot import
//! with the reason, never the first only.

mod graph;
pub mod proto;
mod spec;

use std::fmt;
use std::path::{Path, PathBuf};

/// One node nnspec cannot import, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The node's operator (empty for a problem of the graph as a whole).
    pub op: String,
    /// The node's name.
    pub node: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    fn graph(message: String) -> Problem {
        Problem { op: String::new(), node: String::new(), message }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.op.is_empty(), self.node.is_empty()) {
            (true, _) => write!(f, "{}", self.message),
            (false, true) => write!(f, "`{}` node (unnamed) {}", self.op, self.message),
            (false, false) => write!(f, "`{}` node `{}` {}", self.op, spec::doc_line(&self.node), self.message),
        }
    }
}

/// Why a model could not be imported: every problem found.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    /// The file, as the options name it.
    pub source: String,
    /// The model's opset, when the file could be read that far.
    pub opset: Option<i64>,
    /// Every problem, in graph order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opset = self.opset.map_or_else(String::new, |o| format!(" (ONNX opset {o})"));
        if self.problems.len() == 1 && self.problems[0].op.is_empty() {
            return write!(f, "cannot import `{}`{opset}: {}", self.source, self.problems[0]);
        }
        let nodes = self.problems.iter().filter(|p| !p.op.is_empty()).count();
        write!(f, "cannot import `{}`{opset}: ", self.source)?;
        if nodes > 0 {
            write!(f, "{nodes} node{} nnspec cannot import", if nodes == 1 { "" } else { "s" })?;
        } else {
            write!(f, "the graph is not one nnspec can express")?;
        }
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

/// How an import names and trains what it writes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The network's name; by default from the source file's name (else the graph's).
    pub name: Option<String>,
    /// The model's file name, for the spec's doc comment and messages.
    pub source: String,
    /// The loss; by default chosen from the graph's end (see [`import`]).
    pub loss: Option<String>,
    /// The model's directory, where weights kept in external files are read
    /// (only files inside it); without it such a model is refused.
    pub directory: Option<PathBuf>,
}

impl Options {
    /// Options naming the network and the doc comment after `path`.
    pub fn from_path(path: impl AsRef<Path>) -> Options {
        let path = path.as_ref();
        let source = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        let name = path.file_stem().map(|s| spec::type_name(&s.to_string_lossy()));
        let directory = Some(path.parent().map_or_else(
            || PathBuf::from("."),
            |p| if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() },
        ));
        Options { name, source, loss: None, directory }
    }
}

/// What `predict` on the imported network prints, relative to the ONNX model's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The same values.
    Same,
    /// The ONNX model ends in `LogSoftmax`; `predict` prints the probabilities, its exponential.
    Exp,
}

/// An imported model.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The network's name.
    pub network: String,
    /// The spec, formatted as `nnspec fmt` writes it.
    pub spec: String,
    /// A safetensors file in nnspec's layout (metadata `format = nnspec`).
    pub weights: Vec<u8>,
    /// The loss the spec declares.
    pub loss: String,
    /// Why that loss, in a sentence.
    pub loss_reason: String,
    /// The model's opset.
    pub opset: i64,
    /// How `predict`'s output relates to the model's.
    pub output: Output,
    /// The number of nnspec statements (the input included).
    pub statements: usize,
}

/// Decodes an ONNX `TensorProto` file (the backend tests' `input_0.pb`): its dims and values as f32.
pub fn read_tensor(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>), String> {
    let tensor = proto::tensor(bytes).map_err(|e| e.to_string())?;
    Ok((tensor.dims.clone(), tensor.floats()))
}

/// Imports the ONNX model `bytes`.
///
/// The loss, unless `options.loss` names one, follows the graph's end: a
/// final `Softmax` (or `LogSoftmax`) is taken off and the spec declares
/// `softmax_cross_entropy` on the logits before it (`predict` applies the
/// softmax); a final `Sigmoid` stays, with `binary_cross_entropy`; anything
/// else gets `mse`. The spec's doc comment says which and why.
pub fn import(bytes: &[u8], options: &Options) -> Result<Imported, ImportError> {
    let source = if options.source.is_empty() { "model.onnx".to_string() } else { options.source.clone() };
    let error = |opset: Option<i64>, problems: Vec<Problem>| ImportError { source: source.clone(), opset, problems };
    let mut model = proto::model(bytes).map_err(|e| error(None, vec![Problem::graph(e.0)]))?;
    let opset = Some(model.opset);
    let mut early = Vec::new();
    if model.graph.sparse_initializers > 0 {
        early.push(Problem::graph("the graph has sparse initializers, which nnspec does not read".into()));
    }
    for tensor in &mut model.graph.initializers {
        if let Err(problem) = external(tensor, options.directory.as_deref()) {
            early.push(Problem::graph(problem));
        }
    }
    if !early.is_empty() {
        return Err(error(opset, early));
    }
    let converted =
        graph::Converter::new(&model.graph, model.opset).convert().map_err(|problems| error(opset, problems))?;
    let mut statements = converted.statements;
    let mut output = converted.output;

    // The loss, from the graph's end.
    let final_activation = match &statements[output].op {
        spec::Op::Activation(a) | spec::Op::Dense { activation: Some(a), .. } => Some(a.clone()),
        _ => None,
    };
    let mut kind = Output::Same;
    let flat_width = |s: &spec::Statement| s.shape.iter().product::<usize>();
    let strip = |statements: &mut Vec<spec::Statement>, output: &mut usize| match &mut statements[*output].op {
        spec::Op::Dense { activation, .. } => *activation = None,
        _ => *output = statements[*output].inputs[0],
    };
    // A model nnspec exported records its loss; an explicit `loss` still wins.
    let recorded = model.metadata.iter().find(|(k, _)| k == "nnspec.loss").map(|(_, v)| v.as_str());
    let recorded = recorded.filter(|l| nnspec_lang::vocabulary::Loss::NAMES.contains(l));
    let (asked, why) = match (options.loss.as_deref(), recorded) {
        (Some(loss), _) => (Some(loss), "as asked"),
        (None, Some(loss)) => (Some(loss), "as the model's metadata records (`nnspec.loss`)"),
        (None, None) => (None, ""),
    };
    let (loss, reason) = match (asked, final_activation.as_deref()) {
        (None, Some(a @ ("softmax" | "log_softmax"))) if flat_width(&statements[output]) >= 2 => {
            strip(&mut statements, &mut output);
            let op = if a == "softmax" { "Softmax" } else { "LogSoftmax" };
            if a == "log_softmax" {
                kind = Output::Exp;
            }
            (
                "softmax_cross_entropy".to_string(),
                format!("the graph ends in a `{op}`, so the network ends in the logits before it and `predict` prints the softmax's probabilities"),
            )
        }
        (None, Some("sigmoid")) => (
            "binary_cross_entropy".to_string(),
            "the graph ends in a `Sigmoid`, whose probabilities the loss reads".to_string(),
        ),
        (None, _) => {
            ("mse".to_string(), "the graph ends in no softmax or sigmoid, so it is taken for a regression".to_string())
        }
        (Some(loss @ "softmax_cross_entropy"), Some("softmax"))
        | (Some(loss @ "binary_cross_entropy_with_logits"), Some("sigmoid")) => {
            strip(&mut statements, &mut output);
            (loss.to_string(), format!("{why}; the final activation is taken off, the loss takes the logits"))
        }
        (Some(loss), _) => (loss.to_string(), why.to_string()),
    };

    // The statements the output depends on, in order.
    let mut needed = vec![false; statements.len()];
    needed[output] = true;
    for index in (0..=output).rev() {
        if needed[index] {
            for &input in &statements[index].inputs {
                needed[input] = true;
            }
        }
    }
    if !needed[0] {
        return Err(error(opset, vec![Problem::graph("the output does not depend on the input".into())]));
    }
    let kept: Vec<usize> = (0..=output).filter(|&i| needed[i]).collect();

    let network =
        options.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| {
            spec::type_name(if model.graph.name.is_empty() { "Imported" } else { &model.graph.name })
        });
    let producer = if model.producer.is_empty() { String::new() } else { format!(", written by {}", model.producer) };
    let doc = vec![
        format!("Imported from `{source}` (ONNX opset {}{producer}) by nnspec import.", model.opset),
        format!("Loss `{loss}`: {reason}."),
    ];
    let (text, values) = spec::write(&network, &doc, &statements, &kept, &loss);
    let internal = |message: String| error(opset, vec![Problem::graph(message)]);
    let formatted = nnspec_lang::fmt::format(&text).map_err(|d| {
        internal(format!("the spec written does not parse:\n{}", nnspec_lang::render(&d, "imported.nn", &text)))
    })?;
    let checked = nnspec_lang::check_source(&formatted).map_err(|d| {
        internal(format!(
            "the network is not one nnspec accepts:\n{}",
            nnspec_lang::render(&d, &format!("{network}.nn"), &formatted)
        ))
    })?;
    let net = checked.program.networks.first().ok_or_else(|| internal("the spec written holds no network".into()))?;
    let weights = weights(net, &values).map_err(internal)?;
    Ok(Imported {
        network,
        spec: formatted,
        weights,
        loss,
        loss_reason: reason,
        opset: model.opset,
        output: kind,
        statements: kept.len(),
    })
}

/// Reads the values of `tensor` from its external file, which must lie inside `directory`.
fn external(tensor: &mut proto::Tensor, directory: Option<&Path>) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let Some(external) = tensor.external.take() else { return Ok(()) };
    let shown = format!("tensor `{}`", spec::doc_line(&tensor.name));
    let Some(directory) = directory else {
        return Err(format!("{shown} keeps its data in an external file, and no directory was given to read it from"));
    };
    let location = Path::new(&external.location);
    if location.is_absolute()
        || location.components().any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir))
    {
        return Err(format!(
            "{shown} keeps its data in `{}`, outside the model's directory; nnspec reads external data only beside the model",
            spec::doc_line(&external.location)
        ));
    }
    let path = directory.join(location);
    let inside = match (path.canonicalize(), directory.canonicalize()) {
        (Ok(file), Ok(dir)) => file.starts_with(dir),
        (Err(e), _) | (_, Err(e)) => {
            return Err(format!("{shown}: cannot read its external data `{}`: {e}", path.display()))
        }
    };
    if !inside {
        return Err(format!("{shown} keeps its data in `{}`, a link out of the model's directory", path.display()));
    }
    let width = match external.data_type {
        1 | 6 | 12 => 4u64,
        2 | 3 | 9 => 1,
        4 | 5 | 10 | 16 => 2,
        _ => 8,
    };
    let expected = external.count as u64 * width;
    if external.length.is_some_and(|l| l != expected) {
        return Err(format!(
            "{shown} declares {} elements but its external data is {} bytes",
            external.count,
            external.length.unwrap_or(0)
        ));
    }
    let mut file = std::fs::File::open(&path).map_err(|e| format!("{shown}: cannot read `{}`: {e}", path.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if external.offset.checked_add(expected).is_none_or(|end| end > size) {
        return Err(format!(
            "{shown} reads bytes {}..{} of `{}`, which has {size}",
            external.offset,
            external.offset.saturating_add(expected),
            path.display()
        ));
    }
    let mut raw = vec![0u8; expected as usize];
    file.seek(SeekFrom::Start(external.offset))
        .and_then(|_| file.read_exact(&mut raw))
        .map_err(|e| format!("{shown}: cannot read `{}`: {e}", path.display()))?;
    tensor.data = proto::decode_raw(external.data_type, &raw, external.count, &shown).map_err(|e| e.0)?;
    Ok(())
}

/// The safetensors bytes of `values` laid out as `net`'s tensors and buffers.
fn weights(
    net: &nnspec_lang::ir::Network,
    values: &std::collections::HashMap<String, Vec<f32>>,
) -> Result<Vec<u8>, String> {
    let plan = net.plan();
    let mut entries: Vec<(String, Vec<usize>)> =
        net.tensors.iter().map(|t| (t.name.clone(), t.shape.clone())).collect();
    entries.extend(plan.buffers.iter().map(|b| (b.name.clone(), b.shape.clone())));
    let mut data = Vec::new();
    let mut problems = Vec::new();
    for (name, shape) in &entries {
        let count: usize = shape.iter().product();
        match values.get(name) {
            Some(v) if v.iter().any(|x| !x.is_finite()) => {
                return Err(format!(
                "the model's values for tensor `{name}` are not all finite (NaN or infinity); nnspec's weights must be"
            ))
            }
            Some(v) if v.len() == count => data.push(v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()),
            Some(v) => problems.push(format!("tensor `{name}` has {} values for shape {shape:?}", v.len())),
            None => problems.push(format!("no values for tensor `{name}`")),
        }
    }
    if !problems.is_empty() {
        return Err(format!("the weights do not fit the spec written: {}", problems.join("; ")));
    }
    let views = entries
        .iter()
        .zip(&data)
        .map(|((name, shape), bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let metadata = std::collections::HashMap::from([
        ("format".to_string(), "nnspec".to_string()),
        ("network".to_string(), net.name.clone()),
    ]);
    safetensors::serialize(views, &Some(metadata)).map_err(|e| e.to_string())
}
