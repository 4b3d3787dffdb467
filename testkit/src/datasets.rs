//! The pass-mark entries of `datasets/references.json`, as a test needs them:
//! which entries exist in each group (`datasets`, `conv_nets`,
//! `sequence_nets`), where their CSV is, which column holds the target, the
//! per-sample input shape, the split and the pass mark.
//!
//! A test never names a data set: it asks for every entry that fits what it
//! exercises ([`entries`] with a filter), requires at least one
//! ([`require`], which also says which were used), and builds whatever depends
//! on the data's shape from the entry.

use serde_json::Value;
use std::path::PathBuf;

/// One entry of a group of `references.json`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The group it is in: `datasets`, `conv_nets` or `sequence_nets`.
    pub group: String,
    /// Its key in the group.
    pub name: String,
    /// The entry itself.
    pub value: Value,
}

impl Entry {
    /// The CSV file, under the conformance directory's `datasets/`.
    pub fn csv(&self) -> PathBuf {
        let csv = self.value["csv"].as_str().unwrap_or_else(|| panic!("{}: no `csv`", self.name));
        crate::dir().join("datasets").join(csv)
    }

    /// The header name of the target column (`target` where the entry does not say).
    pub fn target_column(&self) -> String {
        self.value["target_column"].as_str().unwrap_or("target").to_string()
    }

    /// The number of feature columns.
    pub fn n_features(&self) -> usize {
        self.count("n_features")
    }

    /// The number of data rows.
    pub fn n_samples(&self) -> usize {
        self.count("n_samples")
    }

    /// The per-sample input shape: `input_shape` where the entry has one, else `[n_features]`.
    pub fn input_shape(&self) -> Vec<usize> {
        match self.value["input_shape"].as_array() {
            Some(dims) => dims.iter().map(|d| d.as_u64().expect("a dimension") as usize).collect(),
            None => vec![self.n_features()],
        }
    }

    /// True for a classification entry.
    pub fn is_classification(&self) -> bool {
        self.value["task"] == "classification"
    }

    /// The number of classes (classification entries).
    pub fn n_classes(&self) -> usize {
        self.count("n_classes")
    }

    /// The suggested minimum test accuracy or R², whichever the task has.
    pub fn pass_mark(&self) -> f64 {
        let key = if self.is_classification() { "suggested_min_test_accuracy" } else { "suggested_min_test_r2" };
        self.value[key].as_f64().unwrap_or_else(|| panic!("{}: no `{key}`", self.name))
    }

    /// The reference architecture written as a spec named `network`, with the
    /// entry's training recipe as its `train { … }` block.
    pub fn trained_spec(&self, network: &str) -> String {
        crate::graph_spec::trained_spec(&self.value["architecture"], &self.value["training"], network)
            .unwrap_or_else(|e| panic!("{}: {e}", self.name))
    }

    fn count(&self, key: &str) -> usize {
        self.value[key].as_u64().unwrap_or_else(|| panic!("{}: no `{key}`", self.name)) as usize
    }
}

/// Every entry of one group of `datasets/references.json` (string members such as `note` left out).
pub fn entries(group: &str) -> Vec<Entry> {
    let references = crate::json("datasets/references.json");
    let Some(members) = references[group].as_object() else {
        return Vec::new();
    };
    members
        .iter()
        .filter(|(_, value)| value.is_object())
        .map(|(name, value)| Entry { group: group.to_string(), name: name.clone(), value: value.clone() })
        .collect()
}

/// The entries that fit what a test exercises: panics when there is none, and
/// prints which it uses (shown by `cargo test -- --nocapture` and on failure).
pub fn require(what: &str, entries: Vec<Entry>) -> Vec<Entry> {
    assert!(!entries.is_empty(), "references.json has no entry for {what}");
    let names: Vec<String> = entries.iter().map(|e| format!("{}.{}", e.group, e.name)).collect();
    println!("{what}: {}", names.join(", "));
    entries
}

