//! Convolution and pooling kernels on channel-first rows, PyTorch's semantics.
//!
//! A sample is `[C][H][W]` row-major; a 1-D sample `[C][L]` is the case
//! `H = 1`. A convolution is a cross-correlation (the kernel is not flipped)
//! with zero padding on both sides of each axis, dilation and groups: output
//! channel `o` of group `g = o / (out/groups)` reads input channels
//! `g·Cg … g·Cg + Cg − 1` with `Cg = in/groups`. Weights are PyTorch's
//! `[out][in/groups][kh][kw]`. Output size per axis:
//! `floor((L + 2p − d·(k − 1) − 1)/s) + 1`.
//!
//! Pools take each channel on its own, windows inside the input (no padding,
//! no ceil mode); a max pool keeps the first largest value in row-major window
//! order, and its backward pass adds the gradient to that element; an average
//! pool spreads `g/(kh·kw)` over the window. Overlapping windows add up.
//!
//! ```
//! use nnspec_core::conv::{conv_forward, ConvGeometry};
//! // One channel of length 4, kernel 2: y[t] = x[t]·w0 + x[t+1]·w1 + b.
//! let geometry = ConvGeometry::one_d(1, 4, 1, 2, 1, 0, 1, 1);
//! let (x, w, b) = ([1.0, 2.0, 3.0, 4.0], [1.0, 10.0], [0.5]);
//! let mut y = [0.0; 3];
//! conv_forward(&x, &w, Some(&b), &mut y, 1, &geometry);
//! assert_eq!(y, [21.5, 32.5, 43.5]);
//! ```

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ConvGeometry {
    /// Input channels.
    pub in_channels: usize,
    /// Input height (1 for 1-D).
    pub in_h: usize,
    /// Input width (the length for 1-D).
    pub in_w: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Kernel `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Zero padding on both sides `[ph, pw]`.
    pub padding: [usize; 2],
    /// Dilation `[dh, dw]`.
    pub dilation: [usize; 2],
    /// Groups.
    pub groups: usize,
}

/// The output length of one axis, none when the kernel does not fit.
pub fn output_size(input: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Option<usize> {
    let span = dilation.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)?;
    let padded = input.checked_add(padding.checked_mul(2)?)?;
    (stride > 0 && padded >= span).then(|| (padded - span) / stride + 1)
}

impl ConvGeometry {
    /// A 1-D convolution of `[in_channels][length]` (the 2-D case with height 1).
    #[allow(clippy::too_many_arguments)]
    pub fn one_d(
        in_channels: usize,
        length: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> ConvGeometry {
        let out_w = output_size(length, kernel, stride, padding, dilation).unwrap_or(0);
        ConvGeometry {
            in_channels,
            in_h: 1,
            in_w: length,
            out_channels,
            out_h: 1,
            out_w,
            kernel: [1, kernel],
            stride: [1, stride],
            padding: [0, padding],
            dilation: [1, dilation],
            groups,
        }
    }

    /// Values per input sample.
    #[inline]
    pub fn input_len(&self) -> usize {
        self.in_channels * self.in_h * self.in_w
    }

    /// Values per output sample.
    #[inline]
    pub fn output_len(&self) -> usize {
        self.out_channels * self.out_h * self.out_w
    }

    /// Multiply-adds per sample.
    #[inline]
    pub fn macs(&self) -> usize {
        self.weight_len() * self.out_h * self.out_w
    }

    /// Weights: `out × in/groups × kh × kw`.
    #[inline]
    pub fn weight_len(&self) -> usize {
        self.out_channels * (self.in_channels / self.groups.max(1)) * self.kernel[0] * self.kernel[1]
    }

    /// Calls `f(weight index, output start, input start, count)` for every
    /// kernel tap of one sample and every output row it reaches, in a fixed
    /// order: the tap multiplies the input at `input start + k·stride` into
    /// the output at `output start + k` for `k < count`. The range of each tap
    /// is the part of the row its window keeps inside the input, computed once
    /// per tap, so the loops over it test no bounds.
    #[inline(always)]
    fn rows(&self, f: impl FnMut(usize, usize, usize, usize)) {
        self.rows_in(0..self.out_channels, f);
    }

    /// [`Self::rows`] for output channel `o` alone.
    #[inline(always)]
    pub(crate) fn rows_of(&self, o: usize, f: impl FnMut(usize, usize, usize, usize)) {
        self.rows_in(o..o + 1, f);
    }

    /// [`Self::rows`] for the output channels `channels`, in one loop (a loop
    /// over channels around a call per channel ran the f32 convolution three
    /// times slower: W7, 1.0 µs against 3.0 µs).
    #[inline(always)]
    fn rows_in(&self, channels: core::ops::Range<usize>, mut f: impl FnMut(usize, usize, usize, usize)) {
        let groups = self.groups.max(1);
        let (cg, og) = (self.in_channels / groups, self.out_channels / groups);
        let [kh, kw] = self.kernel;
        for o in channels {
            let group = o / og.max(1);
            for c in 0..cg {
                let channel = group * cg + c;
                for i in 0..kh {
                    let offset_h = (i * self.dilation[0]) as isize - self.padding[0] as isize;
                    let (u0, u1) = valid(self.out_h, self.stride[0], offset_h, self.in_h);
                    for j in 0..kw {
                        let weight = ((o * cg + c) * kh + i) * kw + j;
                        let offset_w = (j * self.dilation[1]) as isize - self.padding[1] as isize;
                        let (v0, v1) = valid(self.out_w, self.stride[1], offset_w, self.in_w);
                        if v0 == v1 {
                            continue;
                        }
                        let column = (v0 * self.stride[1]) as isize + offset_w;
                        for u in u0..u1 {
                            let row = (u * self.stride[0]) as isize + offset_h;
                            let out = (o * self.out_h + u) * self.out_w + v0;
                            let input =
                                (channel * self.in_h) as isize * self.in_w as isize + row * self.in_w as isize + column;
                            f(weight, out, input as usize, v1 - v0);
                        }
                    }
                }
            }
        }
    }
}

/// The outputs `v0..v1` of an axis whose input position `v·stride + offset` lies in `0..input`.
#[inline(always)]
fn valid(out: usize, stride: usize, offset: isize, input: usize) -> (usize, usize) {
    let stride = stride.max(1);
    let first = if offset >= 0 { 0 } else { (offset.unsigned_abs()).div_ceil(stride) };
    let end = if input as isize - offset <= 0 { 0 } else { (input as isize - offset - 1) as usize / stride + 1 };
    let first = first.min(out);
    (first, end.min(out).max(first))
}

/// `db[o] = Σ` over the batch and the positions of output channel `o` of `dz`.
#[inline(always)]
fn bias_gradient(dz: &[f32], db: &mut [f32], batch: usize, g: &ConvGeometry) {
    let (output_len, plane) = (g.output_len(), g.out_h * g.out_w);
    db.fill(0.0);
    for n in 0..batch {
        for (o, channel) in dz[n * output_len..(n + 1) * output_len].chunks_exact(plane.max(1)).enumerate() {
            db[o] += channel.iter().sum::<f32>();
        }
    }
}

/// `y[k] += weight · x[k·stride]` for `k < y.len()`.
#[inline(always)]
fn axpy(weight: f32, x: &[f32], stride: usize, y: &mut [f32]) {
    if stride == 1 {
        for (y, x) in y.iter_mut().zip(x) {
            *y += weight * x;
        }
    } else {
        for (k, y) in y.iter_mut().enumerate() {
            *y += weight * x[k * stride];
        }
    }
}

/// `Σ_k y[k] · x[k·stride]` for `k < y.len()`, in four independent sums.
#[inline(always)]
fn dot(y: &[f32], x: &[f32], stride: usize) -> f32 {
    if stride == 1 {
        return crate::kernels::dot(y, &x[..y.len()]);
    }
    let mut sums = [0.0f32; 4];
    for (k, y) in y.iter().enumerate() {
        sums[k % 4] += y * x[k * stride];
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3])
}

/// `z = conv(x, w) + b` for `batch` samples: direct loops, or with `std`
/// im2col and GEMM for a convolution of at least [`GEMM_MIN_MACS`]
/// multiply-adds per sample and [`GEMM_MIN_CALL_MACS`] per call.
#[inline(always)]
pub fn conv_forward(x: &[f32], w: &[f32], b: Option<&[f32]>, z: &mut [f32], batch: usize, g: &ConvGeometry) {
    #[cfg(feature = "std")]
    if use_gemm(g, batch) {
        return gemm::forward(x, w, b, z, batch, g);
    }
    conv_forward_direct(x, w, b, z, batch, g)
}

/// Gradients of [`conv_forward`]: `dw` and `db` are overwritten, and `dx` if
/// given (direct loops, or im2col and GEMM past the same crossover).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn conv_backward(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    batch: usize,
    g: &ConvGeometry,
) {
    #[cfg(feature = "std")]
    if use_gemm(g, batch) {
        return gemm::backward(x, w, dz, dw, db, dx, batch, g);
    }
    conv_backward_direct(x, w, dz, dw, db, dx, batch, g)
}

/// Multiply-adds per sample from which a convolution runs as im2col + GEMM
/// (`matrixmultiply`) instead of direct loops, when a call also does at
/// least [`GEMM_MIN_CALL_MACS`]. Measured by the `kernels` bench (a 'same'
/// 3×3 convolution, batch 32, forward plus backward): direct loops win at
/// 2,304 multiply-adds per sample (0.68× the time of GEMM), GEMM from 5,184
/// (0.93×) and by 2–5× from 36,864 on; see docs/performance.md.
pub const GEMM_MIN_MACS: usize = 4096;

/// Multiply-adds per call below which direct loops win whatever the size
/// per sample: a one-sample `predict` of a small network (W7: a 6,144
/// multiply-add 1-D convolution takes 1.35 µs with direct loops, 1.60 µs
/// through GEMM). A batch of 32 of W6's first convolution (4,608 per
/// sample, 147,456 per call) is past it: GEMM brought W6 from 63 to 55 ms
/// generated and from 96 to 58 ms through the interpreter, whose direct loops
/// run on a run-time geometry (`bench --bench kernels` gives the crossover by batch).
pub const GEMM_MIN_CALL_MACS: usize = 1 << 15;

/// Whether a call on `batch` samples runs through im2col + GEMM.
#[cfg(feature = "std")]
#[inline(always)]
fn use_gemm(g: &ConvGeometry, batch: usize) -> bool {
    g.macs() >= GEMM_MIN_MACS && g.macs().saturating_mul(batch) >= GEMM_MIN_CALL_MACS
}

/// [`conv_forward`] through direct loops, whatever the size.
#[inline(always)]
pub fn conv_forward_direct(x: &[f32], w: &[f32], b: Option<&[f32]>, z: &mut [f32], batch: usize, g: &ConvGeometry) {
    let (input_len, output_len, plane) = (g.input_len(), g.output_len(), g.out_h * g.out_w);
    let stride = g.stride[1];
    for n in 0..batch {
        let x = &x[n * input_len..(n + 1) * input_len];
        let z = &mut z[n * output_len..(n + 1) * output_len];
        match b {
            Some(b) => {
                for (o, channel) in z.chunks_exact_mut(plane.max(1)).enumerate() {
                    channel.fill(b[o]);
                }
            }
            None => z.fill(0.0),
        }
        g.rows(|weight, out, input, count| axpy(w[weight], &x[input..], stride, &mut z[out..out + count]));
    }
}

/// [`conv_backward`] through direct loops, whatever the size.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn conv_backward_direct(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    mut dx: Option<&mut [f32]>,
    batch: usize,
    g: &ConvGeometry,
) {
    let (input_len, output_len) = (g.input_len(), g.output_len());
    let stride = g.stride[1];
    dw.fill(0.0);
    if let Some(dx) = dx.as_deref_mut() {
        dx[..batch * input_len].fill(0.0);
    }
    if let Some(db) = db {
        bias_gradient(dz, db, batch, g);
    }
    for n in 0..batch {
        let x = &x[n * input_len..(n + 1) * input_len];
        let dz = &dz[n * output_len..(n + 1) * output_len];
        match dx.as_deref_mut() {
            // One pass over the taps: each row's weight gradient and input gradient together.
            Some(dx) => {
                let dx = &mut dx[n * input_len..(n + 1) * input_len];
                g.rows(|weight, out, input, count| {
                    let gradient = &dz[out..out + count];
                    dw[weight] += dot(gradient, &x[input..], stride);
                    let tap = w[weight];
                    if stride == 1 {
                        for (d, g) in dx[input..input + count].iter_mut().zip(gradient) {
                            *d += tap * g;
                        }
                    } else {
                        for (k, g) in gradient.iter().enumerate() {
                            dx[input + k * stride] += tap * g;
                        }
                    }
                });
            }
            None => g.rows(|weight, out, input, count| dw[weight] += dot(&dz[out..out + count], &x[input..], stride)),
        }
    }
}

// Convolutions as matrix products (with `std`): im2col + GEMM past the crossover.
#[cfg(feature = "std")]
pub mod gemm;

/// The sizes of one pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PoolGeometry {
    /// Channels.
    pub channels: usize,
    /// Input height (1 for 1-D).
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// The maximum (true) or the mean (false) of each window.
    pub max: bool,
}

impl PoolGeometry {
    /// Values per input sample.
    #[inline]
    pub fn input_len(&self) -> usize {
        self.channels * self.in_h * self.in_w
    }

    /// Values per output sample.
    #[inline]
    pub fn output_len(&self) -> usize {
        self.channels * self.out_h * self.out_w
    }

    /// The input index of each element of output `(c, u, v)`'s window, row-major.
    #[inline(always)]
    fn window(&self, c: usize, u: usize, v: usize, mut f: impl FnMut(usize)) {
        for i in 0..self.kernel[0] {
            for j in 0..self.kernel[1] {
                let (row, column) = (u * self.stride[0] + i, v * self.stride[1] + j);
                f((c * self.in_h + row) * self.in_w + column);
            }
        }
    }
}

/// Pools `batch` samples of `x` into `y`; a max pool records in `argmax` (if
/// given) the input index it chose for each output, for the backward pass.
#[inline(always)]
pub fn pool_forward(x: &[f32], y: &mut [f32], mut argmax: Option<&mut [f32]>, batch: usize, g: &PoolGeometry) {
    let (input_len, output_len) = (g.input_len(), g.output_len());
    let count = (g.kernel[0] * g.kernel[1]) as f32;
    for n in 0..batch {
        let x = &x[n * input_len..(n + 1) * input_len];
        for c in 0..g.channels {
            for u in 0..g.out_h {
                for v in 0..g.out_w {
                    let out = n * output_len + (c * g.out_h + u) * g.out_w + v;
                    match (g.max, argmax.as_deref_mut()) {
                        (true, Some(argmax)) => {
                            // The first largest value in row-major window order.
                            let (mut index, mut value) = (usize::MAX, f32::NEG_INFINITY);
                            g.window(c, u, v, |i| {
                                if index == usize::MAX || x[i] > value {
                                    (index, value) = (i, x[i]);
                                }
                            });
                            y[out] = value;
                            argmax[out] = index as f32;
                        }
                        // Without indices the same value by the same rule (a NaN
                        // first in its window stays, as with indices).
                        (true, None) => {
                            let (mut first, mut value) = (true, f32::NEG_INFINITY);
                            g.window(c, u, v, |i| {
                                if first || x[i] > value {
                                    (first, value) = (false, x[i]);
                                }
                            });
                            y[out] = value;
                        }
                        (false, _) => {
                            let mut sum = 0.0;
                            g.window(c, u, v, |i| sum += x[i]);
                            y[out] = sum / count;
                        }
                    }
                }
            }
        }
    }
}

/// The gradient of [`pool_forward`] with respect to its input, overwriting `dx`.
#[inline(always)]
pub fn pool_backward(dy: &[f32], argmax: &[f32], dx: &mut [f32], batch: usize, g: &PoolGeometry) {
    let (input_len, output_len) = (g.input_len(), g.output_len());
    let count = (g.kernel[0] * g.kernel[1]) as f32;
    dx[..batch * input_len].fill(0.0);
    for n in 0..batch {
        let dx = &mut dx[n * input_len..(n + 1) * input_len];
        for c in 0..g.channels {
            for u in 0..g.out_h {
                for v in 0..g.out_w {
                    let out = n * output_len + (c * g.out_h + u) * g.out_w + v;
                    if g.max {
                        dx[argmax[out] as usize] += dy[out];
                    } else {
                        let share = dy[out] / count;
                        g.window(c, u, v, |i| dx[i] += share);
                    }
                }
            }
        }
    }
}
