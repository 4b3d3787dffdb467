//! Seed 004: the planar "flower" data set. Logistic regression cannot separate
//! the petals (≈ 0.47 train accuracy); one hidden tanh layer can (≈ 0.90); the
//! hidden-size sweep shows where more units stop helping. The networks are
//! compiled from `specs/flower.nn` by this crate's build script.

use nnspec::data::CsvOptions;
use nnspec::train::evaluate;
use nnspec::{Dataset, Model, Trainer, Workspace};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/flower.rs"));

/// The hidden sizes of the course's sweep.
pub const HIDDEN_SIZES: [usize; 7] = [1, 2, 3, 4, 5, 20, 50];

/// The course's settings: the sweep's hidden sizes, learning rate and iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    /// Hidden sizes of the sweep.
    pub sizes: Vec<usize>,
    /// Learning rate of full-batch gradient descent.
    pub lr: f64,
    /// Iterations per run.
    pub iterations: usize,
}

impl Course {
    /// The settings of `flower/flower_reference.json` when it is there (its
    /// runs' hidden sizes; learning rate and iterations from its training line,
    /// which reads like "full-batch gradient descent, lr 1.2, 10000 iterations"),
    /// else the course's own (the spec's learning rate, 10 000 iterations).
    pub fn load() -> Course {
        let fallback =
            Course { sizes: HIDDEN_SIZES.to_vec(), lr: Planar::train_config().optimizer.lr(), iterations: 10_000 };
        crate::conformance_json("flower/flower_reference.json")
            .and_then(|reference| Course::from_reference(&reference))
            .unwrap_or(fallback)
    }

    /// The settings a reference file gives, if it gives them all.
    pub fn from_reference(reference: &serde_json::Value) -> Option<Course> {
        let sizes = reference["nn"]["runs"]
            .as_array()?
            .iter()
            .map(|run| run["hidden_units"].as_u64().map(|h| h as usize))
            .collect::<Option<Vec<usize>>>()?;
        let training = reference["nn"]["training"].as_str()?;
        let words: Vec<&str> =
            training.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|w| !w.is_empty()).collect();
        let lr = words.iter().position(|w| *w == "lr").and_then(|at| words.get(at + 1)?.parse().ok())?;
        let iterations =
            words.iter().position(|w| *w == "iterations").and_then(|at| words.get(at.checked_sub(1)?)?.parse().ok())?;
        Some(Course { sizes, lr, iterations })
    }
}

/// The flower data: the conformance copy if present, else the one shipped in `examples/data`.
pub fn data_path() -> PathBuf {
    let conformance = crate::conformance_dir().join("flower/flower.csv");
    if conformance.exists() {
        conformance
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/flower.csv")
    }
}

/// Loads the 400 points (x1, x2 → label).
pub fn data() -> Result<Dataset, nnspec::Error> {
    Dataset::from_csv(data_path(), &CsvOptions::default())
}

/// A fresh network of the sweep with `h` hidden units: generated for the
/// course's sizes, the interpreter on `Planar`'s layers for any other.
pub fn network(h: usize) -> Box<dyn Model> {
    match h {
        1 => Box::new(Hidden1::zeroed()),
        2 => Box::new(Hidden2::zeroed()),
        3 => Box::new(Hidden3::zeroed()),
        4 => Box::new(Planar::zeroed()),
        5 => Box::new(Hidden5::zeroed()),
        20 => Box::new(Hidden20::zeroed()),
        50 => Box::new(Hidden50::zeroed()),
        _ => Box::new(crate::with_hidden_units(&Planar::zeroed(), Planar::INPUT, h)),
    }
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Hidden units (0 for logistic regression).
    pub hidden: usize,
    /// `(iteration, cost before that iteration's update)` for every iteration.
    pub costs: Vec<(usize, f64)>,
    /// Train accuracy after training.
    pub accuracy: f64,
}

/// Trains `model` full-batch for `iterations` with its spec's settings.
pub fn train(
    model: &mut dyn Model,
    config: nnspec::TrainConfig,
    data: &Dataset,
    iterations: usize,
    hidden: usize,
) -> Run {
    let mut config = config;
    config.epochs = iterations;
    let history = Trainer::new(config).fit(model, data, None).expect("the flower data fits the network");
    let costs = history.epochs.iter().map(|r| (r.epoch - 1, r.loss)).collect();
    let accuracy = evaluate(model, data, &mut Workspace::default()).accuracy.unwrap_or(0.0);
    Run { hidden, costs, accuracy }
}

/// The course's initial parameters for `h` hidden units from the reference file
/// (`W1, b1, W2, b2`, `[in][out]`), if the file is there.
pub fn reference_initial(h: usize) -> Option<Vec<f32>> {
    let reference = crate::conformance_json("flower/flower_reference.json")?;
    let run = reference["nn"]["runs"].as_array()?.iter().find(|r| r["hidden_units"].as_u64() == Some(h as u64))?;
    let init = &run["initial_params"];
    Some(["W1", "b1", "W2", "b2"].iter().flat_map(|k| crate::flat32(&init[*k])).collect())
}

/// Runs the sweep for `sizes` from the reference initial weights (or the spec's
/// seeded `randn·0.01` when the reference is absent), with the spec's learning
/// rate unless `lr` overrides it.
pub fn sweep(data: &Dataset, sizes: &[usize], iterations: usize, lr: Option<f64>) -> Vec<Run> {
    sizes
        .iter()
        .map(|&h| {
            let mut model = network(h);
            match reference_initial(h) {
                Some(params) if params.len() == model.param_count() => model.params_mut().copy_from_slice(&params),
                _ => model.init_params(2),
            }
            let mut config = Planar::train_config();
            if let Some(lr) = lr {
                config.optimizer = config.optimizer.with_lr(lr);
            }
            train(model.as_mut(), config, data, iterations, h)
        })
        .collect()
}

/// Logistic regression on the flower data.
pub fn logistic(data: &Dataset, iterations: usize) -> Run {
    let mut model = Logistic::zeroed();
    train(&mut model, Logistic::train_config(), data, iterations, 0)
}
