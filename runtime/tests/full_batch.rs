//! A spec with `batch = full` and `samples = N` gets a training pass
//! specialised for N rows: it computes what the general pass computes, to the
//! bit, and any other batch takes the general pass. A small one keeps its
//! values on the stack (dropout masks still come from the workspace); one
//! with batch normalisation keeps them in the workspace, where
//! `update_buffers` reads its statistics.

use nnspec::{Model, Workspace};

nnspec::net! {
    network Sized {
        input x: [3];
        dense hidden: 4, activation = sigmoid;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    #[allow(overparameterized)]
    network SizedDropout {
        input x: [3];
        dense hidden: 8, activation = relu;
        dropout(0.5) d;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    network UnsizedDropout {
        input x: [3];
        dense hidden: 8, activation = relu;
        dropout(0.5) d;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10 }
    }

    #[allow(batch_norm_single_row, overparameterized)]
    network SizedNormed {
        input x: [3];
        dense hidden: 4;
        batch_norm bn;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    #[allow(batch_norm_single_row)]
    network UnsizedNormed {
        input x: [3];
        dense hidden: 4;
        batch_norm bn;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10 }
    }

    network Unsized {
        input x: [3];
        dense hidden: 4, activation = sigmoid;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10 }
    }
}

#[test]
fn the_specialised_pass_computes_what_the_general_one_does() {
    let sized = Sized::with_seed(3);
    let unsized_net = Unsized::from_params(sized.params()).unwrap();
    let x: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
    let y = [0.0, 1.0, 1.0, 0.0, 1.0];
    for rows in [4, 3, 5] {
        let (mut a, mut b) = (vec![0.0; Sized::PARAM_COUNT], vec![0.0; Unsized::PARAM_COUNT]);
        let (x, y) = (&x[..rows * 3], &y[..rows]);
        let la = sized.loss_and_grad(x, y, Some(&mut a), &mut Workspace::default(), true);
        let lb = unsized_net.loss_and_grad(x, y, Some(&mut b), &mut Workspace::default(), true);
        assert_eq!(la.to_bits(), lb.to_bits(), "{rows} rows");
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}

/// Bit for bit as above with dropout (the same masks from equally seeded
/// workspaces) and with batch normalisation (the running statistics updated
/// from what the pass left in the workspace).
#[test]
fn the_specialised_pass_keeps_dropout_masks_and_batch_statistics() {
    let x: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
    let y = [0.0, 1.0, 1.0, 0.0, 1.0];
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let sized = SizedDropout::with_seed(3);
    let unsized_net = UnsizedDropout::from_params(sized.params()).unwrap();
    for rows in [4, 3] {
        let (mut a, mut b) = (vec![0.0; SizedDropout::PARAM_COUNT], vec![0.0; UnsizedDropout::PARAM_COUNT]);
        let (x, y) = (&x[..rows * 3], &y[..rows]);
        let la = sized.loss_and_grad(x, y, Some(&mut a), &mut Workspace::new(7), true);
        let lb = unsized_net.loss_and_grad(x, y, Some(&mut b), &mut Workspace::new(7), true);
        assert_eq!(la.to_bits(), lb.to_bits(), "{rows} rows");
        assert_eq!(bits(&a), bits(&b));
    }
    let mut sized = SizedNormed::with_seed(3);
    let mut unsized_net = UnsizedNormed::from_params(sized.params()).unwrap();
    let (mut a, mut b) = (vec![0.0; SizedNormed::PARAM_COUNT], vec![0.0; UnsizedNormed::PARAM_COUNT]);
    let (mut wa, mut wb) = (Workspace::default(), Workspace::default());
    let la = sized.loss_and_grad(&x[..12], &y[..4], Some(&mut a), &mut wa, true);
    let lb = unsized_net.loss_and_grad(&x[..12], &y[..4], Some(&mut b), &mut wb, true);
    sized.update_buffers(&mut wa, 4);
    unsized_net.update_buffers(&mut wb, 4);
    assert_eq!((la.to_bits(), bits(&a)), (lb.to_bits(), bits(&b)));
    assert_eq!(bits(sized.buffers()), bits(unsized_net.buffers()));
    assert!(sized.buffers().iter().any(|&v| v != 0.0 && v != 1.0), "the running statistics moved");
}

fn four_rows() -> nnspec::Dataset {
    let x: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
    nnspec::Dataset::new(x, vec![0.0, 1.0, 1.0, 0.0], 3, 1).unwrap()
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// The trainer runs a network that has `Model::descend` (here `Sized`, which
/// trains on the whole data set of the size its spec states) in one call,
/// and one without it (`Unsized`, the same layers) step by step; both take
/// the same steps to the bit: parameters, every epoch's record, warnings,
/// with weight decay, early stopping that restores the best epoch, a
/// rising loss, and an observer that ends the run.
#[test]
fn descending_in_one_call_takes_the_trainers_steps() {
    use nnspec::train::{EarlyStopping, EpochRecord};
    use nnspec::{OptimizerConfig, Trainer};
    use std::ops::ControlFlow;
    let data = four_rows();
    let sgd = |lr: f64, weight_decay: f64| OptimizerConfig::Sgd {
        lr,
        momentum: 0.0,
        dampening: 0.0,
        nesterov: false,
        weight_decay,
    };
    let plain = nnspec::TrainConfig { shuffle: false, ..Sized::train_config() };
    let configs = [
        nnspec::TrainConfig { epochs: 300, ..plain.clone() },
        nnspec::TrainConfig { epochs: 40, optimizer: sgd(0.5, 0.01), ..plain.clone() },
        nnspec::TrainConfig {
            epochs: 400,
            early_stopping: Some(EarlyStopping {
                monitor_validation: false,
                patience: 3,
                min_delta: 1e-3,
                restore_best: true,
            }),
            ..plain.clone()
        },
        // Gradient ascent: the loss rises from the start, and the watchdog says so.
        nnspec::TrainConfig { epochs: 12, optimizer: sgd(-0.5, 0.0), ..plain.clone() },
    ];
    for (case, config) in configs.iter().enumerate() {
        for stop_at in [None, Some(7)] {
            let mut sized = Sized::with_seed(5);
            let mut unsized_net = Unsized::from_params(sized.params()).unwrap();
            let trainer = Trainer::new(config.clone());
            let on_epoch = |r: &EpochRecord| {
                if Some(r.epoch) == stop_at {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            let a = trainer.fit_with(&mut sized, &data, None, on_epoch).unwrap();
            let b = trainer.fit_with(&mut unsized_net, &data, None, on_epoch).unwrap();
            assert_eq!(bits(sized.params()), bits(unsized_net.params()), "case {case}, stop at {stop_at:?}");
            assert_eq!(a.epochs, b.epochs, "case {case}");
            assert_eq!((a.warnings, a.stopped_early, a.best_epoch), (b.warnings, b.stopped_early, b.best_epoch));
            assert_eq!(a.epochs.len(), stop_at.unwrap_or(a.epochs.len()).min(config.epochs));
        }
    }
    // The cases reach what they are there for.
    let run =
        |config: &nnspec::TrainConfig| Trainer::new(config.clone()).fit(&mut Sized::with_seed(5), &data, None).unwrap();
    assert!(run(&configs[2]).stopped_early);
    assert!(run(&configs[3]).warnings.iter().any(|w| w.kind == "rising_loss"));
}

/// `descend` runs on a batch of exactly the spec's `samples` rows, and only
/// for a network without dropout or batch normalisation; otherwise the
/// trainer takes its steps one by one.
#[test]
fn descend_runs_where_the_fixed_pass_does() {
    let data = four_rows();
    let mut steps = 0;
    let mut count = |_: f32, _: &[f32], _: &[f32]| {
        steps += 1;
        std::ops::ControlFlow::Continue(())
    };
    let mut workspace = Workspace::default();
    let (x, y) = (&data.x[..], &data.y[..]);
    assert_eq!(Sized::with_seed(1).descend(x, y, 0.1, 0.0, 3, &mut workspace, &mut count), Some(nnspec::Descent::Ran));
    assert_eq!(Sized::with_seed(1).descend(&x[..9], &y[..3], 0.1, 0.0, 3, &mut workspace, &mut count), None);
    assert_eq!(Unsized::with_seed(1).descend(x, y, 0.1, 0.0, 3, &mut workspace, &mut count), None);
    assert_eq!(SizedDropout::with_seed(1).descend(x, y, 0.1, 0.0, 3, &mut workspace, &mut count), None);
    assert_eq!(SizedNormed::with_seed(1).descend(x, y, 0.1, 0.0, 3, &mut workspace, &mut count), None);
    assert_eq!(steps, 3);
}

/// A step that makes the parameters infinite (a rate past f32's range) stops
/// training with the same error in one call as step by step, naming the
/// epoch and the tensor, and both keep the weights from before it.
#[test]
fn descending_stops_where_the_trainer_would() {
    let data = four_rows();
    let mut config = nnspec::TrainConfig { shuffle: false, ..Sized::train_config() };
    config.optimizer =
        nnspec::OptimizerConfig::Sgd { lr: 1e39, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 };
    let trainer = nnspec::Trainer::new(config);
    let mut sized = Sized::with_seed(5);
    let mut unsized_net = Unsized::from_params(sized.params()).unwrap();
    let before = sized.params().to_vec();
    let a = trainer.fit(&mut sized, &data, None).unwrap_err().to_string();
    let b = trainer.fit(&mut unsized_net, &data, None).unwrap_err().to_string();
    assert_eq!(a, b);
    assert!(a.contains("epoch 1") && a.contains("after the update"), "{a}");
    assert_eq!(bits(sized.params()), bits(&before));
    assert_eq!(bits(unsized_net.params()), bits(&before));
}
