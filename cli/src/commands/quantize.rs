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
    if model.loss_kind().is_classification() && data.target_width > 0 {
        let mut standardized = data.clone();
        if let Some(s) = &standardizer {
            s.apply(&mut standardized);
        }
        let f32_accuracy =
            evaluate_chunked(&model, &standardized, &mut Workspace::default(), chunk_rows).accuracy.unwrap_or(0.0);
        let outputs: Vec<f32> = data.x.chunks_exact(data.features).flat_map(|row| network.predict(row)).collect();
        let int8_accuracy = nnspec::train::accuracy(model.loss_kind(), &outputs, network.output_size(), &data);
        say!(
            "accuracy on the calibration rows: f32 {:.2}%, int8 {:.2}% (measure on held-out rows with `nnspec predict`)",
            100.0 * f32_accuracy,
            100.0 * int8_accuracy
        );
    }
    Ok(ExitCode::SUCCESS)
}
