//! Normalisation kernels on row-major `[batch][width]` buffers.
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
