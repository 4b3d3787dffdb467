//! Scalar transcendental functions: the platform's (std, usually glibc's
//! optimised routines) when the `std` feature is on, the `libm` crate's
//! otherwise, so kernels build without std for embedded inference.
//! `erf` always comes from `libm` (std has none).
//!
//! [`exp_fast`], [`sigmoid_fast`] and [`tanh_fast`] are branch-free
//! polynomial forms (Cephes' `expf` and `tanhf` coefficients) that LLVM
//! vectorises when they run over a slice: the activation kernels use them, which
//! is what makes batch-major training beat NumPy's vectorised transcendentals.
//! Their relative error is below 3·10⁻⁷ over the whole range (see the tests and
//! the conformance activations, which they pass at the f32 tolerance).

/// e^x
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.exp();
    #[cfg(not(feature = "std"))]
    return libm::expf(x);
}

/// e^x − 1, accurate near 0.
#[inline(always)]
pub fn exp_m1(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.exp_m1();
    #[cfg(not(feature = "std"))]
    return libm::expm1f(x);
}

/// ln x
#[inline(always)]
pub fn ln(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.ln();
    #[cfg(not(feature = "std"))]
    return libm::logf(x);
}

/// ln(1 + x), accurate near 0.
#[inline(always)]
pub fn ln_1p(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.ln_1p();
    #[cfg(not(feature = "std"))]
    return libm::log1pf(x);
}

/// tanh x
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.tanh();
    #[cfg(not(feature = "std"))]
    return libm::tanhf(x);
}

/// The error function.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    libm::erff(x)
}

/// √x
#[inline(always)]
pub fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    return x.sqrt();
    #[cfg(not(feature = "std"))]
    return libm::sqrtf(x);
}

const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// ln 2 split in two so that `n·ln 2` is exact in the range reduction.
const LN2_HIGH: f32 = 0.693_359_4;
const LN2_LOW: f32 = -2.121_944_4e-4;

/// e^x without branches or library calls. Inputs above 88 give e⁸⁸ (the f32
/// range ends at e^88.7); below −87.3 (where e^x is subnormal) the result is 0.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
pub fn exp_fast(x: f32) -> f32 {
    let underflow = x < -87.3;
    let x = x.clamp(-87.3, 88.0);
    // n = round(x / ln 2) by the 1.5·2²³ trick (no floor call, so it vectorises):
    // `shifted` is 1.5·2²³ + n, whose bits are those of 1.5·2²³ plus n.
    const ROUND: f32 = 12_582_912.0;
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    // e^r = 1 + r + r²·P(r), P of degree 5 evaluated by Estrin's scheme: three
    // independent pairs joined by r² and r⁴, about half the dependent steps of
    // Horner's rule. A tiny network's pass waits on each layer's exponentials
    // (one after another through the layers), so their latency is its speed.
    let r2 = r * r;
    let r4 = r2 * r2;
    let low = 1.666_666_5e-1 * r + 5.000_000_1e-1;
    let mid = 8.333_452e-3 * r + 4.166_579_6e-2;
    let high = 1.987_569_1e-4 * r + 1.398_199_9e-3;
    let p = (low + r2 * mid) + r4 * high;
    let p = p * r2 + r + 1.0;
    // 2ⁿ built from those bits: integer lanes, where `n as i32` (a saturating
    // cast with a NaN check) would keep the loop scalar.
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127) << 23);
    if underflow {
        0.0
    } else {
        p * scale
    }
}

/// 1/(1+e^−x), branch-free; accurate in relative terms for every x.
#[inline(always)]
pub fn sigmoid_fast(x: f32) -> f32 {
    1.0 / (1.0 + exp_fast(-x))
}

/// ln(1 + t) for t in [0, 1], branch-free: `2·atanh(u)` with u = t/(2+t) ≤ 1/3
/// and its odd series to u¹⁷ (relative error below 3·10⁻⁷, exact to first order for tiny t).
#[inline(always)]
pub fn ln_1p_fast(t: f32) -> f32 {
    let u = t / (2.0 + t);
    let v = u * u;
    let series =
        ((((((((v / 17.0 + 1.0 / 15.0) * v + 1.0 / 13.0) * v + 1.0 / 11.0) * v + 1.0 / 9.0) * v + 1.0 / 7.0) * v
            + 1.0 / 5.0)
            * v
            + 1.0 / 3.0)
            * v)
            + 1.0;
    2.0 * u * series
}

/// tanh x, branch-free: an odd polynomial below |x| = 0.625, `1 − 2/(e^2|x| + 1)` above.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
pub fn tanh_fast(x: f32) -> f32 {
    let a = x.abs();
    let s = x * x;
    let small = ((((-5.704_988_7e-3 * s + 2.063_908_9e-2) * s - 5.373_971_6e-2) * s + 1.333_144_2e-1) * s
        - 3.333_328_2e-1)
        * s
        * x
        + x;
    let large = (1.0 - 2.0 / (exp_fast(2.0 * a) + 1.0)).copysign(x);
    if a < 0.625 {
        small
    } else {
        large
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst_relative(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, low: f32, high: f32) -> f64 {
        let steps = 200_000;
        (0..=steps)
            .map(|i| low + (high - low) * i as f32 / steps as f32)
            .map(|x| {
                let r = reference(f64::from(x));
                ((f64::from(f(x)) - r) / r.abs().max(1e-30)).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_fast_is_accurate() {
        assert!(worst_relative(exp_fast, f64::exp, -87.0, 88.0) < 3e-7);
    }

    #[test]
    fn sigmoid_fast_is_accurate() {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        assert!(worst_relative(sigmoid_fast, sigmoid, -80.0, 80.0) < 3e-7);
    }

    #[test]
    fn ln_1p_fast_is_accurate_on_zero_to_one() {
        assert!(worst_relative(ln_1p_fast, f64::ln_1p, 1e-12, 1.0) < 3e-7);
        assert_eq!(ln_1p_fast(0.0), 0.0);
    }

    #[test]
    fn tanh_fast_is_accurate() {
        assert!(worst_relative(tanh_fast, f64::tanh, -20.0, 20.0) < 3e-7);
        assert_eq!(tanh_fast(1000.0), 1.0);
        assert_eq!(tanh_fast(-1000.0), -1.0);
        assert_eq!(tanh_fast(0.0), 0.0);
    }
}
