//! The int8 dense layer.
#![deny(clippy::float_arithmetic)]

use super::{Output, Requant};

/// `y[o] = store(requant[o](bias[o] + Σ_i x[i] · weight[o][i]))`, weights
/// row-major `[outputs][inputs]` (one row per output channel, so each output
/// is one dot product). The input's zero point is folded into `bias` when the
/// network is quantised (`bias[o] = round(b[o]/(s_x·s_w[o])) − z_x·Σ_i w[o][i]`).
///
/// ```
/// use nnspec_core::quant::{dense::dense, Output, Requant};
/// let half = Requant { multiplier: 1 << 30, shift: 0 }; // 0.5
/// let mut y = [0i8; 2];
/// dense(&[2, 4], &[1, 1, 3, -1], &[0, 10], &[half, half], Output::new(-1), &mut y);
/// assert_eq!(y, [2, 5]); // (6·0.5 − 1, (10 + 6 − 4)·0.5 − 1)
/// ```
#[inline(always)]
pub fn dense(x: &[i8], weight: &[i8], bias: &[i32], requant: &[Requant], output: Output, y: &mut [i8]) {
    let inputs = x.len();
    if inputs == 0 {
        for ((y, b), r) in y.iter_mut().zip(bias).zip(requant) {
            *y = output.store(r.apply(*b));
        }
        return;
    }
    for (((y, row), b), r) in y.iter_mut().zip(weight.chunks_exact(inputs)).zip(bias).zip(requant) {
        let mut acc = *b;
        for (w, x) in row.iter().zip(x) {
            acc = acc.wrapping_add(*w as i32 * *x as i32);
        }
        *y = output.store(r.apply(acc));
    }
}
