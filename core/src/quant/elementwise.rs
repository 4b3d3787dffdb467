//! int8 element-wise ops: lookup tables (any activation), residual sums,
//! concatenation and per-channel affine maps (inference batch norm,
//! standardisation).
#![deny(clippy::float_arithmetic)]

use super::{Output, Requant};

/// The headroom of a sum's inputs: each is shifted left by this many bits
/// before its rescaling, so rounding it costs nothing visible (TensorFlow
/// Lite's `left_shift = 20`).
pub const ADD_SHIFT: u32 = 20;

/// `y[i] = table[x[i] + 128]`: an activation from one quantisation to another,
/// computed when the network is quantised.
///
/// ```
/// use nnspec_core::quant::elementwise::table;
/// let mut negate = [0i8; 256];
/// for (i, t) in negate.iter_mut().enumerate() { *t = (128 - i as i32).min(127) as i8 }
/// let mut y = [0i8; 2];
/// table(&[5, -128], &negate, &mut y);
/// assert_eq!(y, [-5, 127]);
/// ```
#[inline(always)]
pub fn table(x: &[i8], table: &[i8], y: &mut [i8]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = table[(*x as i32 + 128) as usize];
    }
}

/// ReLU in the input's own quantisation: `y = max(x, zero)` (real zero is
/// the zero point, so nothing is rounded).
///
/// ```
/// use nnspec_core::quant::elementwise::relu;
/// let mut y = [0i8; 3];
/// relu(&[-7, 3, 9], 3, &mut y);
/// assert_eq!(y, [3, 3, 9]);
/// ```
#[inline(always)]
pub fn relu(x: &[i8], zero: i32, y: &mut [i8]) {
    let zero = zero.clamp(-128, 127) as i8;
    for (y, x) in y.iter_mut().zip(x) {
        *y = (*x).max(zero);
    }
}

/// Adds `x` (with zero point `zero` and rescaling `requant`) into the i32
/// accumulator of a sum: `acc += requant((x − zero) << ADD_SHIFT)`.
#[inline(always)]
pub fn add_into(x: &[i8], zero: i32, requant: Requant, acc: &mut [i32]) {
    for (acc, x) in acc.iter_mut().zip(x) {
        *acc = acc.wrapping_add(requant.apply((*x as i32 - zero) << ADD_SHIFT));
    }
}

/// Stores a sum's accumulator in its output quantisation.
///
/// ```
/// use nnspec_core::quant::elementwise::{add_into, add_store, ADD_SHIFT};
/// use nnspec_core::quant::{Output, Requant};
/// let half = Requant { multiplier: 1 << 30, shift: 0 }; // each input × 0.5
/// let out = Requant { multiplier: 1 << 30, shift: 2 - ADD_SHIFT as i32 }; // 2^(2 − 20 − 1) = 2 / 2^20
/// let mut acc = [0i32; 2];
/// add_into(&[3, 4], 1, half, &mut acc);
/// add_into(&[5, 0], 0, half, &mut acc);
/// let mut y = [0i8; 2];
/// add_store(&acc, out, Output::new(0), &mut y);
/// assert_eq!(y, [7, 3]);
/// ```
#[inline(always)]
pub fn add_store(acc: &[i32], requant: Requant, output: Output, y: &mut [i8]) {
    for (y, acc) in y.iter_mut().zip(acc) {
        *y = output.store(requant.apply(*acc));
    }
}

/// Copies `x` into `y` in another quantisation: `y = store(requant(x − zero))`
/// (one input of a concatenation).
#[inline(always)]
pub fn rescale(x: &[i8], zero: i32, requant: Requant, output: Output, y: &mut [i8]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y = output.store(requant.apply(*x as i32 - zero));
    }
}

/// A per-channel affine map on `[C][positions]`:
/// `y = store(requant[c](x − zero) + offset[c])` (a negative multiplier for a
/// negative scale).
///
/// ```
/// use nnspec_core::quant::elementwise::affine;
/// use nnspec_core::quant::{Output, Requant};
/// let minus_one = Requant { multiplier: -(1 << 30), shift: 1 }; // −2^30 · 2^(1 − 31)
/// let mut y = [0i8; 2];
/// affine(&[3, 5], 1, &[minus_one], &[10], Output::new(0), &mut y);
/// assert_eq!(y, [8, 6]);
/// ```
#[inline(always)]
pub fn affine(x: &[i8], zero: i32, requant: &[Requant], offset: &[i32], output: Output, y: &mut [i8]) {
    let positions = x.len() / requant.len().max(1);
    if positions == 0 {
        return;
    }
    for (((x, y), r), b) in x.chunks_exact(positions).zip(y.chunks_exact_mut(positions)).zip(requant).zip(offset) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = output.store(r.apply(*x as i32 - zero).saturating_add(*b));
        }
    }
}
