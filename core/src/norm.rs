//! Normalisation kernels on row-major `[batch][width]` buffers: layer
//! normalisation (per row) and batch normalisation (per channel over the batch).
//!
//! Layer normalisation, per row: `μ = mean(x)`, `σ² = mean((x − μ)²)` (the
//! biased variance, taken as the mean of squared deviations, which keeps f32
//! accurate), `rstd = 1/√(σ² + eps)`, `x̂ = (x − μ)·rstd`, `y = γ·x̂ + β`.
//! Backward, with `ĝ = ∂y·γ`: `∂γ = Σ_rows ∂y·x̂`, `∂β = Σ_rows ∂y`,
//! `∂x = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`.
//!
//! ```
//! use nnspec_core::norm::layer_norm_forward;
//! let x = [1.0, 3.0];
//! let (gamma, beta) = ([1.0, 1.0], [0.0, 0.5]);
//! let (mut y, mut xhat, mut rstd) = ([0.0; 2], [0.0; 2], [0.0; 1]);
//! layer_norm_forward(&x, &gamma, &beta, &mut y, &mut xhat, &mut rstd, 2, 0.0);
//! assert_eq!(y, [-1.0, 1.5]);
//! ```

/// Normalises each `width`-wide row of `x` into `y`, keeping `xhat` and `rstd` (one per row).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn layer_norm_forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    y: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
    width: usize,
    eps: f32,
) {
    if width == 0 {
        return;
    }
    let n = width as f32;
    for (((x, y), xhat), rstd) in
        x.chunks_exact(width).zip(y.chunks_exact_mut(width)).zip(xhat.chunks_exact_mut(width)).zip(rstd.iter_mut())
    {
        let mean = x.iter().sum::<f32>() / n;
        let variance = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        let r = 1.0 / crate::math::sqrt(variance + eps);
        *rstd = r;
        for ((((y, xhat), x), g), b) in y.iter_mut().zip(xhat.iter_mut()).zip(x).zip(gamma).zip(beta) {
            *xhat = (x - mean) * r;
            *y = g * *xhat + b;
        }
    }
}

/// Gradients of [`layer_norm_forward`]: `dgamma` and `dbeta` are overwritten,
/// and `dx`, if given.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn layer_norm_backward(
    grad: &[f32],
    gamma: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    dx: Option<&mut [f32]>,
    width: usize,
) {
    dgamma.fill(0.0);
    dbeta.fill(0.0);
    if width == 0 {
        return;
    }
    for (g_row, xhat_row) in grad.chunks_exact(width).zip(xhat.chunks_exact(width)) {
        for (((dg, db), g), xh) in dgamma.iter_mut().zip(dbeta.iter_mut()).zip(g_row).zip(xhat_row) {
            *dg += g * xh;
            *db += g;
        }
    }
    let Some(dx) = dx else { return };
    let n = width as f32;
    for (((g_row, xhat_row), r), dx_row) in
        grad.chunks_exact(width).zip(xhat.chunks_exact(width)).zip(rstd).zip(dx.chunks_exact_mut(width))
    {
        let mut mean_g = 0.0;
        let mut mean_gx = 0.0;
        for ((g, gamma), xh) in g_row.iter().zip(gamma).zip(xhat_row) {
            mean_g += g * gamma;
            mean_gx += g * gamma * xh;
        }
        mean_g /= n;
        mean_gx /= n;
        for (((d, g), gamma), xh) in dx_row.iter_mut().zip(g_row).zip(gamma).zip(xhat_row) {
            *d = r * (g * gamma - mean_g - xh * mean_gx);
        }
    }
}

