//! Trained weights compiled into generated code: a safetensors file is read
//! at compile time, checked against the network (names, shapes, dtype; every
//! difference listed), and located so that `trained()` can decode it from
//! `include_bytes!` without a file at run time (and without `std`).

use nnspec_lang::ir;
use std::path::Path;

/// Where each tensor of a network sits in a weights file.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The network the weights belong to.
    pub network: String,
    /// Absolute path, for `include_bytes!`.
    pub path: String,
    /// The path as the user wrote it, for messages.
    pub display: String,
    /// Per tensor of the network, in buffer order: (offset in the parameters, length, first byte in the file).
    pub tensors: Vec<(usize, usize, usize)>,
    /// Per buffer tensor (running statistics), the same: (offset in the buffers, length, first byte).
    pub buffers: Vec<(usize, usize, usize)>,
    /// The input standardisation the weights were trained with (per-feature
    /// mean and std from the file's metadata), which `predict` then applies.
    pub standardization: Option<Standardization>,
}

/// Per-feature `(x − mean) / std`, as the weights were trained.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardization {
    /// Per-feature means.
    pub mean: Vec<f32>,
    /// Per-feature standard deviations (all positive).
    pub std: Vec<f32>,
}

/// The metadata keys of the input standardisation, as the runtime writes them
/// (`nnspec::weights::STANDARDIZE_KEYS`).
const STANDARDIZE_KEYS: [&str; 2] = ["standardize_mean", "standardize_std"];

/// The standardisation recorded in a weights file's metadata, checked against the network's input width.
fn standardization(bytes: &[u8], inputs: usize, display: &str) -> Result<Option<Standardization>, String> {
    let metadata =
        safetensors::SafeTensors::read_metadata(bytes).ok().and_then(|(_, m)| m.metadata().clone()).unwrap_or_default();
    let (Some(mean), Some(std)) = (metadata.get(STANDARDIZE_KEYS[0]), metadata.get(STANDARDIZE_KEYS[1])) else {
        return Ok(None);
    };
    let parse = |text: &str, what: &str| -> Result<Vec<f32>, String> {
        let values: Vec<f32> = text
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the standardisation {what} in `{display}` is not a list of numbers ({e})"))?;
        if values.len() != inputs || values.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "the standardisation {what} in `{display}` has {} values, the network takes {inputs} inputs",
                values.len()
            ));
        }
        Ok(values)
    };
    let (mean, std) = (parse(mean, "mean")?, parse(std, "std")?);
    if std.iter().any(|s| *s <= 0.0) {
        return Err(format!("the standardisation std in `{display}` has a value that is not positive"));
    }
    Ok(Some(Standardization { mean, std }))
}

