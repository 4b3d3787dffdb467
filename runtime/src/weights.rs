//! Weight files: safetensors (readable by Python's `safetensors`, one tensor per
//! spec tensor, named `layer.weight` `[in, out]` and `layer.bias` `[out]`, a
//! convolution's `weight` `[out][in/groups][k…]` as PyTorch lays it out, a
//! normalisation's γ and β as `weight` and `bias`, and a batch normalisation's
//! buffers `running_mean`, `running_var` `[C]` and `num_batches_tracked` `[]`;
//! dtype F32) and JSON through serde. Loading checks names, shapes and dtype against
//! the network and lists every difference. Writes are atomic: a temporary file
//! in the same directory, fsync, then rename, so a crash leaves the previous
//! file intact.
//!
//! ```
//! use nnspec::Model;
//! nnspec::net! {
//!     network Tiny {
//!         input x: [2];
//!         dense out: 1;
//!         loss mse;
//!     }
//! }
//! let tiny = Tiny::new();
//! let path = std::env::temp_dir().join("tiny-doc.safetensors");
//! nnspec::weights::save(&tiny, &path)?;
//! let mut loaded = Tiny::zeroed();
//! nnspec::weights::load(&mut loaded, &path)?;
//! assert_eq!(loaded.params(), tiny.params());
//! # Ok::<(), nnspec::Error>(())
//! ```

use crate::error::Error;
use crate::model::{Model, TensorInfo};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync,
/// rename. A symbolic link is written through (its target is replaced, the link
/// stays), and a file that is there keeps its permissions. Hard links to the
/// old file keep the old contents: the rename that makes the write atomic gives
/// the path a new file. A temporary file left by a process that was killed
/// while writing to the same place (`.NAME.tmpPID`, its process gone) is
/// removed (on systems with `/proc`).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(path).map_err(io)?,
        _ => path.to_path_buf(),
    };
    // A device or a pipe (`/dev/null`, `/dev/stdout`, a FIFO) is written
    // through, never replaced by a regular file.
    if std::fs::metadata(&target).is_ok_and(|meta| !meta.is_file() && !meta.is_dir()) {
        let mut file = std::fs::OpenOptions::new().write(true).open(&target).map_err(io)?;
        return file.write_all(bytes).and_then(|()| file.flush()).map_err(io);
    }
    let directory = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "weights".into());
    remove_stale_temporaries(&directory, &file_name);
    let temporary = directory.join(format!(".{file_name}.tmp{}", std::process::id()));
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, &target)?;
        if let Ok(dir) = std::fs::File::open(&directory) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.map_err(io)
}

/// Removes `.NAME.tmpPID` files in `directory` whose process no longer runs.
fn remove_stale_temporaries(directory: &Path, file_name: &str) {
    let processes = Path::new("/proc");
    if !processes.is_dir() {
        return;
    }
    let prefix = format!(".{file_name}.tmp");
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) && !processes.join(pid).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The bytes of a safetensors file holding `params` laid out as `tensors`.
pub fn to_safetensors(network: &str, tensors: &[TensorInfo], params: &[f32]) -> Result<Vec<u8>, Error> {
    to_safetensors_with(network, tensors, params, &[])
}

/// [`to_safetensors`] with extra `metadata` entries (string keys and values).
pub fn to_safetensors_with(
    network: &str,
    tensors: &[TensorInfo],
    params: &[f32],
    metadata: &[(String, String)],
) -> Result<Vec<u8>, Error> {
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|t| params[t.range()].iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            TensorView::new(Dtype::F32, t.shape.to_vec(), data)
                .map(|view| (t.name.to_string(), view))
                .map_err(|e| Error::Weights(e.to_string()))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut entries = std::collections::HashMap::from([
        ("format".to_string(), "nnspec".to_string()),
        ("network".to_string(), network.to_string()),
    ]);
    entries.extend(metadata.iter().cloned());
    let metadata = Some(entries);
    safetensors::serialize(views, &metadata).map_err(|e| Error::Weights(e.to_string()))
}

