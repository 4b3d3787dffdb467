//! Every initializer draws from the distribution its formula gives
//! (PyTorch's fans: `fan_in` = inputs, `fan_out` = outputs): the sample mean
//! and variance lie within five standard errors of the formula's, a uniform
//! stays inside its bounds and reaches near both ends, and a normal has its
//! tails. With fan_in ≠ fan_out a formula with the fans swapped, or another
//! constant, fails.

use nnspec::{Fill, Init};
use rand::SeedableRng;

const FAN_IN: usize = 50;
const FAN_OUT: usize = 30;
const N: usize = 200_000;

enum Shape {
    Uniform { low: f64, high: f64 },
    Normal { mean: f64, std: f64 },
}

fn expected(init: Init) -> Shape {
    let (fan_in, fan_out) = (FAN_IN as f64, FAN_OUT as f64);
    let symmetric = |a: f64| Shape::Uniform { low: -a, high: a };
    match init {
        Init::Uniform { low, high } => Shape::Uniform { low: f64::from(low), high: f64::from(high) },
        Init::Normal { mean, std } => Shape::Normal { mean: f64::from(mean), std: f64::from(std) },
        Init::XavierUniform => symmetric((6.0 / (fan_in + fan_out)).sqrt()),
        Init::XavierNormal => Shape::Normal { mean: 0.0, std: (2.0 / (fan_in + fan_out)).sqrt() },
        Init::HeUniform => symmetric((6.0 / fan_in).sqrt()),
        Init::HeNormal => Shape::Normal { mean: 0.0, std: (2.0 / fan_in).sqrt() },
        Init::TorchDefault => symmetric(1.0 / fan_in.sqrt()),
        Init::Zeros | Init::Constant(_) => unreachable!("not random"),
    }
}

#[test]
fn random_initializers_follow_their_formulas() {
    for init in [
        Init::Uniform { low: -0.5, high: 1.5 },
        Init::Normal { mean: 0.25, std: 0.01 },
        Init::XavierUniform,
        Init::XavierNormal,
        Init::HeUniform,
        Init::HeNormal,
        Init::TorchDefault,
    ] {
        let mut values = vec![0.0f32; N];
        init.fill(&mut values, FAN_IN, FAN_OUT, &mut rand_chacha::ChaCha8Rng::seed_from_u64(9));
        let n = N as f64;
        let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
        let variance = values.iter().map(|v| (f64::from(*v) - mean).powi(2)).sum::<f64>() / n;
        let (min, max) =
            values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(f64::from(*v)), hi.max(f64::from(*v))));
        // Excess kurtosis: −1.2 for a uniform, 0 for a normal; the variance's standard error is σ²·√((κ + 2)/n).
        let (expected_mean, expected_variance, kurtosis) = match expected(init) {
            Shape::Uniform { low, high } => {
                let width = high - low;
                assert!(min >= low - 1e-6 && max <= high + 1e-6, "{init:?}: [{min}, {max}] outside [{low}, {high}]");
                assert!(
                    min - low < 1e-3 * width && high - max < 1e-3 * width,
                    "{init:?}: [{min}, {max}] misses an end"
                );
                ((low + high) / 2.0, width * width / 12.0, -1.2)
            }
            Shape::Normal { mean, std } => {
                assert!((max - mean) > 3.5 * std && (mean - min) > 3.5 * std, "{init:?}: no tails in [{min}, {max}]");
                (mean, std * std, 0.0)
            }
        };
        let mean_error = 5.0 * (expected_variance / n).sqrt();
        assert!(
            (mean - expected_mean).abs() <= mean_error,
            "{init:?}: mean {mean}, expected {expected_mean} ± {mean_error}"
        );
        let variance_error = 5.0 * expected_variance * ((kurtosis + 2.0) / n).sqrt();
        assert!(
            (variance - expected_variance).abs() <= variance_error,
            "{init:?}: variance {variance}, expected {expected_variance} ± {variance_error}"
        );
    }
}

#[test]
fn constant_initializers_fill_their_value() {
    let mut values = vec![1.0f32; 7];
    Init::Zeros.fill(&mut values, FAN_IN, FAN_OUT, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    assert_eq!(values, [0.0; 7]);
    Init::Constant(0.125).fill(&mut values, FAN_IN, FAN_OUT, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    assert_eq!(values, [0.125; 7]);
}
