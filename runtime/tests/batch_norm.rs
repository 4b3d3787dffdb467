//! Batch normalisation in the trainer: the running statistics move exactly as
//! a hand-written loop of training passes moves them, a batch too small for
//! the unbiased variance is refused before training, weight files carry the
//! running statistics, and early stopping restores them with the weights.

use nnspec::train::{evaluate, EarlyStopping};
use nnspec::{
    Activation, Build, Dataset, Error, Interpreter, Loss, Model, Node, Op, OptimizerConfig, TrainConfig, Trainer,
    Workspace,
};

/// `x[3] → dense h (no bias) → batch_norm → relu → dense out`.
fn normed(momentum: f32) -> Interpreter {
    let nodes = vec![
        Node::new("x", Op::Input, &[], 3),
        Node::new("h", Op::Dense { activation: Activation::Identity, bias: false }, &[0], 6),
        Node::new("bn", Op::BatchNorm { channels: 6, eps: 1e-5, momentum }, &[1], 6),
        Node::new("r", Op::Activation(Activation::Relu), &[2], 6),
        Node::dense("out", 3, 1, Activation::Identity),
    ];
    let mut model = Interpreter::graph("Normed", nodes, Loss::Mse).unwrap();
    model.init_params(4);
    model
}

fn data(rows: usize) -> Dataset {
    let x: Vec<f32> = (0..rows * 3).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
    let y: Vec<f32> = (0..rows).map(|r| x[3 * r] - 0.5 * x[3 * r + 1] + 0.25).collect();
    Dataset::new(x, y, 3, 1).unwrap()
}

fn sgd() -> OptimizerConfig {
    OptimizerConfig::Sgd { lr: 0.05, momentum: 0.9, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
}

#[test]
fn the_trainer_updates_the_running_statistics_once_per_batch() {
    let data = data(10);
    let config = TrainConfig { optimizer: sgd(), batch: Some(4), epochs: 3, shuffle: false, ..TrainConfig::default() };
    let mut trained = normed(0.2);
    Trainer::new(config).fit(&mut trained, &data, None).unwrap();

    let mut by_hand = normed(0.2);
    let mut optimizer = sgd().build();
    let mut grad = vec![0.0; by_hand.param_count()];
    let mut workspace = Workspace::default();
    for _ in 0..3 {
        for start in (0..10).step_by(4) {
            let (x, y) = data.rows(start..(start + 4).min(10));
            by_hand.loss_and_grad(x, y, Some(&mut grad), &mut workspace, true);
            by_hand.update_buffers(&mut workspace, x.len() / 3);
            optimizer.step(by_hand.params_mut(), &grad);
        }
    }
    assert_eq!(trained.params(), by_hand.params());
    assert_eq!(trained.buffers(), by_hand.buffers());
    let tracked = trained.buffer_tensors().iter().find(|b| b.name == "bn.num_batches_tracked").unwrap();
    assert_eq!(trained.buffers()[tracked.range()], [9.0], "three batches in each of three epochs");
    let mean = trained.buffer_tensors().iter().find(|b| b.name == "bn.running_mean").unwrap();
    assert!(trained.buffers()[mean.range()].iter().any(|m| *m != 0.0), "the running mean moved");
}

#[test]
fn a_batch_of_one_row_is_refused_before_training() {
    let mut model = normed(0.1);
    let before = model.params().to_vec();
    let config = TrainConfig { optimizer: sgd(), batch: Some(3), epochs: 2, ..TrainConfig::default() };
    let error = Trainer::new(config).fit(&mut model, &data(10), None).unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error}");
    let message = error.to_string();
    assert!(message.contains("batch normalisation") && message.contains("batch of 1"), "{message}");
    assert_eq!(model.params(), before, "nothing was trained");
}

