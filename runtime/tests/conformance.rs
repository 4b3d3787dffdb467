//! The runtime against PyTorch/NumPy reference values in the conformance
//! directory (`NNSPEC_CONFORMANCE`, default `../shared/conformance`): every
//! activation, loss, network forward/backward (with the dropout case), optimizer
//! trajectory, isolated optimizer run, schedule and clipping case. Cases,
//! shapes and hyper-parameters come from the files.

use nnspec::schedule::{clip_coefficient, clip_grad_norm, clip_grad_value, grad_norm, Schedule};
use nnspec::{Loss, Model, Workspace};
use nnspec_testkit::{self as kit, assert_close, flat, flat32, F32};
use serde_json::Value;

#[test]
fn activations_match_the_reference() {
    let data = kit::json("activations.json");
    let x = flat32(&data["x"]);
    let mut cases = 0;
    for (key, case) in data["elementwise"].as_object().expect("elementwise") {
        let activation = kit::activation(case["function"].as_str().expect("function"), case.get("params"));
        let y: Vec<f32> = x.iter().map(|v| activation.apply(*v)).collect();
        assert_close(&format!("{key}.y"), &y, &flat(&case["y"]), F32);
        let dy: Vec<f32> = x.iter().zip(&y).map(|(x, y)| activation.derivative(*x, *y)).collect();
        assert_close(&format!("{key}.dy_dx"), &dy, &flat(&case["dy_dx"]), F32);
        cases += 1;
    }
    for (key, case) in data["rowwise"].as_object().expect("rowwise") {
        let activation = kit::activation(key, None);
        let width = kit::shape(&case["x"])[1];
        let z = flat32(&case["x"]);
        let mut y = vec![0.0; z.len()];
        activation.forward(&z, &mut y, width);
        assert_close(&format!("{key}.y"), &y, &flat(&case["y"]), F32);
        let mut grad = flat32(&case["upstream"]);
        activation.backward(&z, &y, &mut grad, width);
        assert_close(&format!("{key}.vjp"), &grad, &flat(&case["vjp"]), F32);
        cases += 1;
    }
    assert!(cases >= 2, "no activation cases found");
}

fn loss_of(kind: &str) -> (Loss, nnspec::Activation) {
    use nnspec::Activation::Identity;
    match kind {
        "mse" => (Loss::Mse, Identity),
        "sse" => (Loss::Sse, Identity),
        "sse_half" => (Loss::SseHalf, Identity),
        "bce" => (Loss::BinaryCrossEntropy, Identity),
        "bce_with_logits" => (Loss::BinaryCrossEntropyWithLogits, Identity),
        "softmax_ce_labels" | "softmax_ce_onehot" => (Loss::SoftmaxCrossEntropy, Identity),
        other => panic!("unknown loss kind `{other}`"),
    }
}

#[test]
fn losses_match_the_reference() {
    let data = kit::json("losses.json");
    let mut cases = 0;
    for (kind, list) in data["losses"].as_object().expect("losses") {
        if kind == "bce_pytorch_edge" {
            continue; // optional: PyTorch's clamp of log(0), which nnspec does not copy
        }
        let (loss, activation) = loss_of(kind);
        for case in list.as_array().expect("cases") {
            let name = format!("{kind}.{}", case["name"].as_str().unwrap_or("?"));
            let input = flat32(&case["input"]);
            let width = kit::shape(&case["input"])[1];
            let target = flat32(&case["target"]);
            let mut grad = vec![0.0; input.len()];
            let value = loss.evaluate(activation, &input, &input, &target, width, Some(&mut grad));
            assert_close(&format!("{name}.value"), &[value], &[case["value"].as_f64().expect("value")], F32);
            assert_close(&format!("{name}.grad"), &grad, &flat(&case["grad"]), F32);
            cases += 1;
        }
    }
    assert!(cases > 0, "no loss cases found");
}

