//! Seed 003: the same network and data trained with each optimizer the
//! tutorial discusses — batch gradient descent, mini-batch SGD, Momentum,
//! Nesterov, AdaGrad, RMSProp, Adam and AdamW — with PyTorch's update rules.
//! The data are the flower points; the network one hidden tanh layer of 16.

use nnspec::{Dataset, OptimizerConfig, TrainConfig, Trainer};

nnspec::net! {
    /// The flower classifier with more room: 2 → tanh 16 → sigmoid 1.
    network Flower16 {
        input point: [2];
        dense hidden: 16, activation = tanh, init = xavier_normal;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
    }
}

/// One optimizer setting of the comparison.
pub struct Contender {
    /// Its name in the table.
    pub name: &'static str,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Mini-batch size (`None` for the whole set).
    pub batch: Option<usize>,
}

fn sgd(lr: f64, momentum: f64, nesterov: bool) -> OptimizerConfig {
    OptimizerConfig::Sgd { lr, momentum, dampening: 0.0, nesterov, weight_decay: 0.0 }
}

fn adam(lr: f64, decoupled: bool) -> OptimizerConfig {
    if decoupled {
        OptimizerConfig::adamw(lr)
    } else {
        OptimizerConfig::adam(lr)
    }
}

/// The contenders, each with a learning rate in its usual range.
pub fn contenders() -> Vec<Contender> {
    vec![
        Contender { name: "batch GD", optimizer: sgd(0.5, 0.0, false), batch: None },
        Contender { name: "mini-batch SGD", optimizer: sgd(0.5, 0.0, false), batch: Some(32) },
        Contender { name: "Momentum", optimizer: sgd(0.05, 0.9, false), batch: Some(32) },
        Contender { name: "Nesterov", optimizer: sgd(0.05, 0.9, true), batch: Some(32) },
        Contender {
            name: "AdaGrad",
            optimizer: OptimizerConfig::Adagrad {
                lr: 0.1,
                lr_decay: 0.0,
                weight_decay: 0.0,
                initial_accumulator_value: 0.0,
                eps: 1e-10,
            },
            batch: Some(32),
        },
        Contender {
            name: "RMSProp",
            optimizer: OptimizerConfig::RmsProp {
                lr: 0.01,
                alpha: 0.99,
                eps: 1e-8,
                weight_decay: 0.0,
                momentum: 0.0,
                centered: false,
            },
            batch: Some(32),
        },
        Contender { name: "Adam", optimizer: adam(0.01, false), batch: Some(32) },
        Contender { name: "AdamW", optimizer: adam(0.01, true), batch: Some(32) },
    ]
}

/// The training loss of each epoch for one contender and seed.
pub fn curve(contender: &Contender, data: &Dataset, epochs: usize, seed: u64) -> Vec<f64> {
    let mut network = Flower16::with_seed(seed);
    let config =
        TrainConfig { optimizer: contender.optimizer, batch: contender.batch, epochs, seed, ..TrainConfig::default() };
    let history = Trainer::new(config).fit(&mut network, data, None).expect("the flower data fits");
    history.epochs.iter().map(|e| e.loss).collect()
}

/// Mean over `seeds` of each contender's loss curve.
pub fn compare(data: &Dataset, epochs: usize, seeds: &[u64]) -> Vec<(&'static str, Vec<f64>)> {
    contenders()
        .iter()
        .map(|contender| {
            let mut mean = vec![0.0; epochs];
            for &seed in seeds {
                for (m, loss) in mean.iter_mut().zip(curve(contender, data, epochs, seed)) {
                    *m += loss / seeds.len() as f64;
                }
            }
            (contender.name, mean)
        })
        .collect()
}
