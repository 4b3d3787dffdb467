//! Trained in PyTorch, run as generated Rust: the flower classifier of
//! `models/flower_torch.py`, exported to ONNX, imported and compiled by
//! `build.rs` with its weights.
//!
//! `cargo run --release --example imported`

fn main() -> Result<(), nnspec::Error> {
    let accuracy = nnspec_examples::imported::accuracy()?;
    println!("FlowerTorch (trained in PyTorch, imported from ONNX): accuracy {accuracy:.4} on the flower points");
    Ok(())
}
