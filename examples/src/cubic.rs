//! Seed 002: universal approximation. One hidden layer of six sigmoid units
//! fits f(x) = x³ + x² − x − 1 on [−2, 2].

use nnspec::{Dataset, Trainer};

nnspec::net! {
    /// f(x) = x³ + x² − x − 1 from six sigmoid units.
    network Cubic {
        input x: [1];
        dense hidden: 6, activation = sigmoid, init = xavier_normal;
        dense out: 1;
        loss mse;
        train { optimizer = adam(lr = 0.05), batch = full, epochs = 6000, shuffle = false, seed = 3 }
    }
}

/// The target function.
pub fn f(x: f32) -> f32 {
    x * x * x + x * x - x - 1.0
}

/// `points` evenly spaced samples of f on [−2, 2].
pub fn data(points: usize) -> Dataset {
    let x: Vec<f32> = (0..points).map(|i| -2.0 + 4.0 * i as f32 / (points - 1) as f32).collect();
    let y = x.iter().map(|v| f(*v)).collect();
    Dataset::new(x, y, 1, 1).expect("one feature")
}

/// Trains the network for `epochs`; returns it and the largest |error| on a 401-point grid.
pub fn fit(epochs: usize) -> (Cubic, f32) {
    let mut network = Cubic::new();
    let mut config = Cubic::train_config();
    config.epochs = epochs;
    Trainer::new(config).fit(&mut network, &data(101), None).expect("the data fits");
    let max_error = (0..=400)
        .map(|i| -2.0 + 4.0 * i as f32 / 400.0)
        .map(|x| (network.predict(&[x])[0] - f(x)).abs())
        .fold(0.0, f32::max);
    (network, max_error)
}