/// Batch normalisation of `rows` samples of `channels × spatial` values
/// (channel-first), per channel over the `rows·spatial` values of that
/// channel, as PyTorch's `BatchNorm1d/2d`.
///
/// While `training`, μ and σ² are the batch's mean and biased variance (the
/// mean of squared deviations); otherwise they are the running statistics,
/// `running = [running_mean; channels] ++ [running_var; channels]`. Writes
/// `y = γ·x̂ + β` with `x̂ = (x − μ)·rstd`, `rstd = 1/√(σ² + eps)`, and keeps
/// `stats = [rstd; channels] ++ [μ; channels] ++ [σ²; channels]` for the
/// backward pass and for [`batch_norm_update`].
///
/// ```
/// use nnspec_core::norm::batch_norm_forward;
/// // Two samples of one channel with two positions each: mean 2.5, variance 1.25.
/// let x = [1.0, 2.0, 3.0, 4.0];
/// let (mut y, mut xhat, mut stats) = ([0.0; 4], [0.0; 4], [0.0; 3]);
/// batch_norm_forward(&x, &[1.0], &[0.0], &[0.0, 1.0], &mut y, &mut xhat, &mut stats, 2, 1, 2, 0.0, true);
/// assert_eq!(stats[1..], [2.5, 1.25]);
/// assert!((y[0] + 1.341_640_8).abs() < 1e-6);
/// ```
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn batch_norm_forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    running: &[f32],
    y: &mut [f32],
    xhat: &mut [f32],
    stats: &mut [f32],
    rows: usize,
    channels: usize,
    spatial: usize,
    eps: f32,
    training: bool,
) {
    let width = channels * spatial;
    if width == 0 || rows == 0 {
        return;
    }
    let (rstd, moments) = stats[..3 * channels].split_at_mut(channels);
    let (mean, variance) = moments.split_at_mut(channels);
    if training {
        let count = (rows * spatial) as f32;
        for c in 0..channels {
            let values = || x.chunks_exact(width).flat_map(|row| &row[c * spatial..(c + 1) * spatial]);
            let m = values().sum::<f32>() / count;
            mean[c] = m;
            variance[c] = values().map(|v| (v - m) * (v - m)).sum::<f32>() / count;
        }
    } else {
        mean.copy_from_slice(&running[..channels]);
        variance.copy_from_slice(&running[channels..2 * channels]);
    }
    for c in 0..channels {
        rstd[c] = 1.0 / crate::math::sqrt(variance[c] + eps);
    }
    for ((x, y), xhat) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)).zip(xhat.chunks_exact_mut(width)) {
        for c in 0..channels {
            let span = c * spatial..(c + 1) * spatial;
            let (m, r, g, b) = (mean[c], rstd[c], gamma[c], beta[c]);
            for ((y, xhat), x) in y[span.clone()].iter_mut().zip(&mut xhat[span.clone()]).zip(&x[span]) {
                *xhat = (x - m) * r;
                *y = g * *xhat + b;
            }
        }
    }
}

/// Gradients of [`batch_norm_forward`]: `dgamma = Σ grad·x̂` and `dbeta = Σ grad`
/// per channel (overwritten), and `dx`, if given. While `training` the
/// gradient flows through the batch statistics,
/// `∂x = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))` with `ĝ = grad·γ` and the means
/// per channel over the batch; otherwise the statistics are constants and
/// `∂x = rstd·ĝ`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn batch_norm_backward(
    grad: &[f32],
    gamma: &[f32],
    xhat: &[f32],
    stats: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
    dx: Option<&mut [f32]>,
    channels: usize,
    spatial: usize,
    training: bool,
) {
    dgamma.fill(0.0);
    dbeta.fill(0.0);
    let width = channels * spatial;
    if width == 0 {
        return;
    }
    for (g_row, xhat_row) in grad.chunks_exact(width).zip(xhat.chunks_exact(width)) {
        for c in 0..channels {
            let span = c * spatial..(c + 1) * spatial;
            for (g, xh) in g_row[span.clone()].iter().zip(&xhat_row[span]) {
                dgamma[c] += g * xh;
                dbeta[c] += g;
            }
        }
    }
    let Some(dx) = dx else { return };
    let count = (grad.len() / width * spatial) as f32;
    for ((g_row, xhat_row), dx_row) in
        grad.chunks_exact(width).zip(xhat.chunks_exact(width)).zip(dx.chunks_exact_mut(width))
    {
        for c in 0..channels {
            let span = c * spatial..(c + 1) * spatial;
            let r = stats[c];
            let (mean_g, mean_gx) =
                if training { (dbeta[c] * gamma[c] / count, dgamma[c] * gamma[c] / count) } else { (0.0, 0.0) };
            for ((d, g), xh) in dx_row[span.clone()].iter_mut().zip(&g_row[span.clone()]).zip(&xhat_row[span]) {
                *d = r * (g * gamma[c] - mean_g - xh * mean_gx);
            }
        }
    }
}

