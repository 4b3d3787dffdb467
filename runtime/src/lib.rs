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

pub mod activation;
pub mod data;
mod error;
pub mod init;
pub mod kernels;
pub mod loss;
pub mod math;
mod mlp;
pub mod model;
pub mod optim;
pub mod penalty;
pub mod schedule;
pub mod train;
pub mod weights;

pub use activation::Activation;
pub use data::Dataset;
pub use error::Error;
pub use init::Init;
pub use loss::Loss;
pub use mlp::{LayerInit, Mlp};
pub use model::{LayerInfo, Model, TensorInfo, Workspace};
pub use optim::{Adagrad, Adam, Optimizer, OptimizerConfig, RmsProp, Sgd};
pub use schedule::Schedule;
pub use train::{History, TrainConfig, Trainer};

#[cfg(feature = "macros")]
pub use nnspec_macros::{include_net, net};

/// Items generated code uses; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::kernels::{apply_dropout, dense_backward, dense_forward};
    pub use crate::model::{view, MaskFiller};
    pub use std::borrow::Cow;
}