#[test]
fn weight_files_carry_the_running_statistics() {
    let mut model = normed(0.1);
    let config = TrainConfig { optimizer: sgd(), batch: Some(5), epochs: 2, ..TrainConfig::default() };
    Trainer::new(config).fit(&mut model, &data(10), None).unwrap();
    let directory = std::env::temp_dir().join(format!("nnspec-batch-norm-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("normed.safetensors");
    nnspec::weights::save(&model, &path).unwrap();
    let mut loaded = normed(0.1);
    nnspec::weights::load(&mut loaded, &path).unwrap();
    assert_eq!(loaded.params(), model.params());
    assert_eq!(loaded.buffers(), model.buffers());
    let json = serde_json::to_string(&nnspec::weights::Weights::of(&model)).unwrap();
    let mut restored = normed(0.1);
    serde_json::from_str::<nnspec::weights::Weights>(&json).unwrap().apply(&mut restored).unwrap();
    assert_eq!(restored.buffers(), model.buffers());

    // A file without the running statistics (as saved by a network without them) is refused, naming them.
    let bytes = nnspec::weights::to_safetensors("Normed", model.tensors(), model.params()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let mut target = normed(0.1);
    let error = nnspec::weights::load(&mut target, &path).unwrap_err().to_string();
    assert!(error.contains("bn.running_mean") && error.contains("bn.running_var"), "{error}");
    assert_eq!(target.buffers(), normed(0.1).buffers(), "a refused file changes nothing");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn early_stopping_restores_the_running_statistics_with_the_weights() {
    let train = data(12);
    // Targets of the opposite sign: the validation loss rises as training succeeds.
    let validation = Dataset::new(train.x.clone(), train.y.iter().map(|v| -v).collect(), 3, 1).unwrap();
    let stopping = EarlyStopping { monitor_validation: true, patience: 3, min_delta: 0.0, restore_best: true };
    let config = TrainConfig {
        optimizer: sgd(),
        batch: Some(4),
        epochs: 200,
        shuffle: false,
        early_stopping: Some(stopping),
        ..TrainConfig::default()
    };
    let mut model = normed(0.5);
    let history = Trainer::new(config).fit(&mut model, &train, Some(&validation)).unwrap();
    assert!(history.stopped_early);
    let best = history.best_epoch.unwrap();
    let best_loss = history.epochs[best - 1].validation.unwrap().loss;
    // Inference reads the running statistics: the loss is the best epoch's only if they were restored too.
    let now = evaluate(&model, &validation, &mut Workspace::default()).loss;
    assert!((now - best_loss).abs() < 1e-6, "restored loss {now} vs best {best_loss}");
}

/// A batch large enough for the trainer's two-thread split still runs whole
/// through a batch normalisation: its statistics are those of every row (the
/// trainer's step equals one pass over the whole batch, bit for bit).
#[test]
fn batch_statistics_keep_a_large_batch_on_one_thread() {
    let nodes = vec![
        Node::new("x", Op::Input, &[], 3),
        Node::new("h", Op::Dense { activation: Activation::Identity, bias: false }, &[0], 512),
        Node::new("bn", Op::BatchNorm { channels: 512, eps: 1e-5, momentum: 0.1 }, &[1], 512),
        Node::dense("g", 2, 256, Activation::Tanh),
        Node::dense("out", 3, 1, Activation::Identity),
    ];
    let make = || {
        let mut model = Interpreter::graph("Wide", nodes.clone(), Loss::Mse).unwrap();
        model.init_params(2);
        model
    };
    let data = data(128);
    let config =
        TrainConfig { optimizer: sgd(), batch: Some(128), epochs: 1, shuffle: false, ..TrainConfig::default() };
    let mut trained = make();
    assert!(trained.batch_statistics() && 128 * trained.param_count() >= 1 << 23, "large enough to split");
    Trainer::new(config).fit(&mut trained, &data, None).unwrap();
    let mut by_hand = make();
    let mut grad = vec![0.0; by_hand.param_count()];
    let mut workspace = Workspace::default();
    by_hand.loss_and_grad(&data.x, &data.y, Some(&mut grad), &mut workspace, true);
    by_hand.update_buffers(&mut workspace, 128);
    sgd().build().step(by_hand.params_mut(), &grad);
    assert_eq!(trained.params(), by_hand.params());
    assert_eq!(trained.buffers(), by_hand.buffers());
}