/// Reads the parameters of a network laid out as `tensors` from safetensors bytes,
/// listing every missing, extra, mis-shaped or mis-typed tensor.
pub fn from_safetensors(bytes: &[u8], tensors: &[TensorInfo], param_count: usize) -> Result<Vec<f32>, Error> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::Weights(format!("not a valid safetensors file: {}", nnspec_core::safetensors_problem(&e)))
    })?;
    let int8 = SafeTensors::read_metadata(bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .is_some_and(|m| m.get("format").map(String::as_str) == Some(nnspec_core::quant::file::FORMAT));
    if int8 {
        return Err(Error::Weights(
            "this is an int8 weight file (from `nnspec quantize`): `nnspec predict` and `nnspec::quant::load` read it, not an f32 network".into(),
        ));
    }
    let mut problems = Vec::new();
    let mut params = vec![0.0f32; param_count];
    for tensor in tensors {
        match file.tensor(&tensor.name) {
            Err(_) => problems.push(format!("missing tensor `{}` of shape {:?}", tensor.name, tensor.shape)),
            Ok(view) if view.dtype() != Dtype::F32 => {
                problems.push(format!("tensor `{}` has dtype {:?}, expected F32", tensor.name, view.dtype()))
            }
            Ok(view) if view.shape() != &tensor.shape[..] => problems.push(format!(
                "tensor `{}` has shape {:?}, expected {:?}",
                tensor.name,
                view.shape(),
                tensor.shape
            )),
            Ok(view) => {
                for (p, chunk) in params[tensor.range()].iter_mut().zip(view.data().chunks_exact(4)) {
                    *p = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                }
            }
        }
    }
    let mut extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|name| !tensors.iter().any(|t| t.name == **name))
        .map(|name| format!("unexpected tensor `{name}`"))
        .collect();
    extra.sort();
    problems.extend(extra);
    if !problems.is_empty() {
        return Err(Error::Weights(format!("the file does not match the network: {}", problems.join("; "))));
    }
    if let Some(tensor) = tensors.iter().find(|t| params[t.range()].iter().any(|v| !v.is_finite())) {
        return Err(Error::Weights(format!("tensor `{}` holds NaN or infinity", tensor.name)));
    }
    Ok(params)
}

/// Every tensor a weights file holds for `model`: its parameters, then its
/// buffers (running statistics) laid out after them, with the values in one
/// flat vector in that layout.
fn stored(model: &dyn Model) -> (Vec<TensorInfo>, Vec<f32>) {
    let mut tensors = model.tensors().to_vec();
    let count = model.param_count();
    tensors.extend(model.buffer_tensors().iter().map(|b| TensorInfo {
        name: b.name.clone(),
        shape: b.shape.clone(),
        offset: count + b.offset,
        node: 0,
        role: None,
        init: crate::init::Init::Zeros,
        fans: (0, 0),
        l1: 0.0,
        l2: 0.0,
    }));
    let mut values = model.params().to_vec();
    values.extend_from_slice(model.buffers());
    (tensors, values)
}

/// Saves `model`'s parameters (and buffers) as safetensors, atomically.
pub fn save(model: &dyn Model, path: impl AsRef<Path>) -> Result<(), Error> {
    save_with_metadata(model, path, &[])
}

/// The safetensors bytes of `model`'s parameters and buffers (a batch
/// normalisation's `running_mean`, `running_var` and `num_batches_tracked`,
/// all F32, the counter of shape `[]`), with extra metadata entries.
pub fn model_bytes(model: &dyn Model, metadata: &[(String, String)]) -> Result<Vec<u8>, Error> {
    let (tensors, values) = stored(model);
    to_safetensors_with(model.name(), &tensors, &values, metadata)
}

/// Saves `model`'s parameters with extra metadata entries, atomically.
pub fn save_with_metadata(
    model: &dyn Model,
    path: impl AsRef<Path>,
    metadata: &[(String, String)],
) -> Result<(), Error> {
    write_atomically(path.as_ref(), &model_bytes(model, metadata)?)
}

/// The metadata entries of a safetensors file.
pub fn read_metadata(path: impl AsRef<Path>) -> Result<std::collections::HashMap<String, String>, Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let (_, metadata) = SafeTensors::read_metadata(&bytes).map_err(|e| {
        Error::Weights(format!(
            "{}: not a valid safetensors file: {}",
            path.display(),
            nnspec_core::safetensors_problem(&e)
        ))
    })?;
    Ok(metadata.metadata().clone().unwrap_or_default())
}

/// The metadata keys under which a weights file keeps the input standardisation
/// its network was trained with (JSON arrays of per-feature means and standard deviations).
pub const STANDARDIZE_KEYS: [&str; 2] = ["standardize_mean", "standardize_std"];

/// The metadata entries that record `standardizer`, for [`save_with_metadata`].
pub fn standardizer_metadata(standardizer: &crate::data::Standardizer) -> Vec<(String, String)> {
    let json = |values: &[f32]| format!("[{}]", values.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(","));
    vec![
        (STANDARDIZE_KEYS[0].to_string(), json(&standardizer.mean)),
        (STANDARDIZE_KEYS[1].to_string(), json(&standardizer.std)),
    ]
}

