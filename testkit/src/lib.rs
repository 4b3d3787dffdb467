//! Test helpers shared by the workspace's test suites: where the conformance
//! directory is, reading its JSON, and element-wise comparison with the
//! README's rule `|got − ref| ≤ atol + rtol·|ref|`.
//!
//! Tests read shapes, cases and hyper-parameters from the files; nothing here
//! knows a reference number.

pub mod datasets;
pub mod graph_spec;
pub mod reference;

use nnspec::{Activation, Interpreter, Loss};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The f32 tolerance of the conformance README.
pub const F32: Tolerance = Tolerance { rtol: 1e-5, atol: 1e-6 };

/// A comparison tolerance.
#[derive(Debug, Clone, Copy)]
pub struct Tolerance {
    /// Relative part.
    pub rtol: f64,
    /// Absolute part.
    pub atol: f64,
}

/// The conformance directory: `$NNSPEC_CONFORMANCE`, else `../shared/conformance`
/// relative to the workspace root.
pub fn dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NNSPEC_CONFORMANCE") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

/// Reads a JSON file under the conformance directory.
pub fn json(relative: impl AsRef<Path>) -> Value {
    let path = dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set NNSPEC_CONFORMANCE", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The `.json` files of a conformance subdirectory, sorted.
pub fn files(subdirectory: &str) -> Vec<PathBuf> {
    let path = dir().join(subdirectory);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("cannot list {} ({e}); set NNSPEC_CONFORMANCE", path.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Reads a JSON file by absolute path.
pub fn json_at(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {} ({e})", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every number in a (nested) JSON array, row-major, as f64.
pub fn flat(value: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    fn walk(value: &Value, out: &mut Vec<f64>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Number(n) => out.push(n.as_f64().expect("a finite number")),
            Value::Bool(b) => out.push(f64::from(u8::from(*b))),
            other => panic!("expected numbers, found {other}"),
        }
    }
    walk(value, &mut out);
    out
}

/// [`flat`] as f32.
pub fn flat32(value: &Value) -> Vec<f32> {
    flat(value).into_iter().map(|v| v as f32).collect()
}

/// The shape of a nested JSON array.
pub fn shape(value: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut current = value;
    while let Value::Array(items) = current {
        shape.push(items.len());
        match items.first() {
            Some(first) => current = first,
            None => break,
        }
    }
    shape
}

/// The worst use of the tolerance budget: max over elements of `|got − ref| / (atol + rtol·|ref|)`.
/// A value ≤ 1 passes.
pub fn budget_used(got: &[f32], reference: &[f64], tolerance: Tolerance) -> f64 {
    assert_eq!(got.len(), reference.len(), "length differs from the reference");
    got.iter()
        .zip(reference)
        .map(|(g, r)| (f64::from(*g) - r).abs() / (tolerance.atol + tolerance.rtol * r.abs()))
        .fold(0.0, f64::max)
}

/// Asserts that `got` matches `reference` within `tolerance`, naming `what` and the worst element;
/// returns the worst use of the tolerance, `max |got − reference| / (atol + rtol·|reference|)`.
pub fn assert_close(what: &str, got: &[f32], reference: &[f64], tolerance: Tolerance) -> f64 {
    assert_eq!(got.len(), reference.len(), "{what}: {} values, reference has {}", got.len(), reference.len());
    let mut worst = 0.0f64;
    for (i, (g, r)) in got.iter().zip(reference).enumerate() {
        let allowed = tolerance.atol + tolerance.rtol * r.abs();
        assert!(
            (f64::from(*g) - r).abs() <= allowed || (g.is_nan() && r.is_nan()),
            "{what}[{i}]: got {g}, reference {r} (|diff| {} > {allowed})",
            (f64::from(*g) - r).abs()
        );
        if !g.is_nan() {
            worst = worst.max((f64::from(*g) - r).abs() / allowed);
        }
    }
    worst
}

/// The runtime activation named as in the conformance files.
pub fn activation(name: &str, params: Option<&Value>) -> Activation {
    let param =
        |key: &str, default: f64| params.and_then(|p| p.get(key)).and_then(Value::as_f64).unwrap_or(default) as f32;
    match name {
        "step" => Activation::Step,
        "identity" => Activation::Identity,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "leaky_relu" => Activation::LeakyRelu(param("negative_slope", 0.01)),
        "elu" => Activation::Elu(param("alpha", 1.0)),
        "softplus" => Activation::Softplus,
        "gelu" => Activation::Gelu,
        "softmax" => Activation::Softmax,
        "log_softmax" => Activation::LogSoftmax,
        other => panic!("unknown activation `{other}` in the conformance data"),
    }
}

/// The `.nn` activation and loss keywords for a conformance network file.
pub fn network_loss(network: &Value) -> Loss {
    let layers = network["layers"].as_array().expect("layers");
    let last = layers.last().expect("a layer")["activation"].as_str().expect("activation");
    match (network["loss"]["type"].as_str().expect("loss type"), last) {
        ("softmax_cross_entropy", "softmax") => Loss::CrossEntropy,
        ("softmax_cross_entropy", _) => Loss::SoftmaxCrossEntropy,
        ("binary_cross_entropy", "sigmoid") => Loss::BinaryCrossEntropy,
        ("binary_cross_entropy", _) => Loss::BinaryCrossEntropyWithLogits,
        ("mse", _) => Loss::Mse,
        ("sse", _) => Loss::Sse,
        ("sse_half", _) => Loss::SseHalf,
        (other, _) => panic!("unknown loss `{other}`"),
    }
}

/// The `.nn` loss keyword of a runtime loss.
pub fn loss_keyword(loss: Loss) -> &'static str {
    loss.name()
}

/// An interpreter network for a conformance network file, with its parameters loaded
/// (`dropout` sets the dropout probability of every hidden layer).
pub fn mlp(network: &Value, dropout: Option<f32>) -> Interpreter {
    let layers = network["layers"].as_array().expect("layers");
    let count = layers.len();
    let input = layers[0]["in"].as_u64().expect("in") as usize;
    let chain: Vec<_> = layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let name: std::borrow::Cow<'static, str> = layer["name"].as_str().expect("name").to_string().into();
            let units = layer["out"].as_u64().expect("out") as usize;
            let activation = activation(layer["activation"].as_str().expect("activation"), None);
            (name, units, activation, dropout.filter(|_| i + 1 < count))
        })
        .collect();
    let mut nodes = nnspec::graph::chain(input, &chain);
    for (node, layer) in nodes.iter_mut().filter(|n| matches!(n.op, nnspec::Op::Dense { .. })).zip(layers) {
        node.op = nnspec::Op::Dense {
            activation: activation(layer["activation"].as_str().expect("activation"), None),
            bias: layer["bias"].as_bool().unwrap_or(true),
        };
    }
    let mlp = Interpreter::graph(network["name"].as_str().unwrap_or("net"), nodes, network_loss(network))
        .expect("a chain is a valid graph");
    let params = params_in_order(network, &network["params"]);
    mlp.with_params(&params).expect("parameter count matches the layers")
}

