//! Seed 003: overfitting and three cures. An over-sized network (1 → 64 → 64
//! → 1, 4 353 parameters) learns 20 noisy samples of sin(3x) by heart; L2, L1
//! and dropout, each declared in the spec, shrink the gap between training and
//! validation error.

use crate::synthetic::Random;
use nnspec::train::evaluate;
use nnspec::{Dataset, Model, Trainer, Workspace};

nnspec::net! {
    /// No regularisation.
    network Plain {
        input x: [1];
        dense h1: 64, activation = tanh;
        dense h2: 64, activation = tanh;
        dense out: 1;
        loss mse;
        train { optimizer = adam(lr = 0.01), batch = full, epochs = 1500, shuffle = false }
    }

    /// L2 on every layer's weights.
    network WithL2 {
        input x: [1];
        dense h1: 64, activation = tanh, l2 = 1e-3;
        dense h2: 64, activation = tanh, l2 = 1e-3;
        dense out: 1, l2 = 1e-3;
        loss mse;
        train { optimizer = adam(lr = 0.01), batch = full, epochs = 1500, shuffle = false }
    }

    /// L1 on every layer's weights.
    network WithL1 {
        input x: [1];
        dense h1: 64, activation = tanh, l1 = 1e-4;
        dense h2: 64, activation = tanh, l1 = 1e-4;
        dense out: 1, l1 = 1e-4;
        loss mse;
        train { optimizer = adam(lr = 0.01), batch = full, epochs = 1500, shuffle = false }
    }

    /// Dropout after each hidden layer.
    network WithDropout {
        input x: [1];
        dense h1: 64, activation = tanh;
        dropout(0.2);
        dense h2: 64, activation = tanh;
        dropout(0.2);
        dense out: 1;
        loss mse;
        train { optimizer = adam(lr = 0.01), batch = full, epochs = 1500, shuffle = false }
    }
}

/// `count` samples of sin(3x) on [−1, 1], with Gaussian noise of standard deviation `noise`.
pub fn samples(count: usize, noise: f32, seed: u64) -> Dataset {
    let mut random = Random::new(seed);
    let x: Vec<f32> = (0..count).map(|_| random.range(-1.0, 1.0)).collect();
    let y = x.iter().map(|v| (3.0 * v).sin() + noise * random.normal()).collect();
    Dataset::new(x, y, 1, 1).expect("one feature")
}

/// Training and validation MSE of one variant.
#[derive(Debug, Clone, Copy)]
pub struct Fit {
    /// Final training MSE (without penalty).
    pub train: f64,
    /// Final validation MSE.
    pub validation: f64,
}

/// The variants in table order.
pub const VARIANTS: [&str; 4] = ["none", "L2", "L1", "dropout"];

/// Trains variant `name` with `seed`; returns its fit and the per-epoch (train, validation) curve.
pub fn run(name: &str, seed: u64, train: &Dataset, validation: &Dataset) -> (Fit, Vec<(f64, f64)>) {
    let (mut model, config): (Box<dyn Model>, _) = match name {
        "L2" => (Box::new(WithL2::with_seed(seed)), WithL2::train_config()),
        "L1" => (Box::new(WithL1::with_seed(seed)), WithL1::train_config()),
        "dropout" => (Box::new(WithDropout::with_seed(seed)), WithDropout::train_config()),
        _ => (Box::new(Plain::with_seed(seed)), Plain::train_config()),
    };
    let config = nnspec::TrainConfig { seed, ..config };
    let history = Trainer::new(config).fit(model.as_mut(), train, Some(validation)).expect("the data fits");
    let mut workspace = Workspace::default();
    let fit = Fit {
        train: evaluate(model.as_ref(), train, &mut workspace).loss,
        validation: evaluate(model.as_ref(), validation, &mut workspace).loss,
    };
    let curve = history.epochs.iter().map(|e| (e.loss, e.validation.map_or(f64::NAN, |m| m.loss))).collect();
    (fit, curve)
}

/// Mean fit of every variant over `seeds` (20 noisy training points, 400 clean validation points).
pub fn compare(seeds: &[u64]) -> Vec<(&'static str, Fit)> {
    let validation = samples(400, 0.0, 1000);
    VARIANTS
        .iter()
        .map(|&name| {
            let mut mean = Fit { train: 0.0, validation: 0.0 };
            for &seed in seeds {
                let train = samples(20, 0.3, seed);
                let (fit, _) = run(name, seed, &train, &validation);
                mean.train += fit.train / seeds.len() as f64;
                mean.validation += fit.validation / seeds.len() as f64;
            }
            (name, mean)
        })
        .collect()
}
