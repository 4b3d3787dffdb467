//! int8 inference loses at most 1 point of test accuracy on iris, breast
//! cancer and digits (MLP and CNN), and at most 2 on the signals CNN, with
//! calibration on the training rows only (the data sets and splits are read
//! from `datasets/references.json`).

use nnspec_testkit as kit;

#[test]
fn int8_mlps_lose_at_most_one_point() {
    let references = kit::json("datasets/references.json");
    let directory = kit::dir().join("datasets");
    let mut checked = 0;
    for (name, entry) in references["datasets"].as_object().expect("datasets") {
        if entry["task"] != "classification" {
            continue;
        }
        for seed in 0..2 {
            let c = nnspec_examples::int8::mlp(&directory, entry, seed).unwrap_or_else(|e| panic!("{name}: {e}"));
            println!(
                "{name} (seed {seed}): f32 {:.4}, int8 {:.4}; {} → {} bytes",
                c.f32_accuracy, c.int8_accuracy, c.f32_bytes, c.int8_bytes
            );
            assert!(c.int8_accuracy >= c.f32_accuracy - 0.01, "{name} (seed {seed}): {c:?}");
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} classification data sets");
}

#[test]
fn int8_cnns_lose_at_most_one_point_on_digits_and_two_on_signals() {
    let references = kit::json("datasets/references.json");
    let directory = kit::dir().join("datasets");
    let mut checked = 0;
    for (name, entry) in references["conv_nets"].as_object().expect("conv_nets") {
        if name == "note" {
            continue;
        }
        let allowed = if entry["csv"].as_str().is_some_and(|csv| csv.contains("signals")) { 0.02 } else { 0.01 };
        let c = nnspec_examples::int8::cnn(&directory, name, entry, 0).unwrap_or_else(|e| panic!("{name}: {e}"));
        println!(
            "{name}: f32 {:.4}, int8 {:.4}; {} → {} bytes",
            c.f32_accuracy, c.int8_accuracy, c.f32_bytes, c.int8_bytes
        );
        assert!(c.int8_accuracy >= c.f32_accuracy - allowed, "{name}: {c:?}");
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} CNN entries");
}

/// The trained reference networks (seed 0) in f32 and int8 that the int8
/// benchmark compiles in (`bench/models/`): they load for the specs of
/// `bench/specs/` and `examples/specs/cnn.nn`. `NNSPEC_BLESS=1` rewrites them.
#[test]
fn the_benchmarks_int8_models_are_current() {
    let references = kit::json("datasets/references.json");
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
            let reference = &references[group][entry];
            let mut q = if group == "datasets" {
                let fitted = nnspec_examples::real_data::fit(&directory, reference, 0).unwrap();
                let metadata = nnspec::weights::standardizer_metadata(&fitted.standardizer);
                nnspec::weights::save_with_metadata(&fitted.model, &f32_file, &metadata).unwrap();
                nnspec::quant::quantize(&fitted.model, &fitted.train.x, Some(&fitted.standardizer)).unwrap()
            } else {
                let quantized = nnspec_examples::int8::quantize_cnn(&directory, entry, reference, 0).unwrap();
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
