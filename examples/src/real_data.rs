//! Seed 001 on real data: classification (iris, breast cancer, digits) with
//! softmax cross-entropy and regression (friedman1) with mean squared error,
//! on the fixed splits of `datasets/references.json`: standardisation fitted on
//! the training rows only, one hidden ReLU layer of the reference width, Adam.
//!
//! The networks are built at run time with [`nnspec::Interpreter`] because their widths
//! come from the reference file.

use nnspec::data::{CsvOptions, Standardizer};
use nnspec::train::{evaluate, predict, r2_and_mse};
use nnspec::{
    Activation, Dataset, Init, Interpreter, Loss, Model, Node, Op, OptimizerConfig, ParamSettings, TrainConfig,
    Trainer, Workspace,
};
use serde_json::Value;
use std::path::Path;

/// The outcome on the test rows.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// Test accuracy (classification).
    pub accuracy: Option<f64>,
    /// Test R² on the original target scale (regression).
    pub r2: Option<f64>,
    /// The pass mark of the reference file.
    pub pass_mark: f64,
}

fn indices(entry: &Value, key: &str) -> Result<Vec<usize>, String> {
    entry[key]
        .as_array()
        .ok_or_else(|| format!("`{key}` is missing"))?
        .iter()
        .map(|v| v.as_u64().map(|i| i as usize).ok_or_else(|| format!("`{key}` holds a non-index")))
        .collect()
}

/// A reference network trained on the training rows of one data set.
pub struct Fitted {
    /// The trained network (it reads standardised rows).
    pub model: Interpreter,
    /// The standardisation fitted on the training rows.
    pub standardizer: Standardizer,
    /// The training rows, raw.
    pub train: Dataset,
    /// The test rows, raw.
    pub test: Dataset,
    /// The regression target's mean and standard deviation (the network predicts it standardised).
    pub target: Option<(f32, f32)>,
}

/// Trains the reference architecture (PyTorch's default initialisation) on
/// one entry of `references.json`: standardisation fitted on the training
/// rows, Adam lr 0.01, full batch; 300 steps for classification, 50 for
/// regression (on the standardised target).
pub fn fit(directory: &Path, entry: &Value, seed: u64) -> Result<Fitted, String> {
    let csv = directory.join(entry["csv"].as_str().ok_or("`csv` is missing")?);
    let data = Dataset::from_csv(&csv, &CsvOptions::default()).map_err(|e| e.to_string())?;
    let train = data.subset(&indices(entry, "train_indices")?).map_err(|e| e.to_string())?;
    let test = data.subset(&indices(entry, "test_indices")?).map_err(|e| e.to_string())?;
    let standardizer = Standardizer::fit(&train);
    let hidden = entry["hidden_units"].as_u64().ok_or("`hidden_units` is missing")? as usize;
    let classification = entry["task"] == "classification";
    let outputs =
        if classification { entry["n_classes"].as_u64().ok_or("`n_classes` is missing")? as usize } else { 1 };
    let loss = if classification { Loss::SoftmaxCrossEntropy } else { Loss::Mse };
    // PyTorch's default initialisation, as the references were trained.
    let torch =
        ParamSettings { init: Some(Init::TorchDefault), bias_init: Some(Init::TorchDefault), ..Default::default() };
    // The input is `x`, as the specs of `bench/specs/` name it (an int8 file names its tensors after the nodes).
    let nodes = vec![
        Node::new("x", Op::Input, &[], train.features),
        Node::dense("hidden", 0, hidden, Activation::Relu).with_params(torch),
        Node::dense("out", 1, outputs, Activation::Identity).with_params(torch),
    ];
    let mut model = Interpreter::graph("reference", nodes, loss).map_err(|e| e.to_string())?;
    model.init_params(seed);
    let (epochs, target) = if classification {
        (300, None)
    } else {
        let mean = train.y.iter().map(|v| f64::from(*v)).sum::<f64>() / train.len() as f64;
        let std = (train.y.iter().map(|v| (f64::from(*v) - mean).powi(2)).sum::<f64>() / train.len() as f64).sqrt();
        (50, Some((mean as f32, if std == 0.0 { 1.0 } else { std as f32 })))
    };
    let mut scaled = train.clone();
    standardizer.apply(&mut scaled);
    if let Some((mean, std)) = target {
        scaled.y.iter_mut().for_each(|v| *v = (*v - mean) / std);
    }
    let config = TrainConfig {
        optimizer: OptimizerConfig::adam(0.01),
        batch: None,
        epochs,
        seed,
        shuffle: false,
        ..TrainConfig::default()
    };
    Trainer::new(config).fit(&mut model, &scaled, None).map_err(|e| e.to_string())?;
    Ok(Fitted { model, standardizer, train, test, target })
}

/// Trains the reference architecture on one entry of `references.json` (see [`fit`]) and scores the test rows.
pub fn run(directory: &Path, entry: &Value, seed: u64) -> Result<Outcome, String> {
    let Fitted { model, standardizer, mut test, target, .. } = fit(directory, entry, seed)?;
    standardizer.apply(&mut test);
    let mut workspace = Workspace::default();
    match target {
        None => {
            let accuracy = evaluate(&model, &test, &mut workspace).accuracy;
            let pass_mark = entry["suggested_min_test_accuracy"].as_f64().ok_or("no pass mark")?;
            Ok(Outcome { accuracy, r2: None, pass_mark })
        }
        Some((mean, std)) => {
            let predicted: Vec<f32> = predict(&model, &test.x, &mut workspace).iter().map(|v| v * std + mean).collect();
            let (r2, _) = r2_and_mse(&predicted, &test.y, 1);
            let pass_mark = entry["suggested_min_test_r2"].as_f64().ok_or("no pass mark")?;
            Ok(Outcome { accuracy: None, r2: Some(r2), pass_mark })
        }
    }
}

