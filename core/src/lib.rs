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
