//! The XOR example reproduces the tutorial: loss checkpoints every 100
//! iterations and the final predictions, read from
//! `tutorial/xor_tutorial.json` of the conformance directory.

use nnspec_testkit::{self as kit, assert_close, flat, flat32, Tolerance};

#[test]
fn xor_matches_the_tutorial_run() {
    let reference = kit::json("tutorial/xor_tutorial.json");
    let mut initial = flat32(&reference["init"]["syn0"]);
    initial.extend(flat32(&reference["init"]["syn1"]));
    let iterations = reference["iterations"].as_u64().unwrap() as usize;
    let report = nnspec_examples::xor::run(&initial, iterations);
    // 1500 f32 iterations drift from the f64 reference by accumulated rounding;
    // float32 NumPy lands 1e-7 away, so the README's f32 tolerance applies.
    let tolerance = Tolerance { rtol: 1e-4, atol: 1e-6 };
    for pair in reference["loss_checkpoints"].as_array().unwrap() {
        let (iteration, expected) = (pair[0].as_u64().unwrap() as usize, pair[1].as_f64().unwrap());
        let got = report.checkpoints.iter().find(|(i, _)| *i == iteration).map(|c| c.1 as f32);
        let got = got.unwrap_or_else(|| panic!("no checkpoint at iteration {iteration}"));
        assert_close(&format!("loss at iteration {iteration}"), &[got], &[expected], tolerance);
    }
    assert_close("predictions", &report.predictions, &flat(&reference["final"]["predictions"]), kit::F32);
    let classes: Vec<f64> = report.predictions.iter().map(|p| f64::from(u8::from(*p > 0.5))).collect();
    assert_eq!(classes, flat(&reference["final"]["predicted_class_threshold_0.5"]));
}
