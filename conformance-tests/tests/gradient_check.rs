//! Every network of the examples passes a central finite-difference check of
//! its generated gradient (the conformance networks are checked in
//! `generated.rs`): the differences are taken in f64 on an independent f64
//! copy of the network (`nnspec_testkit::reference`), kink-aware, so the only
//! error left is the f32 gradient's own rounding and the README's f32
//! tolerance applies. Dropout is off.

mod common;

use nnspec::Model;
use nnspec_testkit::reference::check_gradient;

#[test]
fn example_networks_pass_a_finite_difference_check() {
    for mut model in common::example_networks() {
        // A network whose spec starts it at zero (the perceptron) would have
        // every step input on its kink: spread its parameters first.
        if model.params().iter().all(|p| *p == 0.0) {
            model.params_mut().iter_mut().enumerate().for_each(|(i, p)| *p = ((i * 31 % 19) as f32 - 9.0) / 10.0);
        }
        let batch = 6;
        let x: Vec<f32> = (0..batch * model.input_size()).map(|i| ((i * 29 % 17) as f32 - 8.0) / 6.0).collect();
        let targets = common::targets(model.as_ref(), batch);
        let report = check_gradient(model.name(), model.as_ref(), &x, &targets, nnspec_testkit::F32);
        println!(
            "{}: {} parameters, {} on a kink, worst {:.0}% of the tolerance",
            model.name(),
            report.checked,
            report.skipped,
            100.0 * report.worst
        );
        assert!(report.checked > 0);
    }
}

/// A network whose step layer makes the gradient of every layer below it zero:
/// the check compares those zeros with the differences (a non-zero gradient there fails).
#[test]
fn gradients_below_a_step_layer_are_zero_and_checked() {
    let model = common::initialised(nnspec_conformance_tests::heads::StepSseHalf::zeroed(), 4);
    let x: Vec<f32> = (0..5 * model.input_size()).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
    let targets = common::targets(&model, 5);
    let report = check_gradient("StepSseHalf", &model, &x, &targets, nnspec_testkit::F32);
    assert_eq!(report.checked + report.skipped, model.param_count());
    assert!(report.checked > 0);
}
