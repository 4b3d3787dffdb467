//! Hand-written convolutional networks for W6 and W7, as a careful reader
//! writes them: one sample at a time, constant sizes, direct convolution loops
//! whose innermost loop runs over contiguous columns (the valid range of each
//! kernel tap computed once, so there is no bounds test per element), and the
//! same flat parameter layout as nnspec's (PyTorch's for the convolutions,
//! `[in][out]` for the dense layer), so the two start from the same weights.

// Index loops are how a reader writes these by hand; that is the baseline being measured.
#![allow(clippy::needless_range_loop)]

/// The valid outputs `v` of a 'same' convolution tap `j` (padding `p`) over a row of `n`.
#[inline(always)]
fn span(j: usize, p: usize, n: usize) -> (usize, usize) {
    (p.saturating_sub(j), (n + p).saturating_sub(j).min(n))
}

/// `y[O][H][W] = b + conv(x[C][H][W], w[O][C][K][K])`, stride 1, padding `(K − 1)/2` on both axes.
#[inline(always)]
fn conv2d_same<const C: usize, const O: usize, const H: usize, const W: usize, const K: usize>(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    let p = (K - 1) / 2;
    for o in 0..O {
        y[o * H * W..(o + 1) * H * W].fill(b[o]);
        for c in 0..C {
            for i in 0..K {
                let (u0, u1) = span(i, p, H);
                for j in 0..K {
                    let weight = w[((o * C + c) * K + i) * K + j];
                    let (v0, v1) = span(j, p, W);
                    for u in u0..u1 {
                        let out = &mut y[(o * H + u) * W..][v0..v1];
                        let input = &x[(c * H + u + i - p) * W + v0 + j - p..][..v1 - v0];
                        for (z, a) in out.iter_mut().zip(input) {
                            *z += weight * a;
                        }
                    }
                }
            }
        }
    }
}

/// Gradients of [`conv2d_same`]: adds to `dw` and `db`, and to `dx` if given.
#[inline(always)]
fn conv2d_same_backward<const C: usize, const O: usize, const H: usize, const W: usize, const K: usize>(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    mut dx: Option<&mut [f32]>,
) {
    let p = (K - 1) / 2;
    for o in 0..O {
        db[o] += dz[o * H * W..(o + 1) * H * W].iter().sum::<f32>();
        for c in 0..C {
            for i in 0..K {
                let (u0, u1) = span(i, p, H);
                for j in 0..K {
                    let index = ((o * C + c) * K + i) * K + j;
                    let (v0, v1) = span(j, p, W);
                    let mut sum = 0.0;
                    for u in u0..u1 {
                        let g = &dz[(o * H + u) * W..][v0..v1];
                        let start = (c * H + u + i - p) * W + v0 + j - p;
                        sum += g.iter().zip(&x[start..][..v1 - v0]).map(|(g, a)| g * a).sum::<f32>();
                        if let Some(dx) = dx.as_deref_mut() {
                            for (d, g) in dx[start..][..v1 - v0].iter_mut().zip(g) {
                                *d += w[index] * g;
                            }
                        }
                    }
                    dw[index] += sum;
                }
            }
        }
    }
}

/// `y[O][L] = b + conv1d(x[C][L], w[O][C][K])`, stride 1, padding `(K − 1)/2`.
#[inline(always)]
fn conv1d_same<const C: usize, const O: usize, const L: usize, const K: usize>(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    let p = (K - 1) / 2;
    for o in 0..O {
        let out = &mut y[o * L..(o + 1) * L];
        out.fill(b[o]);
        for c in 0..C {
            for j in 0..K {
                let weight = w[(o * C + c) * K + j];
                let (t0, t1) = span(j, p, L);
                for (z, a) in out[t0..t1].iter_mut().zip(&x[c * L + t0 + j - p..]) {
                    *z += weight * a;
                }
            }
        }
    }
}

/// 2×2 max pooling of `x[C][H][W]` into `y[C][H/2][W/2]`, keeping the chosen index of each output.
#[inline(always)]
fn max_pool2<const C: usize, const H: usize, const W: usize>(x: &[f32], y: &mut [f32], chosen: &mut [usize]) {
    for c in 0..C {
        for u in 0..H / 2 {
            for v in 0..W / 2 {
                let mut best = (c * H + 2 * u) * W + 2 * v;
                for (i, j) in [(0, 1), (1, 0), (1, 1)] {
                    let index = (c * H + 2 * u + i) * W + 2 * v + j;
                    if x[index] > x[best] {
                        best = index;
                    }
                }
                let out = (c * (H / 2) + u) * (W / 2) + v;
                y[out] = x[best];
                chosen[out] = best;
            }
        }
    }
}

/// Offsets of the digits CNN's tensors in the flat parameter buffer (nnspec's layout).
const CONV1_W: usize = 0;
const CONV1_B: usize = CONV1_W + 8 * 9;
const CONV2_W: usize = CONV1_B + 8;
const CONV2_B: usize = CONV2_W + 16 * 8 * 9;
const FC_W: usize = CONV2_B + 16;
const FC_B: usize = FC_W + 256 * 10;

