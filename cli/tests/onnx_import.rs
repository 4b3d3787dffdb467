//! `nnspec import` on models from outside nnspec, run by `nnspec predict` and
//! compared with the outputs that came with them:
//!
//! - the ONNX project's backend test models converted from PyTorch (shipped in
//!   the `onnx` package): every model imports and reproduces its
//!   `output_0.pb`, or is refused with the list of what nnspec lacks;
//! - models built in PyTorch by `tests/import/models.py` and exported with
//!   both of its exporters, compared with onnxruntime on the exported file.
//!
//! Needs `NNSPEC_PYTHON` (`.ci/run`'s virtual environment) with torch, onnx,
//! onnxscript and onnxruntime. Run with `cargo test -p nnspec-cli --features
//! onnx-import-tests --test onnx_import`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// README's f32 rule: `|got − ref| ≤ 1e-6 + 1e-5·|ref|`; the share of that budget used.
fn tolerance_use(got: f64, expected: f64) -> f64 {
    (got - expected).abs() / (1e-6 + 1e-5 * expected.abs())
}

fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("NNSPEC_PYTHON").map_or_else(|| root.join(".venv/bin/python"), PathBuf::from)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnspec-onnx-import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// Runs a script of `tests/import` writing into `out`; its `cases.json`.
fn cases(script: &str, out: &Path) -> Vec<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import").join(script);
    let output = Command::new(python())
        .arg(&script)
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {:?} ({e}): set NNSPEC_PYTHON", python()));
    assert!(
        output.status.success(),
        "{} failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(out.join("cases.json")).expect("cases.json");
    serde_json::from_str::<Value>(&text).expect("cases.json is JSON").as_array().expect("a list").clone()
}

fn nnspec(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nnspec")).args(args).output().expect("nnspec runs")
}

fn read_csv(text: &str) -> Vec<Vec<f64>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse::<f64>().unwrap_or(f64::NAN)).collect())
        .collect()
}

/// The outcome of one model: imported with its worst tolerance use and
/// absolute error, or refused with the message.
enum Outcome {
    Imported { worst_use: f64, worst_abs: f64, spec_bytes: usize },
    Refused(String),
}

/// Imports `model`, predicts `input_csv` and compares with `expected_csv` (exponentiated when the import says log-probabilities).
fn run(model: &str, input_csv: &str, expected_csv: &str, dir: &Path) -> Result<Outcome, String> {
    let (spec, weights) = (dir.join("model.nn"), dir.join("model.safetensors"));
    let imported =
        nnspec(&["import", model, "-o", spec.to_str().expect("UTF-8"), "--weights", weights.to_str().expect("UTF-8")]);
    let stderr = String::from_utf8_lossy(&imported.stderr).into_owned();
    if !imported.status.success() {
        if imported.status.code() != Some(1)
            || !stderr.starts_with("error: cannot import")
            || stderr.contains("panicked")
        {
            return Err(format!("import did not fail cleanly ({:?}):\n{stderr}", imported.status));
        }
        return Ok(Outcome::Refused(stderr.trim().to_string()));
    }
    let said = String::from_utf8_lossy(&imported.stdout).into_owned();
    let spec_text = std::fs::read_to_string(&spec).map_err(|e| e.to_string())?;
    let predicted = nnspec(&[
        "predict",
        spec.to_str().expect("UTF-8"),
        "--weights",
        weights.to_str().expect("UTF-8"),
        "--data",
        input_csv,
    ]);
    if !predicted.status.success() {
        return Err(format!(
            "predict failed on the imported spec:\n{spec_text}\n{}",
            String::from_utf8_lossy(&predicted.stderr)
        ));
    }
    let got = read_csv(&String::from_utf8_lossy(&predicted.stdout));
    let mut expected = read_csv(&std::fs::read_to_string(expected_csv).map_err(|e| e.to_string())?);
    if said.contains("log-probabilities") {
        expected.iter_mut().flatten().for_each(|v| *v = v.exp());
    }
    if got.len() != expected.len() {
        return Err(format!("{} rows predicted, {} expected", got.len(), expected.len()));
    }
    let (mut worst_use, mut worst_abs) = (0.0f64, 0.0f64);
    for (row, (g, e)) in got.iter().zip(&expected).enumerate() {
        if g.len() < e.len() {
            return Err(format!("row {row}: {} values predicted, {} expected", g.len(), e.len()));
        }
        for (a, b) in g.iter().zip(e) {
            let used = tolerance_use(*a, *b);
            if used.is_nan() || used > 1.0 {
                return Err(format!("row {row}: predicted {a}, expected {b}\n{spec_text}"));
            }
            worst_use = worst_use.max(used);
            worst_abs = worst_abs.max((a - b).abs());
        }
    }
    Ok(Outcome::Imported { worst_use, worst_abs, spec_bytes: spec_text.len() })
}

