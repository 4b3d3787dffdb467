//! `nnspec emit --target pytorch` against nnspec itself: for every network of
//! the example specs and of the graph test specs, the emitted module, loaded
//! with nnspec's weights through `load_nnspec`, gives nnspec's outputs, loss
//! and gradients (read back through `nnspec_grads`, in nnspec's layout).
//! PyTorch runs in float64, so nnspec's f32 numbers are held to the
//! conformance README's f32 tolerance. Networks are compared in inference mode
//! (dropout off, running statistics) and, without dropout, in training mode
//! (batch statistics).
//!
//! It needs Python with PyTorch, safetensors and NumPy: `NNSPEC_PYTHON` names the
//! interpreter (default `.venv/bin/python` at the workspace root, which
//! `.ci/run` creates). Run with `cargo test -p nnspec-conformance-tests
//! --features pytorch --test pytorch`.

mod common;

use nnspec::{Model, Op, Workspace};
use nnspec_testkit::{assert_close, F32};
use serde_json::{json, Value};
use std::path::Path;

/// The script that runs every job in one Python process (PyTorch takes seconds to import).
const RUNNER: &str = r#"
import importlib.util, json, sys
import torch

jobs = json.load(open(sys.argv[1]))
results = []
for job in jobs:
    spec = importlib.util.spec_from_file_location(job["module_name"], job["module"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.NETWORKS[job["network"]]()
    module.load_nnspec(model, job["weights"])
    model = model.double()
    x = torch.tensor(job["x"], dtype=torch.float64).reshape(job["rows"], -1)
    y = torch.tensor(job["y"], dtype=torch.float64).reshape(job["rows"], -1)
    result = {}
    if "epochs" in job:
        # The spec's training, as nnspec's trainer runs it on one full batch without shuffling.
        module.adapt(model, x)
        optimizer = model.make_optimizer()
        scheduler = model.make_scheduler(optimizer)
        model.train()
        for epoch in range(job["epochs"]):
            optimizer.zero_grad()
            loss = model.loss(x, y) + model.penalty()
            loss.backward()
            model.clip_gradients()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        result["state"] = {name: t.to(torch.float64).reshape(-1).tolist() for name, t in module.nnspec_state(model).items()}
        results.append(result)
        continue
    for mode in job["modes"]:
        model.train(mode == "train")
        model.zero_grad()
        with torch.no_grad():
            out = model(x)
        loss = model.loss(x, y)
        loss.backward()
        grads = module.nnspec_grads(model)
        result[mode] = {
            "out": out.reshape(-1).tolist(),
            "loss": loss.item(),
            "grads": {name: g.to(torch.float64).reshape(-1).tolist() for name, g in grads.items()},
        }
    results.append(result)
json.dump(results, sys.stdout)
"#;

use common::{python, root};

#[test]
fn emitted_pytorch_modules_compute_what_nnspec_computes() {
    let directory = std::env::temp_dir().join(format!("nnspec-pytorch-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let specs = common::specs(&[]);
    let sources: Vec<String> = specs.iter().map(|(spec, _)| spec.clone()).collect();
    compare_with_pytorch(&directory, &specs, &sources);
    std::fs::remove_dir_all(&directory).ok();
}

/// A network's outputs, loss and gradients in nnspec, per mode.
type Expected = (String, nnspec::Interpreter, Vec<(String, Vec<f32>, f32, Vec<f32>)>);

/// Emits each spec (its header naming `sources[i]`), runs every network in
/// nnspec and in the emitted module with the same weights and rows, and
/// compares outputs, losses and gradients. Returns the worst use of the tolerance.
fn compare_with_pytorch(directory: &Path, specs: &[(String, String)], sources: &[String]) -> f64 {
    let mut jobs = Vec::new();
    let mut expected: Vec<Expected> = Vec::new();
    for (file_index, ((spec, text), source)) in specs.iter().zip(sources).enumerate() {
        let program = nnspec_lang::check_source(text).unwrap_or_else(|d| panic!("{spec}: {d:?}")).program;
        let module_path = directory.join(format!("spec{file_index}.py"));
        std::fs::write(&module_path, nnspec_codegen::pytorch::pytorch_module(&program, source)).unwrap();
        for (net_index, net) in program.networks.iter().enumerate() {
            let mut model = nnspec_cli::convert::network(net);
            model.init_params(5);
            let rows = 6;
            let x: Vec<f32> = (0..rows * model.input_size()).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
            let y = common::targets(&model, rows);
            model.adapt(&x, rows);
            // Running statistics away from their initial values.
            if !model.buffers().is_empty() {
                let mut workspace = Workspace::default();
                model.loss_and_grad(&x, &y, None, &mut workspace, true);
                model.update_buffers(&mut workspace, rows);
            }
            let weights = directory.join(format!("spec{file_index}-{net_index}.safetensors"));
            nnspec::weights::save(&model, &weights).unwrap();
            let dropout = model.nodes().iter().any(|n| matches!(n.op, Op::Dropout(p) if p > 0.0));
            let modes: Vec<&str> = if dropout { vec!["eval"] } else { vec!["eval", "train"] };
            let mut ours = Vec::new();
            for mode in &modes {
                let training = *mode == "train";
                let mut out = vec![0.0; rows * model.output_size()];
                model.forward(&x, &mut out, &mut Workspace::default());
                if training {
                    // The training-mode output is what the loss read: recompute it with the batch statistics.
                    out.clear();
                }
                let mut grad = vec![0.0; model.param_count()];
                let loss = model.loss_and_grad(&x, &y, Some(&mut grad), &mut Workspace::default(), training);
                ours.push((mode.to_string(), out, loss, grad));
            }
            jobs.push(json!({
                "module": module_path, "module_name": format!("spec{file_index}"), "network": net.name,
                "weights": weights, "x": x, "y": y, "rows": rows, "modes": modes,
            }));
            expected.push((format!("{spec}: {}", net.name), model, ours));
        }
    }
    let jobs_path = directory.join("jobs.json");
    std::fs::write(&jobs_path, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = run(directory, &jobs_path);
    let mut worst = 0.0f64;
    for ((name, model, ours), result) in expected.iter().zip(&results) {
        for (mode, out, loss, grad) in ours {
            let theirs = &result[mode];
            let what = format!("{name} ({mode})");
            if !out.is_empty() {
                worst = worst.max(assert_close(
                    &format!("{what}: outputs"),
                    out,
                    &nnspec_testkit::flat(&theirs["out"]),
                    F32,
                ));
            }
            worst =
                worst.max(assert_close(&format!("{what}: loss"), &[*loss], &[theirs["loss"].as_f64().unwrap()], F32));
            for tensor in model.tensors() {
                let reference = nnspec_testkit::flat(&theirs["grads"][tensor.name.as_ref()]);
                let what = format!("{what}: gradient of {}", tensor.name);
                worst = worst.max(assert_close(&what, &grad[tensor.range()], &reference, F32));
            }
        }
    }
    println!("{} networks, worst {:.0}% of the f32 tolerance", expected.len(), 100.0 * worst);
    worst
}

/// What a hostile spec tries: Python in a doc comment or the spec's file name
/// (each would create `PWNED` in the working directory if it ran), and names
/// that are Python keywords, builtins, the module's own names or `nn.Module`
/// members, or that collide with generated names. Every spec of the corpus
/// checks; its emitted module imports without running anything but its
/// definitions, loads nnspec's weights, and computes what nnspec computes.
#[test]
fn hostile_names_and_docs_neither_run_code_nor_change_the_network() {
    let directory = std::env::temp_dir().join(format!("nnspec-pytorch-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let payload = "__import__('pathlib').Path('PWNED').write_text('ran')";
    let docs = [
        format!(r#"/// """ + str({payload}) + """"#),
        format!(r#"/// ''' + str({payload}) + '''"#),
        r"/// \N{DIGIT ONE} \x41 \u0041 \ a trailing backslash \".to_string(),
        format!(r#"#[doc = "a\r{payload}\rcarriage returns"]"#),
        format!(r#"#[doc = "a NUL \0 byte {payload}"]"#),
        format!("/// a form feed \u{c}, a line separator \u{2028}, a NUL \u{0}, a bidi override \u{202e} {payload}"),
        format!(r#"#[doc = "\n{payload}\n"]"#),
    ];
    let mut specs = Vec::new();
    let mut sources = Vec::new();
    let mut add = |text: String, source: String| {
        specs.push((format!("hostile{}.nn", specs.len()), text));
        sources.push(source);
    };
    for doc in &docs {
        add(
            format!("{doc}\nnetwork Documented {{\n    input x: [3];\n    dense h: 4, activation = tanh;\n    dense out: 2;\n    loss mse;\n}}\n"),
            "documented.nn".into(),
        );
    }
    add(
        "network Named {\n    input x: [3];\n    dense out: 2;\n    loss mse;\n}\n".into(),
        format!("evil.nn\n{payload}\n# \r{payload}\r\u{2028}{payload}"),
    );
    // The module's input shares no name with a node, and an automatically named dropout no name with a layer.
    add(
        "network Shadow {\n    input x: [3];\n    dense input: 3, activation = tanh;\n    add s(x, input);\n    dense h: 4, activation = relu;\n    dropout(0.5);\n    dense h_dropout: 2;\n    loss mse;\n}\n".into(),
        "shadow.nn".into(),
    );
    let names = [
        "forward",
        "parameters",
        "state_dict",
        "to",
        "eval",
        "train",
        "training",
        "type",
        "float",
        "cuda",
        "apply",
        "modules",
        "children",
        "buffers",
        "half",
        "double",
        "zero_grad",
        "load_state_dict",
        "register_buffer",
        "add_module",
        "named_parameters",
        "requires_grad_",
        "share_memory",
        "extra_repr",
        "loss",
        "loss_of",
        "penalty",
        "reset_parameters",
        "make_optimizer",
        "clip_gradients",
        "NNSPEC_NAME",
        "NNSPEC_NODES",
        "INPUT_SHAPE",
        "LOSS",
        "TRAIN",
        "class",
        "def",
        "import",
        "lambda",
        "None",
        "True",
        "pass",
        "return",
        "yield",
        "global",
        "nonlocal",
        "async",
        "await",
        "x",
        "logits",
        "self_",
        "v1_h",
        "torch",
        "nn",
        "F",
        "print",
        "len",
        "__init__",
        "__class__",
        "_modules",
        "__dict__",
        "T_destination",
        "dump_patches",
    ];
    for chunk in names.chunks(4) {
        // The names as a dense layer, a layer norm, a layer with a dropout after it and an activation.
        let pick = |k: usize| chunk[k.min(chunk.len() - 1)];
        let mut lines = vec!["    input inp: [3];".to_string()];
        let mut used = vec!["inp".to_string()];
        let mut statement = |line: String, name: &str| {
            // An unnamed statement always; a name once (names differing in case only are one name).
            if name.is_empty() || !used.iter().any(|u| u.eq_ignore_ascii_case(name)) {
                used.push(name.to_string());
                lines.push(line);
            }
        };
        statement(format!("    dense {}: 4, activation = tanh;", pick(0)), pick(0));
        statement(format!("    layer_norm {};", pick(1)), pick(1));
        statement(format!("    dense {}: 4, activation = relu;", pick(2)), pick(2));
        statement("    dropout(0.25);".into(), "");
        statement(format!("    tanh {};", pick(3)), pick(3));
        statement("    dense out_layer: 2;".into(), "out_layer");
        statement("    loss mse;".into(), "");
        add(format!("network Names {{\n{}\n}}\n", lines.join("\n")), "names.nn".into());
    }
    let networks =
        ["nn", "torch", "F", "print", "len", "NETWORKS", "Standardize", "main", "train", "adapt", "None", "Exception"];
    for network in networks {
        add(
            format!("network {network} {{\n    input x: [2];\n    standardize scaled;\n    dense out: 1;\n    loss mse;\n}}\n"),
            "networks.nn".into(),
        );
    }
    let worst = compare_with_pytorch(&directory, &specs, &sources);
    assert!(!directory.join("PWNED").exists(), "an emitted module ran code from a spec");
    println!("{} hostile specs, worst {:.0}% of the f32 tolerance", specs.len(), 100.0 * worst);
    std::fs::remove_dir_all(&directory).ok();
}

/// Five epochs of the spec's training (full batch, no shuffle) in nnspec's
/// trainer and in the emitted module with PyTorch's optimizer, schedule,
/// clipping and the spec's penalties end at the same parameters and running
/// statistics: SGD with momentum, Adam and AdamW, each with a schedule and clipping.
#[test]
fn emitted_training_settings_take_nnspecs_steps() {
    let directory = std::env::temp_dir().join(format!("nnspec-pytorch-train-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let text = std::fs::read_to_string(root().join("conformance-tests/tests/data/scale_out.nn")).unwrap();
    let program = nnspec_lang::check_source(&text).expect("the spec checks").program;
    let module_path = directory.join("scale_out.py");
    std::fs::write(&module_path, nnspec_codegen::pytorch::pytorch_module(&program, "scale_out.nn")).unwrap();
    let mut jobs = Vec::new();
    let mut trained = Vec::new();
    for net in &program.networks {
        let mut model = nnspec_cli::convert::network(net);
        model.init_params(7);
        let rows = 10;
        let x: Vec<f32> = (0..rows * model.input_size()).map(|i| ((i * 29 % 31) as f32 - 15.0) / 8.0).collect();
        let y = common::targets(&model, rows);
        let weights = directory.join(format!("{}.safetensors", net.name));
        nnspec::weights::save(&model, &weights).unwrap();
        let mut config = nnspec_cli::convert::train_config(&net.train);
        config.progress = false;
        let data = nnspec::Dataset::new(x.clone(), y.clone(), model.input_size(), y.len() / rows).unwrap();
        nnspec::Trainer::new(config).fit(&mut model, &data, None).expect("nnspec trains it");
        jobs.push(json!({
            "module": module_path, "module_name": "scale_out", "network": net.name, "weights": weights,
            "x": x, "y": y, "rows": rows, "epochs": net.train.run.epochs,
        }));
        trained.push(model);
    }
    let jobs_path = directory.join("jobs.json");
    std::fs::write(&jobs_path, serde_json::to_vec(&jobs).unwrap()).unwrap();
    let results = run(&directory, &jobs_path);
    let mut worst = 0.0f64;
    for (model, result) in trained.iter().zip(&results) {
        for tensor in model.tensors() {
            let reference = nnspec_testkit::flat(&result["state"][tensor.name.as_ref()]);
            let what = format!("{}: {} after five epochs", model.name(), tensor.name);
            worst = worst.max(assert_close(&what, &model.params()[tensor.range()], &reference, F32));
        }
        for tensor in model.buffer_tensors() {
            let reference = nnspec_testkit::flat(&result["state"][tensor.name.as_ref()]);
            let what = format!("{}: {} after five epochs", model.name(), tensor.name);
            worst = worst.max(assert_close(&what, &model.buffers()[tensor.range()], &reference, F32));
        }
    }
    println!("{} training runs, worst {:.0}% of the f32 tolerance", trained.len(), 100.0 * worst);
    std::fs::remove_dir_all(&directory).ok();
}

/// Runs the jobs in one Python process and returns its results.
fn run(directory: &Path, jobs: &Path) -> Vec<Value> {
    let runner = directory.join("runner.py");
    std::fs::write(&runner, RUNNER).unwrap();
    let output =
        std::process::Command::new(python()).arg(&runner).arg(jobs).current_dir(directory).output().unwrap_or_else(
            |e| {
                panic!(
                    "cannot run {} ({e}): set NNSPEC_PYTHON to a Python with torch, safetensors and numpy",
                    python().display()
                )
            },
        );
    assert!(output.status.success(), "the emitted modules failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON from the runner")
}

/// The way out and back: the emitted module trains the planar network under
/// `torchrun` with DistributedDataParallel on two processes (gloo on the CPU),
/// writes an nnspec weight file, and nnspec loads it and classifies the
/// flower data as a network trained by nnspec does.
#[test]
fn torchrun_trains_on_two_processes_and_nnspec_reads_the_weights() {
    let directory = std::env::temp_dir().join(format!("nnspec-pytorch-ddp-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let text = std::fs::read_to_string(root().join("examples/specs/planar.nn")).unwrap();
    let program = nnspec_lang::check_source(&text).expect("the spec checks").program;
    let module = directory.join("planar.py");
    std::fs::write(&module, nnspec_codegen::pytorch::pytorch_module(&program, "planar.nn")).unwrap();
    let data = root().join("examples/data/flower.csv");
    let weights = directory.join("planar.safetensors");
    let output = std::process::Command::new(python())
        .args(["-m", "torch.distributed.run", "--nproc_per_node", "2"])
        .arg(&module)
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&weights)
        .args(["--epochs", "400"])
        .current_dir(&directory)
        .output()
        .expect("torchrun starts");
    let log = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "torchrun failed:\n{log}");
    let metadata = nnspec::weights::read_metadata(&weights).unwrap();
    assert_eq!(metadata.get("network").map(String::as_str), Some("Planar"));
    let mut model = nnspec_cli::convert::network(&program.networks[0]);
    nnspec::weights::load(&mut model, &weights).expect("nnspec reads the weights PyTorch wrote");
    let flower = nnspec::Dataset::from_csv(&data, &Default::default()).unwrap();
    let accuracy = nnspec::train::evaluate(&model, &flower, &mut Workspace::default()).accuracy.unwrap();
    println!("planar trained by DDP on two processes: accuracy {accuracy:.3} in nnspec");
    assert!(accuracy > 0.8, "accuracy {accuracy} of the DDP-trained weights in nnspec\n{log}");
    std::fs::remove_dir_all(&directory).ok();
}

/// The emitted entry point takes `--target` as `nnspec train` does (repeated
/// or comma-separated), and every bad argument or data file is a usage error
/// (exit code 2, a message naming it), never a Python traceback.
#[test]
fn the_entry_point_reads_targets_as_the_cli_and_refuses_bad_input_without_a_traceback() {
    let directory = std::env::temp_dir().join(format!("nnspec-pytorch-entry-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let spec = "network TwoOut { input x: [2]; dense h: 4, activation = tanh; dense out: 2; loss mse; \
                train { epochs = 1, batch = 4 } }";
    let program = nnspec_lang::check_source(spec).expect("the spec checks").program;
    let module = directory.join("two_out.py");
    std::fs::write(&module, nnspec_codegen::pytorch::pytorch_module(&program, "two_out.nn")).unwrap();
    let write = |name: &str, text: &str| {
        let path = directory.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let data = write("data.csv", "a,b,t,u\n1,2,3,4\n5,6,7,8\n0,1,0,1\n2,2,2,2\n");
    let out = directory.join("w.safetensors").display().to_string();
    let run = |args: &[&str]| {
        let output = std::process::Command::new(python())
            .arg(&module)
            .args(args)
            .current_dir(&directory)
            .output()
            .expect("python starts");
        let log = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        (output.status.code(), log)
    };
    for targets in [&["--target", "t,u"][..], &["--target", "t", "--target", "u"]] {
        let mut args = vec!["--data", &data, "--out", &out];
        args.extend_from_slice(targets);
        let (code, log) = run(&args);
        assert_eq!(code, Some(0), "{targets:?}:\n{log}");
    }
    let ragged = write("ragged.csv", "a,b,t,u\n1,2,3\n");
    let words = write("words.csv", "a,b,t,u\n1,2,x,4\n");
    let empty = write("empty.csv", "");
    let not_weights = write("not.safetensors", "not a weight file");
    let missing = directory.join("missing.csv").display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data", &data, "--out", &out, "--target", "t,nope"], "no column 'nope'"),
        (vec!["--data", &ragged, "--out", &out, "--target", "t,u"], "ragged.csv:2: 3 cells"),
        (vec!["--data", &words, "--out", &out, "--target", "t,u"], "words.csv:2:3: 'x' is not a number"),
        (vec!["--data", &empty, "--out", &out], "the file is empty"),
        (vec!["--data", &missing, "--out", &out], "missing.csv"),
        (vec!["--data", &data, "--out", &out, "--target", "t,u", "--epochs", "0"], "--epochs 0"),
        (vec!["--data", &data, "--out", &out, "--target", "t,u", "--weights", &not_weights], "--weights"),
    ];
    for (args, expected) in cases {
        let (code, log) = run(&args);
        assert_eq!(code, Some(2), "{args:?}:\n{log}");
        assert!(log.contains(expected) && !log.contains("Traceback"), "{args:?}: expected {expected:?}:\n{log}");
    }
    std::fs::remove_dir_all(&directory).ok();
}
