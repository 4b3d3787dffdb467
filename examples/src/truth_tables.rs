//! Seed 002: AND and OR with a single neuron (sigmoid, trained by gradient
//! descent; and a step-activation perceptron trained with the perceptron
//! rule), XOR with a 2-2-1 network, and the proof by failure that one neuron
//! cannot learn XOR. The networks come from `specs/truth_tables.nn` through
//! `include_net!`.

use nnspec::{Activation, Dataset, Interpreter, Loss, Model, Trainer};

nnspec::include_net!("specs/truth_tables.nn");

/// The four rows of a two-input truth table.
pub const INPUTS: [[f32; 2]; 4] = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];

/// A gate's truth table as a data set.
pub fn data(table: &[f32; 4]) -> Dataset {
    Dataset::new(INPUTS.concat(), table.to_vec(), 2, 1).expect("four rows")
}

/// One case of the tutorial: a gate, the model and its initial weights, and
/// the gradient-descent settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The gate's name.
    pub gate: String,
    /// Its truth table for the rows of [`INPUTS`].
    pub table: [f32; 4],
    /// Hidden units (0 for a single neuron).
    pub hidden: usize,
    /// Initial parameters (`W, b` or `W1, b1, W2, b2`, `[in][out]`).
    pub initial: Vec<f32>,
    /// Learning rate.
    pub lr: f64,
    /// Full-batch iterations.
    pub iterations: usize,
}

impl Case {
    /// The cases of `tutorial/truth_tables.json` in the conformance directory, if it is there.
    pub fn load() -> Option<Vec<Case>> {
        let reference = crate::conformance_json("tutorial/truth_tables.json")?;
        reference["cases"].as_array()?.iter().map(Case::from_reference).collect()
    }

    /// One case of the file, if every field is there.
    pub fn from_reference(case: &serde_json::Value) -> Option<Case> {
        let init = &case["init"];
        let (hidden, order): (usize, &[&str]) = match init.get("W1") {
            Some(w1) => (w1.get(0)?.as_array()?.len(), &["W1", "b1", "W2", "b2"]),
            None => (0, &["W", "b"]),
        };
        Some(Case {
            gate: case["gate"].as_str()?.to_string(),
            table: crate::flat32(&case["truth_table"]).try_into().ok()?,
            hidden,
            initial: order.iter().flat_map(|k| crate::flat32(&init[*k])).collect(),
            lr: case["lr"].as_f64()?,
            iterations: case["iterations"].as_u64()? as usize,
        })
    }

    /// Trains the case's model from its initial weights.
    pub fn run(&self) -> Outcome {
        let mut model: Box<dyn Model> = if self.hidden == 0 { Box::new(Gate::zeroed()) } else { mlp(self.hidden) };
        model.params_mut().copy_from_slice(&self.initial);
        train(model.as_mut(), &self.table, self.lr, self.iterations)
    }
}

/// What one training run gives.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Outputs for the four rows.
    pub outputs: Vec<f32>,
    /// Mean BCE after training.
    pub final_loss: f64,
    /// Predicted classes (output > 0.5).
    pub classes: Vec<u8>,
}

/// Trains `model` on `table` with full-batch gradient descent.
pub fn train(model: &mut dyn Model, table: &[f32; 4], lr: f64, iterations: usize) -> Outcome {
    let mut config = XorMlp::train_config();
    config.optimizer = config.optimizer.with_lr(lr);
    config.epochs = iterations;
    let data = data(table);
    Trainer::new(config).fit(model, &data, None).expect("a truth table fits");
    let mut workspace = nnspec::Workspace::default();
    let outputs = nnspec::train::predict(model, &data.x, &mut workspace);
    let final_loss = f64::from(model.loss_and_grad(&data.x, &data.y, None, &mut workspace, false));
    let classes = outputs.iter().map(|o| u8::from(*o > 0.5)).collect();
    Outcome { outputs, final_loss, classes }
}

/// A 2-h-1 sigmoid network for `h` hidden units: the generated `XorMlp` for
/// h = 2, the interpreter otherwise.
pub fn mlp(hidden: usize) -> Box<dyn Model> {
    if hidden == 2 {
        return Box::new(XorMlp::zeroed());
    }
    let layers = [("hidden", hidden, Activation::Sigmoid), ("out", 1, Activation::Sigmoid)];
    Box::new(Interpreter::new("XorMlp", 2, &layers, Loss::BinaryCrossEntropy))
}

/// The perceptron rule on a step neuron: `w ← w + lr·(y − ŷ)·x`, `b ← b + lr·(y − ŷ)`,
/// one sample at a time, until an epoch makes no mistake (or `epochs` run out).
/// Returns the epochs used and the learned truth table.
pub fn perceptron(table: &[f32; 4], lr: f32, epochs: usize) -> (usize, [u8; 4]) {
    let mut neuron = Perceptron::zeroed();
    let mut used = epochs;
    for epoch in 1..=epochs {
        let mut mistakes = 0;
        for (x, &y) in INPUTS.iter().zip(table) {
            let error = y - neuron.predict(x)[0];
            if error != 0.0 {
                mistakes += 1;
                let mut params = neuron.params().to_vec();
                params[0] += lr * error * x[0];
                params[1] += lr * error * x[1];
                params[2] += lr * error;
                neuron = Perceptron::from_params(&params).expect("three parameters");
            }
        }
        if mistakes == 0 {
            used = epoch;
            break;
        }
    }
    (used, INPUTS.map(|x| neuron.predict(&x)[0] as u8))
}
