//! Graphs of statements (`add`, `concat`, statements that read a named
//! statement, a statement read by several others, dropout as a statement of
//! its own): generated code and the interpreter the CLI trains with agree bit
//! for bit, and the gradients, sums of several paths included, match f64
//! central differences of the independent reference network.

mod common;

use nnspec::{Model, Workspace};
use nnspec_testkit::reference::check_gradient;

nnspec::include_net!("tests/data/graphs.nn");

const SPEC: &str = include_str!("data/graphs.nn");

fn generated() -> Vec<Box<dyn Model>> {
    vec![
        Box::new(Residual::with_seed(3)),
        Box::new(Wide::with_seed(3)),
        Box::new(Shared::with_seed(3)),
        Box::new(SumOut::with_seed(3)),
        Box::new(NormFirst::with_seed(3)),
        Box::new(Signal::with_seed(3)),
        Box::new(Image::with_seed(3)),
        Box::new(Normed::with_seed(3)),
        Box::new(Scaled::with_seed(3)),
        Box::new(Stacked::with_seed(3)),
        Box::new(Sequences::with_seed(3)),
        Box::new(Streamed::with_seed(3)),
        Box::new(ConvGru::with_seed(3)),
        Box::new(ConvLstm::with_seed(3)),
    ]
}

fn batch(model: &dyn Model, rows: usize) -> (Vec<f32>, Vec<f32>) {
    let x = (0..rows * model.input_size()).map(|i| ((i * 31 % 19) as f32 - 9.0) / 6.0).collect();
    (x, common::targets(model, rows))
}

#[test]
fn generated_and_interpreted_graphs_agree_bit_for_bit() {
    let program = nnspec_lang::check_source(SPEC).expect("the spec checks").program;
    for mut model in generated() {
        let net = program.network(model.name()).expect("the spec defines it");
        let mut interpreter = nnspec_cli::convert::network(net);
        interpreter.init_params(3);
        assert_eq!(interpreter.params(), model.params(), "{}: the same initial parameters", model.name());
        assert_eq!(interpreter.nodes(), model.nodes(), "{}: the same graph", model.name());
        let (x, y) = batch(model.as_ref(), 6);
        let rows = x.len() / model.input_size();
        model.adapt(&x, rows);
        interpreter.adapt(&x, rows);
        assert_eq!(interpreter.buffers(), model.buffers(), "{}: the same statistics", model.name());
        let (mut a, mut b) = (vec![0.0; rows * model.output_size()], vec![0.0; rows * model.output_size()]);
        model.forward(&x, &mut a, &mut Workspace::default());
        interpreter.forward(&x, &mut b, &mut Workspace::default());
        assert_eq!(a, b, "{}: forward", model.name());
        for training in [false, true] {
            let (mut ga, mut gb) = (vec![0.0; model.param_count()], vec![0.0; model.param_count()]);
            let la = model.loss_and_grad(&x, &y, Some(&mut ga), &mut Workspace::new(9), training);
            let lb = interpreter.loss_and_grad(&x, &y, Some(&mut gb), &mut Workspace::new(9), training);
            assert_eq!(la.to_bits(), lb.to_bits(), "{}: loss (training {training})", model.name());
            assert_eq!(ga, gb, "{}: gradient (training {training})", model.name());
            assert!(ga.iter().all(|g| g.is_finite()) && ga.iter().any(|g| *g != 0.0), "{}: a gradient", model.name());
        }
    }
}

#[test]
fn graph_gradients_match_central_differences() {
    for model in generated() {
        let (x, y) = batch(model.as_ref(), 5);
        let report = check_gradient(model.name(), model.as_ref(), &x, &y, nnspec_testkit::F32);
        println!(
            "{}: {} parameters, worst {:.0}% of the tolerance",
            model.name(),
            report.checked,
            100.0 * report.worst
        );
        assert_eq!(report.checked + report.skipped, model.param_count());
    }
}

/// Streaming inference: fed one time step at a time from the initial state,
/// `step` gives after the last step what `predict` gives on the whole
/// sequence, to the bit, and after every step what `predict` gives on the
/// sequence so far (a network of that length).
#[test]
fn streaming_steps_give_predict_on_the_whole_sequence() {
    let model = Streamed::with_seed(5);
    let (x, _) = batch(&model, 1);
    let mut state = Streamed::initial_state();
    let mut last = [0.0; Streamed::OUTPUT];
    for t in x.chunks_exact(3) {
        last = model.step(&mut state, &t.try_into().unwrap());
    }
    assert_eq!(last, model.predict(&x.clone().try_into().unwrap()));
    let mut out = [0.0; Streamed::OUTPUT];
    model.forward(&x, &mut out, &mut Workspace::default());
    assert_eq!(last, out, "the batch pass agrees");
    // A fresh state starts again from zero.
    let mut again = Streamed::initial_state();
    let first = model.step(&mut again, &x[..3].try_into().unwrap());
    assert_ne!(first, last);
    assert_eq!(Streamed::STATE_LEN, 5 + 2 * 4, "the GRU's h, the LSTM's h and c");
}

