//! `nnspec predict`: a trained network's outputs for the rows of a CSV file.

use super::*;

pub(crate) fn run_predict(
    path: &Path,
    weights: &Path,
    data_path: &Path,
    target: Vec<String>,
    name: Option<&str>,
    output: Option<&Path>,
) -> Result<ExitCode, Failure> {
    if let Some(output) = output {
        refuse_overwriting("output", output, &[("the spec", path), ("the weights", weights), ("the data", data_path)])?;
    }
    let target_names = target.clone();
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    // Rows run in chunks of what fits (refused only when one row does not).
    let chunk_rows = memory::inference_rows(net, nnspec::train::PREDICT_CHUNK_ROWS)?;
    let mut model = convert::network(net);
    let quantized = if super::export::is_int8(weights) {
        Some(nnspec::quant::load(model.plan(), weights)?)
    } else {
        nnspec::weights::load(&mut model, weights)?;
        None
    };
    let options = CsvOptions {
        target: if target.is_empty() { Target::None } else { Target::Named(target) },
        features: Vec::new(),
    };
    let mut data = Dataset::from_csv(data_path, &options)?;
    if data.features != model.input_size() {
        // A column that looks like the labels is named in the hint.
        let labels: Vec<&str> = data
            .feature_names
            .iter()
            .map(String::as_str)
            .filter(|n| ["label", "labels", "target", "class", "y"].contains(&n.to_lowercase().as_str()))
            .collect();
        let hint = match labels.as_slice() {
            [one] if data.features == model.input_size() + 1 => format!("use --target {one} to leave it out"),
            _ => "use --target to leave out a label column".to_string(),
        };
        return Err(Failure(format!(
            "`{}` has {} feature columns, but `{}` takes {} inputs ({hint})",
            data_path.display(),
            data.features,
            net.name,
            model.input_size()
        )));
    }
    let outputs = match &quantized {
        // An int8 network reads raw rows: its standardisation is part of its input's quantisation.
        Some(network) => data.x.chunks_exact(data.features.max(1)).flat_map(|row| network.predict(row)).collect(),
        None => {
            if let Some(standardizer) = nnspec::weights::read_standardizer(weights, model.input_size())? {
                standardizer.apply(&mut data);
            }
            predict_chunked(&model, &data.x, &mut Workspace::default(), chunk_rows)
        }
    };
    // A NaN or infinite output is no prediction: say which row, print nothing.
    let width = model.output_size().max(1);
    if let Some(index) = outputs.iter().position(|v| !v.is_finite()) {
        let row = index / width;
        let largest = data.x[row * data.features..(row + 1) * data.features].iter().fold(0.0f32, |m, v| m.max(v.abs()));
        return Err(Failure(format!(
            "`{}` row {} (line {}): `{}` computes {} from it; its values (largest magnitude {largest:e}) or the weights in `{}` are too large for f32 arithmetic",
            data_path.display(),
            row + 1,
            row + 2,
            net.name,
            outputs[index],
            weights.display()
        )));
    }
    let (header, rows) = table(&model, &outputs, &target_names);
    let mut text = header.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    match output {
        Some(out) => nnspec::weights::write_atomically(out, text.as_bytes())?,
        None => write_stdout(&text, false),
    }
    Ok(ExitCode::SUCCESS)
}

/// The columns `predict` prints and one row of them per sample. A classifier
/// shows probabilities (a softmax or sigmoid of its logits when its loss takes
/// logits) and, with one label per sample, the predicted class; a regression
/// shows its outputs, named after the target columns when they were given,
/// else after the output layer.
fn table(model: &dyn Model, outputs: &[f32], targets: &[String]) -> (Vec<String>, Vec<Vec<String>>) {
    use nnspec::Loss;
    let width = model.output_size().max(1);
    let loss = model.loss_kind();
    let layer = model
        .nodes()
        .iter()
        .rev()
        .find(|n| matches!(n.op, nnspec::Op::Dense { .. }))
        .map_or("output".to_string(), |n| n.name.to_string());
    let numbered = |prefix: &str| -> Vec<String> {
        if width == 1 {
            vec![prefix.to_string()]
        } else {
            (0..width).map(|i| format!("{prefix}_{i}")).collect()
        }
    };
    let (mut header, values): (Vec<String>, Vec<f32>) = match loss {
        Loss::SoftmaxCrossEntropy | Loss::CrossEntropy => {
            let mut probabilities = outputs.to_vec();
            if loss == Loss::SoftmaxCrossEntropy {
                for (row, logits) in probabilities.chunks_exact_mut(width).zip(outputs.chunks_exact(width)) {
                    nnspec::activation::softmax_row(logits, row);
                }
            }
            (numbered("probability"), probabilities)
        }
        Loss::BinaryCrossEntropyWithLogits => {
            (numbered("probability"), outputs.iter().map(|z| nnspec::activation::sigmoid(*z)).collect())
        }
        Loss::BinaryCrossEntropy => (numbered("probability"), outputs.to_vec()),
        Loss::Mse | Loss::Sse | Loss::SseHalf if targets.len() == width => (targets.to_vec(), outputs.to_vec()),
        Loss::Mse | Loss::Sse | Loss::SseHalf => (numbered(&layer), outputs.to_vec()),
    };
    // One class per sample: argmax of a softmax, or a single sigmoid's threshold.
    // Several sigmoid outputs are independent labels, shown as probabilities only.
    let one_label = loss.takes_labels() || (loss.is_classification() && width == 1);
    let classes = one_label.then(|| nnspec::train::classes(loss, outputs, width));
    if classes.is_some() {
        header.push("class".into());
    }
    let rows = values
        .chunks_exact(width)
        .enumerate()
        .map(|(row, values)| {
            let mut cells: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            if let Some(classes) = &classes {
                cells.push(classes[row].to_string());
            }
            cells
        })
        .collect();
    (header, rows)
}