/// The input standardisation recorded in the weights file at `path`, if any,
/// checked against the network's `inputs`.
pub fn read_standardizer(path: impl AsRef<Path>, inputs: usize) -> Result<Option<crate::data::Standardizer>, Error> {
    let path = path.as_ref();
    let metadata = read_metadata(path)?;
    let (Some(mean), Some(std)) = (metadata.get(STANDARDIZE_KEYS[0]), metadata.get(STANDARDIZE_KEYS[1])) else {
        return Ok(None);
    };
    let parse = |text: &str, what: &str| -> Result<Vec<f32>, Error> {
        let values: Vec<f32> = serde_json::from_str(text).map_err(|e| {
            Error::Weights(format!("{}: the standardisation's {what} is not a list of numbers ({e})", path.display()))
        })?;
        if values.len() != inputs || values.iter().any(|v| !v.is_finite()) {
            return Err(Error::Weights(format!(
                "{}: the standardisation's {what} has {} finite values of the {inputs} the network takes",
                path.display(),
                values.iter().filter(|v| v.is_finite()).count()
            )));
        }
        Ok(values)
    };
    let standardizer = crate::data::Standardizer { mean: parse(mean, "mean")?, std: parse(std, "std")? };
    if standardizer.std.iter().any(|s| *s <= 0.0) {
        return Err(Error::Weights(format!("{}: the standardisation has a std that is not positive", path.display())));
    }
    Ok(Some(standardizer))
}

/// Loads safetensors parameters (and buffers) into `model`; on any mismatch the model is unchanged.
pub fn load(model: &mut dyn Model, path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    // A file names the network it holds (as int8 files do): weights of another
    // network with the same tensor names would load and compute something else.
    let recorded = SafeTensors::read_metadata(&bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .and_then(|m| m.get("network").cloned());
    if let Some(name) = recorded.filter(|name| name != model.name()) {
        return Err(Error::Weights(format!(
            "{}: holds the weights of network `{name}`, not `{}` (load the file into the network it was saved from)",
            path.display(),
            model.name()
        )));
    }
    let (tensors, values) = stored(model);
    let values = from_safetensors(&bytes, &tensors, values.len()).map_err(|e| {
        Error::Weights(format!("{}: {}", path.display(), e.to_string().trim_start_matches("weights: ")))
    })?;
    let (params, buffers) = values.split_at(model.param_count());
    model.params_mut().copy_from_slice(params);
    model.buffers_mut().copy_from_slice(buffers);
    Ok(())
}

/// Parameters by tensor name, for serde formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// The network's name.
    pub network: String,
    /// Each tensor's shape and values (row-major).
    pub tensors: BTreeMap<String, TensorData>,
}

/// One tensor in [`Weights`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorData {
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f32>,
}

impl Weights {
    /// The weights (and buffers) of `model`.
    pub fn of(model: &dyn Model) -> Weights {
        let (stored, values) = stored(model);
        let tensors = stored
            .iter()
            .map(|t| (t.name.to_string(), TensorData { shape: t.shape.to_vec(), values: values[t.range()].to_vec() }))
            .collect();
        Weights { network: model.name().to_string(), tensors }
    }

    /// Copies these weights into `model`, checking every name and shape first.
    pub fn apply(&self, model: &mut dyn Model) -> Result<(), Error> {
        let (stored, mut values) = stored(model);
        let mut problems = Vec::new();
        for tensor in &stored {
            match self.tensors.get(tensor.name.as_ref()) {
                None => problems.push(format!("missing tensor `{}`", tensor.name)),
                Some(data) if data.shape != tensor.shape.as_ref() || data.values.len() != tensor.len() => problems
                    .push(format!("tensor `{}` has shape {:?}, expected {:?}", tensor.name, data.shape, tensor.shape)),
                Some(_) => {}
            }
        }
        for name in self.tensors.keys() {
            if !stored.iter().any(|t| t.name == name.as_str()) {
                problems.push(format!("unexpected tensor `{name}`"));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Weights(format!(
                "the weights do not match `{}`: {}",
                model.name(),
                problems.join("; ")
            )));
        }
        for tensor in &stored {
            values[tensor.range()].copy_from_slice(&self.tensors[tensor.name.as_ref()].values);
        }
        let (params, buffers) = values.split_at(model.param_count());
        model.params_mut().copy_from_slice(params);
        model.buffers_mut().copy_from_slice(buffers);
        Ok(())
    }
}
