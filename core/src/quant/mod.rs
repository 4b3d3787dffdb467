//! Integer-only inference: int8 values, i32 accumulators, fixed-point
//! requantisation (the scheme of TensorFlow Lite and CMSIS-NN).
//!
//! A tensor's real value is `scale · (q − zero_point)` with `q: i8`:
//! activations are asymmetric, one scale and zero point per tensor, from the
//! range calibration data reached (always including 0, so real zero, ReLU's
//! floor and a convolution's padding, is exact); weights are symmetric per
//! output channel (`zero_point = 0`, `q ∈ [−64, 64]`: seven bits,
//! see [`WEIGHT_LIMIT`]); biases are i32 in the
//! scale `input scale · weight scale` of their channel.
//!
//! A layer accumulates `Σ q_x · q_w` in i32 and carries it into the output's
//! scale with a [`Requant`]: a real multiplier `M` stored as a 31-bit
//! fixed-point mantissa and a power of two, `M = multiplier · 2^(shift − 31)`.
//! [`Requant::apply`] rounds once, half toward +∞ (`(x·m + 2^(t−1)) >> t`, an
//! arithmetic shift on the i64 product), as TensorFlow Lite does with its
//! single-rounding option. The kernels of this module's per-op submodules use
//! integer arithmetic only (`clippy::float_arithmetic` is denied in them);
//! the quantisation itself (`network`, with `alloc`) is where floats are.
//!
//! ```
//! use nnspec_core::quant::Requant;
//! // 0.25 = 2^30 · 2^(−1 − 31)
//! let quarter = Requant { multiplier: 1 << 30, shift: -1 };
//! assert_eq!(quarter.apply(10), 3); // 2.5 rounds half up
//! assert_eq!(quarter.apply(-10), -2); // −2.5 rounds half up too
//! ```

pub mod conv;
pub mod dense;
pub mod elementwise;
#[cfg(feature = "safetensors")]
pub mod file;
#[cfg(feature = "alloc")]
pub mod network;
pub mod pool;
#[cfg(feature = "alloc")]
mod quantize;
pub mod recurrent;
#[cfg(feature = "alloc")]
mod tensors;

#[cfg(feature = "alloc")]
pub use network::{
    quantize, Finish, QData, QKind, QNetwork, QNode, QTensor, QuantError, QuantParams, Ranges, RecurrentParams,
};

/// The largest magnitude of a quantised weight: 64, seven bits, as
/// onnxruntime's quantiser writes with `reduce_range`. The integer kernels
/// x86-64 runtimes use without VNNI (`vpmaddubsw`, u8 activations × s8
/// weights) add each pair of products in a saturating 16-bit sum: with
/// weights up to 64 that sum stays within `2 · 255 · 64 = 32,640 < 32,767`,
/// so an exported model computes on such a CPU what nnspec computes; with
/// the full ±127 it can saturate and move outputs by tens of steps.
pub const WEIGHT_LIMIT: i8 = 64;

/// The first node of `network` whose weights go past ±[`WEIGHT_LIMIT`] (a
/// file quantised before the limit): runtimes whose 16-bit pair sums
/// saturate can compute other values from it.
#[cfg(feature = "alloc")]
pub fn full_range_weights(network: &QNetwork) -> Option<&str> {
    network.nodes.iter().find_map(|node| match &node.kind {
        QKind::Dense { weight, .. } | QKind::Conv { weight, .. } => {
            weight.iter().any(|w| w.unsigned_abs() > WEIGHT_LIMIT as u8).then_some(node.name.as_str())
        }
        QKind::Recurrent(layer) => {
            let mut weights = layer.weight_ih.iter().chain(&layer.weight_hh);
            weights.any(|w| w.unsigned_abs() > WEIGHT_LIMIT as u8).then_some(node.name.as_str())
        }
        _ => None,
    })
}

/// `x` in the quantisation `(scale, zero_point)`: `round(x / scale) + zero_point`
/// (half away from zero, in f64), saturated to int8; NaN becomes the zero point.
/// The float edge of integer inference: the one rounding both the interpreter
/// and generated code use for their input.
pub fn quantize_value(x: f32, scale: f32, zero_point: i32) -> i8 {
    let q = libm::round(f64::from(x) / f64::from(scale)) + f64::from(zero_point);
    if q.is_nan() {
        return zero_point.clamp(-128, 127) as i8;
    }
    q.clamp(-128.0, 127.0) as i8
}

/// The real value of `q` in the quantisation `(scale, zero_point)`.
pub fn dequantize_value(q: i8, scale: f32, zero_point: i32) -> f32 {
    scale * (q as i32 - zero_point) as f32
}

/// The index of the first largest value: the class of a classifier's int8
/// logits (or probabilities), without leaving the integers.
pub fn argmax(values: &[i8]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// A real multiplier in fixed point: `multiplier · 2^(shift − 31)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requant {
    /// The mantissa, `|multiplier| ∈ [2^30, 2^31)` (or 0 for a zero multiplier).
    pub multiplier: i32,
    /// The power of two, at most 30.
    pub shift: i32,
}

impl Requant {
    /// `round(x · M)`, half toward +∞, saturated to i32.
    #[inline(always)]
    pub const fn apply(self, x: i32) -> i32 {
        let total = 31 - self.shift;
        if total > 62 || self.multiplier == 0 {
            return 0;
        }
        let product = x as i64 * self.multiplier as i64;
        let rounded = if total <= 0 { product } else { (product + (1i64 << (total - 1))) >> total };
        if rounded > i32::MAX as i64 {
            i32::MAX
        } else if rounded < i32::MIN as i64 {
            i32::MIN
        } else {
            rounded as i32
        }
    }
}

/// Where a kernel's results go: `q = clamp(zero_point + r, min, max)`; a
/// ReLU fused into the layer is `min = zero_point`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// The output's zero point.
    pub zero_point: i32,
    /// The smallest value stored.
    pub min: i32,
    /// The largest value stored.
    pub max: i32,
}

impl Output {
    /// An output over the whole int8 range.
    pub const fn new(zero_point: i32) -> Output {
        Output { zero_point, min: -128, max: 127 }
    }

    /// `r` (already in the output's scale) stored as int8.
    #[inline(always)]
    pub const fn store(self, r: i32) -> i8 {
        let q = r.saturating_add(self.zero_point);
        let q = if q < self.min {
            self.min
        } else if q > self.max {
            self.max
        } else {
            q
        };
        q as i8
    }
}
