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