/// Folds the batch statistics a training-mode [`batch_norm_forward`] kept in
/// `stats` into `buffers = [running_mean; C] ++ [running_var; C] ++ [num_batches_tracked]`,
/// as PyTorch does: `running ← (1 − momentum)·running + momentum·batch`, the
/// variance taken unbiased (`σ²·M/(M − 1)` over the `M = rows·spatial`
/// values of a channel), and the batch counter incremented. With `M < 2` the
/// unbiased variance does not exist and nothing is updated (the trainer
/// refuses such batches first).
#[inline(always)]
pub fn batch_norm_update(buffers: &mut [f32], stats: &[f32], channels: usize, count: usize, momentum: f32) {
    if count < 2 {
        return;
    }
    let correction = count as f32 / (count - 1) as f32;
    let (running, tracked) = buffers.split_at_mut(2 * channels);
    let (running_mean, running_var) = running.split_at_mut(channels);
    let (mean, variance) = stats[channels..3 * channels].split_at(channels);
    for (r, m) in running_mean.iter_mut().zip(mean) {
        *r = (1.0 - momentum) * *r + momentum * m;
    }
    for (r, v) in running_var.iter_mut().zip(variance) {
        *r = (1.0 - momentum) * *r + momentum * v * correction;
    }
    if let Some(tracked) = tracked.first_mut() {
        *tracked += 1.0;
    }
}

/// Standardises each sample of `x` feature by feature, `y = (x − mean)/std`,
/// with `buffers = [mean; width] ++ [std; width] ++ [count]` as
/// [`standardize_fit`] left them.
#[inline(always)]
pub fn standardize(x: &[f32], buffers: &[f32], y: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    let (mean, std) = (&buffers[..width], &buffers[width..2 * width]);
    for (x, y) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        for (((y, x), m), s) in y.iter_mut().zip(x).zip(mean).zip(std) {
            *y = (x - m) / s;
        }
    }
}

/// Sets `buffers = [mean; width] ++ [std; width] ++ [count]` from the `rows`
/// samples of `x`: per feature the mean and the population standard deviation
/// (as scikit-learn's `StandardScaler` and Keras's `Normalization.adapt`),
/// accumulated in f64, a constant feature's deviation taken as 1, and the
/// number of rows.
///
/// ```
/// use nnspec_core::norm::standardize_fit;
/// let mut buffers = [0.0; 5];
/// standardize_fit(&[1.0, 5.0, 3.0, 5.0], &mut buffers, 2, 2);
/// assert_eq!(buffers, [2.0, 5.0, 1.0, 1.0, 2.0]);
/// ```
pub fn standardize_fit(x: &[f32], buffers: &mut [f32], rows: usize, width: usize) {
    if width == 0 || rows == 0 {
        return;
    }
    let (mean, rest) = buffers.split_at_mut(width);
    let (std, count) = rest.split_at_mut(width);
    let n = rows as f64;
    for feature in 0..width {
        let values = || x.chunks_exact(width).take(rows).map(|row| f64::from(row[feature]));
        let m = values().sum::<f64>() / n;
        let variance = values().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
        let s = libm::sqrt(variance);
        mean[feature] = m as f32;
        std[feature] = if s == 0.0 { 1.0 } else { s as f32 };
    }
    if let Some(count) = count.first_mut() {
        *count = rows as f32;
    }
}
