//! The code behind the runnable examples, shared with their tests: each
//! example's `main` prints a report of what these functions return, and the
//! tests compare the same results with the conformance references.

pub mod cubic;
pub mod flower;
pub mod gestures;
pub mod imported;
pub mod int8;
pub mod optimizers;
pub mod overfitting;
pub mod real_data;
pub mod student;
pub mod synthetic;
pub mod truth_tables;
pub mod xor;

use std::path::{Path, PathBuf};

/// The conformance directory: `$NNSPEC_CONFORMANCE`, else `../shared/conformance`
/// beside the workspace.
pub fn conformance_dir() -> PathBuf {
    std::env::var_os("NNSPEC_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"))
}

/// Reads a JSON file of the conformance directory, if it is there.
pub fn conformance_json(relative: &str) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(conformance_dir().join(relative)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every number of a nested JSON array, row-major, as f32.
pub fn flat32(value: &serde_json::Value) -> Vec<f32> {
    match value {
        serde_json::Value::Array(items) => items.iter().flat_map(flat32).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN) as f32],
        _ => Vec::new(),
    }
}

/// The interpreter network of `model`'s graph with `inputs` features and the
/// first dense layer's units changed to `hidden` (for a setting from a
/// reference file that no generated network of the examples has). Every node
/// keeps its attributes and parameter settings.
pub fn with_hidden_units(model: &dyn nnspec::Model, inputs: usize, hidden: usize) -> nnspec::Interpreter {
    let mut nodes = model.nodes().to_vec();
    nodes[0] = nodes[0].clone().with_shape(&[inputs]);
    if let Some(first) = nodes.iter_mut().find(|n| matches!(n.op, nnspec::Op::Dense { .. })) {
        *first = first.clone().with_shape(&[hidden]);
    }
    nnspec::Interpreter::graph(model.name(), nodes, model.loss_kind()).expect("a chain of dense layers with new widths")
}

/// Where examples write their pictures: `$NNSPEC_OUT`, else `target/nnspec-examples`.
pub fn output_dir() -> PathBuf {
    let dir = std::env::var_os("NNSPEC_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/nnspec-examples"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The code blocks of `docs/guide.md`, run as doc tests.
#[doc = include_str!("../../docs/guide.md")]
#[cfg(doctest)]
pub struct Guide;
