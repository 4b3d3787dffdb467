//! The trainer: seeded runs are reproducible, divergence stops with an error
//! naming epoch, batch and tensor while keeping the last good weights, early
//! stopping restores the best weights, mini-batches and schedules take effect.

use nnspec::train::{evaluate, EarlyStopping};
use nnspec::{
    Activation, Build, Dataset, Error, Interpreter, Loss, Model, OptimizerConfig, ParamSettings, Schedule, TrainConfig,
    Trainer, Workspace,
};

fn xor_data() -> Dataset {
    Dataset::new(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], vec![0.0, 1.0, 1.0, 0.0], 2, 1).unwrap()
}

fn mlp(dropout: Option<f32>, loss: Loss, output: Activation) -> Interpreter {
    let nodes =
        nnspec::graph::chain(2, &[("hidden".into(), 8, Activation::Tanh, dropout), ("out".into(), 1, output, None)]);
    let mut mlp = Interpreter::graph("Net", nodes, loss).unwrap();
    mlp.init_params(5);
    mlp
}

fn sgd(lr: f64) -> OptimizerConfig {
    OptimizerConfig::Sgd { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
}

#[test]
fn the_same_seed_gives_bit_identical_training() {
    let config = TrainConfig { optimizer: sgd(0.5), batch: Some(2), epochs: 50, seed: 9, ..TrainConfig::default() };
    let run = || {
        let mut model = mlp(Some(0.25), Loss::BinaryCrossEntropy, Activation::Sigmoid);
        let history = Trainer::new(config.clone()).fit(&mut model, &xor_data(), None).unwrap();
        (model.params().to_vec(), history.epochs.iter().map(|e| e.loss.to_bits()).collect::<Vec<_>>())
    };
    assert_eq!(run(), run());
}

#[test]
fn xor_is_learned() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let config = TrainConfig { optimizer: sgd(2.0), batch: None, epochs: 2000, ..TrainConfig::default() };
    Trainer::new(config).fit(&mut model, &xor_data(), None).unwrap();
    assert_eq!(evaluate(&model, &xor_data(), &mut Workspace::default()).accuracy, Some(1.0));
}

#[test]
fn divergence_stops_with_epoch_batch_and_tensor_and_keeps_good_weights() {
    let mut model = mlp(None, Loss::Mse, Activation::Identity);
    let data = Dataset::new(vec![1e3, -2e3, 3e3, 4e3], vec![1e4, -1e4], 2, 1).unwrap();
    let config =
        TrainConfig { optimizer: sgd(10.0), batch: Some(1), epochs: 100, shuffle: false, ..TrainConfig::default() };
    let error = Trainer::new(config).fit(&mut model, &data, None).unwrap_err();
    let Error::NonFinite { epoch, batch, what } = &error else { panic!("{error}") };
    assert!(*epoch >= 1 && *batch <= 1, "{error}");
    assert!(!what.is_empty());
    assert!(model.params().iter().all(|p| p.is_finite()), "the model holds the last finite weights");
    assert!(error.to_string().contains("epoch"), "{error}");
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let train = xor_data();
    // A validation set whose labels are the opposite: its loss rises as training succeeds.
    let validation = Dataset::new(train.x.clone(), vec![1.0, 0.0, 0.0, 1.0], 2, 1).unwrap();
    let stopping = EarlyStopping { monitor_validation: true, patience: 5, min_delta: 0.0, restore_best: true };
    let config = TrainConfig {
        optimizer: sgd(1.0),
        batch: None,
        epochs: 500,
        early_stopping: Some(stopping),
        ..TrainConfig::default()
    };
    let history = Trainer::new(config).fit(&mut model, &train, Some(&validation)).unwrap();
    assert!(history.stopped_early && history.epochs.len() < 500);
    let best = history.best_epoch.expect("a best epoch");
    let best_loss = history.epochs[best - 1].validation.unwrap().loss;
    let now = evaluate(&model, &validation, &mut Workspace::default()).loss;
    // The best epoch's validation loss was measured after that epoch's updates.
    assert!((now - best_loss).abs() < 1e-6, "restored loss {now} vs best {best_loss}");
}

#[test]
fn schedules_set_the_learning_rate_per_epoch() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let config = TrainConfig {
        optimizer: sgd(1.0),
        batch: None,
        epochs: 4,
        shuffle: false,
        schedule: Some(Schedule::Step { step_size: 2, gamma: 0.5 }),
        ..TrainConfig::default()
    };
    let start = model.clone();
    let history = Trainer::new(config.clone()).fit(&mut model, &xor_data(), None).unwrap();
    let rates: Vec<f64> = history.epochs.iter().map(|e| e.lr).collect();
    assert_eq!(rates, [1.0, 1.0, 0.5, 0.5]);
    // The rate moves the weights: one epoch at a time at each rate (plain SGD
    // keeps no state between epochs) takes the same steps.
    let mut by_hand = start;
    for lr in rates {
        let epoch = TrainConfig { optimizer: sgd(lr), epochs: 1, schedule: None, ..config.clone() };
        Trainer::new(epoch).fit(&mut by_hand, &xor_data(), None).unwrap();
    }
    assert_eq!(model.params(), by_hand.params());
}