/// The CNNs of `references.json`'s `conv_nets` (compiled from `specs/cnn.nn`).
pub mod cnn {
    include!(concat!(env!("OUT_DIR"), "/cnn.rs"));
}

/// The training and test rows of one pass-mark entry of `references.json`
/// (`conv_nets` or `sequence_nets`): its `csv`, `target_column` and split,
/// standardised (statistics of the training rows) where its `preprocessing`
/// says so.
pub fn split(directory: &Path, entry: &Value) -> Result<(Dataset, Dataset), String> {
    use nnspec::data::Target;
    let csv = directory.join(entry["csv"].as_str().ok_or("`csv` is missing")?);
    let target = entry["target_column"].as_str().ok_or("`target_column` is missing")?;
    let options = CsvOptions { target: Target::Named(vec![target.to_string()]), ..CsvOptions::default() };
    let data = Dataset::from_csv(&csv, &options).map_err(|e| e.to_string())?;
    let mut train = data.subset(&indices(entry, "train_indices")?).map_err(|e| e.to_string())?;
    let mut test = data.subset(&indices(entry, "test_indices")?).map_err(|e| e.to_string())?;
    if entry["preprocessing"]["kind"] == "standardize" {
        let standardizer = Standardizer::fit(&train);
        standardizer.apply(&mut train);
        standardizer.apply(&mut test);
    }
    Ok((train, test))
}

/// The CNN that `specs/cnn.nn` holds for a `conv_nets` entry of the visible
/// reference set (`digits_8x8_cnn`, `signals_cnn`), with its spec's training
/// settings and the seed. Other entries (other data, other input shapes) are
/// written from their `architecture` by whoever trains them.
pub fn example_cnn(name: &str, seed: u64) -> Option<(Box<dyn Model>, TrainConfig)> {
    let progress = false;
    match name {
        "digits_8x8_cnn" => Some((
            Box::new(cnn::DigitsCnn::with_seed(seed)),
            TrainConfig { seed, progress, ..cnn::DigitsCnn::train_config() },
        )),
        "signals_cnn" => Some((
            Box::new(cnn::SignalsCnn::with_seed(seed)),
            TrainConfig { seed, progress, ..cnn::SignalsCnn::train_config() },
        )),
        _ => None,
    }
}

/// Trains `model` with `config` on the training rows of one `conv_nets` (or
/// `sequence_nets`) entry of `references.json` (see [`split`]). Returns the
/// network and the training and test rows as it reads them.
pub fn fit_cnn(
    directory: &Path,
    entry: &Value,
    mut model: Box<dyn Model>,
    config: TrainConfig,
) -> Result<(Box<dyn Model>, Dataset, Dataset), String> {
    let (train, test) = split(directory, entry)?;
    Trainer::new(config).fit(model.as_mut(), &train, None).map_err(|e| e.to_string())?;
    Ok((model, train, test))
}

/// Trains a CNN on one `conv_nets` entry (see [`fit_cnn`]) and scores the test rows.
pub fn run_cnn(directory: &Path, entry: &Value, model: Box<dyn Model>, config: TrainConfig) -> Result<Outcome, String> {
    let (model, _, test) = fit_cnn(directory, entry, model, config)?;
    let pass_mark = entry["suggested_min_test_accuracy"].as_f64().ok_or("no pass mark")?;
    let accuracy = evaluate(model.as_ref(), &test, &mut Workspace::default()).accuracy;
    Ok(Outcome { accuracy, r2: None, pass_mark })
}

/// The residual MLP of `specs/residual.nn`.
pub mod residual {
    include!(concat!(env!("OUT_DIR"), "/residual.rs"));
}

/// Trains a residual MLP that standardises its own input (a `standardize`
/// statement named `scaled`, as in `specs/residual.nn`) on the raw training
/// rows of one classification entry of `references.json`'s `datasets`, and
/// scores the raw test rows. Returns the outcome and the per-feature mean and
/// standard deviation the network learned.
pub fn run_residual(
    directory: &Path,
    entry: &Value,
    mut model: Box<dyn Model>,
    config: TrainConfig,
) -> Result<(Outcome, Vec<f32>, Vec<f32>), String> {
    let csv = directory.join(entry["csv"].as_str().ok_or("`csv` is missing")?);
    let data = Dataset::from_csv(&csv, &CsvOptions::default()).map_err(|e| e.to_string())?;
    let train = data.subset(&indices(entry, "train_indices")?).map_err(|e| e.to_string())?;
    let test = data.subset(&indices(entry, "test_indices")?).map_err(|e| e.to_string())?;
    Trainer::new(config).fit(model.as_mut(), &train, None).map_err(|e| e.to_string())?;
    let accuracy = evaluate(model.as_ref(), &test, &mut Workspace::default()).accuracy;
    let pass_mark = entry["suggested_min_test_accuracy"].as_f64().ok_or("no pass mark")?;
    let statistics = |name: &str| -> Result<Vec<f32>, String> {
        let tensor =
            model.buffer_tensors().iter().find(|b| b.name == name).ok_or_else(|| {
                format!("the network has no buffer `{name}`: does it standardise its input as `scaled`?")
            })?;
        Ok(model.buffers()[tensor.range()].to_vec())
    };
    Ok((Outcome { accuracy, r2: None, pass_mark }, statistics("scaled.mean")?, statistics("scaled.std")?))
}