/// The digits CNN (W6): conv 1→8 3×3 pad 1, relu, max pool 2, conv 8→16 3×3
/// pad 1, relu, flatten, dense 256→10, softmax cross-entropy.
pub struct DigitsCnn;

impl DigitsCnn {
    /// Number of parameters.
    pub const PARAMS: usize = FC_B + 10;

    /// The mean softmax cross-entropy gradient of a batch into `grad` (overwritten).
    pub fn gradient(params: &[f32], x: &[f32], labels: &[usize], grad: &mut [f32]) {
        grad.fill(0.0);
        let scale = 1.0 / labels.len() as f32;
        for (x, &label) in x.chunks_exact(64).zip(labels) {
            let mut c1 = [0.0f32; 8 * 64];
            conv2d_same::<1, 8, 8, 8, 3>(x, &params[CONV1_W..], &params[CONV1_B..], &mut c1);
            c1.iter_mut().for_each(|v| *v = v.max(0.0));
            let (mut p1, mut chosen) = ([0.0f32; 8 * 16], [0usize; 8 * 16]);
            max_pool2::<8, 8, 8>(&c1, &mut p1, &mut chosen);
            let mut h = [0.0f32; 256];
            conv2d_same::<8, 16, 4, 4, 3>(&p1, &params[CONV2_W..], &params[CONV2_B..], &mut h);
            h.iter_mut().for_each(|v| *v = v.max(0.0));
            let mut logits: [f32; 10] = params[FC_B..FC_B + 10].try_into().unwrap();
            for (i, a) in h.iter().enumerate() {
                for (z, w) in logits.iter_mut().zip(&params[FC_W + i * 10..FC_W + i * 10 + 10]) {
                    *z += a * w;
                }
            }
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut dz = logits.map(|z| (z - max).exp());
            let sum: f32 = dz.iter().sum();
            dz.iter_mut().for_each(|d| *d *= scale / sum);
            dz[label] -= scale;
            let mut dh = [0.0f32; 256];
            for (i, a) in h.iter().enumerate() {
                let row = FC_W + i * 10;
                for k in 0..10 {
                    grad[row + k] += a * dz[k];
                    dh[i] += params[row + k] * dz[k];
                }
            }
            for k in 0..10 {
                grad[FC_B + k] += dz[k];
            }
            dh.iter_mut().zip(&h).for_each(|(d, a)| *d *= f32::from(u8::from(*a > 0.0)));
            let mut dp1 = [0.0f32; 8 * 16];
            let (before, after) = grad.split_at_mut(CONV2_B);
            conv2d_same_backward::<8, 16, 4, 4, 3>(
                &p1,
                &params[CONV2_W..],
                &dh,
                &mut before[CONV2_W..],
                &mut after[..16],
                Some(&mut dp1),
            );
            let mut dc1 = [0.0f32; 8 * 64];
            for (g, &index) in dp1.iter().zip(&chosen) {
                dc1[index] = if c1[index] > 0.0 { *g } else { 0.0 };
            }
            let (before, after) = grad.split_at_mut(CONV1_B);
            conv2d_same_backward::<1, 8, 8, 8, 3>(
                x,
                &params[CONV1_W..],
                &dc1,
                &mut before[CONV1_W..],
                &mut after[..8],
                None,
            );
        }
    }
}

/// The signal CNN (W7): conv1d 2→8 k5 pad 2, relu, max pool 2, conv1d 8→16 k3
/// pad 1, relu, global average, dense 16→3.
pub struct SignalsCnn;

impl SignalsCnn {
    /// The outputs for one signal `[2][32]`, with the flat parameters in nnspec's layout.
    pub fn predict(params: &[f32], x: &[f32; 64]) -> [f32; 3] {
        const W1: usize = 0;
        const B1: usize = W1 + 8 * 2 * 5;
        const W2: usize = B1 + 8;
        const B2: usize = W2 + 16 * 8 * 3;
        const FC: usize = B2 + 16;
        let mut c1 = [0.0f32; 8 * 32];
        conv1d_same::<2, 8, 32, 5>(x, &params[W1..], &params[B1..], &mut c1);
        let mut p1 = [0.0f32; 8 * 16];
        for (p, pair) in p1.iter_mut().zip(c1.chunks_exact(2)) {
            *p = pair[0].max(pair[1]).max(0.0);
        }
        let mut c2 = [0.0f32; 16 * 16];
        conv1d_same::<8, 16, 16, 3>(&p1, &params[W2..], &params[B2..], &mut c2);
        let mut out: [f32; 3] = params[FC + 48..FC + 51].try_into().unwrap();
        for (channel, row) in c2.chunks_exact(16).enumerate() {
            let mean = row.iter().map(|v| v.max(0.0)).sum::<f32>() / 16.0;
            for k in 0..3 {
                out[k] += mean * params[FC + channel * 3 + k];
            }
        }
        out
    }
}
