//! Seed 000: the XOR network of "A Neural Network in 11 lines of Python", as a
//! `net!` block: 3 → sigmoid 4 → sigmoid 1 without biases (the third input is a
//! constant 1), half the sum of squared errors, full-batch gradient descent.

use nnspec::{Dataset, Model, Trainer};

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

/// The tutorial's setting: data, initial weights, learning rate and iterations.
#[derive(Debug, Clone)]
pub struct Tutorial {
    /// Inputs, row-major (the last column is the constant 1).
    pub x: Vec<f32>,
    /// Targets, one per row.
    pub y: Vec<f32>,
    /// Initial weights, `syn0` then `syn1`, `[in][out]`.
    pub initial: Vec<f32>,
    /// Inputs per row.
    pub inputs: usize,
    /// Hidden units.
    pub hidden: usize,
    /// Learning rate of the gradient steps.
    pub lr: f64,
    /// Full-batch iterations.
    pub iterations: usize,
    /// Where the setting came from.
    pub source: &'static str,
}

impl Tutorial {
    /// The setting of `tutorial/xor_tutorial.json` in the conformance directory,
    /// or the spec's own (the tutorial's data, seeded `uniform(-1, 1)` weights)
    /// when the file is not there.
    pub fn load() -> Tutorial {
        match crate::conformance_json("tutorial/xor_tutorial.json") {
            Some(reference) => Tutorial::from_reference(&reference),
            None => {
                let config = Xor::train_config();
                Tutorial {
                    x: vec![0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0],
                    y: vec![0.0, 1.0, 1.0, 0.0],
                    initial: Xor::new().params().to_vec(),
                    inputs: Xor::INPUT,
                    hidden: Xor::NODES[1].width,
                    lr: config.optimizer.lr(),
                    iterations: config.epochs,
                    source: "seeded uniform(-1, 1) weights (conformance data not found)",
                }
            }
        }
    }

    /// The setting a conformance file gives: `X`, `y`, `init.syn0`, `init.syn1`, `lr` and `iterations`.
    pub fn from_reference(reference: &serde_json::Value) -> Tutorial {
        let syn0 = &reference["init"]["syn0"];
        let inputs = syn0.as_array().map_or(0, Vec::len);
        let hidden = syn0[0].as_array().map_or(0, Vec::len);
        let mut initial = crate::flat32(syn0);
        initial.extend(crate::flat32(&reference["init"]["syn1"]));
        Tutorial {
            x: crate::flat32(&reference["X"]),
            y: crate::flat32(&reference["y"]),
            initial,
            inputs,
            hidden,
            lr: reference["lr"].as_f64().unwrap_or(f64::NAN),
            iterations: reference["iterations"].as_u64().unwrap_or(0) as usize,
            source: "the tutorial's seed-1 weights (conformance/tutorial/xor_tutorial.json)",
        }
    }

    /// The rows as a data set.
    pub fn data(&self) -> Dataset {
        Dataset::new(self.x.clone(), self.y.clone(), self.inputs, 1).expect("one target per row")
    }
}

/// What a run produced.
pub struct Report {
    /// The loss before each iteration's update, one per iteration.
    pub losses: Vec<f64>,
    /// The outputs for the rows after training.
    pub predictions: Vec<f32>,
}

impl Report {
    /// `(iteration, loss before its update)` every `every` iterations.
    pub fn checkpoints(&self, every: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.losses.iter().copied().enumerate().step_by(every.max(1))
    }
}

/// Trains the tutorial's network: the generated `Xor` for the tutorial's
/// 3-4-1 shape, the interpreter on the same layers for another hidden size.
pub fn run(tutorial: &Tutorial) -> Report {
    let mut network: Box<dyn Model> = if tutorial.inputs == Xor::INPUT && tutorial.hidden == Xor::NODES[1].width {
        Box::new(Xor::zeroed())
    } else {
        Box::new(crate::with_hidden_units(&Xor::zeroed(), tutorial.inputs, tutorial.hidden))
    };
    network.params_mut().copy_from_slice(&tutorial.initial);
    let mut config = Xor::train_config();
    config.optimizer = config.optimizer.with_lr(tutorial.lr);
    config.epochs = tutorial.iterations;
    let data = tutorial.data();
    let history = Trainer::new(config).fit(network.as_mut(), &data, None).expect("XOR trains");
    let losses = history.epochs.iter().map(|record| record.loss).collect();
    let predictions = nnspec::train::predict(network.as_ref(), &data.x, &mut nnspec::Workspace::default());
    Report { losses, predictions }
}
