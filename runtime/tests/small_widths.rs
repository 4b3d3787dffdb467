//! The interpreter runs dense layers of at most 4 inputs and outputs through
//! kernel instances with both widths as constants. Every such pair, and the
//! wider neighbours around them, must give the bits of the general kernels
//! (the widths hidden from the compiler): the loss of the forward pass, and
//! every parameter gradient of a backward pass that also computes the
//! gradient of the hidden rows.

use nnspec::kernels::{dense_backward, dense_forward};
use nnspec::plan::Step;
use nnspec::{Activation, Interpreter, Loss, Model, Workspace};
use std::hint::black_box;
use std::ops::Range;

/// The weight and bias ranges of the plan's dense steps, in order.
fn dense_ranges(model: &Interpreter) -> Vec<(Range<usize>, Range<usize>)> {
    model
        .plan()
        .forward
        .iter()
        .filter_map(|step| match step {
            Step::Dense { weight, bias, .. } => Some((weight.clone(), bias.clone().expect("a bias"))),
            _ => None,
        })
        .collect()
}

/// Loss and gradient of `inputs → hidden → outputs` (identity, MSE) through
/// the general kernels, with every width opaque.
fn reference(model: &Interpreter, x: &[f32], y: &[f32], widths: [usize; 3], batch: usize) -> (f32, Vec<f32>) {
    let [inputs, hidden, outputs] = widths.map(black_box);
    let batch = black_box(batch);
    let p = model.params();
    let [(w1, b1), (w2, b2)]: [_; 2] = dense_ranges(model).try_into().expect("two dense layers");
    let mut h = vec![0.0; batch * hidden];
    let mut z = vec![0.0; batch * outputs];
    dense_forward(x, &p[w1.clone()], Some(&p[b1.clone()]), &mut h, batch, inputs, hidden);
    dense_forward(&h, &p[w2.clone()], Some(&p[b2.clone()]), &mut z, batch, hidden, outputs);
    let mut dz = vec![0.0; z.len()];
    let loss = Loss::Mse.evaluate(Activation::Identity, &z, &z, y, outputs, Some(&mut dz));
    let mut grad = vec![0.0; p.len()];
    let mut dh = vec![0.0; h.len()];
    let (mut dw2, mut db2) = (vec![0.0; w2.len()], vec![0.0; b2.len()]);
    dense_backward(&h, &p[w2.clone()], &dz, &mut dw2, Some(&mut db2), Some(&mut dh), batch, hidden, outputs);
    let (mut dw1, mut db1) = (vec![0.0; w1.len()], vec![0.0; b1.len()]);
    dense_backward(x, &p[w1.clone()], &dh, &mut dw1, Some(&mut db1), None, batch, inputs, hidden);
    grad[w1].copy_from_slice(&dw1);
    grad[b1].copy_from_slice(&db1);
    grad[w2].copy_from_slice(&dw2);
    grad[b2].copy_from_slice(&db2);
    (loss, grad)
}

#[test]
fn constant_width_instances_give_the_general_kernels_bits() {
    let batch = 7;
    for inputs in 1..=6 {
        for hidden in 1..=6 {
            for outputs in 1..=6 {
                let layers = [("hidden", hidden, Activation::Identity), ("out", outputs, Activation::Identity)];
                let mut model = Interpreter::new("widths", inputs, &layers, Loss::Mse);
                model.init_params((inputs * 100 + hidden * 10 + outputs) as u64);
                // Values that make every rounding count: no two alike, no round numbers.
                let x: Vec<f32> = (0..batch * inputs).map(|k| ((k as f32 + 0.37) * 0.731).sin() * 1.9).collect();
                let y: Vec<f32> = (0..batch * outputs).map(|k| ((k as f32 + 0.11) * 1.37).cos()).collect();
                let (expected_loss, expected_grad) = reference(&model, &x, &y, [inputs, hidden, outputs], batch);
                let mut grad = vec![0.0; model.param_count()];
                let loss = model.loss_and_grad(&x, &y, Some(&mut grad), &mut Workspace::default(), true);
                let case = format!("{inputs} → {hidden} → {outputs}");
                assert_eq!(loss.to_bits(), expected_loss.to_bits(), "{case}: loss");
                assert!(grad.iter().zip(&expected_grad).all(|(a, b)| a.to_bits() == b.to_bits()), "{case}: gradient");
                assert!(grad.iter().any(|g| *g != 0.0), "{case}: a zero gradient checks nothing");
            }
        }
    }
}
