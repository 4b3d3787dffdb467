//! The int8 convolution (1-D and 2-D, stride, zero padding, dilation, groups).
#![deny(clippy::float_arithmetic)]

use super::{Output, Requant};
use crate::conv::ConvGeometry;

/// One sample: `y[o][u][v] = store(requant[o](bias[o] + Σ (x − z_x) · w))`
/// over the taps of output `(u, v)` that fall inside the input (a padded tap
/// is real zero, `q = z_x`, and adds nothing). Weights `[out][in/groups][kh][kw]`
/// as the f32 convolution's, one scale per output channel. `acc` holds one
/// output channel's i32 sums (`out_h · out_w` of them): each kernel tap adds
/// into the contiguous span of outputs it reaches, as the f32 direct
/// convolution does, so the inner loops test no bounds.
///
/// ```
/// use nnspec_core::conv::ConvGeometry;
/// use nnspec_core::quant::{conv::conv, Output, Requant};
/// let g = ConvGeometry::one_d(1, 3, 1, 3, 1, 1, 1, 1); // kernel 3, padding 1
/// let one = Requant { multiplier: 1 << 30, shift: 1 }; // 2^30 · 2^(1−31) = 1
/// let (mut acc, mut y) = ([0i32; 3], [0i8; 3]);
/// conv(&[1, 2, 3], &[1, 1, 1], &[0], &[one], 0, Output::new(0), &g, &mut acc, &mut y);
/// assert_eq!(y, [3, 6, 5]);
/// ```
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn conv(
    x: &[i8],
    weight: &[i8],
    bias: &[i32],
    requant: &[Requant],
    input_zero: i32,
    output: Output,
    g: &ConvGeometry,
    acc: &mut [i32],
    y: &mut [i8],
) {
    let plane = g.out_h * g.out_w;
    let stride = g.stride[1];
    let acc = &mut acc[..plane];
    for o in 0..g.out_channels {
        acc.fill(bias[o]);
        g.rows_of(o, |tap, out, input, count| {
            let w = weight[tap] as i32;
            let sums = &mut acc[out - o * plane..out - o * plane + count];
            if stride == 1 {
                for (sum, x) in sums.iter_mut().zip(&x[input..input + count]) {
                    *sum = sum.wrapping_add(w * (*x as i32 - input_zero));
                }
            } else {
                for (k, sum) in sums.iter_mut().enumerate() {
                    *sum = sum.wrapping_add(w * (x[input + k * stride] as i32 - input_zero));
                }
            }
        });
        for (y, sum) in y[o * plane..(o + 1) * plane].iter_mut().zip(acc.iter()) {
            *y = output.store(requant[o].apply(*sum));
        }
    }
}
