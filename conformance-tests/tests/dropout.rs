//! Dropout draws its masks as the spec says: each unit is kept with
//! probability 1 − p, independently, and a kept unit is scaled by 1/(1 − p)
//! (inverted dropout). The conformance files inject fixed masks, so this is
//! where the draw itself is checked, through the public model interface of
//! generated code and of the interpreter.
//!
//! The network is an identity layer, dropout, and one output unit summing the
//! dropped-out units, under MSE against 0: the gradient of the output weights
//! is then `2·out·h`, so it shows every unit's `h = mask/(1 − p)`.

use nnspec::{Activation, Interpreter, Loss, Model, Op, Workspace};

const UNITS: usize = 256;

nnspec::net! {
    /// Identity units, dropout, and their sum.
    network Dropped {
        input x: [256];
        dense h: 256, activation = identity, bias = false;
        dropout(0.3);
        dense out: 1, bias = false;
        loss mse;
    }
}

/// Kept units and the total over `draws` training passes, checking the scale of every kept unit.
fn draw(model: &mut dyn Model, p: f64, draws: u64) -> (usize, usize) {
    let mut params = vec![0.0f32; UNITS * UNITS + UNITS];
    for i in 0..UNITS {
        params[i * UNITS + i] = 1.0;
    }
    params[UNITS * UNITS..].fill(1.0);
    model.params_mut().copy_from_slice(&params);
    let x = vec![1.0f32; UNITS];
    let mut grad = vec![0.0f32; model.param_count()];
    let mut kept = 0;
    let mut masks = std::collections::HashSet::new();
    for seed in 0..draws {
        model.loss_and_grad(&x, &[0.0], Some(&mut grad), &mut Workspace::new(seed), true);
        let out_grad = &grad[UNITS * UNITS..];
        // Σ g = 2·out·Σ h = 2·out², since out = Σ h.
        let out = (out_grad.iter().map(|g| f64::from(*g)).sum::<f64>() / 2.0).sqrt();
        let scale = 1.0 / (1.0 - p);
        for (i, g) in out_grad.iter().enumerate() {
            let unit = f64::from(*g) / (2.0 * out);
            if *g != 0.0 {
                assert!(
                    (unit - scale).abs() <= 1e-4 * scale,
                    "seed {seed}: unit {i} scaled to {unit}, expected {scale}"
                );
                kept += 1;
            }
        }
        masks.insert(out_grad.iter().map(|g| *g != 0.0).collect::<Vec<_>>());
    }
    assert_eq!(masks.len(), draws as usize, "every seed draws another mask");
    (kept, draws as usize * UNITS)
}

/// The kept fraction lies within five standard deviations of 1 − p.
fn assert_keep_rate(what: &str, (kept, total): (usize, usize), p: f64) {
    let keep = 1.0 - p;
    let rate = kept as f64 / total as f64;
    let bound = 5.0 * (keep * p / total as f64).sqrt();
    assert!((rate - keep).abs() <= bound, "{what}: kept {rate:.4} of the units, expected {keep} ± {bound:.4}");
    println!("{what}: kept {rate:.4} of {total} units (expected {keep} ± {bound:.4})");
}

#[test]
fn generated_dropout_keeps_one_minus_p_and_scales_by_its_inverse() {
    let p = 0.3;
    assert_keep_rate("generated, p = 0.3", draw(&mut Dropped::zeroed(), p, 160), p);
}

#[test]
fn interpreted_dropout_keeps_one_minus_p_and_scales_by_its_inverse() {
    for p in [0.1f32, 0.6] {
        let linear = Activation::Identity;
        let mut nodes =
            nnspec::graph::chain(UNITS, &[("h".into(), UNITS, linear, Some(p)), ("out".into(), 1, linear, None)]);
        for node in nodes.iter_mut().filter(|n| matches!(n.op, Op::Dense { .. })) {
            node.op = Op::Dense { activation: linear, bias: false };
        }
        let mut mlp = Interpreter::graph("Dropped", nodes, Loss::Mse).expect("a chain is a valid graph");
        assert_keep_rate(&format!("interpreter, p = {p}"), draw(&mut mlp, f64::from(p), 160), f64::from(p));
    }
}
