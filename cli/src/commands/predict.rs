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
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let mut model = convert::network(net);
    nnspec::weights::load(&mut model, weights)?;
    let options = CsvOptions {
        target: if target.is_empty() { Target::None } else { Target::Named(target) },
        features: Vec::new(),
    };
    let mut data = Dataset::from_csv(data_path, &options)?;
    if data.features != model.input_size() {
        return Err(Failure(format!(
            "`{}` has {} feature columns, but `{}` takes {} inputs (use --target to leave out a label column)",
            data_path.display(),
            data.features,
            net.name,
            model.input_size()
        )));
    }
    if let Some(standardizer) = nnspec::weights::read_standardizer(weights, model.input_size())? {
        standardizer.apply(&mut data);
    }
    let outputs = predict(&model, &data.x, &mut Workspace::default());
    let width = model.output_size();
    let loss = model.loss_kind();
    let classes = loss.is_classification().then(|| nnspec::train::classes(loss, &outputs, width));
    let mut text = (0..width).map(|i| format!("output{i}")).collect::<Vec<_>>().join(",");
    if classes.is_some() {
        text.push_str(",class");
    }
    text.push('\n');
    for (row, values) in outputs.chunks_exact(width).enumerate() {
        text.push_str(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
        if let Some(classes) = &classes {
            text.push_str(&format!(",{}", classes[row]));
        }
        text.push('\n');
    }
    match output {
        Some(out) => nnspec::weights::write_atomically(out, text.as_bytes())?,
        None => write_stdout(&text, false),
    }
    Ok(ExitCode::SUCCESS)
}
