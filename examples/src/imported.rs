//! A model trained elsewhere: the flower classifier of
//! `models/flower_torch.py`, trained in PyTorch and exported to ONNX.
//! `build.rs` hands `models/flower_torch.onnx` to the [`Builder`], which
//! imports it (as `nnspec import` does) and compiles the network with its
//! weights embedded: [`FlowerTorch::trained`] needs no file at run time.
//!
//! [`Builder`]: nnspec_codegen::Builder

include!(concat!(env!("OUT_DIR"), "/flower_torch.rs"));

/// The share of the flower points the imported network classifies right.
pub fn accuracy() -> Result<f64, nnspec::Error> {
    let data = crate::flower::data()?;
    let network = FlowerTorch::trained();
    let right = (0..data.len())
        .filter(|&i| {
            let point = [data.x[2 * i], data.x[2 * i + 1]];
            (network.predict(&point)[0] >= 0.5) == (data.y[i] >= 0.5)
        })
        .count();
    Ok(right as f64 / data.len() as f64)
}
