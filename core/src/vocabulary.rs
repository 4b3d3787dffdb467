//! The training vocabulary the compiler's IR and the runtime share: the
//! learning-rate schedules and early stopping, defined once.

use alloc::vec::Vec;

/// A learning-rate schedule; `lr(base, k)` is the rate after `k` scheduler steps.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Schedule {
    /// `base·γ^⌊k/step_size⌋` (StepLR).
    Step {
        /// Steps between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// `base·γ^(#milestones ≤ k)` (MultiStepLR; a repeated milestone counts twice).
    MultiStep {
        /// Milestones.
        milestones: Vec<usize>,
        /// Decay factor.
        gamma: f64,
    },
    /// `base·γ^k` (ExponentialLR).
    Exponential {
        /// Decay factor.
        gamma: f64,
    },
    /// `eta_min + (base−eta_min)(1+cos(πk/t_max))/2`, not clamped at t_max (CosineAnnealingLR).
    Cosine {
        /// Half period.
        t_max: usize,
        /// Minimum.
        eta_min: f64,
    },
    /// `base·(start + (end−start)·min(k, total)/total)` (LinearLR, a warm-up).
    Linear {
        /// Factor at k = 0.
        start_factor: f64,
        /// Factor from k = total on.
        end_factor: f64,
        /// Length of the ramp.
        total_iters: usize,
    },
}

#[cfg(feature = "std")]
impl Schedule {
    /// The learning rate after `k` steps from `base`.
    pub fn lr(&self, base: f64, k: usize) -> f64 {
        match self {
            Schedule::Step { step_size, gamma } => base * gamma.powi((k / (*step_size).max(1)) as i32),
            Schedule::MultiStep { milestones, gamma } => {
                base * gamma.powi(milestones.iter().filter(|m| **m <= k).count() as i32)
            }
            Schedule::Exponential { gamma } => base * gamma.powi(k as i32),
            Schedule::Cosine { t_max, eta_min } => {
                let phase = core::f64::consts::PI * k as f64 / (*t_max).max(1) as f64;
                eta_min + (base - eta_min) * (1.0 + phase.cos()) / 2.0
            }
            Schedule::Linear { start_factor, end_factor, total_iters } => {
                let total = (*total_iters).max(1);
                base * (start_factor + (end_factor - start_factor) * k.min(total) as f64 / total as f64)
            }
        }
    }
}

/// Early stopping settings.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EarlyStopping {
    /// Watch the validation loss (else the training loss).
    pub monitor_validation: bool,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The least decrease that counts as an improvement.
    pub min_delta: f64,
    /// Restore the best weights when training ends.
    pub restore_best: bool,
}
