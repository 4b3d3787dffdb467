//! The training settings, [`TrainConfig`] and [`EarlyStopping`], defined
//! once in `nnspec-core` beside the rest of the vocabulary a spec's
//! `train { … }` block and the trainer share.

pub use nnspec_core::vocabulary::{EarlyStopping, TrainConfig};
