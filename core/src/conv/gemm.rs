//! Convolutions as matrix products: each group's input unrolled into
//! `cols[K][B·P]` (`K = in/groups·kh·kw` values under a window, `P` output
//! positions per sample, `B` samples), so that `z_g = W_g·cols`,
//! `∂W_g = ∂z_g·colsᵀ` and `∂cols = W_gᵀ·∂z_g`, folded back onto `∂x`.
//! The scratch matrices live in a per-thread buffer that grows to the largest
//! convolution and is reused, so a steady state allocates nothing.

use super::{bias_gradient, valid, ConvGeometry};
use crate::kernels::{matmul, Layout};
use alloc::vec::Vec;
use core::cell::RefCell;

std::thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on three scratch matrices of these lengths.
fn with_scratch<R>(lens: [usize; 3], f: impl FnOnce(&mut [f32], &mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buffer = cell.borrow_mut();
        let total = lens.iter().sum::<usize>();
        if buffer.len() < total {
            buffer.resize(total, 0.0);
        }
        let (a, rest) = buffer.split_at_mut(lens[0]);
        let (b, rest) = rest.split_at_mut(lens[1]);
        f(a, b, &mut rest[..lens[2]])
    })
}

/// Calls `f(row of cols, n, p, input index)` for every input value under a
/// window of group `group`: row `k = (c·kh + i)·kw + j`, sample `n`, output position `p`.
#[inline(always)]
fn unrolled(g: &ConvGeometry, group: usize, batch: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
    let cg = g.in_channels / g.groups.max(1);
    let [kh, kw] = g.kernel;
    let input_len = g.input_len();
    for c in 0..cg {
        let channel = group * cg + c;
        for i in 0..kh {
            let offset_h = (i * g.dilation[0]) as isize - g.padding[0] as isize;
            let (u0, u1) = valid(g.out_h, g.stride[0], offset_h, g.in_h);
            for j in 0..kw {
                let k = (c * kh + i) * kw + j;
                let offset_w = (j * g.dilation[1]) as isize - g.padding[1] as isize;
                let (v0, v1) = valid(g.out_w, g.stride[1], offset_w, g.in_w);
                for n in 0..batch {
                    for u in u0..u1 {
                        let row = ((u * g.stride[0]) as isize + offset_h) as usize;
                        for v in v0..v1 {
                            let column = ((v * g.stride[1]) as isize + offset_w) as usize;
                            let input = n * input_len + (channel * g.in_h + row) * g.in_w + column;
                            f(k, n, u * g.out_w + v, input);
                        }
                    }
                }
            }
        }
    }
}

/// The im2col matrix of group `group`, `[K][B·P]`, zero where a window leaves the input.
fn im2col(x: &[f32], g: &ConvGeometry, group: usize, batch: usize, cols: &mut [f32]) {
    let columns = batch * g.out_h * g.out_w;
    let plane = g.out_h * g.out_w;
    cols.fill(0.0);
    unrolled(g, group, batch, |k, n, p, input| cols[k * columns + n * plane + p] = x[input]);
}

/// `z = conv(x, w) + b` for `batch` samples as one matrix product per group.
pub fn forward(x: &[f32], w: &[f32], b: Option<&[f32]>, z: &mut [f32], batch: usize, g: &ConvGeometry) {
    let groups = g.groups.max(1);
    let (og, plane) = (g.out_channels / groups, g.out_h * g.out_w);
    let k = g.weight_len() / g.out_channels.max(1);
    let columns = batch * plane;
    let output_len = g.output_len();
    with_scratch([k * columns, og * columns, 0], |cols, product, _| {
        for group in 0..groups {
            im2col(x, g, group, batch, cols);
            let weights = &w[group * og * k..(group + 1) * og * k];
            matmul(og, k, columns, weights, Layout::AsIs, cols, Layout::AsIs, 0.0, product);
            for o in 0..og {
                let channel = group * og + o;
                let bias = b.map_or(0.0, |b| b[channel]);
                for n in 0..batch {
                    let from = &product[o * columns + n * plane..][..plane];
                    let to = &mut z[n * output_len + channel * plane..][..plane];
                    for (z, v) in to.iter_mut().zip(from) {
                        *z = v + bias;
                    }
                }
            }
        }
    });
}

/// Gradients of [`forward`]: `dw` and `db` overwritten, and `dx` if given.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    mut dx: Option<&mut [f32]>,
    batch: usize,
    g: &ConvGeometry,
) {
    let groups = g.groups.max(1);
    let (og, plane) = (g.out_channels / groups, g.out_h * g.out_w);
    let k = g.weight_len() / g.out_channels.max(1);
    let columns = batch * plane;
    let output_len = g.output_len();
    if let Some(db) = db {
        bias_gradient(dz, db, batch, g);
    }
    if let Some(dx) = dx.as_deref_mut() {
        dx[..batch * g.input_len()].fill(0.0);
    }
    let cols_len = k * columns;
    with_scratch([cols_len, og * columns, if dx.is_some() { cols_len } else { 0 }], |cols, gathered, dcols| {
        for group in 0..groups {
            im2col(x, g, group, batch, cols);
            for o in 0..og {
                let channel = group * og + o;
                for n in 0..batch {
                    gathered[o * columns + n * plane..][..plane]
                        .copy_from_slice(&dz[n * output_len + channel * plane..][..plane]);
                }
            }
            let weights = &w[group * og * k..(group + 1) * og * k];
            let dweights = &mut dw[group * og * k..(group + 1) * og * k];
            // ∂W_g (og×k) = ∂z_g (og×columns) · colsᵀ (columns×k).
            matmul(og, columns, k, gathered, Layout::AsIs, cols, Layout::Transposed, 0.0, dweights);
            let Some(dx) = dx.as_deref_mut() else { continue };
            // ∂cols (k×columns) = W_gᵀ (k×og) · ∂z_g (og×columns).
            matmul(k, og, columns, weights, Layout::Transposed, gathered, Layout::AsIs, 0.0, dcols);
            unrolled(g, group, batch, |row, n, p, input| dx[input] += dcols[row * columns + n * plane + p]);
        }
    });
}