#[test]
fn networks_match_forward_loss_and_gradients() {
    let files = kit::files("networks");
    assert!(!files.is_empty(), "no networks in the conformance directory");
    for path in files {
        let network = kit::json_at(&path);
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let mlp = kit::mlp(&network, None);
        check_pass(&name, &mlp, &network, &network, Workspace::default());
        if let Some(case) = network.get("dropout_case").filter(|c| !c.is_null()) {
            let p = case["p_drop"].as_f64().expect("p_drop") as f32;
            let mlp = kit::mlp(&network, Some(p));
            let mut workspace = Workspace::default();
            let masks: Vec<Vec<f32>> =
                (1..mlp.nodes().iter().filter(|n| matches!(n.op, nnspec::Op::Dense { .. })).count())
                    .map(|l| flat32(&case["masks"][format!("mask{l}")]))
                    .collect();
            workspace.set_fixed_masks(masks);
            check_pass(&format!("{name}.dropout_case"), &mlp, &network, case, workspace);
        }
    }
}

fn check_pass(name: &str, mlp: &nnspec::Interpreter, network: &Value, reference: &Value, mut workspace: Workspace) {
    let x = flat32(&network["batch"]["X"]);
    let y = kit::targets(&network["batch"]);
    let mut grad = vec![0.0; mlp.param_count()];
    let loss = mlp.loss_and_grad(&x, &y, Some(&mut grad), &mut workspace, true);
    assert_close(&format!("{name}.loss"), &[loss], &[reference["loss_value"].as_f64().unwrap()], F32);
    let expected = kit::params_in_order(network, &reference["grads"]);
    let expected: Vec<f64> = expected.iter().map(|v| f64::from(*v)).collect();
    // Gradients are compared at full f64 precision of the reference.
    let reference_grads: Vec<f64> = network["param_order"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| flat(&reference["grads"][n.as_str().unwrap()]))
        .collect();
    assert_eq!(expected.len(), reference_grads.len());
    assert_close(&format!("{name}.grads"), &grad, &reference_grads, F32);
    if reference.get("dropout_case").is_some() || reference.get("masks").is_none() {
        let batch = kit::shape(&network["batch"]["X"])[0];
        let mut out = vec![0.0; batch * mlp.output_size()];
        mlp.forward(&x, &mut out, &mut Workspace::default());
        let layers = network["layers"].as_array().unwrap().len();
        assert_close(
            &format!("{name}.forward.A{layers}"),
            &out,
            &flat(&reference["forward"][format!("A{layers}")]),
            F32,
        );
    }
}

/// The penalty a run adds outside the optimizer: `(kind, coef, ranges)` over `applies_to`.
struct Regularization {
    l1: bool,
    coef: f32,
    ranges: Vec<std::ops::Range<usize>>,
}

fn regularization(run: &Value, ranges_of: impl Fn(&str) -> std::ops::Range<usize>) -> Option<Regularization> {
    let r = run.get("regularization").filter(|r| !r.is_null())?;
    Some(Regularization {
        l1: r["kind"].as_str() == Some("l1_penalty"),
        coef: r["coef"].as_f64().expect("coef") as f32,
        ranges: r["applies_to"]
            .as_array()
            .expect("applies_to")
            .iter()
            .map(|n| ranges_of(n.as_str().unwrap()))
            .collect(),
    })
}

impl Regularization {
    /// Adds the penalty's gradient; returns the penalty.
    fn apply(&self, params: &[f32], grad: &mut [f32]) -> f32 {
        self.ranges
            .iter()
            .map(|range| {
                let (p, g) = (&params[range.clone()], &mut grad[range.clone()]);
                if self.l1 {
                    nnspec::penalty::l1(p, g, self.coef)
                } else {
                    nnspec::penalty::l2(p, g, self.coef)
                }
            })
            .sum()
    }
}

