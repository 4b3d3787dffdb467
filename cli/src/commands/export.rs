//! `nnspec export`: a network and its weights as ONNX.

use super::*;

pub(crate) fn export(
    path: &Path,
    weights: Option<&Path>,
    name: Option<&str>,
    output: &Path,
) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let mut model = convert::network(net);
    if let Some(weights) = weights {
        nnspec::weights::load(&mut model, weights)?;
    }
    nnspec::onnx::save(&model, output)?;
    say!("{} written to {} (ONNX opset {})", net.name, output.display(), nnspec::onnx::OPSET);
    Ok(ExitCode::SUCCESS)
}
