//! int8 inference on real data: the reference networks of
//! `datasets/references.json`, trained in f32, quantised after training with
//! the training rows as calibration data, and scored on the test rows in
//! integers ([`nnspec::quant`]).

use crate::real_data::{fit, fit_cnn, Fitted};
use nnspec::quant::{quantize, QNetwork};
use nnspec::train::{accuracy, evaluate};
use nnspec::{Dataset, Model, TrainConfig, Workspace};
use serde_json::Value;
use std::path::Path;

/// Test accuracy of one network in f32 and in int8, and its weight bytes.
#[derive(Debug, Clone, Copy)]
pub struct Comparison {
    /// The f32 network's test accuracy.
    pub f32_accuracy: f64,
    /// The int8 network's test accuracy.
    pub int8_accuracy: f64,
    /// Parameter bytes in f32.
    pub f32_bytes: usize,
    /// What integer inference reads (weights, biases, requantisation, tables).
    pub int8_bytes: usize,
}

/// The int8 network's accuracy on `data`'s rows (f32 rows in, through [`QNetwork::predict`]).
pub fn int8_accuracy(network: &QNetwork, model: &dyn Model, data: &Dataset) -> f64 {
    let width = network.output_size();
    let outputs: Vec<f32> = data.x.chunks_exact(data.features).flat_map(|row| network.predict(row)).collect();
    accuracy(model.loss_kind(), &outputs, width, data)
}

/// A reference network trained in f32 and quantised on its training rows.
pub struct Quantized {
    /// The f32 network.
    pub model: Box<dyn Model>,
    /// Its int8 form.
    pub network: QNetwork,
    /// The test rows as the int8 network reads them (raw: its standardisation is in its input's quantisation).
    pub test: Dataset,
    /// The test rows as the f32 network reads them.
    pub f32_test: Dataset,
}

impl Quantized {
    /// Test accuracy in f32 and int8, and the weight bytes of each.
    pub fn compare(&self) -> Result<Comparison, String> {
        let model = self.model.as_ref();
        let f32_accuracy =
            evaluate(model, &self.f32_test, &mut Workspace::default()).accuracy.ok_or("not a classifier")?;
        Ok(Comparison {
            f32_accuracy,
            int8_accuracy: int8_accuracy(&self.network, model, &self.test),
            f32_bytes: 4 * model.param_count(),
            int8_bytes: self.network.weight_bytes(),
        })
    }
}

/// Trains the MLP of one classification entry of `references.json` and
/// quantises it (its input standardisation folded into the input's
/// quantisation, so the int8 network reads raw rows).
pub fn quantize_mlp(directory: &Path, entry: &Value, seed: u64) -> Result<Quantized, String> {
    let Fitted { model, standardizer, train, test, .. } = fit(directory, entry, seed)?;
    let network = quantize(&model, &train.x, Some(&standardizer)).map_err(|e| e.to_string())?;
    let mut f32_test = test.clone();
    standardizer.apply(&mut f32_test);
    Ok(Quantized { model: Box::new(model), network, test, f32_test })
}

/// Trains `model` on one `conv_nets` entry (see [`fit_cnn`]) and quantises it on its training rows.
pub fn quantize_cnn(
    directory: &Path,
    entry: &Value,
    model: Box<dyn Model>,
    config: TrainConfig,
) -> Result<Quantized, String> {
    let (model, train, test) = fit_cnn(directory, entry, model, config)?;
    let network = quantize(model.as_ref(), &train.x, None).map_err(|e| e.to_string())?;
    Ok(Quantized { model, network, f32_test: test.clone(), test })
}

/// [`quantize_mlp`], scored.
pub fn mlp(directory: &Path, entry: &Value, seed: u64) -> Result<Comparison, String> {
    quantize_mlp(directory, entry, seed)?.compare()
}

/// [`quantize_cnn`], scored.
pub fn cnn(directory: &Path, entry: &Value, model: Box<dyn Model>, config: TrainConfig) -> Result<Comparison, String> {
    quantize_cnn(directory, entry, model, config)?.compare()
}
