//! Generated code for every conformance network: forward values, loss, every
//! gradient (and the dropout case) against PyTorch; 5-step optimizer
//! trajectories; a central finite-difference check; and bit-for-bit agreement
//! with the runtime's interpreter.

use nnspec::{Model, Workspace};
use nnspec_conformance_tests::registry;
use nnspec_testkit::{self as kit, assert_close, flat, flat32, F32};
use serde_json::Value;

fn network_file(stem: &str) -> Value {
    kit::json(format!("networks/{stem}.json"))
}

fn loaded(stem: &str, dropout: bool) -> (Box<dyn Model>, Value) {
    let (_, _, make) = registry().into_iter().find(|(s, d, _)| *s == stem && *d == dropout).expect("registered");
    let mut model = make();
    let network = network_file(stem);
    let params = kit::params_in_order(&network, &network["params"]);
    model.params_mut().copy_from_slice(&params);
    (model, network)
}

#[test]
fn every_conformance_network_is_generated() {
    let files = kit::files("networks");
    assert!(!files.is_empty());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(registry().iter().any(|(s, d, _)| *s == stem && !d), "{stem} was not generated");
    }
}

#[test]
fn forward_loss_and_gradients_match_the_reference() {
    for (stem, dropout, _) in registry() {
        let (model, network) = loaded(stem, dropout);
        let reference = if dropout { &network["dropout_case"] } else { &network };
        let x = flat32(&network["batch"]["X"]);
        let y = kit::targets(&network["batch"]);
        let mut workspace = Workspace::default();
        if dropout {
            let hidden = network["layers"].as_array().unwrap().len() - 1;
            workspace.set_fixed_masks((1..=hidden).map(|l| flat32(&reference["masks"][format!("mask{l}")])).collect());
        }
        let mut grad = vec![0.0; model.param_count()];
        let loss = model.loss_and_grad(&x, &y, Some(&mut grad), &mut workspace, true);
        let name = format!("{stem}{}", if dropout { ".dropout_case" } else { "" });
        assert_close(&format!("{name}.loss"), &[loss], &[reference["loss_value"].as_f64().unwrap()], F32);
        let expected: Vec<f64> = network["param_order"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|n| flat(&reference["grads"][n.as_str().unwrap()]))
            .collect();
        assert_close(&format!("{name}.grads"), &grad, &expected, F32);
        if !dropout {
            let layers = network["layers"].as_array().unwrap().len();
            let batch = kit::shape(&network["batch"]["X"])[0];
            let mut out = vec![0.0; batch * model.output_size()];
            model.forward(&x, &mut out, &mut Workspace::default());
            assert_close(&format!("{name}.A{layers}"), &out, &flat(&network["forward"][format!("A{layers}")]), F32);
        }
    }
}

#[test]
fn generated_code_agrees_with_the_interpreter_bit_for_bit() {
    for (stem, dropout, _) in registry() {
        let (model, network) = loaded(stem, dropout);
        let p = network.get("dropout_case").and_then(|c| c.get("p_drop")).and_then(Value::as_f64).map(|p| p as f32);
        let mlp = kit::mlp(&network, if dropout { p } else { None });
        let x = flat32(&network["batch"]["X"]);
        let y = kit::targets(&network["batch"]);
        let (mut g1, mut g2) = (vec![0.0; model.param_count()], vec![0.0; model.param_count()]);
        let l1 = model.loss_and_grad(&x, &y, Some(&mut g1), &mut Workspace::new(7), true);
        let l2 = mlp.loss_and_grad(&x, &y, Some(&mut g2), &mut Workspace::new(7), true);
        assert_eq!(l1.to_bits(), l2.to_bits(), "{stem}: loss differs");
        assert_eq!(g1, g2, "{stem}: gradients differ");
    }
}

#[test]
fn gradients_pass_a_central_finite_difference_check() {
    // f64 central differences on an independent f64 copy of the network,
    // kink-aware: the README's f32 tolerance applies to the f32 gradient.
    for (stem, dropout, _) in registry().into_iter().filter(|(_, d, _)| !d) {
        let (model, network) = loaded(stem, dropout);
        let x = flat32(&network["batch"]["X"]);
        let y = kit::targets(&network["batch"]);
        let report = kit::reference::check_gradient(stem, model.as_ref(), &x, &y, F32);
        println!("{stem}: {} parameters, worst {:.0}% of the tolerance", report.checked, 100.0 * report.worst);
        assert_eq!(report.skipped, 0, "{stem}: the README keeps every relu input away from its kink");
    }
}

#[test]
fn optimizer_trajectories_match_with_generated_code() {
    let mut runs = 0;
    for path in kit::files("optimizers").into_iter().filter(|p| !p.ends_with("isolated.json")) {
        let file = kit::json_at(&path);
        let stem =
            file["network_file"].as_str().unwrap().rsplit('/').next().unwrap().trim_end_matches(".json").to_string();
        let order: Vec<String> =
            file["param_order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
        for run in file["runs"].as_array().unwrap() {
            let (mut model, network) = loaded(&stem, false);
            let x = flat32(&network["batch"]["X"]);
            let y = kit::targets(&network["batch"]);
            let ranges = {
                let mut offset = 0;
                order
                    .iter()
                    .map(|n| {
                        let len = flat(&network["params"][n]).len();
                        offset += len;
                        (n.clone(), offset - len..offset)
                    })
                    .collect::<Vec<_>>()
            };
            let regularization = run.get("regularization").filter(|r| !r.is_null());
            let is_l1 = regularization.is_some_and(|r| r["kind"] == "l1_penalty");
            let coef = regularization.map_or(0.0, |r| r["coef"].as_f64().unwrap() as f32);
            let applies: Vec<std::ops::Range<usize>> = regularization
                .map(|r| {
                    r["applies_to"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| ranges.iter().find(|(name, _)| name == n.as_str().unwrap()).unwrap().1.clone())
                        .collect()
                })
                .unwrap_or_default();
            let mut opt = kit::optimizer(run, regularization.filter(|_| !is_l1).map(|_| 0.0));
            let mut workspace = Workspace::default();
            let mut grad = vec![0.0; model.param_count()];
            let id = format!("{stem}:{}", run["id"].as_str().unwrap());
            for (step, expected) in run["params_after"].as_array().unwrap().iter().enumerate() {
                model.loss_and_grad(&x, &y, Some(&mut grad), &mut workspace, false);
                for range in &applies {
                    let (p, g) = (&model.params()[range.clone()], &mut grad[range.clone()]);
                    if is_l1 {
                        nnspec::penalty::l1(p, g, coef);
                    } else {
                        nnspec::penalty::l2(p, g, coef);
                    }
                }
                opt.step(model.params_mut(), &grad);
                let expected: Vec<f64> = order.iter().flat_map(|n| flat(&expected[n])).collect();
                assert_close(&format!("{id}.params_after[{step}]"), model.params(), &expected, F32);
            }
            runs += 1;
        }
    }
    assert!(runs > 0);
}