#[test]
fn predict_is_the_batch_forward_pass_on_one_row() {
    let model = Shared::with_seed(4);
    let (x, _) = batch(&model, 1);
    let mut out = [0.0; Shared::OUTPUT];
    model.forward(&x, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&x.clone().try_into().unwrap()), out);
    let model = Wide::with_seed(4);
    let (x, _) = batch(&model, 1);
    let mut out = [0.0; Wide::OUTPUT];
    model.forward(&x, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&x.try_into().unwrap()), out);
    let model = Signal::with_seed(4);
    let (x, _) = batch(&model, 1);
    let mut out = [0.0; Signal::OUTPUT];
    model.forward(&x, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&x.try_into().unwrap()), out);
    let model = Image::with_seed(4);
    let (x, _) = batch(&model, 1);
    let mut out = [0.0; Image::OUTPUT];
    model.forward(&x, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&x.try_into().unwrap()), out);
    // With running statistics moved away from their initial values by two training passes.
    let mut model = Normed::with_seed(4);
    let (x, y) = batch(&model, 6);
    let mut workspace = Workspace::default();
    for _ in 0..2 {
        model.loss_and_grad(&x, &y, None, &mut workspace, true);
        model.update_buffers(&mut workspace, 6);
    }
    assert!(model.buffers().iter().all(|v| v.is_finite()) && model.buffers()[0] != 0.0);
    let row = &x[..Normed::INPUT];
    let mut out = [0.0; Normed::OUTPUT];
    model.forward(row, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&row.try_into().unwrap()), out);
}

/// `standardize` takes its statistics from the training rows (the split `fit`
/// trains on, not the validation rows), keeps them through training and saves
/// them with the weights; `predict` then takes raw samples.
#[test]
fn standardize_learns_the_training_rows_statistics_before_training() {
    let rows = 40;
    let x: Vec<f32> = (0..rows * 4).map(|i| ((i * 29 % 31) as f32) * (1 + i % 4) as f32 - 20.0).collect();
    let y: Vec<f32> = (0..rows).map(|r| (r % 3) as f32).collect();
    let data = nnspec::Dataset::new(x.clone(), y, 4, 1).unwrap();
    let mut model = Scaled::new();
    assert_eq!(model.buffers()[8], 0.0, "no statistics before training");
    model.fit(&data).unwrap();
    let (train, _) = data.split(Scaled::VALIDATION_SPLIT, Scaled::train_config().seed);
    let expected = nnspec::data::Standardizer::fit(&train);
    let [mean, std, count] = ["s.mean", "s.std", "s.count"]
        .map(|name| model.buffer_tensors().iter().find(|b| b.name == name).unwrap().range());
    assert_eq!(model.buffers()[mean], expected.mean[..]);
    assert_eq!(model.buffers()[std], expected.std[..]);
    assert_eq!(model.buffers()[count], [train.len() as f32]);

    // Training again keeps them; the batch pass and `predict` standardise raw rows.
    let before = model.buffers().to_vec();
    model.fit(&data).unwrap();
    assert_eq!(model.buffers(), before);
    let row: [f32; 4] = x[..4].try_into().unwrap();
    let mut out = [0.0; Scaled::OUTPUT];
    model.forward(&row, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&row), out);
    let mut standardized = nnspec::Dataset::new(row.to_vec(), vec![0.0], 4, 1).unwrap();
    expected.apply(&mut standardized);
    assert!(standardized.x.iter().zip(&row).any(|(s, r)| s != r), "the row is not already standard");
}

/// Gradient clipping on recurrent networks, where gradients through time
/// explode: one full-batch SGD step with `clip_grad_norm` moves every
/// parameter by `lr · coefficient · g` with PyTorch's coefficient
/// `min(1, max_norm / (‖g‖ + 1e-6))`, and `clip_grad_value` clamps each entry.
#[test]
fn clipping_scales_a_recurrent_networks_step_as_pytorch_does() {
    let lr = 0.5;
    for model in [Box::new(Stacked::with_seed(3)) as Box<dyn Model>, Box::new(ConvGru::with_seed(3))] {
        let (x, y) = batch(model.as_ref(), 8);
        let rows = x.len() / model.input_size();
        let data = nnspec::Dataset::new(x.clone(), y.clone(), model.input_size(), y.len() / rows).unwrap();
        let mut gradient = vec![0.0; model.param_count()];
        model.loss_and_grad(&x, &y, Some(&mut gradient), &mut Workspace::default(), true);
        let norm = nnspec::schedule::grad_norm(&gradient);
        for (norm_limit, value_limit) in [(Some(norm / 4.0), None), (None, Some(1e-3))] {
            let config = nnspec::TrainConfig {
                optimizer: nnspec::OptimizerConfig::sgd(lr),
                batch: None,
                epochs: 1,
                shuffle: false,
                clip_grad_norm: norm_limit,
                clip_grad_value: value_limit,
                progress: false,
                ..nnspec::TrainConfig::default()
            };
            let mut trained = model.params().to_vec();
            let mut net = nnspec_cli::convert::network(
                nnspec_lang::check_source(SPEC).unwrap().program.network(model.name()).unwrap(),
            );
            net.params_mut().copy_from_slice(model.params());
            nnspec::Trainer::new(config).fit(&mut net, &data, None).unwrap();
            for (i, (p, g)) in trained.iter_mut().zip(&gradient).enumerate() {
                let step = match (norm_limit, value_limit) {
                    (Some(limit), _) => f64::from(*g) * nnspec::schedule::clip_coefficient(norm, limit),
                    (_, Some(limit)) => f64::from(*g).clamp(-limit, limit),
                    _ => f64::from(*g),
                };
                *p -= (lr * step) as f32;
                let got = net.params()[i];
                assert!((got - *p).abs() <= 1e-6 + 1e-5 * p.abs(), "{} parameter {i}: {got} against {p}", model.name());
            }
        }
    }
}
