//! Learning-rate schedules (PyTorch `lr_scheduler` closed forms, stepped once
//! per epoch) and gradient clipping.
//!
//! ```
//! use nnspec::schedule::{clip_grad_norm, Schedule};
//! let cosine = Schedule::Cosine { t_max: 10, eta_min: 0.0 };
//! assert!((cosine.lr(1.0, 10) - 0.0).abs() < 1e-12);
//! let mut g = [3.0f32, 4.0];
//! let norm = clip_grad_norm(&mut g, 1.0);
//! assert_eq!(norm, 5.0);
//! ```

/// A learning-rate schedule; `lr(base, k)` is the rate after `k` scheduler steps.
#[derive(Debug, Clone, PartialEq)]
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

/// The global 2-norm of `grads` (every element of every tensor), accumulated in f64.
pub fn grad_norm(grads: &[f32]) -> f64 {
    grads.iter().map(|g| f64::from(*g) * f64::from(*g)).sum::<f64>().sqrt()
}

/// PyTorch's `clip_grad_norm_` coefficient for a gradient of norm `total_norm`:
/// `max_norm/(total_norm + 1e-6)` clamped to 1. A gradient whose norm equals
/// `max_norm` exactly is still scaled, by `max_norm/(max_norm + 1e-6)`.
pub fn clip_coefficient(total_norm: f64, max_norm: f64) -> f64 {
    (max_norm / (total_norm + 1e-6)).min(1.0)
}

/// Scales `grads` so their global 2-norm is at most `max_norm` (PyTorch's
/// `clip_grad_norm_`: every element times [`clip_coefficient`]); returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut [f32], max_norm: f64) -> f64 {
    let total = grad_norm(grads);
    scale(grads, clip_coefficient(total, max_norm));
    total
}

/// Multiplies every gradient element by `coefficient` (rounded once to f32).
pub fn scale(grads: &mut [f32], coefficient: f64) {
    let coefficient = coefficient as f32;
    for g in grads.iter_mut() {
        *g *= coefficient;
    }
}

/// Clamps every gradient element to `[−clip, clip]` (PyTorch's `clip_grad_value_`);
/// returns how many elements lay outside (elements exactly at ±clip are unchanged).
pub fn clip_grad_value(grads: &mut [f32], clip: f64) -> usize {
    let clip = clip as f32;
    let mut clipped = 0;
    for g in grads.iter_mut() {
        clipped += usize::from(g.abs() > clip);
        *g = g.clamp(-clip, clip);
    }
    clipped
}