#[test]
fn data_that_does_not_fit_is_refused() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let wide = Dataset::new(vec![0.0; 9], vec![0.0; 3], 3, 1).unwrap();
    let message = Trainer::default().fit(&mut model, &wide, None).unwrap_err().to_string();
    assert!(message.contains("3 feature columns") && message.contains("2 inputs"), "{message}");
}

#[test]
fn history_saves_as_csv_and_json() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let config = TrainConfig { optimizer: sgd(1.0), batch: None, epochs: 3, ..TrainConfig::default() };
    let history = Trainer::new(config).fit(&mut model, &xor_data(), Some(&xor_data())).unwrap();
    let dir = std::env::temp_dir().join(format!("nnspec-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    history.save(dir.join("h.csv")).unwrap();
    history.save(dir.join("h.json")).unwrap();
    let csv = std::fs::read_to_string(dir.join("h.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("epoch,loss,val_loss,val_accuracy,lr"));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("h.json")).unwrap()).unwrap();
    assert_eq!(json["epochs"].as_array().unwrap().len(), 3);
}

/// A chain of dense layers (name, units, activation, settings) on `input` features.
fn chain(
    name: &str,
    input: usize,
    layers: &[(&'static str, usize, Activation, ParamSettings)],
    loss: Loss,
) -> Interpreter {
    let mut nodes = vec![nnspec::Node::new("x", nnspec::Op::Input, &[], input)];
    for &(layer, units, activation, settings) in layers {
        let previous = nodes.len() - 1;
        nodes.push(nnspec::Node::dense(layer, previous, units, activation).with_params(settings));
    }
    Interpreter::graph(name, nodes, loss).unwrap()
}

#[test]
fn a_rising_loss_is_reported_once_with_its_epoch() {
    let mut model = mlp(None, Loss::Mse, Activation::Identity);
    let data = Dataset::new(vec![1.0, 2.0, -1.0, 0.5, 2.0, -2.0], vec![1.0, -1.0, 0.5], 2, 1).unwrap();
    // Slightly too large a step: the loss grows every epoch without overflowing for a while.
    let config = TrainConfig { optimizer: sgd(0.9), batch: None, epochs: 8, shuffle: false, ..TrainConfig::default() };
    let history = Trainer::new(config).fit(&mut model, &data, None).unwrap();
    let rising: Vec<_> = history.warnings.iter().filter(|w| w.kind == "rising_loss").collect();
    assert_eq!(
        rising.len(),
        1,
        "{:?} / losses {:?}",
        history.warnings,
        history.epochs.iter().map(|e| e.loss).collect::<Vec<_>>()
    );
    assert_eq!(rising[0].epoch, 5);
}

#[test]
fn a_dead_relu_layer_is_reported() {
    let dead = ParamSettings { bias_init: Some(nnspec::Init::Constant(-100.0)), ..ParamSettings::default() };
    let layers = [("hidden", 8, Activation::Relu, dead), ("out", 1, Activation::Sigmoid, ParamSettings::default())];
    let mut model = chain("Dead", 2, &layers, Loss::BinaryCrossEntropy);
    model.init_params(1);
    let config = TrainConfig { optimizer: sgd(0.1), batch: None, epochs: 3, ..TrainConfig::default() };
    let and = Dataset::new(xor_data().x, vec![0.0, 0.0, 0.0, 1.0], 2, 1).unwrap();
    let history = Trainer::new(config).fit(&mut model, &and, None).unwrap();
    let warning = history.warnings.iter().find(|w| w.kind == "dead_relu").expect("a dead ReLU warning");
    assert_eq!(warning.epoch, 1);
    assert!(warning.message.contains("`hidden`"), "{}", warning.message);
}

#[test]
fn vanishing_gradients_are_reported() {
    let small = ParamSettings { init: Some(nnspec::Init::Normal { mean: 0.0, std: 0.05 }), ..ParamSettings::default() };
    let layers: Vec<_> = ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"]
        .into_iter()
        .map(|name| (name, 8, Activation::Sigmoid, small))
        .chain([("out", 1, Activation::Identity, ParamSettings::default())])
        .collect();
    let mut model = chain("Deep", 2, &layers, Loss::Mse);
    model.init_params(2);
    let config = TrainConfig { optimizer: sgd(0.01), batch: None, epochs: 2, ..TrainConfig::default() };
    let history = Trainer::new(config).fit(&mut model, &xor_data(), None).unwrap();
    assert!(history.warnings.iter().any(|w| w.kind == "vanishing_gradients"), "{:?}", history.warnings);
}

#[test]
fn a_healthy_run_has_no_warnings() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let config = TrainConfig { optimizer: sgd(1.0), batch: None, epochs: 50, ..TrainConfig::default() };
    let history = Trainer::new(config).fit(&mut model, &xor_data(), None).unwrap();
    assert!(history.warnings.is_empty(), "{:?}", history.warnings);
}

/// `inputs` → 512 (`hidden`) → 1, MSE, seed 3: at 64 rows a batch reaches the
/// trainer's two-thread threshold.
fn wide(inputs: usize, hidden: Activation) -> Interpreter {
    let mut model =
        Interpreter::new("Wide", inputs, &[("hidden", 512, hidden), ("out", 1, Activation::Identity)], Loss::Mse);
    model.init_params(3);
    model
}

#[test]
fn a_large_model_trained_on_two_threads_takes_the_single_threaded_steps() {
    // 64 rows × 131 585 parameters reaches the trainer's two-thread threshold;
    // 130 rows in batches of 64 also leave a short last batch of 2.
    let (inputs, rows) = (256, 130);
    let mut model = wide(inputs, Activation::Tanh);
    let x: Vec<f32> = (0..rows * inputs).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    let y: Vec<f32> = (0..rows).map(|r| (r as f32 * 0.1).sin()).collect();
    let data = Dataset::new(x, y, inputs, 1).unwrap();
    // SGD with momentum: unlike Adam, its step scales with the gradient, so a
    // wrongly weighted combination of the halves would show.
    let optimizer =
        OptimizerConfig::Sgd { lr: 0.002, momentum: 0.9, dampening: 0.0, nesterov: false, weight_decay: 0.0 };
    let config = TrainConfig { optimizer, batch: Some(64), epochs: 2, shuffle: false, ..TrainConfig::default() };

    // The same steps, one thread, by hand.
    let mut expected = model.clone();
    let mut sgd = optimizer.build();
    let mut grad = vec![0.0; expected.param_count()];
    let mut workspace = Workspace::default();
    for _ in 0..2 {
        for start in (0..rows).step_by(64) {
            let (xb, yb) = data.rows(start..(start + 64).min(rows));
            expected.loss_and_grad(xb, yb, Some(&mut grad), &mut workspace, true);
            sgd.step(expected.params_mut(), &grad);
        }
    }

    Trainer::new(config).fit(&mut model, &data, None).unwrap();
    for (i, (got, want)) in model.params().iter().zip(expected.params()).enumerate() {
        assert!((got - want).abs() <= 1e-6 + 1e-5 * want.abs(), "parameter {i}: {got} vs {want}");
    }
}

#[test]
fn an_empty_validation_set_is_refused_rather_than_scored_zero() {
    let mut model = mlp(None, Loss::BinaryCrossEntropy, Activation::Sigmoid);
    let empty = Dataset::new(Vec::new(), Vec::new(), 2, 1).unwrap();
    let error = Trainer::new(TrainConfig::default()).fit(&mut model, &xor_data(), Some(&empty)).unwrap_err();
    assert!(error.to_string().contains("validation set holds no rows"), "{error}");
    let config = TrainConfig {
        early_stopping: Some(nnspec::train::EarlyStopping {
            monitor_validation: true,
            patience: 3,
            min_delta: 0.0,
            restore_best: true,
        }),
        ..TrainConfig::default()
    };
    let error = Trainer::new(config).fit(&mut model, &xor_data(), None).unwrap_err();
    assert!(error.to_string().contains("no validation data"), "{error}");
}

/// A graph handed to the interpreter at run time is checked like a spec: a node
/// reading a later one, a pool window outside its input or a sum of unequal
/// widths is an error, not a panic.
#[test]
fn malformed_graphs_are_errors() {
    use nnspec::conv::PoolGeometry;
    use nnspec::{Node, Op};
    let input = Node::new("x", Op::Input, &[], 4);
    let later =
        vec![input.clone(), Node::dense("out", 2, 1, Activation::Identity), Node::new("late", Op::Flatten, &[0], 4)];
    assert!(matches!(Interpreter::graph("Later", later, Loss::Mse), Err(Error::Shape(_))));
    let window =
        PoolGeometry { channels: 1, in_h: 1, in_w: 4, out_h: 1, out_w: 2, kernel: [1, 3], stride: [1, 3], max: true };
    let pool = Node::new("pool", Op::Pool { geometry: window, one_d: true }, &[0], 2);
    let outside = vec![input.with_shape(&[1, 4]), pool, Node::dense("out", 1, 1, Activation::Identity)];
    let error = Interpreter::graph("Outside", outside, Loss::Mse).unwrap_err();
    assert!(error.to_string().contains("`pool`"), "{error}");
    let sum = vec![
        Node::new("x", Op::Input, &[], 4),
        Node::dense("out", 0, 1, Activation::Identity),
        Node::new("sum", Op::Add, &[0, 1], 4),
    ];
    assert!(Interpreter::graph("Sum", sum, Loss::Mse).is_err());
}

nnspec::net! {
    /// 1.2 million parameters: more than a thread's stack holds as an array.
    #[allow(large_stack)]
    network Large {
        input x: [4];
        dense h: 300000, activation = tanh;
        dense out: 1;
        loss mse;
    }
}

/// A network too large for the stack keeps its parameters on the heap:
/// building, initialising and running it on a thread with a 256 KiB stack
/// works (with the parameters in an array it would overflow and abort).
#[test]
fn large_networks_keep_their_parameters_off_the_stack() {
    let worker = std::thread::Builder::new().stack_size(256 * 1024).spawn(|| {
        let network = Large::new();
        let x = [0.5, -0.25, 1.0, 0.0];
        let mut out = [0.0];
        network.forward(&x, &mut out, &mut Workspace::default());
        (Large::PARAM_COUNT, out[0])
    });
    let (count, out) = worker.unwrap().join().expect("the thread ran to the end");
    assert_eq!(count, 4 * 300_000 + 300_000 + 300_000 + 1);
    assert!(out.is_finite());
}

/// On the two-thread step, a gradient or an update that overflows is caught
/// as on one thread (each thread checks the half it combined or stepped), and
/// the parameters are those before the failing step.
#[test]
fn a_two_thread_step_that_diverges_is_caught_and_undone() {
    let (inputs, rows) = (256, 64);
    let mut model = wide(inputs, Activation::Identity);
    let x: Vec<f32> = (0..rows * inputs).map(|i| ((i * 7919) % 1000) as f32 / 5.0).collect();
    let y: Vec<f32> = (0..rows).map(|r| r as f32 * 1e3).collect();
    let data = Dataset::new(x, y, inputs, 1).unwrap();
    let optimizer = OptimizerConfig::Sgd { lr: 1e6, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 };
    let config = TrainConfig { optimizer, batch: Some(64), epochs: 50, shuffle: false, ..TrainConfig::default() };
    let error = Trainer::new(config).fit(&mut model, &data, None).unwrap_err();
    assert!(matches!(error, nnspec::Error::NonFinite { .. }), "{error}");
    assert!(model.params().iter().all(|p| p.is_finite()), "the failing step was undone");
}

/// The watchdog watches every node with parameters, not only dense layers: a
/// convolution read by a `relu` statement whose outputs are all zero is a
/// dead ReLU, named after the convolution.
#[test]
fn a_dead_relu_after_a_convolution_is_reported() {
    use nnspec::conv::ConvGeometry;
    use nnspec::{Node, Op};
    let geometry = ConvGeometry::one_d(1, 8, 4, 3, 1, 1, 1, 1);
    let dead = ParamSettings { bias_init: Some(nnspec::Init::Constant(-100.0)), ..ParamSettings::default() };
    let nodes = vec![
        Node::new("x", Op::Input, &[], 8).with_shape(&[1, 8]),
        Node::new("c", Op::Conv { geometry, bias: true, one_d: true }, &[0], 0).with_shape(&[4, 8]).with_params(dead),
        Node::new("r", Op::Activation(Activation::Relu), &[1], 0).with_shape(&[4, 8]),
        Node::new("flat", Op::Flatten, &[2], 32),
        Node::dense("out", 3, 1, Activation::Sigmoid),
    ];
    let mut model = Interpreter::graph("DeadConv", nodes, Loss::BinaryCrossEntropy).unwrap();
    model.init_params(1);
    let x: Vec<f32> = (0..16 * 8).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    // Unbalanced labels: the output's bias has a gradient, so the network is not at rest.
    let y: Vec<f32> = (0..16).map(|r| f32::from(r % 3 == 0)).collect();
    let data = Dataset::new(x, y, 8, 1).unwrap();
    let config = TrainConfig { optimizer: sgd(0.1), batch: None, epochs: 2, ..TrainConfig::default() };
    let history = Trainer::new(config).fit(&mut model, &data, None).unwrap();
    let warning = history.warnings.iter().find(|w| w.kind == "dead_relu").expect("a dead ReLU warning");
    assert!(warning.message.contains("`c`"), "{}", warning.message);
}
