//! Activation functions and their derivatives, on single values and on batches.
//!
//! Element-wise functions take `z` (pre-activation) and write `a = f(z)`;
//! softmax and log-softmax work along each row of a `[batch][width]` buffer.
//! Backward passes take the upstream gradient `∂L/∂a` in `grad` and overwrite
//! it with `∂L/∂z`; they read `z` or `a`, whichever gives the stable form.
//!
//! | function | f(x) | f′(x) |
//! |---|---|---|
//! | step | 1 if x ≥ 0 else 0 | 0 |
//! | identity | x | 1 |
//! | sigmoid | 1/(1+e^−x) | s(1−s) |
//! | tanh | tanh x | 1 − tanh² x |
//! | relu | max(x, 0) | 1 if x > 0 else 0 (0 at 0) |
//! | leaky_relu(α) | x if x > 0 else αx | 1 if x > 0 else α (α at 0) |
//! | elu(α) | x if x > 0 else α(e^x − 1) | 1 if x > 0 else αe^x |
//! | softplus | ln(1+e^x) | sigmoid(x) |
//! | gelu | x·Φ(x) | Φ(x) + x·φ(x) |
//!
//! ```
//! use nnspec_core::activation::{sigmoid, Activation};
//! assert_eq!(sigmoid(0.0), 0.5);
//! let z = [1000.0, 1000.0, -1000.0];
//! let mut a = [0.0; 3];
//! Activation::Softmax.forward(&z, &mut a, 3);
//! assert_eq!(a, [0.5, 0.5, 0.0]);
//! ```

use core::f32::consts::FRAC_1_SQRT_2;

/// Logistic sigmoid 1/(1+e^−x): branch-free and vectorisable, relative error
/// below 3·10⁻⁷ for every x (see [`crate::math::sigmoid_fast`]).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    crate::math::sigmoid_fast(x)
}

/// Hyperbolic tangent: branch-free and vectorisable, relative error below 3·10⁻⁷.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    crate::math::tanh_fast(x)
}

/// ln(1+e^x), exact and stable: max(x,0) + ln(1+e^−|x|).
#[inline(always)]
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + crate::math::ln_1p_fast(crate::math::exp_fast(-x.abs()))
}

/// GELU, exact erf form: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + crate::math::erf(x * FRAC_1_SQRT_2))
}

/// Derivative of GELU: Φ(x) + x·φ(x).
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + crate::math::erf(x * FRAC_1_SQRT_2));
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let pdf = crate::math::exp(-0.5 * x * x) * INV_SQRT_2PI;
    cdf + x * pdf
}

/// An activation function, as the spec names it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Activation {
    /// Heaviside step.
    Step,
    /// No activation.
    Identity,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU with negative slope α.
    LeakyRelu(f32),
    /// ELU with scale α.
    Elu(f32),
    /// ln(1+e^x).
    Softplus,
    /// Exact GELU.
    Gelu,
    /// Row-wise softmax.
    Softmax,
    /// Row-wise log-softmax.
    LogSoftmax,
}

/// Runs `$body` with `$f` bound to `$self` as a constant of its variant, so
/// a loop over a batch has that one function in its body (and vectorises)
/// when the activation is known only at run time, as in the interpreter;
/// where it is a constant, as in generated code, the match folds away.
macro_rules! with_variant {
    ($self:expr, |$f:ident| $body:expr) => {
        match $self {
            Activation::Sigmoid => {
                let $f = Activation::Sigmoid;
                $body
            }
            Activation::Tanh => {
                let $f = Activation::Tanh;
                $body
            }
            Activation::Relu => {
                let $f = Activation::Relu;
                $body
            }
            Activation::LeakyRelu(alpha) => {
                let $f = Activation::LeakyRelu(alpha);
                $body
            }
            Activation::Elu(alpha) => {
                let $f = Activation::Elu(alpha);
                $body
            }
            Activation::Softplus => {
                let $f = Activation::Softplus;
                $body
            }
            Activation::Gelu => {
                let $f = Activation::Gelu;
                $body
            }
            other => {
                let $f = other;
                $body
            }
        }
    };
}

