//! The seed-001/002/003 examples give the results their tutorials teach.

use nnspec_examples::{cubic, optimizers, overfitting, student};

#[test]
fn six_sigmoid_units_approximate_the_cubic() {
    let (_, max_error) = cubic::fit(6000);
    // f spans [−3, 9] on [−2, 2]; the fit is within 2% of that range everywhere.
    assert!(max_error < 0.25, "largest error {max_error}");
}

#[test]
fn student_models_classify_and_regress() {
    let trained = student::train(1).expect("trains");
    assert!(trained.accuracy >= 0.85, "accuracy {}", trained.accuracy);
    assert!(trained.r2 >= 0.85, "R² {}", trained.r2);
    let (p, score) = trained.predict(&student::STUDENT_A);
    let expected = student::true_score(&student::STUDENT_A);
    assert!(p > 0.5, "student A should pass (P = {p})");
    assert!((score - expected).abs() < 6.0, "student A scored {score}, generator says {expected}");
}

#[test]
fn learning_rates_too_small_good_and_too_large() {
    let small = student::learning_rate_trial(1e-5, 50, 1).expect("a tiny rate does not diverge");
    let good = student::learning_rate_trial(0.05, 50, 1).expect("a good rate does not diverge");
    assert!(good < small / 10.0, "good {good} vs small {small}");
    let large = student::learning_rate_trial(5.0, 50, 1);
    assert!(matches!(large, Err(nnspec::Error::NonFinite { .. })), "{large:?}");
}

#[test]
fn adaptive_optimizers_beat_plain_gradient_descent() {
    let data = nnspec_examples::flower::data().expect("flower data");
    let curves = optimizers::compare(&data, 100, &[1, 2, 3]);
    let last = |name: &str| curves.iter().find(|(n, _)| *n == name).map(|(_, c)| *c.last().unwrap()).unwrap();
    for adaptive in ["Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"] {
        assert!(last(adaptive) < last("batch GD"), "{adaptive} {} vs batch GD {}", last(adaptive), last("batch GD"));
    }
    for adaptive in ["RMSProp", "Adam"] {
        assert!(last(adaptive) < last("mini-batch SGD"), "{adaptive} vs mini-batch SGD");
    }
}

#[test]
fn regularisation_shrinks_the_validation_gap() {
    let fits = overfitting::compare(&[1, 2]);
    let gap = |name: &str| fits.iter().find(|(n, _)| *n == name).map(|(_, f)| f.validation - f.train).unwrap();
    assert!(gap("none") > 0.05, "the plain network should overfit (gap {})", gap("none"));
    for name in ["L2", "L1", "dropout"] {
        assert!(gap(name) < gap("none") * 0.6, "{name}: gap {} vs {}", gap(name), gap("none"));
    }
}
