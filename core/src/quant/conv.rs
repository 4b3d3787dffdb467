//! The int8 convolution (1-D and 2-D, stride, zero padding, dilation, groups).
#![deny(clippy::float_arithmetic)]

use super::{Output, Requant};
use crate::conv::ConvGeometry;

/// One sample: `y[o][u][v] = store(requant[o](bias[o] + Σ (x − z_x) · w))`
/// over the taps of output `(u, v)` that fall inside the input (a padded tap
/// is real zero, `q = z_x`, and adds nothing). Weights `[out][in/groups][kh][kw]`
/// as the f32 convolution's, one scale per output channel.
///
/// ```
/// use nnspec_core::conv::ConvGeometry;
/// use nnspec_core::quant::{conv::conv, Output, Requant};
/// let g = ConvGeometry::one_d(1, 3, 1, 3, 1, 1, 1, 1); // kernel 3, padding 1
/// let one = Requant { multiplier: 1 << 30, shift: 1 }; // 2^30 · 2^(1−31) = 1
/// let mut y = [0i8; 3];
/// conv(&[1, 2, 3], &[1, 1, 1], &[0], &[one], 0, Output::new(0), &g, &mut y);
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
    y: &mut [i8],
) {
    let groups = g.groups.max(1);
    let (cg, og) = (g.in_channels / groups, (g.out_channels / groups).max(1));
    let [kh, kw] = g.kernel;
    for o in 0..g.out_channels {
        let group = o / og;
        for u in 0..g.out_h {
            for v in 0..g.out_w {
                let mut acc = bias[o];
                for c in 0..cg {
                    let channel = group * cg + c;
                    for i in 0..kh {
                        let row = (u * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
                        if row < 0 || row as usize >= g.in_h {
                            continue;
                        }
                        for j in 0..kw {
                            let column = (v * g.stride[1] + j * g.dilation[1]) as isize - g.padding[1] as isize;
                            if column < 0 || column as usize >= g.in_w {
                                continue;
                            }
                            let input = (channel * g.in_h + row as usize) * g.in_w + column as usize;
                            let w = weight[((o * cg + c) * kh + i) * kw + j] as i32;
                            acc = acc.wrapping_add((x[input] as i32 - input_zero) * w);
                        }
                    }
                }
                y[(o * g.out_h + u) * g.out_w + v] = output.store(requant[o].apply(acc));
            }
        }
    }
}
