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
