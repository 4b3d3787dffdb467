//! Writes a `.nn` spec for every network file in the conformance directory
//! (`NNSPEC_CONFORMANCE`, default `../shared/conformance`) and compiles it with
//! the build-script API, so the tests exercise generated code for whatever
//! networks the directory holds. A network with a dropout case gets a second
//! spec with `dropout(p)` after each hidden layer. Every whole training run of
//! `training/` becomes a spec too, its `train { … }` block and per-layer
//! penalties written from the run's settings; its text is kept so the tests can
//! also train it through the interpreter. Every graph of `graphs/` becomes a
//! spec too (`testkit/src/graph_spec.rs`, shared with the tests).

#[path = "../testkit/src/graph_spec.rs"]
#[allow(dead_code)] // the tests also write trained specs from it
mod graph_spec;

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
    let entries = json_files(&networks_dir);
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
    let mut training = String::new();
    let mut training_registry = String::from(
        "/// The whole training runs, by conformance file stem.\npub fn training_registry() -> Vec<TrainingRun> {\n    vec![\n",
    );
    let training_dir = dir.join("training");
    println!("cargo:rerun-if-changed={}", training_dir.display());
    for path in json_files(&training_dir) {
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("readable training file");
        let run: Value = serde_json::from_str(&text).expect("training JSON");
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let type_name = format!("Run{}", camel(&stem));
        let mut text = spec(&type_name, &run, None);
        text.truncate(text.trim_end().len() - 1);
        text.push_str(&train_block(&run["training"]));
        text.push_str("}\n\n");
        training.push_str(&text);
        writeln!(
            training_registry,
            "        TrainingRun {{ stem: {stem:?}, network: {type_name:?}, make: || Box::new({type_name}::zeroed()), config: {type_name}::train_config }},"
        )
        .unwrap();
    }
    training_registry.push_str("    ]\n}\n");
    registry.push_str(&training_registry);
    specs.push_str(&training);
    // Every graph file the language can express, as `Graph<Stem>` (`graphs/`)
    // and `Sequence<Stem>` (`sequences/`), keyed `folder/stem`.
    let mut graph_registry = String::from(
        "/// The generated graphs of `graphs/` and `sequences/`, by `folder/stem`.\npub fn graph_registry() -> Vec<(&'static str, Constructor)> {\n    vec![\n",
    );
    for (folder, prefix) in [("graphs", "Graph"), ("sequences", "Sequence")] {
        let graphs_dir = dir.join(folder);
        println!("cargo:rerun-if-changed={}", graphs_dir.display());
        for path in json_files(&graphs_dir) {
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path).expect("readable graph file");
            let file: Value = serde_json::from_str(&text).expect("graph JSON");
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let type_name = format!("{prefix}{}", camel(&stem));
            if let Ok(spec) = graph_spec::spec(&file, &type_name) {
                specs.push_str(&spec);
                specs.push('\n');
                let key = format!("{folder}/{stem}");
                writeln!(graph_registry, "        ({key:?}, || Box::new({type_name}::zeroed())),").unwrap();
            }
        }
    }
    graph_registry.push_str("    ]\n}\n");
    registry.push_str(&graph_registry);
    let spec_path = out_dir.join("conformance.nn");
    std::fs::write(&spec_path, &specs).expect("write specs");
    std::fs::write(out_dir.join("training.nn"), &training).expect("write training specs");
    std::fs::write(out_dir.join("registry.rs"), registry).expect("write registry");
    nnspec_codegen::Builder::new()
        .file(&spec_path)
        .compile()
        .unwrap_or_else(|error| panic!("the generated conformance specs do not compile:\n{error}"));
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|read| read.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|e| e == "json"));
    entries.sort();
    entries
}

/// A number as the spec language reads it back to the same f64.
fn number(value: &Value) -> String {
    format!("{:?}", value.as_f64().expect("a number"))
}

