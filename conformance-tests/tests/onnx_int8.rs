//! The ONNX export of int8 networks (QDQ form) in onnxruntime: for every
//! network of the example specs, the graph test specs, the int8 test spec and
//! the conformance directory that has an int8 form, and for the reference
//! networks of the real data sets trained and quantised as `nnspec quantize`
//! does, onnxruntime's outputs on the exported model are within one output
//! step of nnspec's integer inference on every output, in three runtimes (see
//! [`runtimes`]): a plain `InferenceSession` on this machine, the same with
//! exact kernels (`session.x64quantprecision`), and a plain one on an x86-64
//! CPU with AVX2 and without VNNI, emulated by QEMU's user mode, where
//! onnxruntime's fused u8s8 kernels add pairs of products in saturating
//! 16-bit sums (the reason weights are seven bits:
//! `nnspec_core::quant::WEIGHT_LIMIT`).
//!
//! Integer inference and a QDQ graph round differently (nnspec requantises
//! each layer once with a fixed-point multiplier, half toward +∞; onnxruntime
//! computes the float op between a dequantisation and a quantisation, half to
//! even), so a value can land one step away at a node.
//!
//! It needs Python with onnxruntime and NumPy (`NNSPEC_PYTHON`, default
//! `.venv/bin/python`; `.ci/run` makes one) and `qemu-x86_64` (`NNSPEC_QEMU`;
//! Debian's `qemu-user`, which `.ci/run` installs). Run with `cargo test -p
//! nnspec-conformance-tests --features pytorch --test onnx_int8`.

mod common;

use nnspec::quant::QNetwork;
use nnspec::{Model, Workspace};
use nnspec_testkit::datasets;
use serde_json::{json, Value};
use std::path::Path;

const RUNNER: &str = r#"
import json, sys
import numpy as np
import onnxruntime as ort

jobs = json.load(open(sys.argv[1]))
results = []
for job in jobs:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if sys.argv[2] == "exact":
        options.add_session_config_entry("session.x64quantprecision", "1")
    session = ort.InferenceSession(job["model"], options, providers=["CPUExecutionProvider"])
    x = np.array(job["x"], dtype=np.float32).reshape(job["rows"], -1)
    (y,) = session.run(["output"], {"input": x})
    results.append(y.reshape(-1).astype(float).tolist())
json.dump(results, sys.stdout)
"#;

use common::python;

/// How onnxruntime runs a model: its session options and the CPU under it.
#[derive(Debug, Clone, Copy)]
struct Runtime {
    /// What the check calls it.
    name: &'static str,
    /// `session.x64quantprecision = 1`: integer kernels that never saturate.
    exact: bool,
    /// On an x86-64 CPU with AVX2 and without VNNI (emulated by QEMU), where
    /// the default session's u8s8 kernels add pairs of products in 16 bits.
    avx2_without_vnni: bool,
}

/// Every way the checks run onnxruntime: a plain `InferenceSession` on this
/// machine, the same with exact kernels, and a plain one on a CPU without
/// VNNI (the machines where full-range int8 weights would saturate; on an
/// x86-64 host, whose Python QEMU runs).
fn runtimes() -> impl Iterator<Item = Runtime> {
    RUNTIMES.into_iter().filter(|r| !r.avx2_without_vnni || cfg!(target_arch = "x86_64"))
}

const RUNTIMES: [Runtime; 3] = [
    Runtime { name: "onnxruntime (default session)", exact: false, avx2_without_vnni: false },
    Runtime { name: "onnxruntime (exact kernels)", exact: true, avx2_without_vnni: false },
    Runtime { name: "onnxruntime (default session, AVX2 without VNNI)", exact: false, avx2_without_vnni: true },
];

/// QEMU's user-mode emulator of x86-64 (`NNSPEC_QEMU`, else `qemu-x86_64`
/// on the path; Debian's `qemu-user`, which `.ci/run` installs).
fn qemu() -> std::ffi::OsString {
    std::env::var_os("NNSPEC_QEMU").unwrap_or_else(|| "qemu-x86_64".into())
}

