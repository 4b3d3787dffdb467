//! int8 inference loses at most 1 point of test accuracy on every
//! classification data set (MLP) and image CNN, and at most 2 on the 1-D
//! signal CNNs, with calibration on the training rows only (the data sets,
//! splits and architectures are read from `datasets/references.json`).

use nnspec::Model;
use nnspec_testkit::{self as kit, datasets};

#[test]
fn int8_mlps_lose_at_most_one_point() {
    let directory = kit::dir().join("datasets");
    for entry in datasets::classification() {
        for seed in 0..2 {
            let c = nnspec_examples::int8::mlp(&directory, &entry.value, seed)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            println!(
                "{} (seed {seed}): f32 {:.4}, int8 {:.4}; {} → {} bytes",
                entry.name, c.f32_accuracy, c.int8_accuracy, c.f32_bytes, c.int8_bytes
            );
            assert!(c.int8_accuracy >= c.f32_accuracy - 0.01, "{} (seed {seed}): {c:?}", entry.name);
        }
    }
}

/// Every regression entry of `datasets`: the int8 MLP's test R² is within
/// 0.02 of the f32 network's.
#[test]
fn int8_regression_mlps_keep_their_r2() {
    let directory = kit::dir().join("datasets");
    let entries: Vec<_> = datasets::entries("datasets").into_iter().filter(|e| !e.is_classification()).collect();
    for entry in datasets::require("a regression data set", entries) {
        let fitted = nnspec_examples::real_data::fit(&directory, &entry.value, 0).unwrap();
        let (mean, std) = fitted.target.expect("a regression target is standardised for training");
        let network = nnspec::quant::quantize(&fitted.model, &fitted.train.x, Some(&fitted.standardizer)).unwrap();
        let mut f32_test = fitted.test.clone();
        fitted.standardizer.apply(&mut f32_test);
        let unscale = |v: f32| v * std + mean;
        let f32_outputs: Vec<f32> =
            nnspec::train::predict(&fitted.model, &f32_test.x, &mut nnspec::Workspace::default())
                .into_iter()
                .map(unscale)
                .collect();
        let int8_outputs: Vec<f32> = fitted
            .test
            .x
            .chunks_exact(fitted.test.features)
            .flat_map(|row| network.predict(row))
            .map(unscale)
            .collect();
        let (f32_r2, _) = nnspec::train::r2_and_mse(&f32_outputs, &fitted.test.y, 1);
        let (int8_r2, _) = nnspec::train::r2_and_mse(&int8_outputs, &fitted.test.y, 1);
        println!("{}: test R² f32 {f32_r2:.4}, int8 {int8_r2:.4}", entry.name);
        assert!(int8_r2 >= f32_r2 - 0.02, "{}: R² f32 {f32_r2}, int8 {int8_r2}", entry.name);
    }
}

/// Every CNN of `conv_nets`, written from its entry's architecture: at most 1
/// point lost on 2-D inputs (images) and 2 on 1-D inputs (sequences of channels, whose
/// test sets are small and noisy).
#[test]
fn int8_cnns_lose_at_most_one_point_on_images_and_two_on_1d_inputs() {
    let directory = kit::dir().join("datasets");
    for entry in datasets::require("a CNN", datasets::entries("conv_nets")) {
        let allowed = if entry.input_shape().len() == 2 { 0.02 } else { 0.01 };
        let (model, config) = datasets::interpreter(&entry.trained_spec("Cnn"), "Cnn", 0);
        let c = nnspec_examples::int8::cnn(&directory, &entry.value, Box::new(model), config)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        println!(
            "{}: f32 {:.4}, int8 {:.4}; {} → {} bytes",
            entry.name, c.f32_accuracy, c.int8_accuracy, c.f32_bytes, c.int8_bytes
        );
        assert!(c.int8_accuracy >= c.f32_accuracy - allowed, "{}: {c:?}", entry.name);
    }
}

/// `AllConv` of `examples/specs/cnn.nn` (no dense layer: convolutions, then
/// `global_avg_pool` as the output) sized for every image entry of
/// `conv_nets`: it trains well past chance, and int8 loses at most 2 points.
#[test]
fn a_fully_convolutional_network_trains_and_quantises() {
    let directory = kit::dir().join("datasets");
    for entry in datasets::conv_nets(3) {
        let text = datasets::all_conv_spec(&entry);
        let (model, config) = datasets::interpreter(&text, "AllConv", 0);
        assert!(!nnspec::Model::nodes(&model).iter().any(|n| matches!(n.op, nnspec::Op::Dense { .. })));
        let c = nnspec_examples::int8::cnn(&directory, &entry.value, Box::new(model), config)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        println!("{} without a dense layer: f32 {:.4}, int8 {:.4}", entry.name, c.f32_accuracy, c.int8_accuracy);
        let chance = 1.0 / entry.n_classes() as f64;
        assert!(c.f32_accuracy > (1.0 + chance) / 2.0, "{}: {c:?}", entry.name);
        assert!(c.int8_accuracy >= c.f32_accuracy - 0.02, "{}: {c:?}", entry.name);
    }
}

