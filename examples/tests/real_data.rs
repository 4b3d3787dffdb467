//! Every data set of `datasets/references.json` (the list is read from the
//! file) reaches its pass mark with the reference architecture, for three seeds.

use nnspec_testkit as kit;

#[test]
fn real_data_sets_reach_their_pass_marks() {
    let references = kit::json("datasets/references.json");
    let directory = kit::dir().join("datasets");
    let entries = references["datasets"].as_object().expect("datasets");
    assert!(!entries.is_empty());
    for (name, entry) in entries {
        for seed in 0..3 {
            let outcome =
                nnspec_examples::real_data::run(&directory, entry, seed).unwrap_or_else(|e| panic!("{name}: {e}"));
            let score = outcome.accuracy.or(outcome.r2).expect("a score");
            assert!(score >= outcome.pass_mark, "{name} (seed {seed}): {score:.4} < pass mark {}", outcome.pass_mark);
        }
    }
}

#[test]
fn the_cnns_reach_their_pass_marks() {
    let references = kit::json("datasets/references.json");
    let directory = kit::dir().join("datasets");
    let entries = references["conv_nets"].as_object().expect("conv_nets");
    let mut checked = 0;
    for (name, entry) in entries.iter().filter(|(name, _)| *name != "note") {
        for seed in 0..2 {
            let outcome = nnspec_examples::real_data::run_cnn(&directory, name, entry, seed)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let accuracy = outcome.accuracy.expect("an accuracy");
            println!("{name} (seed {seed}): test accuracy {accuracy:.4}, pass mark {}", outcome.pass_mark);
            assert!(accuracy >= outcome.pass_mark, "{name} (seed {seed}): {accuracy:.4} < {}", outcome.pass_mark);
        }
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} CNN entries");
}

/// The residual MLP with layer norm standardises raw inputs itself: its
/// statistics are the reference standardisation of the training split, and it
/// reaches the breast-cancer pass mark.
#[test]
fn the_residual_mlp_standardizes_and_reaches_its_pass_mark() {
    let references = kit::json("datasets/references.json");
    let directory = kit::dir().join("datasets");
    let entry = &references["datasets"]["breast_cancer"];
    for seed in 0..2 {
        let (outcome, mean, std) = nnspec_examples::real_data::run_residual(&directory, entry, seed)
            .unwrap_or_else(|e| panic!("breast_cancer: {e}"));
        let accuracy = outcome.accuracy.expect("an accuracy");
        println!("residual MLP (seed {seed}): test accuracy {accuracy:.4}, pass mark {}", outcome.pass_mark);
        assert!(accuracy >= outcome.pass_mark, "seed {seed}: {accuracy:.4} < {}", outcome.pass_mark);
        let reference = &entry["standardization"];
        kit::assert_close("standardize mean", &mean, &kit::flat(&reference["mean"]), kit::F32);
        kit::assert_close("standardize std", &std, &kit::flat(&reference["std"]), kit::F32);
    }
}