/// Runs every job (a model, rows) in one Python process; the outputs per job.
fn run_onnxruntime(directory: &Path, jobs: &[Value], runtime: Runtime) -> Vec<Vec<f64>> {
    let jobs_path = directory.join("jobs.json");
    std::fs::write(&jobs_path, serde_json::to_string(jobs).unwrap()).unwrap();
    let script = directory.join("run.py");
    std::fs::write(&script, RUNNER).unwrap();
    let mode = if runtime.exact { "exact" } else { "default" };
    let mut command = if runtime.avx2_without_vnni {
        let mut command = std::process::Command::new(qemu());
        // Haswell: AVX2 and FMA, no VNNI (nor the features QEMU's TCG cannot emulate).
        command.args(["-cpu", "Haswell-noTSX,-pcid,-x2apic,-tsc-deadline,-invpcid"]).arg(python());
        command
    } else {
        std::process::Command::new(python())
    };
    let output = command.arg(&script).arg(&jobs_path).arg(mode).output().unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}): set NNSPEC_PYTHON{}",
            python().display(),
            if runtime.avx2_without_vnni {
                ", and install QEMU (`apt-get install qemu-user`) or set NNSPEC_QEMU"
            } else {
                ""
            }
        )
    });
    assert!(output.status.success(), "{} failed:\n{}", runtime.name, String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// How many of its output's steps (each output's own, where it is quantised
/// per output) each of `ours` is from `theirs`.
fn steps_apart<'a>(network: &QNetwork, ours: &'a [f32], theirs: &'a [f64]) -> impl Iterator<Item = f64> + 'a {
    let scales = network.output_scales();
    ours.iter()
        .zip(theirs)
        .enumerate()
        .map(move |(i, (a, b))| (f64::from(*a) - b).abs() / f64::from(scales[i % scales.len()]))
}

/// The plan of a network, for its export.
fn plan_of(model: &dyn Model) -> nnspec::Plan {
    nnspec::Plan::graph(model.name().to_string(), model.nodes().to_vec(), model.loss_kind()).unwrap()
}

/// The reference networks of `datasets/references.json` (the MLPs of every
/// classification set and both CNNs), trained and quantised on their training
/// rows: onnxruntime on the QDQ export gives every output of every test row
/// within one output step of nnspec's integer inference.
#[test]
fn the_reference_networks_agree_with_onnxruntime_within_one_step_on_their_test_rows() {
    let data = nnspec_testkit::dir().join("datasets");
    let directory = std::env::temp_dir().join(format!("nnspec-onnx-int8-data-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let mut quantized = Vec::new();
    for entry in datasets::classification() {
        quantized.push((entry.name.clone(), nnspec_examples::int8::quantize_mlp(&data, &entry.value, 0).unwrap()));
    }
    for entry in datasets::require("a CNN", datasets::entries("conv_nets")) {
        let (model, config) = datasets::interpreter(&entry.trained_spec("Cnn"), "Cnn", 0);
        let q = nnspec_examples::int8::quantize_cnn(&data, &entry.value, Box::new(model), config).unwrap();
        quantized.push((entry.name.clone(), q));
    }
    assert!(!quantized.is_empty(), "no reference network");
    let jobs: Vec<Value> = quantized
        .iter()
        .map(|(name, q)| {
            let path = directory.join(format!("{name}.onnx"));
            nnspec::onnx::save_int8(&plan_of(q.model.as_ref()), &q.network, &path).unwrap();
            json!({ "model": path.to_string_lossy(), "x": q.test.x, "rows": q.test.len() })
        })
        .collect();
    for runtime in runtimes() {
        let results = run_onnxruntime(&directory, &jobs, runtime);
        for ((name, q), got) in quantized.iter().zip(&results) {
            let ours: Vec<f32> =
                q.test.x.chunks_exact(q.test.features).flat_map(|row| q.network.predict(row)).collect();
            assert_eq!(ours.len(), got.len(), "{name}");
            let worst = steps_apart(&q.network, &ours, got).fold(0.0, f64::max);
            println!("{name}: {} outputs, worst {worst:.3} output steps from {}", ours.len(), runtime.name);
            assert!(worst <= 1.0 + 1e-3, "{name}: an output is {worst:.3} steps from {}", runtime.name);
        }
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// A regression network whose last layer is dense with several outputs gets
/// outputs of different ranges (output `o` scaled by `10^(o mod 3)` and moved
/// away from zero), so its int8 form is quantised per output.
fn spread_outputs(model: &mut nnspec::Interpreter) {
    let last = model.nodes().len() - 1;
    let width = model.output_size();
    if model.loss_kind().is_classification() || width < 2 || !matches!(model.nodes()[last].op, nnspec::Op::Dense { .. })
    {
        return;
    }
    let tensors: Vec<_> = model.plan().tensors.iter().filter(|t| t.node == last).cloned().collect();
    for tensor in tensors {
        let bias = tensor.role == nnspec::plan::Role::Bias;
        for (i, value) in model.params_mut()[tensor.range.clone()].iter_mut().enumerate() {
            let o = i % width;
            *value *= 10f32.powi((o % 3) as i32);
            if bias {
                *value += 3.0 * o as f32;
            }
        }
    }
}

#[test]
fn int8_networks_exported_as_qdq_run_in_onnxruntime_as_in_nnspec() {
    let directory = std::env::temp_dir().join(format!("nnspec-onnx-int8-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let specs = common::specs(&["runtime/tests/data/int8.nn"]);
    let mut jobs: Vec<Value> = Vec::new();
    // Per job: the network's name, its int8 form and the rows it runs on.
    let mut expected: Vec<(String, QNetwork, Vec<f32>)> = Vec::new();
    let mut refused = Vec::new();
    for (spec, text) in &specs {
        let program = nnspec_lang::check_source(text).unwrap_or_else(|d| panic!("{spec}: {d:?}")).program;
        for net in &program.networks {
            let mut model = nnspec_cli::convert::network(net);
            model.init_params(5);
            spread_outputs(&mut model);
            let width = model.input_size();
            let calibration: Vec<f32> = (0..64 * width).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
            model.adapt(&calibration, 64);
            if !model.buffers().is_empty() {
                // Running statistics away from their initial values.
                let targets = common::targets(&model, 64);
                let mut workspace = Workspace::default();
                model.loss_and_grad(&calibration, &targets, None, &mut workspace, true);
                model.update_buffers(&mut workspace, 64);
            }
            let network = match nnspec::quant::quantize(&model, &calibration, None) {
                Ok(network) => network,
                Err(nnspec::Error::Config(message)) if message.contains("no int8 kernel") => {
                    refused.push(format!("{spec}: {}", net.name));
                    continue;
                }
                Err(e) => panic!("{spec}: {}: {e}", net.name),
            };
            let path = directory.join(format!("{}-{}.onnx", jobs.len(), net.name));
            match nnspec::onnx::save_int8(model.plan(), &network, &path) {
                Ok(()) => {}
                // ONNX has no integer GRU or LSTM: nnspec runs them in integers, the export refuses them.
                Err(nnspec::Error::Config(message)) if message.contains("is a recurrent layer") => {
                    refused.push(format!("{spec}: {}", net.name));
                    continue;
                }
                Err(e) => panic!("{spec}: {}: {e}", net.name),
            }
            let rows = 16;
            let x: Vec<f32> = (0..rows * width).map(|i| ((i * 53 % 29) as f32 - 14.0) / 9.0).collect();
            jobs.push(json!({ "model": path.to_string_lossy(), "x": x, "rows": rows }));
            expected.push((format!("{spec}: {}", net.name), network, x));
        }
    }
    let per_output =
        expected.iter().filter(|(_, q, _)| q.nodes.last().is_some_and(|n| !n.unit_scales.is_empty())).count();
    println!(
        "{} networks, {per_output} of them quantised per output ({} without an int8 form: {refused:?})",
        expected.len(),
        refused.len()
    );
    assert!(per_output > 0, "no network with outputs of different ranges");
    // The spec files of the repository alone hold more than twenty networks with an int8 form.
    assert!(expected.len() >= 20, "only {} networks exported", expected.len());
    for runtime in runtimes() {
        let results = run_onnxruntime(&directory, &jobs, runtime);
        let (mut outputs, mut worst) = (0usize, (0.0f64, String::new()));
        for ((name, network, x), got) in expected.iter().zip(&results) {
            let ours: Vec<f32> = x.chunks_exact(network.input_size()).flat_map(|row| network.predict(row)).collect();
            assert_eq!(ours.len(), got.len(), "{name}");
            for steps in steps_apart(network, &ours, got) {
                outputs += 1;
                if steps > worst.0 {
                    worst = (steps, name.clone());
                }
            }
        }
        println!("{}: {outputs} outputs, worst {:.3} steps ({})", runtime.name, worst.0, worst.1);
        assert!(worst.0 <= 1.0 + 1e-3, "{} is {:.3} output steps from {}", worst.1, worst.0, runtime.name);
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// The f32 export of recurrent networks (`GRU` with `linear_before_reset`,
/// `LSTM`, ONNX's gate orders, both directions, last state and whole
/// sequence) in onnxruntime as a user runs it: nnspec's outputs within the
/// f32 tolerance.
#[test]
fn recurrent_networks_run_in_onnxruntime_as_in_nnspec() {
    let directory = std::env::temp_dir().join(format!("nnspec-onnx-recurrent-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let text = std::fs::read_to_string(common::root().join("conformance-tests/tests/data/graphs.nn")).unwrap();
    let program = nnspec_lang::check_source(&text).expect("the spec checks").program;
    let recurrent =
        program.networks.iter().filter(|net| net.nodes.iter().any(|n| matches!(n.op, nnspec::Op::Recurrent(_))));
    let mut jobs = Vec::new();
    let mut expected = Vec::new();
    for net in recurrent {
        let mut model = nnspec_cli::convert::network(net);
        model.init_params(4);
        let rows = 5;
        let x: Vec<f32> = (0..rows * model.input_size()).map(|i| ((i * 29 % 23) as f32 - 11.0) / 6.0).collect();
        let mut out = vec![0.0; rows * model.output_size()];
        model.forward(&x, &mut out, &mut Workspace::default());
        let path = directory.join(format!("{}.onnx", net.name));
        nnspec::onnx::save(&model, &path).unwrap();
        jobs.push(json!({ "model": path.to_string_lossy(), "x": x, "rows": rows }));
        expected.push((net.name.clone(), out));
    }
    assert!(expected.len() >= 2, "graphs.nn has recurrent networks");
    for ((name, ours), theirs) in expected.iter().zip(run_onnxruntime(&directory, &jobs, RUNTIMES[0])) {
        let used = nnspec_testkit::assert_close(&format!("{name} in onnxruntime"), ours, &theirs, nnspec_testkit::F32);
        println!("{name}: worst {:.0}% of the f32 tolerance", 100.0 * used);
    }
    std::fs::remove_dir_all(&directory).ok();
}
