//! The `nnspec` command end to end: each command's happy path and the bad
//! inputs users meet (missing files, spec errors, data that does not fit,
//! non-numeric cells, weights of another network, divergence), with snapshots
//! of what the user sees. Nothing may panic or print a backtrace.

use nnspec_testkit::datasets;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnspec-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `nnspec` in the workspace root; returns (exit code, stdout, stderr) with
/// temporary paths and timings replaced so snapshots are stable.
fn nnspec(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_nnspec")).args(args).current_dir(root()).output().unwrap();
    let clean = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes).replace(&temp().display().to_string(), "$TMP");
        text.lines()
            .map(|line| match line.find(" in ") {
                Some(at) if line.starts_with("trained ") => format!("{} in $TIME", &line[..at]),
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (stdout, stderr) = (clean(&output.stdout), clean(&output.stderr));
    assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

fn write(name: &str, text: &str) -> String {
    let path = temp().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const PLANAR: &str = "examples/specs/planar.nn";
const FLOWER: &str = "examples/data/flower.csv";

#[test]
fn check_accepts_a_good_spec() {
    // The result on stdout (`nnspec check f.nn > report.txt` keeps it), diagnostics on stderr.
    let (code, stdout, stderr) = nnspec(&["check", PLANAR]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout, @"1 file: no problems found");
    assert_eq!(stderr, "");
}

#[test]
fn check_reports_every_error_and_fails() {
    let bad = write(
        "bad.nn",
        "network X {\n    input x: [2];\n    dense h: 4, activation = tnah;\n    dense out: 0;\n    loss mse;\n}\n",
    );
    let (code, _, stderr) = nnspec(&["check", &bad]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr);
}

#[test]
fn check_speaks_json_for_editors() {
    let bad = write("bad_json.nn", "network X { input x: [2]; dense out: 1, activation = tnah; loss mse; }");
    let (code, stdout, _) = nnspec(&["check", "--message-format", "json", &bad]);
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(value["code"], "E0202");
    assert_eq!(value["help"], "did you mean `tanh`?");
    assert_eq!((value["span"]["line"].as_u64(), value["span"]["column"].as_u64()), (Some(1), Some(54)));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let (code, _, stderr) = nnspec(&["check", "does/not/exist.nn"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot read `does/not/exist.nn`"), "{stderr}");
}

#[test]
fn summary_tables_the_layers() {
    let (code, stdout, _) = nnspec(&["summary", PLANAR]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
    let (_, json, _) = nnspec(&["summary", "--json", PLANAR]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value[0]["param_count"], 17);
}

#[test]
fn emit_prints_rust() {
    let (code, stdout, _) = nnspec(&["emit", PLANAR]);
    assert_eq!(code, 0);
    assert!(stdout.contains("pub struct Planar") && stdout.contains("impl ::nnspec::Model for Planar"));
    let (code, stdout, _) = nnspec(&["emit", "--target", "pytorch", PLANAR]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("class Planar(nn.Module):") && stdout.contains("def load_nnspec(model, path):"),
        "{stdout}"
    );
    let (code, _, stderr) = nnspec(&["emit", "--target", "onnx", PLANAR]);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn fmt_rewrites_and_checks() {
    let messy = write(
        "messy.nn",
        "network  X{input x:[2];dense out:1,activation=sigmoid; // keep me\nloss binary_cross_entropy;}",
    );
    let (code, stdout, _) = nnspec(&["fmt", "--check", &messy]);
    assert_eq!((code, stdout.trim().ends_with("is not formatted")), (1, true));
    let (code, _, _) = nnspec(&["fmt", &messy]);
    assert_eq!(code, 0);
    let formatted = std::fs::read_to_string(&messy).unwrap();
    insta::assert_snapshot!(formatted);
    let (code, _, _) = nnspec(&["fmt", "--check", &messy]);
    assert_eq!(code, 0);
}

#[test]
fn train_writes_weights_history_and_plot_then_predict_uses_them() {
    let weights = temp().join("planar.safetensors").display().to_string();
    let history = temp().join("loss.csv").display().to_string();
    let plot = temp().join("loss.png").display().to_string();
    let (code, stdout, _) = nnspec(&[
        "train",
        PLANAR,
        "--data",
        FLOWER,
        "--epochs",
        "500",
        "--out",
        &weights,
        "--history",
        &history,
        "--plot",
        &plot,
        "--quiet",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
    assert_eq!(std::fs::read_to_string(&history).unwrap().lines().count(), 501);
    assert!(std::fs::metadata(&plot).unwrap().len() > 1000);
    let (code, stdout, _) = nnspec(&["predict", PLANAR, "--weights", &weights, "--data", FLOWER, "--target", "label"]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().next(), Some("probability,class"));
    assert_eq!(stdout.lines().count(), 401);
}

#[test]
fn data_that_does_not_fit_the_network_is_refused() {
    let wide = write("wide.csv", "a,b,c,label\n1,2,3,0\n4,5,6,1\n");
    let (code, _, stderr) = nnspec(&["train", PLANAR, "--data", &wide, "--quiet"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(stderr);
}

#[test]
fn non_numeric_cells_name_line_and_column() {
    let text = write("text.csv", "x1,x2,label\n1,2,0\n3,four,1\n");
    let (code, _, stderr) = nnspec(&["train", PLANAR, "--data", &text, "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("text.csv:3:2: `four` in column `x2` is not a number"), "{stderr}");
}

#[test]
fn weights_of_another_network_name_the_tensors() {
    let other = write("other.nn", "network Planar { input p: [2]; dense hidden: 8, activation = tanh; dense out: 1, activation = sigmoid; loss binary_cross_entropy; }");
    let weights = temp().join("other.safetensors").display().to_string();
    let (code, _, _) = nnspec(&["train", &other, "--data", FLOWER, "--epochs", "2", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0);
    let (code, _, stderr) = nnspec(&["predict", PLANAR, "--weights", &weights, "--data", FLOWER, "--target", "label"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("`hidden.weight` has shape [2, 8], expected [2, 4]"), "{stderr}");
}

/// A row whose values overflow f32 arithmetic gets an error naming it, not
/// `NaN` printed with exit 0 (as `predict` once did for values near f32's limit).
#[test]
fn outputs_that_are_not_finite_name_the_row() {
    let text = "network Linear {\n    input x: [2];\n    dense h: 8, activation = relu;\n    dense out: 1;\n    loss mse;\n}\n";
    let spec = write("overflow.nn", text);
    // Weights near f32's limit, as a file trained elsewhere or altered may hold.
    let mut model = nnspec_cli::convert::network(&nnspec_lang::check_source(text).unwrap().program.networks[0]);
    nnspec::Model::params_mut(&mut model).fill(1e20);
    let weights = temp().join("overflow.safetensors");
    nnspec::weights::save(&model, &weights).unwrap();
    let weights = weights.display().to_string();
    let data = write("overflow.csv", "x1,x2,label\n0,0,0\n1e19,1e19,1\n");
    let (code, stdout, stderr) =
        nnspec(&["predict", &spec, "--weights", &weights, "--data", &data, "--target", "label"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("overflow.csv` row 1 (line 2)") && stderr.contains("too large for f32"), "{stderr}");
}

/// An f32 weight file of another network whose tensors have the same names
/// and shapes is refused by the network name it records, as int8 files are.
#[test]
fn weights_saved_from_another_network_of_the_same_shape_are_refused() {
    let twin = write(
        "twin.nn",
        &std::fs::read_to_string(root().join(PLANAR)).unwrap().replace("network Planar", "network Twin"),
    );
    let weights = temp().join("twin.safetensors").display().to_string();
    let (code, _, stderr) = nnspec(&["train", &twin, "--data", FLOWER, "--epochs", "2", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = nnspec(&["predict", PLANAR, "--weights", &weights, "--data", FLOWER, "--target", "label"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("holds the weights of network `Twin`, not `Planar`"), "{stderr}");
}

#[test]
fn divergence_names_epoch_and_batch_and_keeps_good_weights() {
    let spec = write("regress.nn", "network R { input x: [2]; dense out: 1; loss mse; train { optimizer = sgd(lr = 100.0), batch = full, epochs = 50 } }");
    let data = write("big.csv", "a,b,y\n100,200,1e4\n-300,50,-2e4\n");
    let weights = temp().join("regress.safetensors").display().to_string();
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--out", &weights, "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("training diverged") && stderr.contains("epoch") && stderr.contains("batch 0"), "{stderr}");
    assert!(stderr.contains("the last good weights were written"), "{stderr}");
}

#[test]
fn a_run_that_diverges_keeps_a_better_weights_file_and_writes_the_history_it_has() {
    let spec = write(
        "regress_rows.nn",
        "network R { input x: [2]; dense out: 1; loss mse; train { optimizer = sgd(lr = 100.0), batch = 1, epochs = 5 } }",
    );
    let data = write("big_rows.csv", "a,b,y\n100,200,1e4\n-300,50,-2e4\n250,-100,3e4\n");
    let weights = temp().join("previous.safetensors").display().to_string();
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--lr", "1e-9", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let previous = std::fs::read(&weights).unwrap();
    // The spec's own learning rate diverges in the second epoch.
    let history = temp().join("diverged.csv");
    let history_arg = history.display().to_string();
    let (code, _, stderr) =
        nnspec(&["train", &spec, "--data", &data, "--out", &weights, "--history", &history_arg, "--quiet"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is left as it was"), "{stderr}");
    assert_eq!(std::fs::read(&weights).unwrap(), previous, "the earlier run's weights were replaced");
    // The epoch that completed before the divergence is in the history.
    let text = std::fs::read_to_string(&history).expect("the history of the completed epochs");
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("1,"), "{text}");
}

#[test]
fn run_configurations_sweep_and_report_bad_keys() {
    let config = write(
        "sweep.toml",
        &format!(
            "spec = {:?}\ndata = {:?}\ntarget = \"label\"\nvalidation_split = 0.25\n[train]\nepochs = 200\n[sweep]\nhidden = [1, 4]\n",
            root().join(PLANAR),
            root().join(FLOWER)
        ),
    );
    let (code, stdout, _) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("hidden = 1") && stdout.contains("hidden = 4"), "{stdout}");
    let bad = write("bad.toml", "spec = \"x.nn\"\ndata = \"y.csv\"\n[train]\nepoch = 3\n");
    let (code, _, stderr) = nnspec(&["train", "--config", &bad]);
    assert_eq!(code, 1);
    assert!(stderr.contains("line 4") && stderr.contains("unknown field `epoch`"), "{stderr}");
}

#[test]
fn export_writes_onnx() {
    let weights = temp().join("export.safetensors").display().to_string();
    let (code, _, _) = nnspec(&["train", PLANAR, "--data", FLOWER, "--epochs", "5", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0);
    let onnx = temp().join("planar.onnx").display().to_string();
    let (code, stdout, _) = nnspec(&["export", PLANAR, "--weights", &weights, "-o", &onnx]);
    assert_eq!(code, 0, "{stdout}");
    let bytes = std::fs::read(&onnx).unwrap();
    assert!(bytes.windows(4).any(|w| w == b"Gemm") && bytes.windows(13).any(|w| w == b"hidden.weight"));
}

#[test]
fn export_says_its_output_is_logits_and_probabilities_ends_where_predict_does() {
    let spec = write(
        "logits.nn",
        "network Logits { input x: [4]; dense h: 5, activation = relu; dense out: 3; loss softmax_cross_entropy; }",
    );
    let onnx = temp().join("logits.onnx").display().to_string();
    let (code, stdout, _) = nnspec(&["export", &spec, "-o", &onnx]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("its output is the logits") && stdout.contains("--probabilities"), "{stdout}");
    let probabilities = temp().join("probabilities.onnx").display().to_string();
    let (code, stdout, _) = nnspec(&["export", &spec, "--probabilities", "-o", &probabilities]);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("logits"), "{stdout}");
    let bytes = std::fs::read(&probabilities).unwrap();
    assert!(bytes.windows(7).any(|w| w == b"Softmax"), "no Softmax in the graph");
    // Imported again, it is the same network: the softmax is the loss's.
    let back = temp().join("probabilities.nn").display().to_string();
    let (code, stdout, stderr) = nnspec(&["import", &probabilities, "-o", &back]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let text = std::fs::read_to_string(&back).unwrap();
    assert!(text.contains("dense out: 3;") && text.contains("loss softmax_cross_entropy;"), "{text}");
}

#[test]
fn a_defaulted_target_column_is_named_and_class_ranges_read_unambiguously() {
    let spec = write("labels_first.nn", "network Three { input x: [2]; dense out: 3; loss softmax_cross_entropy; }");
    let data = write("labels_first.csv", "label,a,b\n2,0.5,-0.65625\n1,0.25,0.125\n");
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--epochs", "1", "--quiet"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("label -0.65625 in row 1 of column `b` is not a class"), "{stderr}");
    assert!(stderr.contains("a whole number from 0 to 2"), "{stderr}");
    assert!(stderr.contains("the target is the last column, `b`, since no --target was given"), "{stderr}");
    let (_, help, _) = nnspec(&["predict", "--help"]);
    assert!(!help.contains("target column last") && help.contains("which are left out"), "{help}");
}

#[test]
fn a_regression_sweep_reports_r2_not_accuracy() {
    let spec = write(
        "regression.nn",
        "network Fit { input x: [2]; dense hidden: 4, activation = tanh; dense y: 1; loss mse; }",
    );
    let data = write("regression.csv", "a,b,y\n0,1,1\n1,0,1\n1,1,2\n0,0,0\n2,1,3\n1,2,3\n2,2,4\n0,2,2\n");
    let config = write(
        "regression.toml",
        &format!("spec = {spec:?}\ndata = {data:?}\ntarget = \"y\"\nvalidation_split = 0.25\n[train]\nepochs = 5\n[sweep]\nhidden = [2, 3]\n"),
    );
    let (code, stdout, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("train R²") && stdout.contains("val R²") && !stdout.contains(" acc"), "{stdout}");
}

/// `summary`'s int8 weight bytes are what `quantize` writes, for a graph
/// network with activation statements after a convolution and a dense layer.
#[test]
fn summary_int8_bytes_are_what_quantize_writes() {
    let spec = write(
        "int8_graph.nn",
        "network G {\n    input x: [1, 4, 4];\n    conv2d c: 3, kernel = 3, padding = 1;\n    relu r;\n    max_pool2d p, kernel = 2;\n    flatten f;\n    dense h: 4;\n    tanh t;\n    dense out: 2;\n    loss softmax_cross_entropy;\n}\n",
    );
    let mut rows = String::from("x0,x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,x11,x12,x13,x14,x15,label\n");
    for r in 0..24 {
        let cells: Vec<String> =
            (0..16).map(|i| format!("{:.3}", ((r * 16 + i) * 37 % 29) as f32 / 14.0 - 1.0)).collect();
        rows.push_str(&format!("{},{}\n", cells.join(","), r % 2));
    }
    let data = write("int8_graph.csv", &rows);
    let weights = temp().join("int8_graph.safetensors").display().to_string();
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--epochs", "2", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, summary, _) = nnspec(&["summary", &spec]);
    let summarised =
        summary.split("int8 ").nth(1).and_then(|t| t.split(" B of weights").next()).expect("an int8 figure");
    let int8 = temp().join("int8_graph.int8.safetensors").display().to_string();
    let (code, quantized, stderr) =
        nnspec(&["quantize", &spec, "--weights", &weights, "--calibration", &data, "-o", &int8]);
    assert_eq!(code, 0, "{stderr}");
    assert!(quantized.contains(&format!(": {summarised} bytes of weights")), "summary says {summarised}:\n{quantized}");
}

#[test]
fn run_configurations_say_what_is_wrong_with_a_batch_or_an_empty_sweep() {
    let base = format!("spec = {:?}\ndata = {:?}\ntarget = \"label\"\n", root().join(PLANAR), root().join(FLOWER));
    let fractional = write("fractional.toml", &format!("{base}[train]\nbatch = 2.5\n"));
    let (code, _, stderr) = nnspec(&["train", "--config", &fractional]);
    assert_eq!(code, 1);
    assert!(stderr.contains("`batch = 2.5`: a batch is a whole number of rows or \"full\""), "{stderr}");
    assert!(!stderr.contains("untagged"), "{stderr}");
    let empty = write("empty_sweep.toml", &format!("{base}[sweep]\nhidden = []\n"));
    let (code, stdout, stderr) = nnspec(&["train", "--config", &empty, "--quiet"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stderr.contains("`[sweep] hidden` lists no values"), "{stderr}");
}

#[test]
fn usage_errors_exit_with_code_2() {
    for args in [
        &["--no-such-flag"][..],
        &["no-such-command"],
        &["check"],
        &["train", PLANAR],
        &["train", PLANAR, "--data", FLOWER, "--epochs", "many"],
        &["predict", PLANAR, "--no-such-option", "x"],
    ] {
        let (code, stdout, stderr) = nnspec(args);
        assert_eq!(code, 2, "nnspec {args:?}: exit {code}\n{stdout}{stderr}");
        assert!(stderr.contains("Usage") || stderr.contains("--help"), "nnspec {args:?}: {stderr}");
    }
    // Bad input that is not a usage error exits with 1.
    let (code, _, _) = nnspec(&["check", "no/such/file.nn"]);
    assert_eq!(code, 1);
}

/// The exit code of `nnspec args` whose standard output (and, with
/// `close_stderr`, standard error) is a pipe whose reader is gone before
/// anything is written, as in `nnspec … | head -1` once `head` has exited.
fn with_closed_reader(args: &[&str], close_stderr: bool) -> Option<i32> {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nnspec"))
        .args(args)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(if close_stderr { Stdio::piped() } else { Stdio::null() })
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    child.wait().unwrap().code()
}

#[test]
fn a_reader_that_goes_away_ends_every_command_quietly() {
    let weights = temp().join("pipe.safetensors").display().to_string();
    let (code, _, _) = nnspec(&["train", PLANAR, "--data", FLOWER, "--epochs", "5", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0);
    for args in [
        &["predict", PLANAR, "--weights", &weights, "--data", FLOWER, "--target", "label"][..],
        &["summary", "--json", PLANAR],
        &["summary", PLANAR],
        &["emit", PLANAR],
        &["check", "--message-format", "json", PLANAR],
        &["train", PLANAR, "--data", FLOWER, "--epochs", "3"],
    ] {
        for close_stderr in [false, true] {
            let code = with_closed_reader(args, close_stderr);
            assert_eq!(code, Some(0), "nnspec {args:?} (stderr closed: {close_stderr}) ended with {code:?}");
        }
    }
}

#[test]
fn several_target_columns_train_a_network_with_several_outputs() {
    let spec = write(
        "two_outputs.nn",
        "network Controller {\n    input state: [2];\n    dense hidden: 8, activation = tanh;\n    dense action: 2;\n    loss mse;\n    train { optimizer = adam(lr = 0.01), batch = full, epochs = 50 }\n}\n",
    );
    let rows: String = (0..40)
        .map(|i| {
            let (a, b) = (i as f32 / 40.0, (i % 7) as f32 / 7.0);
            format!("{a},{b},{},{}\n", a + b, a - b)
        })
        .collect();
    let data = write("two_outputs.csv", &format!("a,b,sum,difference\n{rows}"));
    let weights = temp().join("two_outputs.safetensors").display().to_string();
    // Repeated flags, and one flag with a comma-separated list.
    for targets in [&["--target", "sum", "--target", "difference"][..], &["--target", "sum,difference"]] {
        let mut args = vec!["train", spec.as_str(), "--data", data.as_str(), "--out", weights.as_str(), "--quiet"];
        args.extend_from_slice(targets);
        let (code, _, stderr) = nnspec(&args);
        assert_eq!(code, 0, "{stderr}");
    }
    let (code, stdout, stderr) =
        nnspec(&["predict", &spec, "--weights", &weights, "--data", &data, "--target", "sum,difference"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().next(), Some("sum,difference"), "outputs named after their target columns");
    assert_eq!(stdout.lines().count(), 41);
    // A run configuration lists them.
    let config = write(
        "two_outputs.toml",
        &format!("spec = {spec:?}\ndata = {data:?}\ntarget = [\"sum\", \"difference\"]\n[train]\nepochs = 5\n"),
    );
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    // One target for a two-output network is refused with a hint that leads somewhere.
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--target", "sum", "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("repeat it for several outputs"), "{stderr}");
}

#[test]
fn settings_from_the_command_line_get_the_specs_checks() {
    for (flags, expected) in [
        (&["--lr=-1"][..], "greater than 0"),
        (&["--lr", "0"], "greater than 0"),
        (&["--lr", "nan"], "greater than 0"),
        (&["--epochs", "0"], "at least 1"),
    ] {
        let mut args = vec!["train", PLANAR, "--data", FLOWER, "--quiet"];
        args.extend_from_slice(flags);
        let (code, _, stderr) = nnspec(&args);
        assert_eq!(code, 1, "{flags:?} was accepted");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
    for (line, expected) in [("batch = 0", "at least 1"), ("lr = -0.5", "greater than 0")] {
        let config = write(
            "bad_override.toml",
            &format!(
                "spec = \"{}/{PLANAR}\"\ndata = \"{}/{FLOWER}\"\n[train]\n{line}\n",
                root().display(),
                root().display()
            ),
        );
        let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
        assert_eq!(code, 1, "{line} was accepted");
        assert!(stderr.contains(expected), "{line}: {stderr}");
    }
    let config = write(
        "bad_split.toml",
        &format!(
            "spec = \"{}/{PLANAR}\"\ndata = \"{}/{FLOWER}\"\nvalidation_split = -0.5\n",
            root().display(),
            root().display()
        ),
    );
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("validation_split"), "{stderr}");
}

#[test]
fn binary_cross_entropy_refuses_targets_outside_zero_one() {
    let spec = write(
        "bce.nn",
        "network Bce {\n    input x: [2];\n    dense out: 1, activation = sigmoid;\n    loss binary_cross_entropy;\n}\n",
    );
    let data = write("three_classes.csv", "a,b,label\n0.1,0.2,0\n0.3,0.1,1\n0.5,0.5,2\n");
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("row 3") && stderr.contains("[0, 1]"), "{stderr}");
}

#[test]
fn early_stopping_on_the_validation_loss_needs_validation_data() {
    let spec = write(
        "early.nn",
        "network Early {\n    input x: [2];\n    dense h: 4, activation = tanh;\n    dense out: 1, activation = sigmoid;\n    loss binary_cross_entropy;\n    train { early_stopping = (monitor = val_loss, patience = 3) }\n}\n",
    );
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", FLOWER, "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("validation_split"), "{stderr}");
    // `check` says so before any run.
    let (code, stdout, stderr) = nnspec(&["check", &spec]);
    assert_eq!(code, 0);
    assert!(stderr.contains("warning[W0013]") && stdout.contains("1 warning"), "{stdout}{stderr}");
}

#[test]
fn a_file_without_a_network_is_not_checked_in_silence() {
    for (name, text) in [("empty.nn", ""), ("constants.nn", "const WIDTH = 8;\n")] {
        let spec = write(name, text);
        let (code, stdout, stderr) = nnspec(&["check", &spec]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains("warning[W0012]") && stdout.contains("0 errors, 1 warning"),
            "{name}: {stdout}{stderr}"
        );
    }
}

#[test]
fn export_keeps_the_standardisation_the_network_was_trained_with() {
    let weights = temp().join("standardized.safetensors");
    let config = write(
        "standardized.toml",
        &format!(
            "spec = \"{root}/{PLANAR}\"\ndata = \"{root}/{FLOWER}\"\nstandardize = true\n[train]\nepochs = 5\n[output]\nweights = {weights:?}\n",
            root = root().display(),
        ),
    );
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let onnx = temp().join("standardized.onnx").display().to_string();
    let (code, stdout, stderr) = nnspec(&["export", PLANAR, "--weights", &weights.display().to_string(), "-o", &onnx]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("taking raw inputs"), "{stdout}");
    let bytes = std::fs::read(&onnx).unwrap();
    for name in [&b"input.mean"[..], b"input.std", b"input.standardized"] {
        assert!(bytes.windows(name.len()).any(|w| w == name), "no {}", String::from_utf8_lossy(name));
    }
    // Without standardisation the graph starts at the first layer.
    let plain = temp().join("plain.onnx").display().to_string();
    let (code, stdout, _) = nnspec(&["export", PLANAR, "-o", &plain]);
    assert_eq!(code, 0);
    assert!(!stdout.contains("raw inputs"));
    assert!(!std::fs::read(&plain).unwrap().windows(10).any(|w| w == b"input.mean"));
}

#[test]
fn output_paths_are_checked_before_training_and_never_overwrite_an_input() {
    let data = write("precious.csv", &std::fs::read_to_string(root().join(FLOWER)).unwrap());
    let before = std::fs::read(&data).unwrap();
    let spec = write("precious.nn", &std::fs::read_to_string(root().join(PLANAR)).unwrap());
    let same = temp().join("same.csv").display().to_string();
    for (flags, expected) in [
        (vec!["--out", data.as_str()], "is the data"),
        (vec!["--out", spec.as_str()], "is the spec"),
        (vec!["--out", same.as_str(), "--history", same.as_str()], "both"),
        (vec!["--plot", "loss.jpg"], "must be a .png file"),
        (vec!["--history", "loss.txt"], "must be a .csv or a .json file"),
        (vec!["--out", "no/such/folder/w.safetensors"], "does not exist"),
    ] {
        let mut args = vec!["train", spec.as_str(), "--data", data.as_str(), "--epochs", "2"];
        args.extend(flags.iter().copied());
        let (code, _, stderr) = nnspec(&args);
        assert_eq!(code, 1, "{flags:?}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
        assert!(!stderr.contains("training "), "{flags:?}: checked only after training started:\n{stderr}");
        assert!(!stderr.contains("Err(") && !stderr.contains("{ "), "{flags:?}: debug text: {stderr}");
    }
    assert_eq!(std::fs::read(&data).unwrap(), before, "the data file changed");
}

#[test]
fn each_run_of_a_sweep_writes_its_own_outputs() {
    let dir = temp().join("sweep-outputs");
    std::fs::create_dir_all(&dir).unwrap();
    let config = write(
        "sweep_outputs.toml",
        &format!(
            "spec = {:?}\ndata = {:?}\n[train]\nepochs = 3\n[output]\nweights = {:?}\nhistory = {:?}\n[sweep]\nhidden = [2, 3]\n",
            root().join(PLANAR),
            root().join(FLOWER),
            dir.join("w.safetensors"),
            dir.join("loss.csv"),
        ),
    );
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    for file in ["w-hidden-2.safetensors", "w-hidden-3.safetensors", "loss-hidden-2.csv", "loss-hidden-3.csv"] {
        assert!(dir.join(file).is_file(), "{file} was not written");
    }
}

#[test]
fn data_mistakes_are_named() {
    // A file without a header loses its first row to the header: say so.
    let headless = write("headless.csv", "0.5,0.25,1\n0.1,0.2,0\n0.3,0.9,1\n");
    let (code, _, stderr) = nnspec(&["train", PLANAR, "--data", &headless, "--epochs", "1", "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("is the header missing?"), "{stderr}");
    // A bad label names its row in the file (not in a shuffled split) and no unrelated hint.
    let spec = write(
        "classes.nn",
        "network Classes {\n    input x: [2];\n    dense out: 2;\n    loss softmax_cross_entropy;\n    train { validation_split = 0.5 }\n}\n",
    );
    let data = write("labels.csv", "a,b,label\n0.1,0.2,0\n0.3,0.1,1\n0.5,0.5,1\n0.7,0.2,7\n0.2,0.2,0\n");
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("label 7 in row 4"), "{stderr}");
    assert!(!stderr.contains("--target"), "an unrelated hint: {stderr}");
}

#[test]
fn predict_and_export_never_overwrite_their_inputs() {
    let weights = temp().join("keep.safetensors").display().to_string();
    let (code, _, _) = nnspec(&["train", PLANAR, "--data", FLOWER, "--epochs", "2", "--out", &weights, "--quiet"]);
    assert_eq!(code, 0);
    let saved = std::fs::read(&weights).unwrap();
    let data = write("keep.csv", &std::fs::read_to_string(root().join(FLOWER)).unwrap());
    let kept = std::fs::read(&data).unwrap();
    let (code, _, stderr) = nnspec(&["predict", PLANAR, "--weights", &weights, "--data", &data, "-o", &data]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is the data"), "{stderr}");
    let (code, _, stderr) = nnspec(&["export", PLANAR, "--weights", &weights, "-o", &weights]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is the weights"), "{stderr}");
    assert_eq!(std::fs::read(&weights).unwrap(), saved);
    assert_eq!(std::fs::read(&data).unwrap(), kept);
}

#[test]
fn summary_shows_every_training_setting_in_aligned_columns() {
    let spec = write(
        "long_names.nn",
        "network Long {\n    input measurements: [4];\n    dense a_rather_long_hidden_layer_name: 8, activation = relu;\n    dense species: 3;\n    loss softmax_cross_entropy;\n    train {\n        optimizer = adam(lr = 1e-3),\n        schedule = cosine(t_max = 200),\n        clip_grad_norm = 5.0,\n        validation_split = 0.2,\n        early_stopping = (monitor = val_loss, patience = 20),\n    }\n}\n",
    );
    let (code, stdout, _) = nnspec(&["summary", &spec]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(stdout);
}

#[test]
fn predict_shows_a_softmax_classifiers_probabilities_and_class() {
    let spec = write(
        "logits.nn",
        "network Logits {\n    input x: [2];\n    dense h: 6, activation = tanh;\n    dense species: 3;\n    loss softmax_cross_entropy;\n    train { optimizer = adam(lr = 0.05), batch = full, epochs = 30 }\n}\n",
    );
    let rows: String = (0..30).map(|i| format!("{},{},{}\n", i % 5, i % 3, i % 3)).collect();
    let data = write("three.csv", &format!("a,b,label\n{rows}"));
    let weights = temp().join("logits.safetensors").display().to_string();
    let (code, _, stderr) = nnspec(&["train", &spec, "--data", &data, "--out", &weights, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) =
        nnspec(&["predict", &spec, "--weights", &weights, "--data", &data, "--target", "label"]);
    assert_eq!(code, 0, "{stderr}");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("probability_0,probability_1,probability_2,class"));
    for line in lines {
        let cells: Vec<f64> = line.split(',').map(|c| c.parse().unwrap()).collect();
        let (probabilities, class) = (&cells[..3], cells[3] as usize);
        assert!((probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{line}");
        assert!(probabilities.iter().all(|p| (0.0..=1.0).contains(p)), "{line}");
        let argmax = (0..3).max_by(|a, b| probabilities[*a].total_cmp(&probabilities[*b])).unwrap();
        assert_eq!(class, argmax, "{line}");
    }
}

#[test]
fn swept_values_get_the_specs_size_checks() {
    for (values, expected) in [("[4, 100000000000]", "too large (at most"), ("[0]", "hidden = 0`: ")] {
        let config = write(
            "huge_sweep.toml",
            &format!(
                "spec = {:?}\ndata = {:?}\n[train]\nepochs = 1\n[sweep]\nhidden = {values}\n",
                root().join(PLANAR),
                root().join(FLOWER)
            ),
        );
        let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
        assert_eq!(code, 1, "{values}: {stderr}");
        assert!(stderr.contains(expected), "{values}: {stderr}");
        assert!(!stderr.contains("training "), "{values}: refused only after training started");
    }
}

/// `nnspec args` under an address-space limit of `megabytes` (`ulimit -v`):
/// exit code and stderr.
#[cfg(target_os = "linux")]
fn nnspec_limited(megabytes: u64, args: &[&str]) -> (Option<i32>, String) {
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script =
        format!("ulimit -v {}; exec '{}' {}", megabytes * 1024, env!("CARGO_BIN_EXE_nnspec"), quoted.join(" "));
    let output = Command::new("sh").arg("-c").arg(script).current_dir(root()).output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[cfg(target_os = "linux")]
#[test]
fn networks_too_large_for_the_memory_are_refused_not_aborted() {
    // Training: the parameters fit, the workspace for 400 rows of 4 M units does not.
    let wide = write(
        "wide.nn",
        "network Wide {\n    input x: [2];\n    dense h: 4000000, activation = tanh;\n    dense out: 1;\n    loss mse;\n    train { batch = full }\n}\n",
    );
    let (code, stderr) = nnspec_limited(1500, &["train", &wide, "--data", FLOWER, "--epochs", "1", "--quiet"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("training `Wide` needs about") && stderr.contains("workspace for 400 rows"), "{stderr}");
    // Prediction with a billion parameters: refused before the weights are read.
    let huge = write(
        "huge.nn",
        "network Huge {\n    input x: [60];\n    dense h: 16777216;\n    dense out: 1;\n    loss mse;\n}\n",
    );
    let (code, stderr) =
        nnspec_limited(1500, &["predict", &huge, "--weights", "missing.safetensors", "--data", FLOWER]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("running `Huge` needs about"), "{stderr}");
    // Export: more weights than an ONNX file holds.
    let (code, stderr) = nnspec_limited(1500, &["export", &huge, "-o", "huge.onnx"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("more than an ONNX file can hold"), "{stderr}");
}

/// Buffers start at their initial values by code, not a literal per value:
/// a wide `standardize` and `batch_norm` emit a few kilobytes (they once
/// wrote every running statistic as a literal, 29 MB for a million features).
#[test]
fn wide_buffers_are_initialised_by_code() {
    let spec = write(
        "wide_buffers.nn",
        "network Wide {\n    input x: [1000000];\n    standardize s;\n    batch_norm b;\n    dense out: 1;\n    loss mse;\n}\n",
    );
    let (code, stdout, stderr) = nnspec(&["emit", &spec]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.len() < 100_000, "{} bytes emitted", stdout.len());
    assert!(stdout.contains(".fill(1f32)"), "the running variance starts at one by code");
}

/// Every phase of a run stays within the memory it checked: training in
/// batches of 8 evaluates in chunks of 8 (it once evaluated 1,024 rows at a
/// time after training and aborted before writing the weights), and
/// `predict` runs the rows in chunks of what fits instead of refusing a
/// network whose 1,024-row workspace does not.
#[cfg(target_os = "linux")]
#[test]
fn every_phase_stays_within_the_memory_it_checked() {
    // About 4.8 MB of workspace per row: 400 rows need 1.9 GB, 8 rows 38 MB.
    let spec = write(
        "chunked.nn",
        "network Chunked {\n    input x: [2];\n    dense h: 400000, activation = relu;\n    dense out: 1, activation = sigmoid;\n    loss binary_cross_entropy;\n    train { batch = 8, epochs = 1 }\n}\n",
    );
    let weights = temp().join("chunked.safetensors");
    let weights = weights.to_str().unwrap();
    let _ = std::fs::remove_file(weights);
    let (code, stderr) = nnspec_limited(1200, &["train", &spec, "--data", FLOWER, "--out", weights, "--quiet"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(Path::new(weights).exists(), "the trained weights are written");
    let predictions = temp().join("chunked.csv");
    let predictions = predictions.to_str().unwrap();
    let _ = std::fs::remove_file(predictions);
    let (code, stderr) = nnspec_limited(
        1200,
        &["predict", &spec, "--weights", weights, "--data", FLOWER, "--target", "label", "-o", predictions],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let rows = std::fs::read_to_string(root().join(FLOWER)).unwrap().lines().count();
    assert_eq!(std::fs::read_to_string(predictions).unwrap().lines().count(), rows, "a header and a line per row");
}

#[cfg(target_os = "linux")]
#[test]
fn emitting_more_layers_than_the_memory_holds_is_refused() {
    let layers: String = (0..2000).map(|i| format!("    dense l{i}: 4, activation = tanh;\n")).collect();
    let deep = write("deep.nn", &format!("network Deep {{\n    input x: [4];\n{layers}    loss mse;\n}}\n"));
    let (code, stderr) = nnspec_limited(300, &["emit", &deep]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the code of 2000 nodes"), "{stderr}");
    // One node that reads its input 100,000 times is as much code.
    let inputs = vec!["x"; 100_000].join(", ");
    let wide = write(
        "wide_concat.nn",
        &format!("network Cat {{\n    input x: [2];\n    concat c({inputs});\n    dense out: 1;\n    loss mse;\n}}\n"),
    );
    let (code, stderr) = nnspec_limited(1000, &["emit", &wide]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the code reading 100001 node inputs"), "{stderr}");
    // The spec itself is never the output.
    let (code, _, stderr) = nnspec(&["emit", PLANAR, "-o", PLANAR]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is the spec"), "{stderr}");
}

/// The training accuracy `train` prints.
fn train_accuracy(stdout: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("train ").and_then(|l| l.split("accuracy ").nth(1)))
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in:\n{stdout}"))
}

/// The share of `predict`'s lines (header first, the class last) that match
/// the target column of the data file.
fn predicted_accuracy(predictions: &str, data: &Path, target: &str) -> f64 {
    let text = std::fs::read_to_string(data).unwrap();
    let mut lines = text.lines();
    let column = lines.next().unwrap().split(',').position(|c| c == target).expect("the target column");
    let truth: Vec<&str> = lines.map(|l| l.split(',').nth(column).unwrap()).collect();
    let predicted: Vec<&str> = predictions.lines().skip(1).map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(predicted.len(), truth.len(), "one prediction per row");
    let right = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
    right as f64 / truth.len() as f64
}

/// A convolutional spec through train, predict, summary and export: the
/// interpreter runs the graph the compiler generates code for. The network is
/// written from every 1-D CNN entry of the reference data (its input shape,
/// architecture and target column).
#[test]
fn a_cnn_trains_predicts_and_exports() {
    for entry in datasets::conv_nets(2) {
        let spec = write(&format!("{}.nn", entry.name), &entry.trained_spec("Cnn1d"));
        let data = entry.csv();
        let data = data.to_str().unwrap();
        let target = entry.target_column();
        let weights = temp().join(format!("{}.safetensors", entry.name));
        let weights = weights.to_str().unwrap();
        let (code, stdout, stderr) =
            nnspec(&["train", &spec, "--data", data, "--target", &target, "--epochs", "8", "--out", weights]);
        assert_eq!(code, 0, "{}: {stderr}", entry.name);
        // Halfway from chance to perfect after 8 epochs.
        let chance = 1.0 / entry.n_classes() as f64;
        let accuracy = train_accuracy(&stdout);
        assert!(accuracy > (1.0 + chance) / 2.0, "{}: training accuracy {accuracy} after 8 epochs", entry.name);
        let (code, predictions, stderr) =
            nnspec(&["predict", &spec, "--weights", weights, "--data", data, "--target", &target]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(predictions.lines().count(), entry.n_samples() + 1, "a header and one line per row");
        let predicted = predicted_accuracy(&predictions, Path::new(data), &target);
        assert!((predicted - accuracy).abs() < 1e-3, "{}: predict {predicted}, train {accuracy}", entry.name);
        let (code, _, stderr) = nnspec(&["predict", &spec, "--weights", weights, "--data", data]);
        assert_ne!(code, 0);
        let columns = format!("{} feature columns", entry.n_features() + 1);
        assert!(stderr.contains(&columns) && stderr.contains("use --target"), "{stderr}");
        let (code, summary, _) = nnspec(&["summary", &spec]);
        assert_eq!(code, 0);
        for node in entry.value["architecture"]["nodes"].as_array().unwrap() {
            let shape: Vec<usize> =
                node["output_shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
            let line = summary.lines().find(|l| l.split_whitespace().next() == node["name"].as_str());
            let line = line.unwrap_or_else(|| panic!("no line for {} in\n{summary}", node["name"]));
            assert!(line.contains(&datasets::shape_text(&shape)), "{}: {line}", entry.name);
        }
        let onnx = temp().join(format!("{}.onnx", entry.name));
        let (code, _, stderr) = nnspec(&["export", &spec, "--weights", weights, "-o", onnx.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        assert!(std::fs::metadata(&onnx).unwrap().len() > 1000);
    }
}

/// A spec that standardises its own input trains on raw rows and keeps the
/// statistics in its weights file: `predict` on the raw rows gives the
/// training accuracy back, and `standardize = true` on top of it is refused.
/// The spec is `examples/specs/residual.nn` sized for every classification
/// data set of the reference data.
#[test]
fn a_spec_with_standardize_trains_and_predicts_on_raw_rows() {
    for entry in datasets::classification() {
        let spec = write(&format!("residual-{}.nn", entry.name), &datasets::residual_spec(&entry));
        let data = entry.csv().display().to_string();
        let target = entry.target_column();
        let weights = temp().join(format!("residual-{}.safetensors", entry.name)).display().to_string();
        let (code, stdout, stderr) =
            nnspec(&["train", &spec, "--data", &data, "--target", &target, "--epochs", "20", "--out", &weights]);
        assert_eq!(code, 0, "{stderr}");
        let chance = 1.0 / entry.n_classes() as f64;
        let accuracy = train_accuracy(&stdout);
        assert!(accuracy > (1.0 + chance) / 2.0, "{}: {stdout}", entry.name);
        let (code, predictions, stderr) =
            nnspec(&["predict", &spec, "--weights", &weights, "--data", &data, "--target", &target]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(predictions.lines().count(), entry.n_samples() + 1, "a header and one line per row");
        let predicted = predicted_accuracy(&predictions, Path::new(&data), &target);
        assert!((predicted - accuracy).abs() < 1e-3, "{}: predict {predicted}, train {accuracy}", entry.name);
        let onnx = temp().join(format!("residual-{}.onnx", entry.name));
        let (code, _, stderr) = nnspec(&["export", &spec, "--weights", &weights, "-o", onnx.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        let bytes = std::fs::read(&onnx).unwrap();
        assert!(bytes.windows(11).any(|w| w == b"scaled.mean"), "the export standardises raw inputs");

        let config = write(
            "twice.toml",
            &format!(
                "spec = {spec:?}\ndata = {data:?}\ntarget = {target:?}\nstandardize = true\n[train]\nepochs = 1\n"
            ),
        );
        let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
        assert_ne!(code, 0);
        assert!(stderr.contains("standardises its input already") && stderr.contains("standardize scaled"), "{stderr}");
    }
}

#[test]
fn quantize_writes_an_int8_file_that_predict_runs_and_f32_loaders_refuse() {
    let spec = write(
        "int8.nn",
        "network Small {\n    input x: [2];\n    dense h: 8, activation = relu;\n    dense species: 3;\n    loss softmax_cross_entropy;\n    train { optimizer = adam(lr = 0.05), batch = full, epochs = 60 }\n}\n",
    );
    let rows: String = (0..60).map(|i| format!("{},{},{}\n", 100 + 10 * (i % 3), i % 7, i % 3)).collect();
    let data = write("int8.csv", &format!("a,b,label\n{rows}"));
    let config = write(
        "int8.toml",
        &format!(
            "spec = {spec:?}\ndata = {data:?}\nstandardize = true\n[output]\nweights = {:?}\n",
            temp().join("int8.safetensors")
        ),
    );
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let weights = temp().join("int8.safetensors").display().to_string();
    let int8 = temp().join("int8.int8.safetensors").display().to_string();
    let (code, stdout, stderr) =
        nnspec(&["quantize", &spec, "--weights", &weights, "--calibration", &data, "-o", &int8]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("quantised to int8 on 60 calibration rows"), "{stdout}");
    assert!(stdout.contains("int8 100.00%"), "the classes follow column a: {stdout}");
    let (code, stdout, stderr) = nnspec(&["predict", &spec, "--weights", &int8, "--data", &data, "--target", "label"]);
    assert_eq!(code, 0, "{stderr}");
    for (line, i) in stdout.lines().skip(1).zip(0..) {
        assert!(line.ends_with(&format!(",{}", i % 3)), "row {i}: {line}");
    }
    let onnx = temp().join("int8.onnx");
    let (code, stdout, stderr) = nnspec(&["export", &spec, "--weights", &int8, "-o", &onnx.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("(int8)"), "{stdout}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let bytes = std::fs::read(&onnx).unwrap();
    assert!(bytes.windows(14).any(|w| w == b"QuantizeLinear"), "a QDQ graph");
    // A file with weights past the seven-bit limit (quantised by an older nnspec) exports with a warning.
    let plan = nnspec_cli::convert::network(
        &nnspec_lang::check_source(&std::fs::read_to_string(&spec).unwrap()).unwrap().program.networks[0],
    )
    .plan()
    .clone();
    let mut network = nnspec::quant::load(&plan, &int8).unwrap();
    let nnspec::quant::QKind::Dense { weight, .. } = &mut network.nodes[2].kind else { panic!("`species` is dense") };
    weight[0] = 127;
    let full_range = temp().join("int8-full-range.int8.safetensors");
    nnspec::quant::save(&network, &full_range).unwrap();
    let (code, _, stderr) =
        nnspec(&["export", &spec, "--weights", &full_range.display().to_string(), "-o", &onnx.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("warning: `species` has int8 weights past ±64") && stderr.contains("VNNI"), "{stderr}");
    // An f32 loader refuses the int8 file with a clear message.
    let text = std::fs::read_to_string(&spec).unwrap();
    let mut model = nnspec_cli::convert::network(&nnspec_lang::check_source(&text).unwrap().program.networks[0]);
    let error = nnspec::weights::load(&mut model, &int8).unwrap_err().to_string();
    assert!(error.contains("int8 weight file"), "{error}");
    let (code, _, stderr) = nnspec(&["quantize", &spec, "--weights", &weights, "--calibration", &data, "-o", &weights]);
    assert_eq!(code, 1);
    assert!(stderr.contains("is the weights"), "{stderr}");
}

/// `quantize` of a regression network reports each output's MSE and R² in
/// f32 beside int8 and its int8 levels, and warns about an output left few
/// levels (a target far from zero in a narrow range).
/// A GRU network goes through `quantize` and `predict` as any other; the int8
/// ONNX export refuses it, naming the layer, and leaves no file behind.
#[test]
fn a_recurrent_network_quantises_and_predicts_but_does_not_export_int8() {
    let spec = write(
        "int8_gru.nn",
        "network Turns {\n    input x: [4, 2];\n    gru g: 6;\n    dense out: 2;\n    loss softmax_cross_entropy;\n    train { optimizer = adam(lr = 0.05), batch = full, epochs = 80 }\n}\n",
    );
    // The class is whether the first step's first feature is the larger of the sequence's ends.
    let rows: String = (0..40)
        .map(|i| {
            let (a, b) = ((i % 5) as f32 / 4.0, ((i * 3) % 7) as f32 / 6.0);
            format!("{a},0.5,0.1,0.2,0.3,0.4,{b},0.5,{}\n", usize::from(a > b))
        })
        .collect();
    let header: Vec<String> = (0..8).map(|c| format!("f{c}")).collect();
    let data = write("int8_gru.csv", &format!("{},label\n{rows}", header.join(",")));
    let weights = temp().join("int8_gru.safetensors");
    let config =
        write("int8_gru.toml", &format!("spec = {spec:?}\ndata = {data:?}\n[output]\nweights = {weights:?}\n"));
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let int8 = temp().join("int8_gru.int8.safetensors").display().to_string();
    let weights = weights.display().to_string();
    let (code, stdout, stderr) =
        nnspec(&["quantize", &spec, "--weights", &weights, "--calibration", &data, "-o", &int8]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("quantised to int8 on 40 calibration rows"), "{stdout}");
    let (code, stdout, stderr) = nnspec(&["predict", &spec, "--weights", &int8, "--data", &data, "--target", "label"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 41, "{stdout}");
    let onnx = temp().join("int8_gru.onnx");
    let (code, _, stderr) = nnspec(&["export", &spec, "--weights", &int8, "-o", &onnx.display().to_string()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("`g` is a recurrent layer") && stderr.contains("export the f32 network"), "{stderr}");
    assert!(!onnx.exists());
    let (code, _, stderr) = nnspec(&["export", &spec, "--weights", &weights, "-o", &onnx.display().to_string()]);
    assert_eq!(code, 0, "the f32 network exports: {stderr}");
}

#[test]
fn quantize_reports_each_regression_output() {
    let spec = write(
        "two_targets.nn",
        "#[allow(learning_rate)]\nnetwork TwoTargets {\n    input x: [1];\n    dense out: 3;\n    loss mse;\n    train { optimizer = adam(lr = 2.0), batch = full, epochs = 3000 }\n}\n",
    );
    let rows: String = (0..50)
        .map(|i| {
            let a = i as f32 / 49.0;
            format!("{a},{},{},{}\n", 3.0 + 3.0 * a, 25.0 + 325.0 * a, 1000.0 + 5.0 * a)
        })
        .collect();
    let data = write("two_targets.csv", &format!("a,small,large,offset\n{rows}"));
    let weights = temp().join("two_targets.safetensors");
    let config = write(
        "two_targets.toml",
        &format!(
            "spec = {spec:?}\ndata = {data:?}\ntarget = [\"small\", \"large\", \"offset\"]\n[output]\nweights = {weights:?}\n"
        ),
    );
    let (code, _, stderr) = nnspec(&["train", "--config", &config, "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    let int8 = temp().join("two_targets.int8.safetensors").display().to_string();
    let weights = weights.display().to_string();
    let (code, stdout, stderr) = nnspec(&[
        "quantize",
        &spec,
        "--weights",
        &weights,
        "--calibration",
        &data,
        "--target",
        "small",
        "--target",
        "large",
        "--target",
        "offset",
        "-o",
        &int8,
    ]);
    assert_eq!(code, 0, "{stderr}");
    for name in ["small", "large", "offset"] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.contains("MSE") && line.contains("R²") && line.contains("int8 levels"), "{line}");
    }
    // The small target keeps its resolution beside the large one (one scale per output).
    let small = stdout.lines().find(|l| l.trim_start().starts_with("small:")).unwrap();
    let before = &small[..small.find(" int8 levels").unwrap_or_else(|| panic!("{small}"))];
    let levels: f64 = before.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(levels >= 32.0, "{small}");
    assert!(stderr.contains("warning: `offset` keeps") && !stderr.contains("`small`"), "{stderr}");
}

/// A sweep sets a `const` of the spec (here the width of two layers) or a
/// layer's units in the spec itself and checks it again as a whole, so a value
/// that breaks another rule (a residual sum of unequal widths) is refused.
#[test]
fn a_sweep_sets_a_constant_and_checks_the_spec_again() {
    let spec = write(
        "const_sweep.nn",
        "const H = 4;\nnetwork Twin {\n    input x: [2];\n    dense a: H, activation = tanh;\n    dense b: H, activation = tanh;\n    add s(a, b);\n    dense out: 1, activation = sigmoid;\n    loss binary_cross_entropy;\n}\n",
    );
    let weights = temp().join("twin.safetensors");
    let config = |sweep: &str| {
        write(
            "const_sweep.toml",
            &format!(
                "spec = {spec:?}\ndata = {:?}\n[train]\nepochs = 2\n[output]\nweights = {weights:?}\n[sweep]\n{sweep}\n",
                root().join(FLOWER)
            ),
        )
    };
    let (code, stdout, stderr) = nnspec(&["train", "--config", &config("H = [2, 3]"), "--quiet"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("H = 2") && stdout.contains("H = 3"), "{stdout}");
    // Both layers follow the constant: the H = 3 run's weights fit the spec written with H = 3.
    let text = std::fs::read_to_string(&spec).unwrap().replace("const H = 4;", "const H = 3;");
    let mut three = nnspec_cli::convert::network(&nnspec_lang::check_source(&text).unwrap().program.networks[0]);
    nnspec::weights::load(&mut three, temp().join("twin-H-3.safetensors")).unwrap();
    let (code, _, stderr) = nnspec(&["train", "--config", &config("a = [3]"), "--quiet"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("`[sweep] a = 3`") && stderr.contains("add"), "{stderr}");
}

/// `summary` gives f32 and int8 memory figures, says why a network has no
/// int8 form, and does not quantise a network too large to count cheaply.
#[test]
fn summary_reports_f32_and_int8_memory() {
    let (code, stdout, _) = nnspec(&["summary", "examples/specs/cnn.nn", "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let memory = &value[0]["memory"];
    assert_eq!(memory["f32"]["weight_bytes"], 4 * value[0]["param_count"].as_u64().unwrap());
    assert!(memory["int8"]["weight_bytes"].as_u64().unwrap() < memory["f32"]["weight_bytes"].as_u64().unwrap());
    let spec = write(
        "normed_memory.nn",
        "network N {\n    input x: [3];\n    layer_norm n;\n    dense out: 2;\n    loss mse;\n}\n",
    );
    let (_, stdout, _) = nnspec(&["summary", &spec]);
    assert!(stdout.contains("no int8 form (`n` is a layer_norm)"), "{stdout}");
    let spec = write("big_memory.nn", "#[allow(large_stack)]\nnetwork Big {\n    input x: [2];\n    dense h: 16777216;\n    dense out: 1;\n    loss mse;\n}\n");
    let (code, stdout, stderr) = nnspec(&["summary", &spec]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("int8 not estimated above 16777216 parameters"), "{stdout}");
}

/// A summary of a node with a very long name or of an `add` of many inputs
/// prints (columns align up to a width), where formatting refused a column
/// wider than 65,535 characters.
#[test]
fn summary_prints_very_wide_columns() {
    let long = "a".repeat(70_000);
    let inputs: Vec<String> = (0..3_000).map(|i| format!("    dense d{i}(x): 2;")).collect();
    let names: Vec<String> = (0..3_000).map(|i| format!("d{i}")).collect();
    let spec = write(
        "wide_summary.nn",
        &format!(
            "network Wide {{\n    input x: [2];\n    dense {long}: 2;\n{}\n    add s({long}, {});\n    loss mse;\n}}\n",
            inputs.join("\n"),
            names.join(", ")
        ),
    );
    let (code, stdout, stderr) = nnspec(&["summary", &spec]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&long) && stdout.contains("total:"), "{}", &stdout[..stdout.len().min(400)]);
}

/// A run refused before its first step (a batch norm left one row in a
/// batch) writes no weights file: an untrained file would be used silently.
#[test]
fn a_run_refused_before_its_first_step_writes_nothing() {
    let spec = write(
        "refused_bn.nn",
        "network Bn {\n    input x: [2];\n    dense h: 4;\n    batch_norm bn;\n    relu r;\n    dense out: 2;\n    loss softmax_cross_entropy;\n    train { optimizer = adam(lr = 0.01), batch = 4, epochs = 3, shuffle = false }\n}\n",
    );
    let data = write("refused_bn.csv", "a,b,label\n1,2,0\n3,1,1\n2,2,0\n0,1,1\n5,5,0\n");
    let weights = temp().join("refused_bn.safetensors");
    let _ = std::fs::remove_file(&weights);
    let (code, stdout, stderr) = nnspec(&["train", &spec, "--data", &data, "--out", weights.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(!weights.exists(), "a refused run wrote {}:\n{stdout}\n{stderr}", weights.display());
    assert!(!stderr.contains("were written") && !stdout.contains("were written"), "{stdout}\n{stderr}");
}

/// The session in docs/cli.md shows what `check` and `summary` print today.
#[test]
fn the_documented_session_matches_the_commands() {
    let docs = std::fs::read_to_string(root().join("docs/cli.md")).unwrap();
    for (command, args) in [
        ("$ nnspec check examples/specs/planar.nn\n", vec!["check", PLANAR]),
        ("$ nnspec summary examples/specs/planar.nn\n", vec!["summary", PLANAR]),
    ] {
        let start =
            docs.find(command).unwrap_or_else(|| panic!("docs/cli.md has no `{}`", command.trim())) + command.len();
        let shown = &docs[start..start + docs[start..].find("\n\n").unwrap()];
        let (code, stdout, _) = nnspec(&args);
        assert_eq!(code, 0);
        assert_eq!(shown, stdout.trim_end(), "docs/cli.md shows an old `{}`", command.trim());
    }
}