#[test]
fn the_onnx_backend_models_import_and_reproduce_their_outputs_or_are_refused_with_reasons() {
    let dir = scratch("backend");
    let cases = cases("backend.py", &dir);
    let (mut imported, mut refused, mut failures) = (Vec::new(), Vec::new(), Vec::new());
    for case in &cases {
        let name = case["name"].as_str().expect("a name");
        let model = case["model"].as_str().expect("a model");
        let work = dir.join("work");
        std::fs::create_dir_all(&work).expect("a work directory");
        let outcome = match (case["input_csv"].as_str(), case["output_csv"].as_str(), case.get("non_float")) {
            (Some(input), Some(output), None) => run(model, input, output, &work),
            // Several inputs or integer data: nnspec must refuse it, and cleanly.
            _ => {
                let out = nnspec(&["import", model, "-o", work.join("m.nn").to_str().expect("UTF-8")]);
                let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
                if out.status.code() == Some(1) && stderr.starts_with("error: cannot import") {
                    Ok(Outcome::Refused(stderr.trim().to_string()))
                } else {
                    Err(format!("expected a clean refusal, got {:?}:\n{stderr}", out.status))
                }
            }
        };
        match outcome {
            Ok(Outcome::Imported { worst_use, worst_abs, spec_bytes }) => imported.push(format!(
                "{name}: worst |error| {worst_abs:.2e} ({:.1}% of the f32 budget), spec {spec_bytes} bytes",
                100.0 * worst_use
            )),
            Ok(Outcome::Refused(reason)) => refused.push(format!("{name}: {}", reason.replace('\n', " "))),
            Err(problem) => failures.push(format!("{name}: {problem}")),
        }
    }
    println!("imported and reproduced: {}", imported.len());
    imported.iter().for_each(|l| println!("  {l}"));
    println!("refused: {}", refused.len());
    refused.iter().for_each(|l| println!("  {l}"));
    assert!(failures.is_empty(), "{} backend models failed:\n{}", failures.len(), failures.join("\n"));
    assert!(!imported.is_empty(), "no backend model imported: is the onnx package installed?");
}

#[test]
fn pytorch_models_exported_by_both_exporters_import_and_agree_with_onnxruntime() {
    let dir = scratch("pytorch");
    let cases = cases("models.py", &dir);
    let (mut report, mut failures) = (Vec::new(), Vec::new());
    let mut exported_by: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for case in &cases {
        let label =
            format!("{} ({})", case["name"].as_str().expect("name"), case["exporter"].as_str().expect("exporter"));
        if let Some(error) = case["export_error"].as_str() {
            report.push(format!("{label}: PyTorch could not export it: {error}"));
            continue;
        }
        *exported_by.entry(case["name"].as_str().expect("name").to_string()).or_default() += 1;
        let work = dir.join("work");
        std::fs::create_dir_all(&work).expect("a work directory");
        let (model, input, expected) = (
            case["model"].as_str().expect("model"),
            case["input_csv"].as_str().expect("input"),
            case["expected_csv"].as_str().expect("expected"),
        );
        match run(model, input, expected, &work) {
            Ok(Outcome::Imported { worst_use, worst_abs, .. }) => report
                .push(format!("{label}: worst |error| {worst_abs:.2e} ({:.1}% of the f32 budget)", 100.0 * worst_use)),
            Ok(Outcome::Refused(reason)) => failures.push(format!("{label}: refused: {reason}")),
            Err(problem) => failures.push(format!("{label}: {problem}")),
        }
    }
    report.iter().for_each(|l| println!("{l}"));
    assert!(failures.is_empty(), "{} PyTorch models failed:\n{}", failures.len(), failures.join("\n"));
    assert!(exported_by.len() >= 9, "models.py exported only {exported_by:?}");
}
