//! int8 inference on real data: the reference networks of
//! `datasets/references.json`, trained in f32, quantised after training with
//! the training rows as calibration data, and scored on the test rows in
//! integers ([`nnspec::quant`]).

use crate::real_data::{fit, fit_cnn, Fitted};
use nnspec::quant::{quantize, QNetwork};
use nnspec::train::{accuracy, evaluate};
use nnspec::{Dataset, Model, Workspace};
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

/// Trains the MLP of one classification entry of `references.json`, quantises
/// it (its input standardisation folded into the first layer, so the int8
/// network reads raw rows) and scores both on the test rows.
pub fn mlp(directory: &Path, entry: &Value, seed: u64) -> Result<Comparison, String> {
    let Fitted { model, standardizer, train, test, .. } = fit(directory, entry, seed)?;
    let network = quantize(&model, &train.x, Some(&standardizer)).map_err(|e| e.to_string())?;
    let int8_accuracy = int8_accuracy(&network, &model, &test);
    let mut standardized = test.clone();
    standardizer.apply(&mut standardized);
    let f32_accuracy = evaluate(&model, &standardized, &mut Workspace::default()).accuracy.ok_or("not a classifier")?;
    let f32_bytes = 4 * model.param_count();
    Ok(Comparison { f32_accuracy, int8_accuracy, f32_bytes, int8_bytes: network.weight_bytes() })
}

/// Trains the CNN of one `conv_nets` entry, quantises it on its training rows
/// and scores both on the test rows.
pub fn cnn(directory: &Path, name: &str, entry: &Value, seed: u64) -> Result<Comparison, String> {
    let (model, train, test) = fit_cnn(directory, name, entry, seed)?;
    let network = quantize(model.as_ref(), &train.x, None).map_err(|e| e.to_string())?;
    let int8_accuracy = int8_accuracy(&network, model.as_ref(), &test);
    let f32_accuracy = evaluate(model.as_ref(), &test, &mut Workspace::default()).accuracy.ok_or("not a classifier")?;
    let f32_bytes = 4 * model.param_count();
    Ok(Comparison { f32_accuracy, int8_accuracy, f32_bytes, int8_bytes: network.weight_bytes() })
}