impl Activation {
    /// The names accepted in specs.
    pub const NAMES: &'static [&'static str] = &[
        "step",
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
        "gelu",
        "softmax",
        "log_softmax",
    ];

    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Step => "step",
            Activation::Identity => "identity",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Elu(_) => "elu",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
            Activation::Softmax => "softmax",
            Activation::LogSoftmax => "log_softmax",
        }
    }

    /// True for softmax and log-softmax, which mix the values of a row.
    pub fn is_rowwise(self) -> bool {
        matches!(self, Activation::Softmax | Activation::LogSoftmax)
    }

    /// f(x) for an element-wise activation (row-wise ones return x).
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Step => {
                if x >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Identity | Activation::Softmax | Activation::LogSoftmax => x,
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x
                }
            }
            Activation::Elu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * crate::math::exp_m1(x)
                }
            }
            Activation::Softplus => softplus(x),
            Activation::Gelu => gelu(x),
        }
    }

    /// f′(x) for an element-wise activation, given x and y = f(x).
    #[inline(always)]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Activation::Step => 0.0,
            Activation::Identity | Activation::Softmax | Activation::LogSoftmax => 1.0,
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu(alpha) => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            Activation::Elu(alpha) => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * crate::math::exp(x)
                }
            }
            Activation::Softplus => sigmoid(x),
            Activation::Gelu => gelu_derivative(x),
        }
    }

    /// `a = f(z)` over a `[rows][width]` buffer.
    #[inline(always)]
    pub fn forward(self, z: &[f32], a: &mut [f32], width: usize) {
        match self {
            Activation::Softmax => {
                for (z_row, a_row) in z.chunks_exact(width).zip(a.chunks_exact_mut(width)) {
                    softmax_row(z_row, a_row);
                }
            }
            Activation::LogSoftmax => {
                for (z_row, a_row) in z.chunks_exact(width).zip(a.chunks_exact_mut(width)) {
                    a_row.copy_from_slice(z_row);
                    log_softmax_row_in_place(a_row);
                }
            }
            Activation::Identity => a.copy_from_slice(z),
            _ => with_variant!(self, |f| {
                for (a, z) in a.iter_mut().zip(z) {
                    *a = f.apply(*z);
                }
            }),
        }
    }

    /// `f(z)` in place over a `[rows][width]` buffer.
    #[inline(always)]
    pub fn forward_in_place(self, z: &mut [f32], width: usize) {
        match self {
            Activation::Identity => {}
            Activation::Softmax => {
                for row in z.chunks_exact_mut(width) {
                    softmax_row_in_place(row);
                }
            }
            Activation::LogSoftmax => {
                for row in z.chunks_exact_mut(width) {
                    log_softmax_row_in_place(row);
                }
            }
            _ => with_variant!(self, |f| {
                for v in z.iter_mut() {
                    *v = f.apply(*v);
                }
            }),
        }
    }

    /// Backward pass: `grad` holds ∂L/∂a on entry and ∂L/∂z on exit.
    #[inline(always)]
    pub fn backward(self, z: &[f32], a: &[f32], grad: &mut [f32], width: usize) {
        match self {
            Activation::Identity => {}
            Activation::Softmax => {
                // vjp = y ⊙ (G − rowsum(G ⊙ y))
                for (a_row, g_row) in a.chunks_exact(width).zip(grad.chunks_exact_mut(width)) {
                    let dot: f32 = a_row.iter().zip(g_row.iter()).map(|(a, g)| a * g).sum();
                    for (g, a) in g_row.iter_mut().zip(a_row) {
                        *g = a * (*g - dot);
                    }
                }
            }
            Activation::LogSoftmax => {
                // vjp = G − softmax(z) ⊙ rowsum(G), softmax(z) = e^a
                for (a_row, g_row) in a.chunks_exact(width).zip(grad.chunks_exact_mut(width)) {
                    let sum: f32 = g_row.iter().sum();
                    for (g, a) in g_row.iter_mut().zip(a_row) {
                        *g -= crate::math::exp(*a) * sum;
                    }
                }
            }
            _ => with_variant!(self, |f| {
                for ((g, z), a) in grad.iter_mut().zip(z).zip(a) {
                    *g *= f.derivative(*z, *a);
                }
            }),
        }
    }
}

/// Numerically stable softmax of one row (subtracts the row max first).
#[inline(always)]
pub fn softmax_row(z: &[f32], a: &mut [f32]) {
    a.copy_from_slice(z);
    softmax_row_in_place(a);
}

/// [`softmax_row`] in place: the one softmax that the batch passes and
/// `predict` share, so both give the same bits.
#[inline(always)]
pub fn softmax_row_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = crate::math::exp_fast(*v - max);
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}

/// ln Σ e^z, stable for any finite row.
#[inline(always)]
pub fn log_sum_exp(z: &[f32]) -> f32 {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max.is_infinite() {
        return max;
    }
    let sum: f32 = z.iter().map(|v| crate::math::exp(v - max)).sum();
    max + crate::math::ln(sum)
}

/// log-softmax of one row in place, as `(z − max) − ln Σ e^(z − max)` so that
/// large logits keep their precision.
#[inline(always)]
pub fn log_softmax_row_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|v| crate::math::exp(v - max)).sum();
    let log_sum = crate::math::ln(sum);
    for v in row.iter_mut() {
        *v = (*v - max) - log_sum;
    }
}
