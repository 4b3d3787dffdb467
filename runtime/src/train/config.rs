//! The training settings: [`TrainConfig`] and [`EarlyStopping`].

use crate::optim::OptimizerConfig;
use crate::schedule::Schedule;

pub use nnspec_core::vocabulary::EarlyStopping;

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Mini-batch size; `None` for full-batch.
    pub batch: Option<usize>,
    /// Number of epochs.
    pub epochs: usize,
    /// Seed of shuffling and dropout.
    pub seed: u64,
    /// Shuffle the rows every epoch.
    pub shuffle: bool,
    /// Learning-rate schedule, stepped once per epoch.
    pub schedule: Option<Schedule>,
    /// Clip the global gradient norm.
    pub clip_grad_norm: Option<f64>,
    /// Clip gradient elements.
    pub clip_grad_value: Option<f64>,
    /// Early stopping.
    pub early_stopping: Option<EarlyStopping>,
    /// Report progress on stderr: a bar on a terminal, otherwise a plain line
    /// every tenth of the run.
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            optimizer: OptimizerConfig::adam(1e-3),
            batch: Some(32),
            epochs: 100,
            seed: 0,
            shuffle: true,
            schedule: None,
            clip_grad_norm: None,
            clip_grad_value: None,
            early_stopping: None,
            progress: false,
        }
    }
}
