//! Every activation and every loss (`nnspec_conformance_tests::heads`):
//! generated code and the interpreter agree bit for bit (loss, gradient and
//! outputs), the generated `predict` gives the batch forward's rows, and the
//! gradient passes the f64 finite-difference check.

mod common;

use nnspec::{Interpreter, Model, Workspace};
use nnspec_conformance_tests::heads::{self, heads, ACTIVATION_INPUTS};
use nnspec_testkit::reference::check_gradient;

const BATCH: usize = 6;

/// A batch for `model`: for the activation networks (identity weights) the
/// kink-and-saturation inputs, shifted per row; otherwise spread values.
fn batch(model: &mut dyn Model) -> Vec<f32> {
    if heads::is_activation_network(model) {
        heads::identity_params(model);
        return (0..BATCH).flat_map(|r| ACTIVATION_INPUTS.map(|v| if r % 2 == 0 { v } else { -v * 0.5 })).collect();
    }
    (0..BATCH * model.input_size()).map(|i| ((i * 37 % 23) as f32 - 11.0) / 4.0).collect()
}

fn interpreter(model: &dyn Model) -> Interpreter {
    Interpreter::graph(model.name(), model.nodes().to_vec(), model.loss_kind())
        .expect("a generated network's graph")
        .with_params(model.params())
        .expect("the same parameter count")
}

#[test]
fn generated_code_agrees_with_the_interpreter_bit_for_bit_on_every_head() {
    for mut head in heads() {
        let model = head.model.as_mut();
        let x = batch(model);
        let y = common::targets(model, BATCH);
        let mlp = interpreter(model);
        let (mut g1, mut g2) = (vec![0.0; model.param_count()], vec![0.0; model.param_count()]);
        let l1 = model.loss_and_grad(&x, &y, Some(&mut g1), &mut Workspace::new(5), true);
        let l2 = mlp.loss_and_grad(&x, &y, Some(&mut g2), &mut Workspace::new(5), true);
        let name = model.name();
        assert!(l1.is_finite(), "{name}: loss {l1}");
        assert_eq!(l1.to_bits(), l2.to_bits(), "{name}: loss differs");
        assert_eq!(g1, g2, "{name}: gradients differ");
        let (mut o1, mut o2) = (vec![0.0; BATCH * model.output_size()], vec![0.0; BATCH * model.output_size()]);
        model.forward(&x, &mut o1, &mut Workspace::default());
        mlp.forward(&x, &mut o2, &mut Workspace::default());
        assert_eq!(o1, o2, "{name}: outputs differ");
    }
}

#[test]
fn the_generated_predict_gives_the_batch_forward_rows() {
    for mut head in heads() {
        let model = head.model.as_mut();
        let x = batch(model);
        let mut outputs = vec![0.0; BATCH * model.output_size()];
        model.forward(&x, &mut outputs, &mut Workspace::default());
        for (row, expected) in x.chunks(model.input_size()).zip(outputs.chunks(model.output_size())) {
            let got = (head.predict)(model.params(), row);
            assert_eq!(got, expected, "{}: predict({row:?})", model.name());
        }
    }
}

#[test]
fn every_head_passes_a_finite_difference_check() {
    for mut head in heads() {
        let model = head.model.as_mut();
        // Spread inputs for every network here: the activation networks'
        // saturated inputs have gradients below any f32 tolerance.
        let x: Vec<f32> = (0..BATCH * model.input_size()).map(|i| ((i * 37 % 23) as f32 - 11.0) / 4.0).collect();
        let y = common::targets(model, BATCH);
        let report = check_gradient(model.name(), model, &x, &y, nnspec_testkit::F32);
        assert!(report.checked > 0, "{}", model.name());
    }
}
