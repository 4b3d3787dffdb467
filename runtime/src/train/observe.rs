//! Watching a run step by step: [`StepRecord`] and [`Observer`].

use super::EpochRecord;
use serde::Serialize;
use std::ops::ControlFlow;

/// One optimizer step as the trainer took it, reported to [`Observer::step`].
///
/// The loss that is differentiated is `data_loss + l1_penalty + l2_penalty`
/// ([`StepRecord::loss`]); penalties are those of the parameters before the step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// 1-based epoch, as in [`EpochRecord`].
    pub epoch: usize,
    /// 0-based batch within the epoch.
    pub batch: usize,
    /// The batch's positions in the epoch's order of rows (the data's own rows when not shuffled).
    pub rows: std::ops::Range<usize>,
    /// The learning rate of this step.
    pub lr: f64,
    /// The batch's data loss (mean unless the loss is a sum).
    pub data_loss: f64,
    /// The L1 penalty term.
    pub l1_penalty: f64,
    /// The L2 penalty term.
    pub l2_penalty: f64,
    /// The global 2-norm of the gradient of the loss (penalties included), before clipping.
    pub grad_norm: f64,
    /// The `clip_grad_norm` coefficient applied, when clipping by norm.
    pub clip_coef: Option<f64>,
    /// How many gradient elements `clip_grad_value` clamped, when clipping by value.
    pub clipped_elements: Option<usize>,
}

impl StepRecord {
    /// The loss that was differentiated: data loss plus both penalties.
    pub fn loss(&self) -> f64 {
        self.data_loss + self.l1_penalty + self.l2_penalty
    }
}

/// Watches a training run through [`Trainer::fit_observed`](super::Trainer::fit_observed).
pub trait Observer {
    /// Whether [`Observer::step`] wants every step (recording one costs a pass over the gradient).
    fn wants_steps(&self) -> bool {
        false
    }

    /// After every optimizer step (when [`Observer::wants_steps`]): what the step did,
    /// the gradient the optimizer received (penalties added, clipped) and the parameters after it.
    fn step(&mut self, _record: &StepRecord, _grad: &[f32], _params: &[f32]) {}

    /// After every epoch, with its record and the parameters; `Break` stops training.
    fn epoch(&mut self, _record: &EpochRecord, _params: &[f32]) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// An [`Observer`] that calls a closure after every epoch.
pub(super) struct OnEpoch<F>(pub(super) F);

impl<F: FnMut(&EpochRecord) -> ControlFlow<()>> Observer for OnEpoch<F> {
    fn epoch(&mut self, record: &EpochRecord, _params: &[f32]) -> ControlFlow<()> {
        (self.0)(record)
    }
}
