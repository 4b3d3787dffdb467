//! The networks of the examples, for tests that check every one of them, and
//! targets that fit a network's loss.

#![allow(dead_code)] // each test file uses part of it

use nnspec::{Loss, Model};

/// `batch` rows of targets that fit `model`'s loss: class labels, 0/1 values or reals.
pub fn targets(model: &dyn Model, batch: usize) -> Vec<f32> {
    if model.loss_kind().takes_labels() {
        (0..batch).map(|i| (i % model.output_size()) as f32).collect()
    } else if matches!(model.loss_kind(), Loss::BinaryCrossEntropy | Loss::BinaryCrossEntropyWithLogits) {
        (0..batch * model.output_size()).map(|i| (i % 2) as f32).collect()
    } else {
        (0..batch * model.output_size()).map(|i| (i % 5) as f32 * 0.3 - 0.6).collect()
    }
}

/// `model` with its spec's initializers and `seed`.
pub fn initialised<M: Model>(mut model: M, seed: u64) -> M {
    model.init_params(seed);
    model
}

/// Every network the examples define, initialised.
pub fn example_networks() -> Vec<Box<dyn Model>> {
    use nnspec_examples::{cubic, flower, optimizers, overfitting, real_data::cnn, student, truth_tables, xor};
    vec![
        Box::new(initialised(xor::Xor::zeroed(), 1)),
        Box::new(initialised(truth_tables::Gate::zeroed(), 1)),
        Box::new(initialised(truth_tables::Perceptron::zeroed(), 1)),
        Box::new(initialised(truth_tables::XorMlp::zeroed(), 1)),
        Box::new(initialised(cubic::Cubic::zeroed(), 1)),
        Box::new(initialised(student::PassFail::zeroed(), 1)),
        Box::new(initialised(student::Score::zeroed(), 1)),
        Box::new(initialised(flower::Logistic::zeroed(), 1)),
        Box::new(initialised(flower::Planar::zeroed(), 1)),
        Box::new(initialised(flower::Hidden1::zeroed(), 1)),
        Box::new(initialised(flower::Hidden2::zeroed(), 1)),
        Box::new(initialised(flower::Hidden3::zeroed(), 1)),
        Box::new(initialised(flower::Hidden5::zeroed(), 1)),
        Box::new(initialised(flower::Hidden20::zeroed(), 1)),
        Box::new(initialised(flower::Hidden50::zeroed(), 1)),
        Box::new(initialised(optimizers::Flower16::zeroed(), 1)),
        Box::new(initialised(overfitting::Plain::zeroed(), 1)),
        Box::new(initialised(overfitting::WithL2::zeroed(), 1)),
        Box::new(initialised(overfitting::WithL1::zeroed(), 1)),
        Box::new(initialised(overfitting::WithDropout::zeroed(), 1)),
        Box::new(initialised(cnn::DigitsCnn::zeroed(), 1)),
        Box::new(initialised(cnn::SignalsCnn::zeroed(), 1)),
        Box::new(initialised(cnn::AllConv::zeroed(), 1)),
    ]
}

/// The text of every spec file the cross-runtime tests check, by path: the
/// examples', the graph test specs, `extra` ones, and every network of the
/// conformance directory (networks/, training/ and graphs/) as the build
/// script wrote them.
pub fn specs(extra: &[&str]) -> Vec<(String, String)> {
    let root = root();
    let files = [
        "examples/specs/planar.nn",
        "examples/specs/truth_tables.nn",
        "examples/specs/flower.nn",
        "examples/specs/cnn.nn",
        "examples/specs/residual.nn",
        "conformance-tests/tests/data/graphs.nn",
    ];
    let mut specs: Vec<(String, String)> =
        files.iter().chain(extra).map(|f| (f.to_string(), std::fs::read_to_string(root.join(f)).unwrap())).collect();
    specs.push(("conformance.nn".into(), include_str!(concat!(env!("OUT_DIR"), "/conformance.nn")).into()));
    specs
}

/// The workspace's root.
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python with PyTorch, onnxruntime, safetensors and NumPy: `NNSPEC_PYTHON`,
/// else `.venv/bin/python` at the workspace root.
pub fn python() -> std::path::PathBuf {
    std::env::var_os("NNSPEC_PYTHON").map(std::path::PathBuf::from).unwrap_or_else(|| root().join(".venv/bin/python"))
}
