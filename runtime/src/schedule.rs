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

pub use nnspec_core::vocabulary::Schedule;

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
