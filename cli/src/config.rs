//! Run configurations for `nnspec train --config run.toml`.
//!
//! ```toml
//! spec = "planar.nn"            # relative to this file
//! network = "Planar"            # optional: the only or first network
//! data = "flower.csv"
//! target = "label"              # optional: the last column; a list for several outputs
//! features = ["x1", "x2"]       # optional: every other column
//! standardize = true            # fit on the training rows only
//! validation_split = 0.2        # optional: the spec's
//!
//! [train]                       # overrides of the spec's train block, all optional
//! epochs = 5000
//! lr = 1.2
//! batch = "full"                # or a number
//! seed = 2
//! optimizer = "adam"            # sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw
//!
//! [output]                      # all optional, relative to this file
//! weights = "planar.safetensors"
//! history = "loss.csv"
//! plot = "loss.png"
//!
//! [sweep]                       # optional: one run per value, then a comparison table
//! hidden = [1, 2, 3, 4, 5, 20, 50]   # a layer's units, by layer name
//! # optimizer = ["sgd", "adam"]
//! ```
//!
//! Unknown keys and wrong types are errors naming the key and its line.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A whole run configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The `.nn` file.
    pub spec: PathBuf,
    /// The network in it.
    pub network: Option<String>,
    /// The CSV data.
    pub data: PathBuf,
    /// Target column, or columns for several outputs.
    #[serde(default)]
    pub target: Columns,
    /// Feature columns.
    #[serde(default)]
    pub features: Vec<String>,
    /// Standardise the features (fitted on the training rows).
    #[serde(default)]
    pub standardize: bool,
    /// Validation fraction (overrides the spec's).
    pub validation_split: Option<f64>,
    /// Overrides of the train block.
    #[serde(default)]
    pub train: TrainOverrides,
    /// Output paths.
    #[serde(default)]
    pub output: Outputs,
    /// Values to sweep: `layer = [units…]` or `optimizer = ["sgd", …]`.
    #[serde(default)]
    pub sweep: BTreeMap<String, SweepValues>,
}

/// One column name or a list of them.
#[derive(Debug, Default, Deserialize, Clone, PartialEq)]
#[serde(untagged)]
pub enum Columns {
    /// None given.
    #[default]
    #[serde(skip)]
    None,
    /// One name.
    One(String),
    /// Several names, in order.
    Many(Vec<String>),
}

impl Columns {
    /// The names, in order.
    pub fn names(self) -> Vec<String> {
        match self {
            Columns::None => Vec::new(),
            Columns::One(name) => vec![name],
            Columns::Many(names) => names,
        }
    }
}

/// Overrides of the spec's `train { … }` block.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TrainOverrides {
    /// Epochs.
    pub epochs: Option<usize>,
    /// Learning rate.
    pub lr: Option<f64>,
    /// `"full"` or a size.
    pub batch: Option<Batch>,
    /// Seed.
    pub seed: Option<u64>,
    /// Optimizer by name (PyTorch's defaults for its other settings).
    pub optimizer: Option<String>,
}

/// A batch size: `"full"` or a number.
#[derive(Debug, Clone)]
pub enum Batch {
    /// A number of rows.
    Size(usize),
    /// `"full"`.
    Full(String),
}

impl<'de> Deserialize<'de> for Batch {
    /// A whole number or a word, with a message that says so for anything else
    /// (serde's untagged enums say only "did not match any variant").
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Batch, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Batch;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number of rows or \"full\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Batch, E> {
                usize::try_from(v).map(Batch::Size).map_err(|_| E::custom(format!("a batch of {v} rows is too large")))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Batch, E> {
                u64::try_from(v)
                    .map_err(|_| {
                        E::custom(format!("`batch = {v}`: a batch is a whole number of rows (at least 1) or \"full\""))
                    })
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Batch, E> {
                Err(E::custom(format!("`batch = {v}`: a batch is a whole number of rows or \"full\"")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Batch, E> {
                Ok(Batch::Full(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Where to write results.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Weights (safetensors).
    pub weights: Option<PathBuf>,
    /// Loss history (CSV or JSON).
    pub history: Option<PathBuf>,
    /// Loss curve (PNG).
    pub plot: Option<PathBuf>,
}

/// The values of one swept setting.
#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum SweepValues {
    /// Layer sizes.
    Units(Vec<usize>),
    /// Optimizer names.
    Names(Vec<String>),
}

impl RunConfig {
    /// Reads and validates a configuration file; paths in it become relative to its folder.
    pub fn read(path: &Path) -> Result<RunConfig, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut config: RunConfig =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.to_string().trim_end()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut config.spec);
        resolve(&mut config.data);
        for p in [&mut config.output.weights, &mut config.output.history, &mut config.output.plot].into_iter().flatten()
        {
            resolve(p);
        }
        if let Some(Batch::Full(word)) = &config.train.batch {
            if word != "full" {
                return Err(format!("{}: `train.batch` is a number or \"full\", not {word:?}", path.display()));
            }
        }
        if config.sweep.len() > 1 {
            return Err(format!("{}: `[sweep]` takes one setting at a time", path.display()));
        }
        for (key, values) in &config.sweep {
            let empty = match values {
                SweepValues::Units(units) => units.is_empty(),
                SweepValues::Names(names) => names.is_empty(),
            };
            if empty {
                return Err(format!(
                    "{}: `[sweep] {key}` lists no values, so nothing would train: give at least one (`{key} = [8, 16]`)",
                    path.display()
                ));
            }
        }
        Ok(config)
    }
}