#[test]
fn optimizer_trajectories_on_networks_match() {
    let mut runs = 0;
    let mut worst = 0.0f64;
    for path in kit::files("optimizers").into_iter().filter(|p| !p.ends_with("isolated.json")) {
        let file = kit::json_at(&path);
        let network = kit::json(format!(
            "networks/{}",
            file["network_file"].as_str().expect("network_file").rsplit('/').next().unwrap()
        ));
        let x = flat32(&network["batch"]["X"]);
        let y = kit::targets(&network["batch"]);
        let order: Vec<String> =
            file["param_order"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        for run in file["runs"].as_array().expect("runs") {
            let id = format!("{}:{}", path.file_stem().unwrap().to_string_lossy(), run["id"].as_str().unwrap());
            let mut mlp = kit::mlp(&network, None);
            let offsets = tensor_ranges(&network, &order);
            let regularization =
                regularization(run, |name| offsets[order.iter().position(|n| n == name).unwrap()].clone());
            // L2 runs express weight decay through the penalty on `applies_to`.
            let l2_override = regularization.as_ref().filter(|r| !r.l1).map(|_| 0.0);
            let mut optimizer = kit::optimizer(run, l2_override);
            let mut workspace = Workspace::default();
            let mut grad = vec![0.0; mlp.param_count()];
            let steps = run["params_after"].as_array().unwrap().len();
            for step in 0..steps {
                let loss = mlp.loss_and_grad(&x, &y, Some(&mut grad), &mut workspace, false);
                assert_close(
                    &format!("{id}.loss_before[{step}]"),
                    &[loss],
                    &[run["loss_before"][step].as_f64().unwrap()],
                    F32,
                );
                if let Some(r) = &regularization {
                    let penalty = r.apply(mlp.params(), &mut grad);
                    if let Some(expected) = run.get("penalty_before").and_then(|p| p.get(step)).and_then(Value::as_f64)
                    {
                        assert_close(&format!("{id}.penalty_before[{step}]"), &[penalty], &[expected], F32);
                    }
                }
                optimizer.step(mlp.params_mut(), &grad);
                let expected: Vec<f64> = order.iter().flat_map(|n| flat(&run["params_after"][step][n])).collect();
                worst = worst.max(kit::budget_used(mlp.params(), &expected, F32));
                assert_close(&format!("{id}.params_after[{step}]"), mlp.params(), &expected, F32);
            }
            let loss = mlp.loss_and_grad(&x, &y, None, &mut workspace, false);
            assert_close(&format!("{id}.loss_final"), &[loss], &[run["loss_final"].as_f64().unwrap()], F32);
            runs += 1;
        }
    }
    assert!(runs > 0, "no optimizer runs found");
    println!(
        "{runs} trajectory runs; worst element uses {:.0}% of the f32 tolerance (rtol 1e-5, atol 1e-6)",
        100.0 * worst
    );
}

fn tensor_ranges(network: &Value, order: &[String]) -> Vec<std::ops::Range<usize>> {
    let mut offset = 0;
    order
        .iter()
        .map(|name| {
            let len = flat(&network["params"][name]).len();
            offset += len;
            offset - len..offset
        })
        .collect()
}

#[test]
fn isolated_optimizer_runs_match() {
    let file = kit::json("optimizers/isolated.json");
    let p0 = flat32(&file["p0"]);
    let grads: Vec<Vec<f32>> = file["grads"].as_array().unwrap().iter().map(flat32).collect();
    let runs = file["runs"].as_array().expect("runs");
    assert!(!runs.is_empty());
    let mut worst = 0.0f64;
    for run in runs {
        let id = run["id"].as_str().unwrap();
        let regularization = regularization(run, |_| 0..p0.len());
        let l2_override = regularization.as_ref().filter(|r| !r.l1).map(|_| 0.0);
        let mut optimizer = kit::optimizer(run, l2_override);
        let mut params = p0.clone();
        for (step, expected) in run["params_after"].as_array().unwrap().iter().enumerate() {
            let mut g = grads[step].clone();
            if let Some(r) = &regularization {
                r.apply(&params, &mut g);
            }
            optimizer.step(&mut params, &g);
            worst = worst.max(kit::budget_used(&params, &flat(expected), F32));
            // Element-wise updates with no accumulation order to differ in: the
            // README's looser trajectory tolerance has no reason here, so the strict one holds.
            assert_close(&format!("isolated.{id}.params_after[{step}]"), &params, &flat(expected), F32);
        }
    }
    println!("{} isolated runs; worst element uses {:.0}% of the f32 tolerance", runs.len(), 100.0 * worst);
}

#[test]
fn schedules_and_clipping_match() {
    let file = kit::json("schedules.json");
    let runs = file["lr_schedules"]["runs"].as_array().expect("runs");
    for run in runs {
        let p = &run["params"];
        let count = |key: &str| p[key].as_u64().unwrap() as usize;
        let real = |key: &str| p[key].as_f64().unwrap();
        let schedule = match run["scheduler"].as_str().unwrap() {
            "StepLR" => Schedule::Step { step_size: count("step_size"), gamma: real("gamma") },
            "MultiStepLR" => Schedule::MultiStep {
                milestones: p["milestones"].as_array().unwrap().iter().map(|m| m.as_u64().unwrap() as usize).collect(),
                gamma: real("gamma"),
            },
            "ExponentialLR" => Schedule::Exponential { gamma: real("gamma") },
            "CosineAnnealingLR" => Schedule::Cosine { t_max: count("T_max"), eta_min: real("eta_min") },
            "LinearLR" => Schedule::Linear {
                start_factor: real("start_factor"),
                end_factor: real("end_factor"),
                total_iters: count("total_iters"),
            },
            other => panic!("unknown scheduler `{other}`"),
        };
        let base = run["base_lr"].as_f64().unwrap();
        for (k, expected) in flat(&run["lr"]).into_iter().enumerate() {
            assert_f64(&format!("{}: lr[{k}]", run["id"]), schedule.lr(base, k), expected);
        }
    }
    for case in file["grad_clipping"]["cases"].as_array().expect("cases") {
        let id = case["id"].as_str().unwrap();
        let tensors: Vec<Vec<f32>> = case["grads"].as_array().unwrap().iter().map(flat32).collect();
        let mut all: Vec<f32> = tensors.concat();
        match case["function"].as_str().unwrap() {
            "clip_grad_norm_" => {
                // The gradients are exact in f32 and the norm and coefficient are
                // computed in f64, so they meet the f64 tolerance: there the
                // coefficient `max_norm/(norm + 1e-6)` of a gradient whose norm is
                // exactly max_norm differs from 1 (by 1e-6 relative, invisible in f32).
                let max_norm = case["max_norm"].as_f64().unwrap();
                let norm = grad_norm(&all);
                assert_f64(&format!("{id}.total_norm"), norm, case["total_norm"].as_f64().unwrap());
                let coefficient = clip_coefficient(norm, max_norm);
                assert_f64(
                    &format!("{id}.clip_coef_clamped"),
                    coefficient,
                    case["clip_coef_clamped"].as_f64().unwrap(),
                );
                assert_f64(&format!("{id}.clip_coef"), max_norm / (norm + 1e-6), case["clip_coef"].as_f64().unwrap());
                assert_eq!(clip_grad_norm(&mut all, max_norm), norm);
            }
            "clip_grad_value_" => {
                let clip = case["clip_value"].as_f64().unwrap();
                let outside = all.iter().filter(|g| f64::from(g.abs()) > clip).count();
                assert_eq!(clip_grad_value(&mut all, clip), outside, "{id}: clipped elements");
            }
            other => panic!("unknown clipping function `{other}`"),
        }
        let expected: Vec<f64> = case["clipped"].as_array().unwrap().iter().flat_map(flat).collect();
        assert_close(&format!("{id}.clipped"), &all, &expected, F32);
    }
}

/// The README's f64 rule, `|got − ref| ≤ 1e-12 + 1e-9·|ref|`.
fn assert_f64(what: &str, got: f64, reference: f64) {
    assert!((got - reference).abs() <= 1e-12 + 1e-9 * reference.abs(), "{what}: got {got}, reference {reference}");
}
