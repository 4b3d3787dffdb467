//! # nnspec-core
//!
//! What nnspec's compiler and its runtime share: the kernels generated
//! networks call (dense layers, activations, losses, the vectorisable math
//! under them), and, with the `alloc` feature, the `plan` module: a network lowered
//! once into workspace slots, a parameter layout and the ordered kernel calls
//! of its forward and backward passes. The code generator emits the plan's
//! calls with literal sizes; the runtime's interpreter runs the same calls in
//! the same order, so the two agree to the bit by construction.
//!
//! Users depend on `nnspec`, which re-exports everything here; this crate
//! exists so that the compiler (a proc-macro's dependency) and the runtime can
//! share these definitions without depending on each other.

#![deny(missing_docs)]
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod conv;
#[cfg(feature = "alloc")]
pub mod graph;
pub mod kernels;
pub mod loss;
pub mod math;
pub mod norm;
#[cfg(feature = "alloc")]
pub mod plan;
pub mod quant;
pub mod recurrent;
#[cfg(feature = "alloc")]
pub mod vocabulary;

pub use activation::Activation;
#[cfg(feature = "alloc")]
pub use graph::{Node, Op, ParamSettings};
pub use loss::Loss;
#[cfg(feature = "alloc")]
pub use plan::Plan;

/// What is wrong with a file the safetensors reader refused, in words (the
/// reader's own message is the name of its error's variant).
#[cfg(feature = "safetensors")]
pub fn safetensors_problem(error: &safetensors::SafeTensorError) -> alloc::string::String {
    use alloc::format;
    use safetensors::SafeTensorError as E;
    match error {
        E::InvalidHeader => "its header is not UTF-8 text".into(),
        E::InvalidHeaderStart => "its header does not start with `{` (not a safetensors file?)".into(),
        E::InvalidHeaderDeserialization => "its header is not the JSON a safetensors file starts with".into(),
        E::HeaderTooLarge => "its header declares more than 100 MB (damaged, or not a safetensors file)".into(),
        E::HeaderTooSmall => {
            "it is shorter than the 8 bytes of a safetensors header's length (empty or truncated)".into()
        }
        E::InvalidHeaderLength => "its header's length runs past the end of the file (truncated?)".into(),
        E::TensorNotFound(name) => format!("it has no tensor `{name}`"),
        E::TensorInvalidInfo => "a tensor's shape and type do not match the bytes its offsets give it".into(),
        E::InvalidOffset(name) => format!("the offsets of tensor `{name}` do not fit the file (truncated or damaged)"),
        E::IoError(error) => format!("it cannot be read ({error})"),
        E::JsonError(error) => format!("its header is not valid JSON ({error})"),
        E::InvalidTensorView(dtype, shape, bytes) => {
            format!("a {dtype:?} tensor of shape {shape:?} cannot take {bytes} bytes")
        }
        E::MetadataIncompleteBuffer => {
            "its tensors do not cover the data that follows the header (truncated, or extra bytes at the end)".into()
        }
        E::ValidationOverflow => "a tensor's shape is so large that its size overflows (damaged file)".into(),
        #[allow(unreachable_patterns)]
        _ => "it is not a valid safetensors file".into(),
    }
}
