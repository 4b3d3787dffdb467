//! Losses: the reduced value and its gradient with respect to the output
//! layer's pre-activation `z`, fused with the output activation where that is
//! the stable form.
//!
//! | loss | value | ∂value/∂input |
//! |---|---|---|
//! | mse | mean over N = B·K of (ŷ−y)² | 2(ŷ−y)/N |
//! | sse | Σ(ŷ−y)² | 2(ŷ−y) |
//! | sse_half | ½Σ(ŷ−y)² | ŷ−y |
//! | binary_cross_entropy (p) | mean −[y ln p + (1−y) ln(1−p)] | (p−y)/(p(1−p))/N |
//! | binary_cross_entropy_with_logits (z) | mean max(z,0) − zy + ln(1+e^−\|z\|) | (σ(z)−y)/N |
//! | softmax_cross_entropy (z) | mean over rows of −Σ t·log_softmax(z) | (softmax(z)·Σt − t)/B |
//!
//! Fusions: a sigmoid output with `binary_cross_entropy` uses the logit form on
//! `z`, and a softmax output with `cross_entropy` uses softmax cross-entropy on
//! `z`: mathematically the same loss, without `ln 0`.
//!
//! Targets are `[batch][target_width]`. For the softmax losses a target width of
//! 1 means integer class labels; a width equal to the output width means one-hot
//! or soft probability rows.
//!
//! ```
//! use nnspec_core::{Activation, Loss};
//! let z = [0.0f32, 0.0];            // one sample, two logits
//! let labels = [1.0f32];            // class 1
//! let mut dz = [0.0; 2];
//! let a = z;
//! let value = Loss::SoftmaxCrossEntropy.evaluate(Activation::Identity, &z, &a, &labels, 2, Some(&mut dz));
//! assert!((value - std::f32::consts::LN_2).abs() < 1e-6);
//! assert_eq!(dz, [0.5, -0.5]);
//! ```

use crate::activation::{log_sum_exp, softmax_row, Activation};

/// A loss function. Means unless the name says `sse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Loss {
    /// Mean squared error.
    Mse,
    /// Sum of squared errors.
    Sse,
    /// Half the sum of squared errors.
    SseHalf,
    /// Mean binary cross-entropy on probabilities.
    BinaryCrossEntropy,
    /// Mean binary cross-entropy on logits.
    BinaryCrossEntropyWithLogits,
    /// Mean softmax cross-entropy on logits.
    SoftmaxCrossEntropy,
    /// Mean cross-entropy on softmax probabilities.
    CrossEntropy,
}

impl Loss {
    /// The names accepted in specs.
    pub const NAMES: &'static [&'static str] = &[
        "mse",
        "sse",
        "sse_half",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "softmax_cross_entropy",
        "cross_entropy",
    ];

    /// True for losses whose targets are classes (accuracy is a meaningful metric).
    pub fn is_classification(self) -> bool {
        !matches!(self, Loss::Mse | Loss::Sse | Loss::SseHalf)
    }

    /// True for softmax losses, whose targets may be class labels (width 1).
    pub fn takes_labels(self) -> bool {
        matches!(self, Loss::SoftmaxCrossEntropy | Loss::CrossEntropy)
    }

    /// The spec name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Sse => "sse",
            Loss::SseHalf => "sse_half",
            Loss::BinaryCrossEntropy => "binary_cross_entropy",
            Loss::BinaryCrossEntropyWithLogits => "binary_cross_entropy_with_logits",
            Loss::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Loss::CrossEntropy => "cross_entropy",
        }
    }

    /// The loss of outputs `a = activation(z)` (`[batch][width]`) against `targets`,
    /// and, if `dz` is given, ∂loss/∂z written into it.
    ///
    /// Always inlined: generated code calls it on a constant loss and activation,
    /// so only the one arm it needs survives.
    #[inline(always)]
    pub fn evaluate(
        self,
        activation: Activation,
        z: &[f32],
        a: &[f32],
        targets: &[f32],
        width: usize,
        dz: Option<&mut [f32]>,
    ) -> f32 {
        let batch = z.len() / width.max(1);
        let fused_logits = match (self, activation) {
            (Loss::BinaryCrossEntropy, Activation::Sigmoid) | (Loss::BinaryCrossEntropyWithLogits, _) => {
                Some(FusedKind::Binary)
            }
            (Loss::CrossEntropy, Activation::Softmax) | (Loss::SoftmaxCrossEntropy, _) => Some(FusedKind::Softmax),
            _ => None,
        };
        match fused_logits {
            Some(FusedKind::Binary) => binary_logits(z, targets, dz),
            Some(FusedKind::Softmax) => softmax_logits(z, targets, width, batch, dz),
            None => match dz {
                Some(dz) => {
                    let value = self.on_outputs(a, targets, Some(dz));
                    activation.backward(z, a, dz, width);
                    value
                }
                None => self.on_outputs(a, targets, None),
            },
        }
    }

    /// The loss directly on outputs `a`, with ∂loss/∂a into `da`.
    #[inline(always)]
    fn on_outputs(self, a: &[f32], y: &[f32], da: Option<&mut [f32]>) -> f32 {
        let n = a.len().max(1) as f32;
        match self {
            Loss::Mse | Loss::Sse | Loss::SseHalf => {
                let (scale, grad_scale) = match self {
                    Loss::Mse => (1.0 / n, 2.0 / n),
                    Loss::Sse => (1.0, 2.0),
                    _ => (0.5, 1.0),
                };
                let mut sum = 0.0f32;
                match da {
                    Some(da) => {
                        for ((d, a), y) in da.iter_mut().zip(a).zip(y) {
                            let diff = a - y;
                            sum += diff * diff;
                            *d = grad_scale * diff;
                        }
                    }
                    None => sum = a.iter().zip(y).map(|(a, y)| (a - y) * (a - y)).sum(),
                }
                sum * scale
            }
            _ => {
                // Binary cross-entropy on probabilities (the softmax losses are always fused).
                let mut sum = 0.0f32;
                let mut da = da;
                for (i, (p, y)) in a.iter().zip(y).enumerate() {
                    sum -= y * crate::math::ln(*p) + (1.0 - y) * crate::math::ln(1.0 - p);
                    if let Some(da) = da.as_deref_mut() {
                        da[i] = (p - y) / (p * (1.0 - p)) / n;
                    }
                }
                sum / n
            }
        }
    }
}

