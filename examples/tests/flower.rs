//! The flower example reproduces the course: logistic regression's accuracy,
//! the early costs of every hidden size tightly, and the sweep's train
//! accuracies within the reference's ±0.025 band (all read from
//! `flower/flower_reference.json`).

use nnspec_examples::flower;
use nnspec_testkit::{self as kit, assert_close, Tolerance};

#[test]
fn hidden_size_sweep_matches_the_course() {
    let reference = kit::json("flower/flower_reference.json");
    let data = flower::data().expect("flower data");
    let course = flower::Course::from_reference(&reference).expect("hidden sizes, lr and iterations");
    let runs = reference["nn"]["runs"].as_array().unwrap();
    assert_eq!(runs.len(), course.sizes.len());
    let results = flower::sweep(&data, &course.sizes, course.iterations, Some(course.lr));
    for (run, result) in runs.iter().zip(results) {
        let h = result.hidden;
        // The initial weights are float64 values rounded to f32, so early costs agree to ~1e-7 relative.
        let early = Tolerance { rtol: 1e-5, atol: 1e-6 };
        for pair in run["cost_first_10_iterations"].as_array().unwrap() {
            let (i, cost) = (pair[0].as_u64().unwrap() as usize, pair[1].as_f64().unwrap());
            assert_close(&format!("h={h} cost[{i}]"), &[result.costs[i].1 as f32], &[cost], early);
        }
        let expected = run["train_accuracy"].as_f64().unwrap();
        assert!(
            (result.accuracy - expected).abs() <= 0.025,
            "h={h}: accuracy {} vs reference {expected} ± 0.025",
            result.accuracy
        );
    }
}

#[test]
fn logistic_regression_cannot_separate_the_petals() {
    let reference = kit::json("flower/flower_reference.json");
    let expected = reference["logistic_regression_cv_train_accuracy"].as_f64().unwrap();
    let data = flower::data().expect("flower data");
    let course = flower::Course::from_reference(&reference).expect("lr and iterations");
    let run = flower::logistic(&data, course.iterations);
    assert!((run.accuracy - expected).abs() <= 0.025, "logistic accuracy {} vs {expected}", run.accuracy);
}

/// The PyTorch-trained model compiled from its ONNX file by `build.rs`
/// classifies the flower points as PyTorch did (its script prints 0.925);
/// an untrained or mis-imported network is near chance (0.5).
#[test]
fn the_model_trained_in_pytorch_runs_as_generated_code() {
    let accuracy = nnspec_examples::imported::accuracy().expect("the flower data");
    assert!(accuracy >= 0.9, "accuracy {accuracy}");
}