/// Every classification entry of `datasets` (the one-hidden-layer MLP references).
pub fn classification() -> Vec<Entry> {
    require("a classification data set", entries("datasets").into_iter().filter(Entry::is_classification).collect())
}

/// Every `conv_nets` entry whose input has `dims` dimensions (2: `[C, L]`, 3: `[C, H, W]`).
pub fn conv_nets(dims: usize) -> Vec<Entry> {
    require(
        &format!("a CNN on {}-D inputs", dims - 1),
        entries("conv_nets").into_iter().filter(|e| e.input_shape().len() == dims).collect(),
    )
}

/// The spec's `input` statement shape for an entry, as written in a spec: `[2, 32]`.
pub fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// The interpreter for network `network` of a spec's text, initialised with
/// `seed`, and the spec's training settings with that seed (no progress bar).
pub fn interpreter(text: &str, network: &str, seed: u64) -> (nnspec::Interpreter, nnspec::TrainConfig) {
    let program =
        nnspec_lang::check_source(text).unwrap_or_else(|d| panic!("the spec does not check: {d:?}\n{text}")).program;
    let net = program.network(network).unwrap_or_else(|| panic!("no network `{network}` in\n{text}"));
    let mut model = nnspec_cli::convert::network(net);
    nnspec::Model::init_params(&mut model, seed);
    let config = nnspec::TrainConfig { seed, progress: false, ..net.train.run.clone() };
    (model, config)
}

/// `examples/specs/residual.nn` (a residual MLP that standardises its own
/// input in a statement named `scaled`) with the input width and class count
/// of a classification entry.
pub fn residual_spec(entry: &Entry) -> String {
    let text = include_str!("../../examples/specs/residual.nn");
    let text = replace_line(text, "input ", &format!("    input features: [{}];", entry.n_features()));
    replace_line(&text, "dense out:", &format!("    dense out: {};", entry.n_classes()))
}

/// `text` with its first line that starts (after indentation) with `start` replaced by `line`.
fn replace_line(text: &str, start: &str, line: &str) -> String {
    let old = text.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_else(|| panic!("no `{start}` line"));
    text.replacen(old, line, 1)
}

/// `AllConv` of `examples/specs/cnn.nn` (a fully convolutional classifier)
/// with the input shape and class count of an image entry of `conv_nets`.
pub fn all_conv_spec(entry: &Entry) -> String {
    let text = include_str!("../../examples/specs/cnn.nn");
    let start = text.find("network AllConv").expect("cnn.nn has AllConv");
    let network = &text[start..];
    let network = &network[..=network.find("\n}").expect("its closing brace") + 1];
    let network = replace_line(network, "input ", &format!("    input pixels: {};", shape_text(&entry.input_shape())));
    replace_line(&network, "conv2d classes:", &format!("    conv2d classes: {}, kernel = 1;", entry.n_classes()))
}

/// The recurrent classifier of a `sequence_nets` entry: its architecture
/// string names the cell and the hidden units (`gru(3->16, last state) …`),
/// the input shape `[T, F]` and class count come from the entry, and the
/// training recipe is the README's (Adam lr 0.01, batches of 32, 40 epochs,
/// PyTorch's default initialisation).
pub fn sequence_spec(entry: &Entry, network: &str) -> String {
    let architecture = entry.value["architecture"].as_str().unwrap_or("gru(->16)");
    let cell = if architecture.trim_start().starts_with("lstm") { "lstm" } else { "gru" };
    let hidden: usize = architecture
        .split("->")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(16);
    format!(
        "network {network} {{\n    input x: {};\n    {cell} rnn: {hidden};\n    dense fc: {}, init = torch_default, bias_init = torch_default;\n    loss softmax_cross_entropy;\n    train {{ optimizer = adam(lr = 0.01), batch = 32, epochs = 40 }}\n}}\n",
        shape_text(&entry.input_shape()),
        entry.n_classes()
    )
}
