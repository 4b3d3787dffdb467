//! Parameter initializers. Fans follow PyTorch: for a dense layer's weight,
//! `fan_in` = inputs and `fan_out` = outputs; a bias uses its layer's fans.
//!
//! | initializer | distribution |
//! |---|---|
//! | zeros, constant(c) | 0, c |
//! | uniform(a, b) | U(a, b) |
//! | normal(m, s) | N(m, s²) — `normal(0, 0.01)` is the course's `randn·0.01` |
//! | xavier_uniform | U(−√(6/(fan_in+fan_out)), +…) |
//! | xavier_normal | N(0, 2/(fan_in+fan_out)) |
//! | he_uniform | U(−√(6/fan_in), +…) |
//! | he_normal | N(0, 2/fan_in) |
//! | torch_default | U(−1/√fan_in, 1/√fan_in), PyTorch's `nn.Linear` default for weights and biases |
//!
//! ```
//! use nnspec::{Fill, Init};
//! use rand::SeedableRng;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let mut w = [0.0f32; 6];
//! Init::XavierUniform.fill(&mut w, 2, 3, &mut rng);
//! let bound = (6.0f32 / 5.0).sqrt();
//! assert!(w.iter().all(|v| v.abs() <= bound));
//! ```

use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

pub use nnspec_core::vocabulary::Init;

/// Drawing an [`Init`]'s values (in the prelude of `nnspec`: `use nnspec::Fill;`).
pub trait Fill {
    /// Fills `values` with draws from `rng`.
    fn fill<R: Rng + ?Sized>(self, values: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut R);
}

impl Fill for Init {
    fn fill<R: Rng + ?Sized>(self, values: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut R) {
        let fan_in = fan_in.max(1) as f32;
        let fan_out = fan_out.max(1) as f32;
        match self {
            Init::Zeros => values.fill(0.0),
            Init::Constant(c) => values.fill(c),
            Init::Uniform { low, high } => uniform(values, low, high, rng),
            Init::Normal { mean, std } => normal(values, mean, std, rng),
            Init::XavierUniform => {
                let a = (6.0 / (fan_in + fan_out)).sqrt();
                uniform(values, -a, a, rng)
            }
            Init::XavierNormal => normal(values, 0.0, (2.0 / (fan_in + fan_out)).sqrt(), rng),
            Init::HeUniform => {
                let a = (6.0 / fan_in).sqrt();
                uniform(values, -a, a, rng)
            }
            Init::HeNormal => normal(values, 0.0, (2.0 / fan_in).sqrt(), rng),
            Init::TorchDefault => {
                let a = 1.0 / fan_in.sqrt();
                uniform(values, -a, a, rng)
            }
        }
    }
}

fn uniform<R: Rng + ?Sized>(values: &mut [f32], low: f32, high: f32, rng: &mut R) {
    match Uniform::new_inclusive(low, high) {
        Ok(distribution) => values.iter_mut().for_each(|v| *v = distribution.sample(rng)),
        Err(_) => values.fill(low),
    }
}

fn normal<R: Rng + ?Sized>(values: &mut [f32], mean: f32, std: f32, rng: &mut R) {
    match Normal::new(mean, std) {
        Ok(distribution) => values.iter_mut().for_each(|v| *v = distribution.sample(rng)),
        Err(_) => values.fill(mean),
    }
}
