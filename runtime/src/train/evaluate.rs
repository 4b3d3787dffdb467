//! Using a model on data: whether data fits it, its outputs and classes,
//! its loss and metrics, R² and MSE, and training with a validation split.

use super::{History, Metrics, TrainConfig, Trainer};
use crate::data::Dataset;
use crate::error::Error;
use crate::loss::Loss;
use crate::model::{Model, Workspace};

/// Checks that `data` fits `model`'s input and output (and labels are in range).
pub fn check_fits(model: &dyn Model, data: &Dataset) -> Result<(), Error> {
    if data.features != model.input_size() {
        return Err(Error::Shape(format!(
            "the data has {} feature columns, but `{}` takes {} inputs",
            data.features,
            model.name(),
            model.input_size()
        )));
    }
    let outputs = model.output_size();
    let loss = model.loss_kind();
    if matches!(loss, Loss::BinaryCrossEntropy | Loss::BinaryCrossEntropyWithLogits) {
        if let Some(index) = data.y.iter().position(|y| !(0.0..=1.0).contains(y)) {
            return Err(Error::data(format!(
                "row {} has the target {}, but `{}` (binary cross-entropy) needs targets in [0, 1]: 0/1 labels or probabilities; \
                 for class labels 0, 1, 2, … give the network one output per class and use `softmax_cross_entropy`",
                index / data.target_width.max(1) + 1,
                data.y[index],
                loss.name()
            )));
        }
    }
    if loss.takes_labels() && data.target_width == 1 {
        return data.check_labels(outputs);
    }
    if data.target_width != outputs {
        return Err(Error::Shape(format!(
            "the data has {} target column{}, but `{}` has {outputs} output{}",
            data.target_width,
            if data.target_width == 1 { "" } else { "s" },
            model.name(),
            if outputs == 1 { "" } else { "s" },
        )));
    }
    Ok(())
}

/// The most rows [`predict`] runs through the model at once (its workspace holds this many).
pub const PREDICT_CHUNK_ROWS: usize = 1024;

/// Outputs of `model` for every row of `x` (`[rows][input]`), [`PREDICT_CHUNK_ROWS`] at a time.
pub fn predict(model: &dyn Model, x: &[f32], workspace: &mut Workspace) -> Vec<f32> {
    predict_chunked(model, x, workspace, PREDICT_CHUNK_ROWS)
}

/// Like [`predict`], `chunk_rows` rows at a time (at least one): the
/// workspace holds that many rows, so memory is bounded by the chunk.
pub fn predict_chunked(model: &dyn Model, x: &[f32], workspace: &mut Workspace, chunk_rows: usize) -> Vec<f32> {
    let chunk_rows = chunk_rows.max(1);
    let input = model.input_size().max(1);
    let output = model.output_size();
    let rows = x.len() / input;
    let mut out = vec![0.0f32; rows * output];
    for (x_chunk, out_chunk) in x.chunks(chunk_rows * input).zip(out.chunks_mut(chunk_rows * output)) {
        model.forward(x_chunk, out_chunk, workspace);
    }
    out
}

/// The class of each output row: argmax for several outputs; for one output,
/// 1 if above the threshold (0.5 for probabilities, 0 for logits).
pub fn classes(loss: Loss, outputs: &[f32], width: usize) -> Vec<usize> {
    if width == 1 {
        let threshold = if loss == Loss::BinaryCrossEntropyWithLogits { 0.0 } else { 0.5 };
        return outputs.iter().map(|o| usize::from(*o > threshold)).collect();
    }
    outputs
        .chunks_exact(width)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, v)| if *v > best.1 { (i, *v) } else { best })
                .0
        })
        .collect()
}