/// The trained reference networks (seed 0) in f32 and int8 that the int8
/// benchmark compiles in (`bench/models/STEM.safetensors` and
/// `STEM.int8.safetensors`): each loads for its spec, `bench/specs/STEM.nn`
/// (an MLP) or `examples/specs/cnn.nn` (the example CNN the examples crate
/// keeps for STEM). Every bench spec has its files. Only `NNSPEC_BLESS=1`,
/// which rewrites them from the reference entry named STEM, reads the
/// reference data.
#[test]
fn the_benchmarks_int8_models_are_current() {
    let directory = kit::dir().join("datasets");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let models = root.join("bench/models");
    let stems = |dir: &std::path::Path, suffix: &str| -> Vec<String> {
        let mut stems: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(suffix).map(String::from))
            .collect();
        stems.sort();
        stems
    };
    let cases = stems(&models, ".int8.safetensors");
    for spec in stems(&root.join("bench/specs"), ".nn") {
        assert!(cases.contains(&spec), "bench/specs/{spec}.nn has no model files in bench/models");
    }
    assert!(cases.iter().any(|stem| !root.join(format!("bench/specs/{stem}.nn")).exists()), "no CNN model");
    for stem in cases {
        let (f32_file, int8_file) =
            (models.join(format!("{stem}.safetensors")), models.join(format!("{stem}.int8.safetensors")));
        let mlp_spec = root.join(format!("bench/specs/{stem}.nn"));
        let spec = if mlp_spec.exists() { mlp_spec } else { root.join("examples/specs/cnn.nn") };
        let program = nnspec_lang::check_source(&std::fs::read_to_string(&spec).unwrap()).unwrap().program;
        let cnn = nnspec_examples::real_data::example_cnn(&stem, 0);
        let network = match &cnn {
            None => program.networks[0].name.clone(),
            Some((model, _)) => model.name().to_string(),
        };
        if std::env::var_os("NNSPEC_BLESS").is_some() {
            let references = kit::json("datasets/references.json");
            let group = if cnn.is_some() { "conv_nets" } else { "datasets" };
            let reference = &references[group][&stem];
            assert!(reference.is_object(), "references.json has no {group}.{stem} to bless from");
            let mut q = match cnn {
                None => {
                    let fitted = nnspec_examples::real_data::fit(&directory, reference, 0).unwrap();
                    let metadata = nnspec::weights::standardizer_metadata(&fitted.standardizer);
                    // Saved under the spec's network name, which the file records and loading checks.
                    let bytes = nnspec::weights::to_safetensors_with(
                        &network,
                        fitted.model.tensors(),
                        fitted.model.params(),
                        &metadata,
                    )
                    .unwrap();
                    nnspec::weights::write_atomically(&f32_file, &bytes).unwrap();
                    nnspec::quant::quantize(&fitted.model, &fitted.train.x, Some(&fitted.standardizer)).unwrap()
                }
                Some((model, config)) => {
                    let quantized = nnspec_examples::int8::quantize_cnn(&directory, reference, model, config).unwrap();
                    nnspec::weights::save(quantized.model.as_ref(), &f32_file).unwrap();
                    quantized.network
                }
            };
            q.name = network.clone();
            nnspec::quant::save(&q, &int8_file).unwrap();
        }
        let net = program.network(&network).unwrap_or_else(|| panic!("{} has no `{network}`", spec.display()));
        nnspec::quant::load(&net.plan(), &int8_file).unwrap_or_else(|e| panic!("{e} (NNSPEC_BLESS=1 rewrites it)"));
        let mut model = nnspec_cli::convert::network(net);
        nnspec::weights::load(&mut model, &f32_file).unwrap_or_else(|e| panic!("{e} (NNSPEC_BLESS=1 rewrites it)"));
    }
}

/// Every `sequence_nets` entry (time-first `[T, F]` samples), its recurrent
/// network as the entry names it and the same network with the other cell
/// (GRU and LSTM): integer-only recurrent kernels lose at most 1 point.
#[test]
fn int8_recurrent_networks_lose_at_most_one_point() {
    let directory = kit::dir().join("datasets");
    for entry in datasets::require("a sequence classifier", datasets::entries("sequence_nets")) {
        let text = datasets::sequence_spec(&entry, "Sequence");
        let other = if text.contains("gru rnn") {
            text.replace("gru rnn", "lstm rnn")
        } else {
            text.replace("lstm rnn", "gru rnn")
        };
        for text in [text, other] {
            let cell = if text.contains("gru rnn") { "gru" } else { "lstm" };
            let (model, config) = datasets::interpreter(&text, "Sequence", 0);
            let c = nnspec_examples::int8::cnn(&directory, &entry.value, Box::new(model), config)
                .unwrap_or_else(|e| panic!("{} ({cell}): {e}", entry.name));
            println!(
                "{} ({cell}): f32 {:.4}, int8 {:.4}; {} → {} bytes",
                entry.name, c.f32_accuracy, c.int8_accuracy, c.f32_bytes, c.int8_bytes
            );
            assert!(c.int8_accuracy >= c.f32_accuracy - 0.01, "{} ({cell}): {c:?}", entry.name);
        }
    }
}