/// Reads the safetensors file at `path` and checks it against `net`; the errors
/// list every missing, extra, mis-shaped or mis-typed tensor.
pub fn embed(net: &ir::Network, path: &Path, display: &str) -> Result<Embedded, Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| vec![format!("cannot read weights `{display}`: {e}")])?;
    let file = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
        vec![format!("`{display}` is not a valid safetensors file: {}", nnspec_core::safetensors_problem(&e))]
    })?;
    let recorded = safetensors::SafeTensors::read_metadata(&bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .and_then(|m| m.get("network").cloned());
    if let Some(name) = recorded.filter(|name| *name != net.name) {
        return Err(vec![format!("`{display}` holds the weights of network `{name}`, not `{}`", net.name)]);
    }
    let header = 8 + u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes checked by deserialize")) as usize;
    let mut problems = Vec::new();
    let mut tensors = Vec::new();
    let plan = net.plan();
    let buffer_tensors: Vec<ir::Tensor> = plan
        .buffers
        .iter()
        .map(|b| ir::Tensor {
            name: b.name.clone(),
            node: b.node,
            is_weight: false,
            shape: b.shape.clone(),
            offset: b.range.start,
            len: b.range.len(),
        })
        .collect();
    let mut buffers = Vec::new();
    for (index, tensor) in net.tensors.iter().chain(&buffer_tensors).enumerate() {
        let found = if index < net.tensors.len() { &mut tensors } else { &mut buffers };
        match file.tensor(&tensor.name) {
            Err(_) => problems.push(format!("`{display}` has no tensor `{}` (shape {:?})", tensor.name, tensor.shape)),
            Ok(view) if view.dtype() != safetensors::Dtype::F32 => {
                problems.push(format!("tensor `{}` of `{display}` is {:?}, expected F32", tensor.name, view.dtype()))
            }
            Ok(view) if view.shape() != tensor.shape.as_slice() => problems.push(format!(
                "tensor `{}` of `{display}` has shape {:?}, the spec says {:?}",
                tensor.name,
                view.shape(),
                tensor.shape
            )),
            Ok(view) => {
                let start = view.data().as_ptr() as usize - bytes.as_ptr() as usize;
                debug_assert!(start >= header);
                if view.data().chunks_exact(4).any(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite()) {
                    problems.push(format!("tensor `{}` of `{display}` holds NaN or infinity", tensor.name));
                }
                found.push((tensor.offset, tensor.len, start));
            }
        }
    }
    let mut extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|name| !net.tensors.iter().chain(&buffer_tensors).any(|t| &t.name == *name))
        .map(|name| format!("`{display}` has a tensor `{name}` that `{}` does not", net.name))
        .collect();
    extra.sort();
    problems.extend(extra);
    if !problems.is_empty() {
        return Err(problems);
    }
    let standardization = standardization(&bytes, net.input_size, display).map_err(|e| vec![e])?;
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    Ok(Embedded {
        network: net.name.clone(),
        path: absolute.to_string_lossy().into_owned(),
        display: display.to_string(),
        tensors,
        buffers,
        standardization,
    })
}

/// Whether the file at `path` is an int8 weight file (`nnspec quantize`'s).
pub fn is_int8(path: &Path) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| safetensors::SafeTensors::read_metadata(&bytes).ok().map(|(_, m)| m))
        .and_then(|m| m.metadata().as_ref().and_then(|m| m.get("format").cloned()))
        .is_some_and(|format| format == nnspec_core::quant::file::FORMAT)
}

/// The code of `program` with integer-only inference (`{Network}Int8`) for
/// the network of the int8 weight file at `path`.
pub fn int8_code(
    program: &ir::Program,
    path: &Path,
    display: &str,
    requested: Option<&str>,
) -> Result<proc_macro2::TokenStream, String> {
    let target = target(program, path, requested).map_err(|e| format!("weights `{display}`: {e}"))?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read weights `{display}`: {e}"))?;
    let quantized = nnspec_core::quant::file::from_bytes(&bytes, &target.plan())
        .map_err(|e| format!("the int8 weights `{display}` do not fit network `{}`: {e}", target.name))?;
    let mut code = crate::generate(program);
    code.extend(crate::generate_int8(target, &quantized, display));
    Ok(code)
}

/// The network of `program` that a weights file belongs to: the one named in
/// its metadata (`network`), or the only one.
pub fn target<'a>(program: &'a ir::Program, path: &Path, requested: Option<&str>) -> Result<&'a ir::Network, String> {
    if let Some(name) = requested {
        return program.network(name).ok_or_else(|| format!("the spec has no network `{name}`"));
    }
    let named = std::fs::read(path)
        .ok()
        .and_then(|bytes| safetensors::SafeTensors::read_metadata(&bytes).ok().map(|(_, m)| m))
        .and_then(|m| m.metadata().as_ref().and_then(|m| m.get("network").cloned()));
    if let Some(net) = named.as_deref().and_then(|n| program.network(n)) {
        return Ok(net);
    }
    match program.networks.as_slice() {
        [only] => Ok(only),
        [] => Err("the spec defines no network".into()),
        _ => Err("the spec has several networks: say which with `network = \"Name\"`".into()),
    }
}
