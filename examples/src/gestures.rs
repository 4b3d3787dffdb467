//! Sequences: the gesture GRU of `specs/gestures.nn` trained on the
//! `sequence_nets` entry of `references.json` (time-first `[24, 3]` rows),
//! then run as a microcontroller would on a live stream: one accelerometer
//! reading at a time through the generated `step`; and quantised to int8
//! (integer GRU kernels, calibrated on the training rows).

use crate::real_data::split;
use nnspec::train::evaluate;
use nnspec::{TrainConfig, Trainer, Workspace};
use serde_json::Value;
use std::path::Path;

nnspec::include_net!("specs/gestures.nn");

/// What the example reports.
#[derive(Debug, Clone)]
pub struct Report {
    /// Test accuracy of the trained network.
    pub accuracy: f64,
    /// The pass mark of the reference entry.
    pub pass_mark: f64,
    /// For the first test row: the class after each time step of the stream.
    pub stream: Vec<usize>,
    /// The class `predict` gives for that row as a whole.
    pub whole: usize,
    /// Test accuracy of the network quantised to int8.
    pub int8_accuracy: f64,
    /// What int8 inference reads (weights, biases, requantisation constants), in bytes.
    pub int8_bytes: usize,
}

/// Trains `Gestures` on the entry's training rows (its spec's recipe and
/// `seed`), scores the test rows, and streams the first test row.
pub fn run(directory: &Path, entry: &Value, seed: u64) -> Result<Report, String> {
    let (train, test) = split(directory, entry)?;
    if train.features != Gestures::INPUT {
        return Err(format!("the entry's rows have {} values, `Gestures` reads {}", train.features, Gestures::INPUT));
    }
    let mut model = Gestures::with_seed(seed);
    let config = TrainConfig { seed, progress: false, ..Gestures::train_config() };
    Trainer::new(config).fit(&mut model, &train, None).map_err(|e| e.to_string())?;
    let accuracy = evaluate(&model, &test, &mut Workspace::default()).accuracy.ok_or("not a classifier")?;
    let pass_mark = entry["suggested_min_test_accuracy"].as_f64().ok_or("no pass mark")?;
    let row = &test.x[..Gestures::INPUT];
    let argmax = |v: &[f32]| (0..v.len()).fold(0, |best, i| if v[i] > v[best] { i } else { best });
    let mut state = Gestures::initial_state();
    let stream = row
        .chunks_exact(3)
        .map(|reading| argmax(&model.step(&mut state, &reading.try_into().expect("three axes"))))
        .collect();
    let whole = argmax(&model.predict(&row.try_into().expect("a whole row")));
    let int8 = nnspec::quant::quantize(&model, &train.x, None).map_err(|e| e.to_string())?;
    let int8_accuracy = crate::int8::int8_accuracy(&int8, &model, &test);
    Ok(Report { accuracy, pass_mark, stream, whole, int8_accuracy, int8_bytes: int8.weight_bytes() })
}
