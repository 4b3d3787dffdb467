//! int8 pooling: the output keeps its input's scale and zero point.
#![deny(clippy::float_arithmetic)]

use crate::conv::PoolGeometry;

/// One sample of a max or average pool. The maximum of quantised values is
/// the quantised maximum; the mean is `Σq / n` rounded half toward +∞, as a
/// requantisation rounds (the zero point, an integer, passes through a mean
/// and its rounding unchanged).
///
/// ```
/// use nnspec_core::conv::PoolGeometry;
/// use nnspec_core::quant::pool::pool;
/// let g = PoolGeometry { channels: 1, in_h: 1, in_w: 4, out_h: 1, out_w: 2, kernel: [1, 2], stride: [1, 2], max: false };
/// let mut y = [0i8; 2];
/// pool(&[1, 2, -3, -4], &mut y, &g);
/// assert_eq!(y, [2, -3]); // 1.5 → 2, −3.5 → −3
/// ```
#[inline(always)]
pub fn pool(x: &[i8], y: &mut [i8], g: &PoolGeometry) {
    let count = (g.kernel[0] * g.kernel[1]) as i32;
    for c in 0..g.channels {
        for u in 0..g.out_h {
            for v in 0..g.out_w {
                let (mut max, mut sum) = (i8::MIN, 0i32);
                for i in 0..g.kernel[0] {
                    for j in 0..g.kernel[1] {
                        let value = x[(c * g.in_h + u * g.stride[0] + i) * g.in_w + v * g.stride[1] + j];
                        max = max.max(value);
                        sum += value as i32;
                    }
                }
                y[(c * g.out_h + u) * g.out_w + v] = if g.max { max } else { rounded_mean(sum, count) };
            }
        }
    }
}

/// The mean of each channel of `x` (`channels` planes of equal size).
///
/// ```
/// use nnspec_core::quant::pool::global_avg_pool;
/// let mut y = [0i8; 2];
/// global_avg_pool(&[1, 2, 3, -5, -6, -6], &mut y);
/// assert_eq!(y, [2, -6]); // 2, −5.67 → −6
/// ```
#[inline(always)]
pub fn global_avg_pool(x: &[i8], y: &mut [i8]) {
    let plane = x.len() / y.len().max(1);
    if plane == 0 {
        return;
    }
    for (y, channel) in y.iter_mut().zip(x.chunks_exact(plane)) {
        let sum: i32 = channel.iter().map(|&q| q as i32).sum();
        *y = rounded_mean(sum, plane as i32);
    }
}

/// `sum / count` rounded half toward +∞: `⌊(2·sum + count) / (2·count)⌋`
/// (a mean of int8 values is int8).
#[inline(always)]
fn rounded_mean(sum: i32, count: i32) -> i8 {
    (2 * sum + count).div_euclid(2 * count) as i8
}