/// The share of `data`'s rows whose class the network `outputs` (`width`
/// per row, from a classifier trained with `loss`) predicts: class labels or
/// one-hot targets for several outputs, 0/1 targets for one.
pub fn accuracy(loss: Loss, outputs: &[f32], width: usize, data: &Dataset) -> f64 {
    let predicted = classes(loss, outputs, width);
    let correct = if data.target_width == 1 && width > 1 {
        predicted.iter().zip(&data.y).filter(|(p, y)| **p as f32 == **y).count()
    } else if width > 1 {
        let truth = classes(Loss::CrossEntropy, &data.y, width);
        predicted.iter().zip(&truth).filter(|(p, t)| p == t).count()
    } else {
        predicted.iter().zip(&data.y).filter(|(p, y)| (**p as f32 - **y).abs() < 0.5).count()
    };
    correct as f64 / data.len().max(1) as f64
}

/// Loss and metrics of `model` on `data` (no dropout), [`PREDICT_CHUNK_ROWS`] rows at a time.
pub fn evaluate(model: &dyn Model, data: &Dataset, workspace: &mut Workspace) -> Metrics {
    evaluate_chunked(model, data, workspace, PREDICT_CHUNK_ROWS)
}

/// Like [`evaluate`], `chunk_rows` rows at a time (at least one). The trainer
/// evaluates in chunks no larger than its batches, so evaluation needs no
/// more workspace than a training step.
pub fn evaluate_chunked(model: &dyn Model, data: &Dataset, workspace: &mut Workspace, chunk_rows: usize) -> Metrics {
    let chunk_rows = chunk_rows.max(1);
    let loss_kind = model.loss_kind();
    let width = model.output_size();
    let outputs = predict_chunked(model, &data.x, workspace, chunk_rows);
    // Mean losses are averaged over chunks weighted by their rows; sums are added up.
    let is_sum = matches!(loss_kind, Loss::Sse | Loss::SseHalf);
    let mut loss = 0.0f64;
    let input = model.input_size().max(1);
    for (x_chunk, y_chunk) in
        data.x.chunks(chunk_rows * input).zip(data.y.chunks(chunk_rows * data.target_width.max(1)))
    {
        let rows = if is_sum { 1 } else { x_chunk.len() / input };
        loss += f64::from(model.loss_and_grad(x_chunk, y_chunk, None, workspace, false)) * rows as f64;
    }
    if !is_sum {
        loss /= data.len().max(1) as f64;
    }
    if loss_kind.is_classification() {
        Metrics { loss, accuracy: Some(accuracy(loss_kind, &outputs, width, data)), r2: None, mse: None }
    } else {
        let (r2, mse) = r2_and_mse(&outputs, &data.y, width);
        Metrics { loss, accuracy: None, r2: Some(r2), mse: Some(mse) }
    }
}

/// R² (mean over output columns of `1 − SS_res/SS_tot`) and mean squared error.
pub fn r2_and_mse(predicted: &[f32], truth: &[f32], width: usize) -> (f64, f64) {
    let width = width.max(1);
    let rows = truth.len() / width;
    let mut r2_sum = 0.0;
    let mut squared = 0.0;
    for column in 0..width {
        let values = (0..rows).map(|r| f64::from(truth[r * width + column]));
        let mean = values.clone().sum::<f64>() / rows.max(1) as f64;
        let total: f64 = values.map(|v| (v - mean).powi(2)).sum();
        let residual: f64 = (0..rows)
            .map(|r| (f64::from(truth[r * width + column]) - f64::from(predicted[r * width + column])).powi(2))
            .sum();
        squared += residual;
        r2_sum += if total > 0.0 { 1.0 - residual / total } else { 0.0 };
    }
    (r2_sum / width as f64, squared / truth.len().max(1) as f64)
}

/// Trains `model` with `config`, holding out `validation_split` of `data`
/// (shuffled with the config's seed) for validation; the whole data set trains when it is 0.
pub fn fit_split(
    model: &mut dyn Model,
    config: &TrainConfig,
    data: &Dataset,
    validation_split: f64,
) -> Result<History, Error> {
    let trainer = Trainer::new(config.clone());
    if validation_split > 0.0 && data.len() > 1 {
        let (train, validation) = data.split(validation_split, config.seed);
        trainer.fit(model, &train, Some(&validation))
    } else {
        trainer.fit(model, data, None)
    }
}
