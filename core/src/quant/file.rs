//! int8 weight files: a [`QNetwork`]'s tensors as safetensors (I8, I32 and
//! F32 tensors named as [`QNetwork::tensors`] lists them), with the metadata
//! `format = nnspec-int8` and the network's name.

use super::network::{QData, QNetwork, QTensor, QuantError};
use crate::plan::Plan;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

/// The `format` metadata of an int8 weight file.
pub const FORMAT: &str = "nnspec-int8";

/// The bytes of `network`'s int8 weight file.
pub fn to_bytes(network: &QNetwork) -> Result<Vec<u8>, QuantError> {
    let tensors = network.tensors();
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| match &t.data {
            QData::I8(v) => v.iter().map(|&q| q as u8).collect(),
            QData::I32(v) => v.iter().flat_map(|q| q.to_le_bytes()).collect(),
            QData::F32(v) => v.iter().flat_map(|q| q.to_le_bytes()).collect(),
        })
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, data)| {
            let dtype = match t.data {
                QData::I8(_) => Dtype::I8,
                QData::I32(_) => Dtype::I32,
                QData::F32(_) => Dtype::F32,
            };
            TensorView::new(dtype, t.shape.clone(), data)
                .map(|view| (t.name.clone(), view))
                .map_err(|e| QuantError::Mismatch(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let metadata = [("format".to_string(), FORMAT.to_string()), ("network".to_string(), network.name.clone())];
    safetensors::serialize(views, &Some(metadata.into_iter().collect()))
        .map_err(|e| QuantError::Mismatch(e.to_string()))
}

/// Reads the int8 network of `plan` from weight-file bytes: the file must be
/// an int8 file of this network, every tensor of the right type and shape,
/// and no tensor left over.
pub fn from_bytes(bytes: &[u8], plan: &Plan) -> Result<QNetwork, QuantError> {
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| {
        QuantError::Mismatch(alloc::format!("not a valid safetensors file: {}", crate::safetensors_problem(&e)))
    })?;
    let entries = metadata.metadata().clone().unwrap_or_default();
    if entries.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(QuantError::Mismatch(
            "not an int8 weight file (its `format` is not `nnspec-int8`; make one with `nnspec quantize`)".into(),
        ));
    }
    if let Some(name) = entries.get("network").filter(|name| **name != plan.name) {
        return Err(QuantError::Mismatch(alloc::format!("the file holds network `{name}`, not `{}`", plan.name)));
    }
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        QuantError::Mismatch(alloc::format!("not a valid safetensors file: {}", crate::safetensors_problem(&e)))
    })?;
    let mut used = Vec::new();
    let network = QNetwork::from_tensors(plan, |name| {
        let view = file.tensor(name).ok()?;
        let data = view.data();
        let data = match view.dtype() {
            Dtype::I8 => QData::I8(data.iter().map(|&b| b as i8).collect()),
            Dtype::I32 => {
                QData::I32(data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
            Dtype::F32 => {
                QData::F32(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
            _ => return None,
        };
        used.push(name.to_string());
        Some(QTensor { name: name.to_string(), shape: view.shape().to_vec(), data })
    })?;
    let mut extra: Vec<String> = file.names().into_iter().filter(|n| !used.contains(n)).cloned().collect();
    extra.sort();
    if let Some(name) = extra.first() {
        return Err(QuantError::Mismatch(alloc::format!("unexpected tensor `{name}` for network `{}`", plan.name)));
    }
    Ok(network)
}
