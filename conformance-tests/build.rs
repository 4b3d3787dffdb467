//! Writes a `.nn` spec for every network file in the conformance directory
//! (`NNSPEC_CONFORMANCE`, default `../shared/conformance`) and compiles it with
//! the build-script API, so the tests exercise generated code for whatever
//! networks the directory holds. A network with a dropout case gets a second
//! spec with `dropout(p)` after each hidden layer.

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=NNSPEC_CONFORMANCE");
    let dir = std::env::var_os("NNSPEC_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"));
    let networks_dir = dir.join("networks");
    println!("cargo:rerun-if-changed={}", networks_dir.display());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&networks_dir)
        .map(|read| read.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|e| e == "json"));
    entries.sort();
    let mut specs = String::new();
    let mut registry = String::from(
        "/// Makes a zeroed generated network.\npub type Constructor = fn() -> Box<dyn nnspec::Model>;\n\n/// The generated networks by conformance file stem: (stem, dropout variant, constructor).\npub fn registry() -> Vec<(&'static str, bool, Constructor)> {\n    vec![\n",
    );
    for path in &entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(path).expect("readable network file");
        let network: Value = serde_json::from_str(&text).expect("network JSON");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let type_name = camel(&stem);
        specs.push_str(&spec(&type_name, &network, None));
        writeln!(registry, "        ({stem:?}, false, || Box::new({type_name}::zeroed())),").unwrap();
        if let Some(p) = network.get("dropout_case").and_then(|c| c.get("p_drop")).and_then(Value::as_f64) {
            let dropout_name = format!("{type_name}Dropout");
            specs.push_str(&spec(&dropout_name, &network, Some(p)));
            writeln!(registry, "        ({stem:?}, true, || Box::new({dropout_name}::zeroed())),").unwrap();
        }
    }
    registry.push_str("    ]\n}\n");
    let spec_path = out_dir.join("conformance.nn");
    std::fs::write(&spec_path, &specs).expect("write specs");
    std::fs::write(out_dir.join("registry.rs"), registry).expect("write registry");
    nnspec_codegen::Builder::new()
        .file(&spec_path)
        .compile()
        .unwrap_or_else(|error| panic!("the generated conformance specs do not compile:\n{error}"));
}

fn camel(stem: &str) -> String {
    stem.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect::<String>()
        .replace('.', "_")
}

fn spec(name: &str, network: &Value, dropout: Option<f64>) -> String {
    let layers = network["layers"].as_array().expect("layers");
    let mut out =
        format!("/// Conformance network `{}`.\nnetwork {name} {{\n", network["name"].as_str().unwrap_or(name));
    writeln!(out, "    input x: [{}];", layers[0]["in"]).unwrap();
    for (index, layer) in layers.iter().enumerate() {
        let bias = layer["bias"].as_bool().unwrap_or(true);
        writeln!(
            out,
            "    dense {}: {}, activation = {}, bias = {bias};",
            layer["name"].as_str().expect("name"),
            layer["out"],
            layer["activation"].as_str().expect("activation")
        )
        .unwrap();
        if let Some(p) = dropout.filter(|_| index + 1 < layers.len()) {
            writeln!(out, "    dropout({p:?});").unwrap();
        }
    }
    let last = layers.last().unwrap()["activation"].as_str().unwrap();
    let loss = match (network["loss"]["type"].as_str().expect("loss"), last) {
        ("softmax_cross_entropy", "softmax") => "cross_entropy",
        ("binary_cross_entropy", "identity") => "binary_cross_entropy_with_logits",
        (other, _) => other,
    };
    writeln!(out, "    loss {loss};\n}}\n").unwrap();
    out
}
