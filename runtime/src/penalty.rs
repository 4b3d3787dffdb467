//! L1 and L2 penalties on parameter tensors, added to the loss and its gradient.
//!
//! * L1: `coef·Σ|p|` adds `coef·sign(p)` to the gradient (sign(0) = 0).
//! * L2: `½·coef·Σp²` adds `coef·p` to the gradient — PyTorch's coupled
//!   `weight_decay`, restricted to the tensors chosen.
//!
//! ```
//! let params = [1.0f32, -2.0, 0.0];
//! let mut grads = [0.0f32; 3];
//! let penalty = nnspec::penalty::l1(&params, &mut grads, 0.5);
//! assert_eq!(penalty, 1.5);
//! assert_eq!(grads, [0.5, -0.5, 0.0]);
//! ```

use crate::model::TensorInfo;

/// Adds `coef·Σ|p|` to the gradient; returns the penalty.
pub fn l1(params: &[f32], grads: &mut [f32], coef: f32) -> f32 {
    let mut sum = 0.0f32;
    for (p, g) in params.iter().zip(grads.iter_mut()) {
        sum += p.abs();
        if *p != 0.0 {
            *g += coef * p.signum();
        }
    }
    coef * sum
}

/// Adds `coef·p` to the gradient; returns the penalty `½·coef·Σp²`.
pub fn l2(params: &[f32], grads: &mut [f32], coef: f32) -> f32 {
    let mut sum = 0.0f32;
    for (p, g) in params.iter().zip(grads.iter_mut()) {
        sum += p * p;
        *g += coef * p;
    }
    0.5 * coef * sum
}

/// The two penalty terms of one evaluation: `Σ l1·Σ|W|` and `Σ ½·l2·ΣW²`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Penalty {
    /// The L1 term.
    pub l1: f32,
    /// The L2 term.
    pub l2: f32,
}

impl Penalty {
    /// Both terms together, as they are added to the loss.
    pub fn total(self) -> f32 {
        self.l1 + self.l2
    }
}

/// Applies every tensor's own `l1`/`l2` coefficient (from the spec); returns the penalty terms.
pub fn apply(tensors: &[TensorInfo], params: &[f32], grads: &mut [f32]) -> Penalty {
    let mut penalty = Penalty::default();
    for tensor in tensors {
        let range = tensor.range();
        if tensor.l1 > 0.0 {
            penalty.l1 += l1(&params[range.clone()], &mut grads[range.clone()], tensor.l1);
        }
        if tensor.l2 > 0.0 {
            penalty.l2 += l2(&params[range.clone()], &mut grads[range], tensor.l2);
        }
    }
    penalty
}

/// The penalty of every tensor's coefficients without touching a gradient.
pub fn value(tensors: &[TensorInfo], params: &[f32]) -> f32 {
    tensors
        .iter()
        .map(|tensor| {
            let p = &params[tensor.range()];
            tensor.l1 * p.iter().map(|v| v.abs()).sum::<f32>() + 0.5 * tensor.l2 * p.iter().map(|v| v * v).sum::<f32>()
        })
        .sum()
}
