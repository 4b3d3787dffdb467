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

/// A fresh network of the sweep with `h` hidden units.
pub fn network(h: usize) -> Option<Box<dyn Model>> {
    Some(match h {
        1 => Box::new(Hidden1::zeroed()),
        2 => Box::new(Hidden2::zeroed()),
        3 => Box::new(Hidden3::zeroed()),
        4 => Box::new(Planar::zeroed()),
        5 => Box::new(Hidden5::zeroed()),
        20 => Box::new(Hidden20::zeroed()),
        50 => Box::new(Hidden50::zeroed()),
        _ => return None,
    })
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
        .filter_map(|&h| {
            let mut model = network(h)?;
            match reference_initial(h) {
                Some(params) if params.len() == model.param_count() => model.params_mut().copy_from_slice(&params),
                _ => model.init_params(2),
            }
            let mut config = Planar::train_config();
            if let Some(lr) = lr {
                config.optimizer = config.optimizer.with_lr(lr);
            }
            Some(train(model.as_mut(), config, data, iterations, h))
        })
        .collect()
}

/// Logistic regression on the flower data.
pub fn logistic(data: &Dataset, iterations: usize) -> Run {
    let mut model = Logistic::zeroed();
    train(&mut model, Logistic::train_config(), data, iterations, 0)
}