/// The `train { … }` block of a whole training run, in PyTorch's terms translated to the spec's.
fn train_block(training: &Value) -> String {
    let h = &training["hyperparameters"];
    let arg = |key: &str| h.get(key).filter(|v| !v.is_null()).map(|v| format!("{key} = {}", number(v)));
    let flag = |key: &str| h.get(key).and_then(Value::as_bool).map(|v| format!("{key} = {v}"));
    let (name, args): (&str, Vec<Option<String>>) = match training["optimizer"].as_str().expect("optimizer") {
        "SGD" => ("sgd", vec![arg("lr"), arg("momentum"), arg("dampening"), flag("nesterov"), arg("weight_decay")]),
        "Adagrad" => (
            "adagrad",
            vec![arg("lr"), arg("lr_decay"), arg("weight_decay"), arg("initial_accumulator_value"), arg("eps")],
        ),
        "RMSprop" => (
            "rmsprop",
            vec![arg("lr"), arg("alpha"), arg("eps"), arg("weight_decay"), arg("momentum"), flag("centered")],
        ),
        kind @ ("Adam" | "AdamW") => {
            let betas = h["betas"].as_array().expect("betas");
            let betas = format!("betas = ({}, {})", number(&betas[0]), number(&betas[1]));
            let name = if kind == "Adam" { "adam" } else { "adamw" };
            (name, vec![arg("lr"), Some(betas), arg("eps"), arg("weight_decay"), flag("amsgrad")])
        }
        other => panic!("unknown optimizer `{other}`"),
    };
    let args: Vec<String> = args.into_iter().flatten().collect();
    let mut settings = vec![format!("optimizer = {name}({})", args.join(", "))];
    let batch = training["batch_size"].as_u64().expect("batch_size");
    settings.push(format!("batch = {batch}"));
    settings.push(format!("epochs = {}", training["epochs"]));
    settings.push(format!("shuffle = {}", training["shuffle"].as_bool().unwrap_or(false)));
    if let Some(schedule) = training.get("lr_schedule").filter(|s| !s.is_null()) {
        let p = &schedule["params"];
        let text = match schedule["scheduler"].as_str().expect("scheduler") {
            "StepLR" => format!("step(step_size = {}, gamma = {})", p["step_size"], number(&p["gamma"])),
            "MultiStepLR" => format!("multistep(milestones = {}, gamma = {})", p["milestones"], number(&p["gamma"])),
            "ExponentialLR" => format!("exponential(gamma = {})", number(&p["gamma"])),
            "CosineAnnealingLR" => format!("cosine(t_max = {}, eta_min = {})", p["T_max"], number(&p["eta_min"])),
            "LinearLR" => format!(
                "linear(start_factor = {}, end_factor = {}, total_iters = {})",
                number(&p["start_factor"]),
                number(&p["end_factor"]),
                p["total_iters"]
            ),
            other => panic!("unknown scheduler `{other}`"),
        };
        settings.push(format!("schedule = {text}"));
    }
    if let Some(clipping) = training.get("grad_clipping").filter(|c| !c.is_null()) {
        match clipping["function"].as_str().expect("function") {
            "clip_grad_norm_" => settings.push(format!("clip_grad_norm = {}", number(&clipping["max_norm"]))),
            "clip_grad_value_" => settings.push(format!("clip_grad_value = {}", number(&clipping["clip_value"]))),
            other => panic!("unknown clipping `{other}`"),
        }
    }
    format!("    train {{\n        {},\n    }}\n", settings.join(",\n        "))
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
    let penalties = network.get("training").and_then(|t| t["penalties"].as_array()).cloned().unwrap_or_default();
    for (index, layer) in layers.iter().enumerate() {
        let bias = layer["bias"].as_bool().unwrap_or(true);
        let name = layer["name"].as_str().expect("name");
        let mut penalty = String::new();
        if let Some(entry) = penalties.iter().find(|p| p["layer"].as_str() == Some(name)) {
            for key in ["l1", "l2"] {
                if entry[key].as_f64().is_some_and(|c| c > 0.0) {
                    write!(penalty, ", {key} = {}", number(&entry[key])).unwrap();
                }
            }
        }
        writeln!(
            out,
            "    dense {name}: {}, activation = {}, bias = {bias}{penalty};",
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
