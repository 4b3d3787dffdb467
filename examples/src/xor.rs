//! Seed 000: the XOR network of "A Neural Network in 11 lines of Python", as a
//! `net!` block: 3 → sigmoid 4 → sigmoid 1 without biases (the third input is a
//! constant 1), half the sum of squared errors, full-batch gradient descent.

use nnspec::{Dataset, Trainer};

nnspec::net! {
    /// The tutorial's XOR network: no biases, the third input is a constant 1.
    #[allow(regression_loss_on_classifier)] // the tutorial's error, kept on purpose
    network Xor {
        input x: [3];
        dense hidden: 4, activation = sigmoid, bias = false, init = uniform(-1, 1);
        dense out: 1, activation = sigmoid, bias = false, init = uniform(-1, 1);
        loss sse_half;                           // 0.5·Σ(out − y)², the tutorial's error
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 1500, shuffle = false }
    }
}

/// The four XOR rows with the constant third column, and their labels.
pub fn data() -> Dataset {
    let x = vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    Dataset::new(x, vec![0.0, 1.0, 1.0, 0.0], 3, 1).expect("a valid data set")
}

/// What a run produced.
pub struct Report {
    /// `(iteration, loss before that iteration's update)` every 100 iterations.
    pub checkpoints: Vec<(usize, f64)>,
    /// The outputs for the four rows after training.
    pub predictions: [f32; 4],
    /// The trained network.
    pub network: Xor,
}

/// Trains from `initial` parameters (`syn0` then `syn1`, `[in][out]`) for `iterations`.
pub fn run(initial: &[f32], iterations: usize) -> Report {
    let mut network = Xor::from_params(initial).expect("3·4 + 4·1 parameters");
    let mut config = Xor::train_config();
    config.epochs = iterations;
    let history = Trainer::new(config).fit(&mut network, &data(), None).expect("XOR trains");
    let checkpoints = history
        .epochs
        .iter()
        .filter(|record| (record.epoch - 1) % 100 == 0)
        .map(|record| (record.epoch - 1, record.loss))
        .collect();
    let data = data();
    let predictions = core::array::from_fn(|i| network.predict(data.row(i).0.try_into().expect("3 inputs"))[0]);
    Report { checkpoints, predictions, network }
}

/// The tutorial's initial weights from the conformance file, or the spec's seeded
/// `uniform(-1, 1)` initialisation when the file is not there.
pub fn initial_params() -> (Vec<f32>, &'static str) {
    match crate::conformance_json("tutorial/xor_tutorial.json") {
        Some(reference) => {
            let mut params = crate::flat32(&reference["init"]["syn0"]);
            params.extend(crate::flat32(&reference["init"]["syn1"]));
            (params, "the tutorial's seed-1 weights (conformance/tutorial/xor_tutorial.json)")
        }
        None => (Xor::new().params().to_vec(), "seeded uniform(-1, 1) weights (conformance data not found)"),
    }
}
