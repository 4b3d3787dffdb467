//! # nnspec
//!
//! Train and run small neural networks compiled from `.nn` specs. This is the
//! one crate users depend on: it holds the kernels generated networks call,
//! the [`Model`] trait they implement, optimizers following `torch.optim`'s
//! update rules, losses, initializers, penalties, data sets, a trainer and
//! weight files; with the default `macros` feature it re-exports `net!` and
//! `include_net!`.
//!
//! Invariant: this crate knows nothing of the `.nn` grammar; generated code
//! depends on it by absolute path (`::nnspec::…`).

#![deny(missing_docs)]
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
pub use nnspec_core::plan;
pub use nnspec_core::{activation, conv, kernels, loss, math, norm, recurrent};

#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
mod error;
#[cfg(feature = "std")]
pub mod init;
#[cfg(feature = "std")]
mod interpreter;
#[cfg(feature = "std")]
pub mod model;
#[cfg(feature = "std")]
pub mod onnx;
#[cfg(feature = "std")]
pub mod optim;
#[cfg(feature = "std")]
pub mod penalty;
/// int8 inference: the integer kernels (always), and with `std`
/// post-training quantisation and int8 weight files.
pub mod quant;
#[cfg(feature = "std")]
pub mod schedule;
#[cfg(feature = "std")]
pub mod train;
#[cfg(feature = "std")]
pub mod weights;

pub use activation::Activation;
pub use loss::Loss;

#[cfg(feature = "std")]
pub use data::Dataset;
#[cfg(feature = "std")]
pub use error::Error;
#[cfg(feature = "std")]
pub use init::{Fill, Init};
#[cfg(feature = "std")]
pub use interpreter::Interpreter;
/// The interpreter's name before graph networks: it runs any network, not only an MLP.
#[cfg(feature = "std")]
#[deprecated(since = "0.1.0", note = "renamed `Interpreter`: it runs any network, not only an MLP")]
pub type Mlp = Interpreter;
#[cfg(feature = "std")]
pub use model::{AfterStep, BufferInfo, Descent, Divergence, Model, TensorInfo, Workspace};
#[cfg(feature = "std")]
pub use nnspec_core::{graph, Node, Op, ParamSettings, Plan};
#[cfg(feature = "std")]
pub use optim::{Adagrad, Adam, Build, Optimizer, OptimizerConfig, RmsProp, Sgd};
#[cfg(feature = "std")]
pub use schedule::Schedule;
#[cfg(feature = "std")]
pub use train::{History, TrainConfig, Trainer};

#[cfg(feature = "macros")]
pub use nnspec_macros::{include_net, net};

/// Items generated code uses; not part of the public API. The name carries the
/// runtime's semver-compatible version, as generated code names it: code from a
/// macro of another version fails to compile with "could not find
/// `__private_v0_1` in `nnspec`" instead of calling kernels whose contract changed.
#[doc(hidden)]
pub mod __private_v0_1 {
    pub use crate::kernels::{
        accumulate, apply_dropout, decode_f32_le, dense_backward, dense_forward, place_columns, take_columns,
    };
    #[cfg(feature = "std")]
    pub use crate::model::{view, MaskFiller, Slot};
    #[cfg(feature = "std")]
    pub use crate::optim::sgd_update;
    #[cfg(feature = "std")]
    pub use crate::train::all_finite;
    pub use nnspec_core::conv::{conv_backward, conv_forward, pool_backward, pool_forward};
    pub use nnspec_core::norm::{
        batch_norm_backward, batch_norm_forward, batch_norm_update, layer_norm_backward, layer_norm_forward,
        standardize, standardize_fit,
    };
    pub use nnspec_core::recurrent::{
        recurrent_backward, recurrent_forward, recurrent_step, recurrent_step_sized, Cell, RecurrentGeometry,
    };
    #[cfg(feature = "std")]
    pub use std::{borrow::Cow, boxed::Box, format, vec};

    /// Whether the processor runs AVX2 (generated `predict` then runs its AVX2
    /// build); detected once by `std`, false without it.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    pub fn has_avx2() -> bool {
        #[cfg(feature = "std")]
        {
            std::is_x86_feature_detected!("avx2")
        }
        #[cfg(not(feature = "std"))]
        {
            false
        }
    }

    /// What generated integer-only inference calls.
    pub mod int8 {
        pub use nnspec_core::activation::{log_softmax_row_in_place, softmax_row_in_place};
        pub use nnspec_core::conv::{ConvGeometry, PoolGeometry};
        pub use nnspec_core::quant::conv::conv;
        pub use nnspec_core::quant::dense::dense;
        pub use nnspec_core::quant::elementwise::{add_into, add_store, affine, relu, rescale, table};
        pub use nnspec_core::quant::pool::{global_avg_pool, pool};
        pub use nnspec_core::quant::recurrent::{recurrent, recurrent_sized, recurrent_step_sized, QRecurrent};
        pub use nnspec_core::quant::{argmax, dequantize_value, quantize_value, Output, Requant};
    }

    /// Keeps (with `std`) or removes (without) the training half of generated code.
    #[cfg(all(feature = "macros", feature = "std"))]
    pub use nnspec_macros::__keep as std_only;
    /// Keeps (with `std`) or removes (without) the training half of generated code.
    #[cfg(all(feature = "macros", not(feature = "std")))]
    pub use nnspec_macros::__strip as std_only;
}

/// The Rust blocks of the crate's README, run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
