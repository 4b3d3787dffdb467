//! `nnspec quantize`: a trained network's int8 weight file, calibrated on training rows.

use super::*;

pub(crate) fn quantize(
    path: &Path,
    weights: &Path,
    calibration: &Path,
    target: Vec<String>,
    name: Option<&str>,
    output: &Path,
) -> Result<ExitCode, Failure> {
    refuse_overwriting(
        "int8 output",
        output,
        &[("the spec", path), ("the weights", weights), ("the calibration data", calibration)],
    )?;
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let chunk_rows = memory::inference_rows(net, nnspec::train::PREDICT_CHUNK_ROWS)?;
    let mut model = convert::network(net);
    nnspec::weights::load(&mut model, weights)?;
    let standardizer = nnspec::weights::read_standardizer(weights, model.input_size())?;
    let options = CsvOptions {
        target: if target.is_empty() { Target::Last } else { Target::Named(target) },
        features: Vec::new(),
    };
    let data = Dataset::from_csv(calibration, &options)?;
    if data.features != model.input_size() {
        return Err(Failure(format!(
            "`{}` has {} feature columns, but `{}` takes {} inputs (the calibration data has the training data's layout: features, then the target columns; --target names them)",
            calibration.display(),
            data.features,
            net.name,
            model.input_size()
        )));
    }
    let network = nnspec::quant::quantize(&model, &data.x, standardizer.as_ref())?;
    nnspec::quant::save(&network, output)?;
    say!(
        "{} quantised to int8 on {} calibration rows: {} bytes of weights (f32: {}), written to {}",
        net.name,
        data.len(),
        network.weight_bytes(),
        4 * model.param_count(),
        output.display()
    );
    let classifier = model.loss_kind().is_classification();
    if classifier && data.target_width == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    // The calibration rows as the f32 network reads them, and the int8 network's outputs on the raw rows.
    let mut standardized = data.clone();
    if let Some(s) = &standardizer {
        s.apply(&mut standardized);
    }
    let int8_outputs: Vec<f32> = data.x.chunks_exact(data.features).flat_map(|row| network.predict(row)).collect();
    if classifier {
        let f32_accuracy =
            evaluate_chunked(&model, &standardized, &mut Workspace::default(), chunk_rows).accuracy.unwrap_or(0.0);
        let int8_accuracy = nnspec::train::accuracy(model.loss_kind(), &int8_outputs, network.output_size(), &data);
        say!(
            "accuracy on the calibration rows: f32 {:.2}%, int8 {:.2}% (measure on held-out rows with `nnspec predict`)",
            100.0 * f32_accuracy,
            100.0 * int8_accuracy
        );
    } else {
        let f32_outputs = predict_chunked(&model, &standardized.x, &mut Workspace::default(), chunk_rows);
        report_regression(&network, &data, &f32_outputs, &int8_outputs);
    }
    Ok(ExitCode::SUCCESS)
}

/// An output keeping fewer int8 levels than this over its calibration range is warned about.
const FEW_LEVELS: f64 = 32.0;

/// Per output of a regression network, on the calibration rows `data`
/// (`f32_outputs` and `int8_outputs` the two networks' outputs on them): MSE
/// and R² in f32 beside int8 (where the rows have targets), the int8 levels
/// over the range the f32 outputs span, and a warning for an output left few levels.
fn report_regression(network: &nnspec::quant::QNetwork, data: &Dataset, f32_outputs: &[f32], int8_outputs: &[f32]) {
    let width = network.output_size();
    let scales = network.output_scales();
    let column = |values: &[f32], o: usize| values.iter().skip(o).step_by(width).copied().collect::<Vec<f32>>();
    let with_targets = data.target_width == width;
    say!("per output on the calibration rows{}:", if with_targets { " (f32 → int8)" } else { "" });
    for (o, &scale) in scales.iter().enumerate().take(width) {
        let name = data.target_names.get(o).cloned().unwrap_or_else(|| format!("output {o}"));
        let predicted = column(f32_outputs, o);
        let (min, max) = predicted.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let levels = if max >= min { f64::from(max - min) / f64::from(scale) + 1.0 } else { 0.0 };
        let quality = if with_targets {
            let truth = column(&data.y, o);
            let (r2_f32, mse_f32) = nnspec::train::r2_and_mse(&predicted, &truth, 1);
            let (r2_int8, mse_int8) = nnspec::train::r2_and_mse(&column(int8_outputs, o), &truth, 1);
            format!("MSE {mse_f32:.4} → {mse_int8:.4}, R² {r2_f32:.4} → {r2_int8:.4}, ")
        } else {
            String::new()
        };
        say!("  {name}: {quality}{levels:.0} int8 levels over its range [{min:.4}, {max:.4}] (step {scale:.4})");
        if levels < FEW_LEVELS {
            tell!(
                "warning: `{name}` keeps {levels:.0} int8 levels over its calibration range [{min:.4}, {max:.4}] (fewer than {FEW_LEVELS}): an int8 range includes zero, so a narrow range far from zero is coarse; train on that target shifted toward zero (standardised), or keep this network in f32"
            );
        }
    }
}
