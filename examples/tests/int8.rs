//! int8 inference loses at most 1 point of test accuracy on every
//! classification data set (MLP) and image CNN, and at most 2 on the 1-D
//! signal CNNs, with calibration on the training rows only (the data sets,
//! splits and architectures are read from `datasets/references.json`).

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

/// Every CNN of `conv_nets`, written from its entry's architecture: at most 1
/// point lost on 2-D inputs (images) and 2 on 1-D inputs (signals, whose
/// test sets are small and noisy).
#[test]
fn int8_cnns_lose_at_most_one_point_on_images_and_two_on_signals() {
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
/// benchmark compiles in (`bench/models/`, named after the visible set's
/// entries they were trained on): they load for the specs of `bench/specs/`
/// and `examples/specs/cnn.nn`. Only `NNSPEC_BLESS=1`, which rewrites them from
/// the visible set, reads the reference data.
#[test]
fn the_benchmarks_int8_models_are_current() {
    let directory = kit::dir().join("datasets");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let models = root.join("bench/models");
    let cases = [
        ("iris", "datasets", "Iris", "bench/specs/iris.nn"),
        ("breast_cancer", "datasets", "BreastCancer", "bench/specs/breast_cancer.nn"),
        ("digits", "datasets", "Digits", "bench/specs/digits.nn"),
        ("digits_8x8_cnn", "conv_nets", "DigitsCnn", "examples/specs/cnn.nn"),
        ("signals_cnn", "conv_nets", "SignalsCnn", "examples/specs/cnn.nn"),
    ];
    for (entry, group, network, spec) in cases {
        let (f32_file, int8_file) =
            (models.join(format!("{entry}.safetensors")), models.join(format!("{entry}.int8.safetensors")));
        if std::env::var_os("NNSPEC_BLESS").is_some() {
            let references = kit::json("datasets/references.json");
            let reference = &references[group][entry];
            let mut q = if group == "datasets" {
                let fitted = nnspec_examples::real_data::fit(&directory, reference, 0).unwrap();
                let metadata = nnspec::weights::standardizer_metadata(&fitted.standardizer);
                nnspec::weights::save_with_metadata(&fitted.model, &f32_file, &metadata).unwrap();
                nnspec::quant::quantize(&fitted.model, &fitted.train.x, Some(&fitted.standardizer)).unwrap()
            } else {
                let (model, config) = nnspec_examples::real_data::example_cnn(entry, 0).unwrap();
                let quantized = nnspec_examples::int8::quantize_cnn(&directory, reference, model, config).unwrap();
                nnspec::weights::save(quantized.model.as_ref(), &f32_file).unwrap();
                quantized.network
            };
            q.name = network.to_string();
            nnspec::quant::save(&q, &int8_file).unwrap();
        }
        let text = std::fs::read_to_string(root.join(spec)).unwrap();
        let program = nnspec_lang::check_source(&text).unwrap().program;
        let net = program.network(network).unwrap();
        nnspec::quant::load(&net.plan(), &int8_file).unwrap_or_else(|e| panic!("{e} (NNSPEC_BLESS=1 rewrites it)"));
        let mut model = nnspec_cli::convert::network(net);
        nnspec::weights::load(&mut model, &f32_file).unwrap_or_else(|e| panic!("{e} (NNSPEC_BLESS=1 rewrites it)"));
    }
}