enum FusedKind {
    Binary,
    Softmax,
}

/// Mean BCE on logits and its gradient. One `e^−|z|` serves both the value
/// `max(z,0) − zy + ln(1+e^−|z|)` and, with a gradient to write, σ(z). The
/// terms of a block of 64 samples are computed element by element first (a
/// loop without a carried sum, which vectorises), then summed in eight lanes:
/// element `i` of the data set goes to lane `i mod 8`, whatever the blocking,
/// so the value does not depend on it.
fn binary_logits(z: &[f32], y: &[f32], mut dz: Option<&mut [f32]>) -> f32 {
    const LANES: usize = 8;
    const BLOCK: usize = 64;
    let n = z.len().max(1) as f32;
    let y = &y[..z.len()];
    let mut lanes = [0.0f32; LANES];
    let mut values = [0.0f32; BLOCK];
    for (block, (z, y)) in z.chunks(BLOCK).zip(y.chunks(BLOCK)).enumerate() {
        let values = &mut values[..z.len()];
        let mut exps = [0.0f32; BLOCK];
        let exps = &mut exps[..z.len()];
        for (((&z, &y), value), e) in z.iter().zip(y).zip(values.iter_mut()).zip(exps.iter_mut()) {
            *e = crate::math::exp_fast(-z.abs());
            *value = z.max(0.0) - z * y + crate::math::ln_1p_fast(*e);
        }
        if let Some(dz) = dz.as_deref_mut() {
            let dz = &mut dz[block * BLOCK..block * BLOCK + z.len()];
            for (((d, &e), &z), &y) in dz.iter_mut().zip(exps.iter()).zip(z).zip(y) {
                let r = 1.0 / (1.0 + e);
                let sigmoid = if z >= 0.0 { r } else { e * r };
                *d = (sigmoid - y) / n;
            }
        }
        let split = values.len() - values.len() % LANES;
        for chunk in values[..split].chunks_exact(LANES) {
            for (lane, &value) in lanes.iter_mut().zip(chunk) {
                *lane += value;
            }
        }
        for &value in &values[split..] {
            lanes[0] += value;
        }
    }
    lanes.iter().sum::<f32>() / n
}

fn softmax_logits(z: &[f32], targets: &[f32], width: usize, batch: usize, mut dz: Option<&mut [f32]>) -> f32 {
    let labels = targets.len() == batch && width != 1;
    let b = batch.max(1) as f32;
    let mut sum = 0.0f32;
    for row in 0..batch {
        let z_row = &z[row * width..(row + 1) * width];
        let lse = log_sum_exp(z_row);
        if labels {
            let label = (targets[row].max(0.0) as usize).min(width - 1);
            sum += lse - z_row[label];
            if let Some(dz) = dz.as_deref_mut() {
                let d_row = &mut dz[row * width..(row + 1) * width];
                softmax_row(z_row, d_row);
                d_row[label] -= 1.0;
                for d in d_row.iter_mut() {
                    *d /= b;
                }
            }
        } else {
            let t_row = &targets[row * width..(row + 1) * width];
            let total: f32 = t_row.iter().sum();
            sum += t_row.iter().zip(z_row).map(|(t, z)| t * (lse - z)).sum::<f32>();
            if let Some(dz) = dz.as_deref_mut() {
                let d_row = &mut dz[row * width..(row + 1) * width];
                softmax_row(z_row, d_row);
                for (d, t) in d_row.iter_mut().zip(t_row) {
                    *d = (*d * total - t) / b;
                }
            }
        }
    }
    sum / b
}