/// The parameters of a conformance file (`param_order` names into `params`) as one flat buffer.
pub fn params_in_order(network: &Value, params: &Value) -> Vec<f32> {
    network["param_order"]
        .as_array()
        .expect("param_order")
        .iter()
        .flat_map(|name| flat32(&params[name.as_str().expect("a name")]))
        .collect()
}

/// The targets of a conformance batch as the runtime expects them: labels stay `[B]`.
pub fn targets(batch: &Value) -> Vec<f32> {
    flat32(&batch["y"])
}

/// The optimizer a conformance run describes (PyTorch's names and defaults);
/// `weight_decay` overrides the run's coupled weight decay (L2 runs apply it as a
/// penalty on `applies_to` instead).
pub fn optimizer(run: &Value, weight_decay: Option<f64>) -> Box<dyn nnspec::Optimizer> {
    use nnspec::{Adagrad, Adam, RmsProp, Sgd};
    let h = &run["hyperparameters"];
    let get = |key: &str, default: f64| h.get(key).and_then(Value::as_f64).unwrap_or(default);
    let flag = |key: &str| h.get(key).and_then(Value::as_bool).unwrap_or(false);
    let weight_decay = weight_decay.unwrap_or_else(|| get("weight_decay", 0.0));
    let lr = get("lr", 0.001);
    match run["optimizer"].as_str().expect("optimizer") {
        "SGD" => Box::new(
            Sgd::new(lr)
                .momentum(get("momentum", 0.0))
                .dampening(get("dampening", 0.0))
                .nesterov(flag("nesterov"))
                .weight_decay(weight_decay),
        ),
        "Adagrad" => Box::new(
            Adagrad::new(lr)
                .lr_decay(get("lr_decay", 0.0))
                .weight_decay(weight_decay)
                .initial_accumulator_value(get("initial_accumulator_value", 0.0))
                .eps(get("eps", 1e-10)),
        ),
        "RMSprop" => Box::new(
            RmsProp::new(lr)
                .alpha(get("alpha", 0.99))
                .eps(get("eps", 1e-8))
                .weight_decay(weight_decay)
                .momentum(get("momentum", 0.0))
                .centered(flag("centered")),
        ),
        kind @ ("Adam" | "AdamW") => {
            let betas = flat(&h["betas"]);
            let base = if kind == "AdamW" { Adam::adamw(lr) } else { Adam::new(lr) };
            Box::new(
                base.betas(betas[0], betas[1])
                    .eps(get("eps", 1e-8))
                    .weight_decay(weight_decay)
                    .amsgrad(flag("amsgrad")),
            )
        }
        other => panic!("unknown optimizer `{other}`"),
    }
}
