//! Whole training runs against PyTorch (`training/`, README section 10): each
//! run is a spec whose `train { … }` block and per-layer `l1`/`l2` the build
//! script wrote from the run's settings. It is trained by the trainer twice,
//! as generated code and through the interpreter the CLI uses (the spec text
//! checked and converted as `nnspec train` does), and every recorded number is
//! compared: each step's batch, learning rate, data loss, penalties, loss,
//! gradient norm, clipping coefficient and clipped-element count; the first
//! step's gradient and parameters; the parameters and the full-data loss after
//! every epoch; the learning rate of every epoch and after training.

use nnspec::train::{EpochRecord, Observer, StepRecord};
use nnspec::{Dataset, Model, TrainConfig, Trainer, Workspace};
use nnspec_conformance_tests::{training_registry, TrainingRun, TRAINING_SPECS};
use nnspec_testkit::{self as kit, budget_used, flat, flat32, F32};
use serde_json::Value;
use std::ops::ControlFlow;

/// What the trainer reported.
#[derive(Default)]
struct Recorder {
    steps: Vec<StepRecord>,
    first_grad: Vec<f32>,
    first_params: Vec<f32>,
    epochs: Vec<(EpochRecord, Vec<f32>)>,
}

impl Observer for Recorder {
    fn wants_steps(&self) -> bool {
        true
    }

    fn step(&mut self, record: &StepRecord, grad: &[f32], params: &[f32]) {
        if self.steps.is_empty() {
            self.first_grad = grad.to_vec();
            self.first_params = params.to_vec();
        }
        self.steps.push(record.clone());
    }

    fn epoch(&mut self, record: &EpochRecord, params: &[f32]) -> ControlFlow<()> {
        self.epochs.push((*record, params.to_vec()));
        ControlFlow::Continue(())
    }
}

/// Compares and remembers the worst use of the tolerance.
struct Checker<'a> {
    run: &'a str,
    worst: f64,
    worst_at: String,
}

impl Checker<'_> {
    fn close(&mut self, what: &str, got: &[f32], reference: &[f64]) {
        let what = format!("{}: {what}", self.run);
        kit::assert_close(&what, got, reference, F32);
        let used = budget_used(got, reference, F32);
        if used > self.worst {
            self.worst = used;
            self.worst_at = what;
        }
    }

    fn scalar(&mut self, what: &str, got: f64, reference: &Value) {
        let reference = reference.as_f64().unwrap_or_else(|| panic!("{}: {what} is not a number", self.run));
        // The f64 values the trainer reports come from f32 arithmetic: compare them as f32.
        self.close(what, &[got as f32], &[reference]);
    }
}

fn data(run: &Value) -> Dataset {
    let x = flat32(&run["data"]["X"]);
    let y = flat32(&run["data"]["y"]);
    let n = run["data"]["N"].as_u64().expect("N") as usize;
    Dataset::new(x, y.clone(), run["layers"][0]["in"].as_u64().expect("in") as usize, y.len() / n).expect("a data set")
}

fn train(
    run: &Value,
    data: &Dataset,
    mut model: Box<dyn Model>,
    mut config: TrainConfig,
) -> (Recorder, Box<dyn Model>) {
    config.progress = false;
    model.params_mut().copy_from_slice(&kit::params_in_order(run, &run["params"]));
    let mut recorder = Recorder::default();
    Trainer::new(config).fit_observed(model.as_mut(), data, None, &mut recorder).expect("the run trains");
    (recorder, model)
}

