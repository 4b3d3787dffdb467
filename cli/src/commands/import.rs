//! `nnspec import`: an ONNX model as a `.nn` spec and its weights.

use super::*;
use nnspec_codegen::import::{import, Options, Output};

/// The largest file read: a protobuf message holds at most 2 GiB.
const MAX_BYTES: u64 = 2 << 30;

pub(crate) fn run_import(
    model: &Path,
    output: &Path,
    weights: Option<&Path>,
    name: Option<&str>,
    loss: Option<&str>,
) -> Result<ExitCode, Failure> {
    let weights = weights.map_or_else(|| output.with_extension("safetensors"), Path::to_path_buf);
    refuse_overwriting("spec output", output, &[("the ONNX model", model)])?;
    refuse_overwriting("weight output", &weights, &[("the ONNX model", model), ("the spec output", output)])?;
    let size = std::fs::metadata(model).map_err(|e| Failure(format!("cannot read `{}`: {e}", model.display())))?.len();
    if size > MAX_BYTES {
        return Err(Failure(format!(
            "`{}` is {:.1} GB, more than an ONNX file holds (2 GiB; larger models keep their weights in external files, which nnspec does not read)",
            model.display(),
            size as f64 / 1e9
        )));
    }
    let bytes = read(model)?;
    let mut options = Options::from_path(model);
    if let Some(name) = name {
        options.name = Some(name.to_string());
    }
    options.loss = loss.map(str::to_string);
    let imported = import(&bytes, &options)?;
    nnspec::weights::write_atomically(output, imported.spec.as_bytes())?;
    nnspec::weights::write_atomically(&weights, &imported.weights)?;
    let checked = load(output)?;
    let net = pick(&checked.program, Some(&imported.network), output)?;
    say!(
        "{} (ONNX opset {}) imported as network {}: {} statements, {} parameters",
        options.source,
        imported.opset,
        imported.network,
        imported.statements,
        memory::parameter_count(net)
    );
    say!("  spec:    {}", output.display());
    say!("  weights: {}", weights.display());
    say!("  loss:    {} ({})", imported.loss, imported.loss_reason);
    if imported.output == Output::Exp {
        say!("  note:    the model's output is log-probabilities; `nnspec predict` prints the probabilities");
    }
    Ok(ExitCode::SUCCESS)
}
