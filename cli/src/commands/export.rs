//! `nnspec export`: a network and its weights as ONNX.

use super::*;

pub(crate) fn export(
    path: &Path,
    weights: Option<&Path>,
    name: Option<&str>,
    output: &Path,
    probabilities: bool,
) -> Result<ExitCode, Failure> {
    let mut inputs = vec![("the spec", path)];
    inputs.extend(weights.map(|w| ("the weights", w)));
    refuse_overwriting("ONNX output", output, &inputs)?;
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    // A protobuf message, and so an ONNX file with its weights inside, holds at most 2 GiB.
    let weight_bytes = 4 * memory::parameter_count(net) as u64;
    if weight_bytes >= (2u64 << 30) - (1 << 20) {
        return Err(Failure(format!(
            "`{}` has {:.2} GB of weights, more than an ONNX file can hold (2 GiB): export a smaller network",
            net.name,
            weight_bytes as f64 / 1e9
        )));
    }
    memory::check_inference(net, 0)?;
    let mut model = convert::network(net);
    if let Some(weights) = weights.filter(|w| is_int8(w)) {
        let network = nnspec::quant::load(model.plan(), weights)?;
        nnspec::onnx::save_int8(model.plan(), &network, output)?;
        if let Some(node) = nnspec::quant::full_range_weights(&network) {
            tell!(
                "warning: `{node}` has int8 weights past ±{}: x86-64 CPUs without VNNI may compute other outputs from this export (onnxruntime's default session saturates 16-bit sums); quantise the network again with this version of nnspec",
                nnspec::quant::WEIGHT_LIMIT
            );
        }
        say!(
            "{} (int8) written to {} (ONNX opset {}, QuantizeLinear/DequantizeLinear around the float ops)",
            net.name,
            output.display(),
            nnspec::onnx::OPSET
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut standardizer = None;
    if let Some(weights) = weights {
        nnspec::weights::load(&mut model, weights)?;
        standardizer = nnspec::weights::read_standardizer(weights, model.input_size())?;
    }
    nnspec::onnx::save_with(&model, standardizer.as_ref(), probabilities, output)?;
    let takes = if standardizer.is_some() { ", taking raw inputs: the standardisation is in the graph" } else { "" };
    say!("{} written to {} (ONNX opset {}){takes}", net.name, output.display(), nnspec::onnx::OPSET);
    let logits = matches!(net.loss, ir::Loss::SoftmaxCrossEntropy | ir::Loss::BinaryCrossEntropyWithLogits);
    if logits && !probabilities {
        say!(
            "its output is the logits, where `nnspec predict` prints probabilities; `--probabilities` appends the {}",
            if net.loss == ir::Loss::SoftmaxCrossEntropy { "softmax" } else { "sigmoid" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `path` is an int8 weight file (`nnspec quantize`'s).
pub(crate) fn is_int8(path: &Path) -> bool {
    nnspec::weights::read_metadata(path)
        .is_ok_and(|m| m.get("format").map(String::as_str) == Some(nnspec::quant::file::FORMAT))
}