fn compare(
    run_name: &str,
    run: &Value,
    data: &Dataset,
    recorder: &Recorder,
    model: &mut dyn Model,
    config: &TrainConfig,
) -> f64 {
    let mut check = Checker { run: run_name, worst: 0.0, worst_at: String::new() };
    let training = &run["training"];
    let order: Vec<&str> = run["param_order"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    let params_of = |value: &Value| -> Vec<f64> { order.iter().flat_map(|n| flat(&value[*n])).collect() };

    let steps = run["steps"].as_array().expect("steps");
    assert_eq!(recorder.steps.len(), steps.len(), "{run_name}: number of optimizer steps");
    let batches = training["batches"].as_array().expect("batches");
    for (got, expected) in recorder.steps.iter().zip(steps) {
        let step = expected["step"].as_u64().unwrap();
        let at = |field: &str| format!("steps[{step}].{field}");
        let rows = flat(&expected["rows"]);
        assert_eq!(got.epoch - 1, expected["epoch"].as_u64().unwrap() as usize, "{run_name}: {}", at("epoch"));
        assert_eq!(got.batch, expected["batch"].as_u64().unwrap() as usize, "{run_name}: {}", at("batch"));
        assert_eq!([got.rows.start as f64, got.rows.end as f64], [rows[0], rows[1]], "{run_name}: {}", at("rows"));
        assert_eq!(flat(&batches[got.batch]), rows, "{run_name}: {} against training.batches", at("rows"));
        check.scalar(&at("lr"), got.lr, &expected["lr"]);
        check.scalar(&at("data_loss"), got.data_loss, &expected["data_loss"]);
        check.scalar(&at("l1_penalty"), got.l1_penalty, &expected["l1_penalty"]);
        check.scalar(&at("l2_penalty"), got.l2_penalty, &expected["l2_penalty"]);
        check.scalar(&at("loss"), got.loss(), &expected["loss"]);
        check.scalar(&at("grad_norm"), got.grad_norm, &expected["grad_norm"]);
        match (&got.clip_coef, &expected["clip_coef"]) {
            (Some(coef), reference @ Value::Number(_)) => check.scalar(&at("clip_coef"), *coef, reference),
            (None, Value::Null) => {}
            (got, reference) => panic!("{run_name}: {}: got {got:?}, reference {reference}", at("clip_coef")),
        }
        let clipped = expected["clipped_elements"].as_u64().map(|n| n as usize);
        assert_eq!(got.clipped_elements, clipped, "{run_name}: {}", at("clipped_elements"));
    }

    let first = &run["first_step"];
    check.close("first_step.grads_after_clipping", &recorder.first_grad, &params_of(&first["grads_after_clipping"]));
    check.close("first_step.params_after", &recorder.first_params, &params_of(&first["params_after"]));

    let epochs = run["params_after_epoch"].as_array().expect("params_after_epoch");
    assert_eq!(recorder.epochs.len(), epochs.len(), "{run_name}: number of epochs");
    let lr_per_epoch = flat(&run["lr_per_epoch"]);
    let (x, y) = data.rows(0..data.len());
    let full_losses = flat(&run["full_data_loss_after_epoch"]);
    for (e, ((record, params), expected)) in recorder.epochs.iter().zip(epochs).enumerate() {
        check.close(&format!("lr_per_epoch[{e}]"), &[record.lr as f32], &[lr_per_epoch[e]]);
        check.close(&format!("params_after_epoch[{e}]"), params, &params_of(expected));
        model.params_mut().copy_from_slice(params);
        let loss = model.loss_and_grad(x, y, None, &mut Workspace::default(), false);
        check.close(&format!("full_data_loss_after_epoch[{e}]"), &[loss], &[full_losses[e]]);
    }
    check.close("final_params", &recorder.epochs.last().unwrap().1, &params_of(&run["final_params"]));
    let base = config.optimizer.lr();
    let after = config.schedule.as_ref().map_or(base, |s| s.lr(base, epochs.len()));
    check.scalar("lr_after_training", after, &run["lr_after_training"]);
    println!("{run_name}: worst {:.0}% of the f32 tolerance, at {}", 100.0 * check.worst, check.worst_at);
    check.worst
}

#[test]
fn every_training_run_is_generated() {
    let files = kit::files("training");
    assert!(!files.is_empty(), "no training runs in the conformance directory");
    let registry = training_registry();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(registry.iter().any(|run| run.stem == stem), "{stem} was not generated");
    }
}

#[test]
fn generated_networks_train_as_pytorch_does() {
    for TrainingRun { stem, make, config, .. } in training_registry() {
        let run = kit::json(format!("training/{stem}.json"));
        let data = data(&run);
        let (recorder, mut model) = train(&run, &data, make(), config());
        compare(&format!("{stem} (generated)"), &run, &data, &recorder, model.as_mut(), &config());
    }
}

#[test]
fn the_interpreter_trains_the_spec_as_pytorch_does() {
    let checked = nnspec_lang::check_source(TRAINING_SPECS).expect("the training specs check");
    for TrainingRun { stem, network: name, .. } in training_registry() {
        let run = kit::json(format!("training/{stem}.json"));
        let network = checked.program.networks.iter().find(|n| n.name == name).expect("the run's network");
        let config = nnspec_cli::convert::train_config(&network.train);
        let data = data(&run);
        let (recorder, mut model) = train(&run, &data, Box::new(nnspec_cli::convert::network(network)), config.clone());
        compare(&format!("{stem} (interpreter)"), &run, &data, &recorder, model.as_mut(), &config);
    }
}

#[test]
fn generated_code_and_the_interpreter_take_the_same_steps_bit_for_bit() {
    let checked = nnspec_lang::check_source(TRAINING_SPECS).expect("the training specs check");
    for TrainingRun { stem, network: name, make, config } in training_registry() {
        let run = kit::json(format!("training/{stem}.json"));
        let network = checked.program.networks.iter().find(|n| n.name == name).expect("the run's network");
        let data = data(&run);
        let (generated, _) = train(&run, &data, make(), config());
        let interpreter_config = nnspec_cli::convert::train_config(&network.train);
        let (interpreted, _) = train(&run, &data, Box::new(nnspec_cli::convert::network(network)), interpreter_config);
        assert_eq!(generated.steps, interpreted.steps, "{stem}: step records differ");
        for ((_, a), (_, b)) in generated.epochs.iter().zip(&interpreted.epochs) {
            assert_eq!(a, b, "{stem}: parameters differ");
        }
    }
}
