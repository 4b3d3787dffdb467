//! `nnspec export`: a network and its weights as ONNX.

use super::*;

pub(crate) fn export(
    path: &Path,
    weights: Option<&Path>,
    name: Option<&str>,
    output: &Path,
) -> Result<ExitCode, Failure> {
    let mut inputs = vec![("the spec", path)];
    inputs.extend(weights.map(|w| ("the weights", w)));
    refuse_overwriting("ONNX output", output, &inputs)?;
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let mut model = convert::network(net);
    let mut standardizer = None;
    if let Some(weights) = weights {
        nnspec::weights::load(&mut model, weights)?;
        standardizer = nnspec::weights::read_standardizer(weights, model.input_size())?;
    }
    nnspec::onnx::save_standardized(&model, standardizer.as_ref(), output)?;
    let takes = if standardizer.is_some() { ", taking raw inputs: the standardisation is in the graph" } else { "" };
    say!("{} written to {} (ONNX opset {}){takes}", net.name, output.display(), nnspec::onnx::OPSET);
    Ok(ExitCode::SUCCESS)
}
