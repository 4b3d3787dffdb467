//! Every data set of `datasets/references.json` (the list is read from the
//! file) reaches its pass mark with the reference architecture; the CNNs of
//! `conv_nets` and a residual MLP that standardises its own input do too. The
//! networks whose shape depends on the data are written from each entry.

use nnspec_testkit::{self as kit, datasets};

#[test]
fn real_data_sets_reach_their_pass_marks() {
    let directory = kit::dir().join("datasets");
    let entries = datasets::require("a data set", datasets::entries("datasets"));
    for entry in entries {
        for seed in 0..3 {
            let outcome = nnspec_examples::real_data::run(&directory, &entry.value, seed)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            let score = outcome.accuracy.or(outcome.r2).expect("a score");
            assert!(
                score >= outcome.pass_mark,
                "{} (seed {seed}): {score:.4} < pass mark {}",
                entry.name,
                outcome.pass_mark
            );
        }
    }
}

/// Trains network `network` of each entry's spec (`spec(entry)`) through the
/// interpreter for two seeds on the entry's split and asserts its pass mark.
fn reaches_pass_marks(entries: Vec<datasets::Entry>, network: &str, spec: impl Fn(&datasets::Entry) -> String) {
    let directory = kit::dir().join("datasets");
    for entry in entries {
        let text = spec(&entry);
        for seed in 0..2 {
            let (model, config) = datasets::interpreter(&text, network, seed);
            let outcome = nnspec_examples::real_data::run_cnn(&directory, &entry.value, Box::new(model), config)
                .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            let accuracy = outcome.accuracy.expect("an accuracy");
            println!("{} (seed {seed}): test accuracy {accuracy:.4}, pass mark {}", entry.name, outcome.pass_mark);
            assert!(
                accuracy >= outcome.pass_mark,
                "{} (seed {seed}): {accuracy:.4} < {}",
                entry.name,
                outcome.pass_mark
            );
        }
    }
}

/// Every `conv_nets` entry, its network written from the entry's
/// `architecture` and `training` and run by the interpreter, reaches its pass mark.
#[test]
fn the_cnns_reach_their_pass_marks() {
    let entries = datasets::require("a CNN", datasets::entries("conv_nets"));
    reaches_pass_marks(entries, "Cnn", |entry| entry.trained_spec("Cnn"));
}

/// Every `sequence_nets` entry (time-first `[T, F]` samples), its recurrent
/// classifier written from the entry, reaches its pass mark.
#[test]
fn the_recurrent_networks_reach_their_pass_marks() {
    let entries = datasets::require("a sequence classifier", datasets::entries("sequence_nets"));
    reaches_pass_marks(entries, "Sequence", |entry| datasets::sequence_spec(entry, "Sequence"));
}

/// The residual MLP with layer norm standardises raw inputs itself: its
/// statistics are the reference standardisation of the training split, and it
/// reaches the pass mark of every classification data set.
#[test]
fn the_residual_mlp_standardizes_and_reaches_its_pass_mark() {
    let directory = kit::dir().join("datasets");
    for entry in datasets::classification() {
        let text = datasets::residual_spec(&entry);
        for seed in 0..2 {
            let (model, config) = datasets::interpreter(&text, "ResidualMlp", seed);
            let (outcome, mean, std) =
                nnspec_examples::real_data::run_residual(&directory, &entry.value, Box::new(model), config)
                    .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
            let accuracy = outcome.accuracy.expect("an accuracy");
            println!(
                "{} residual MLP (seed {seed}): test accuracy {accuracy:.4}, pass mark {}",
                entry.name, outcome.pass_mark
            );
            assert!(
                accuracy >= outcome.pass_mark,
                "{} (seed {seed}): {accuracy:.4} < {}",
                entry.name,
                outcome.pass_mark
            );
            let reference = &entry.value["standardization"];
            kit::assert_close("standardize mean", &mean, &kit::flat(&reference["mean"]), kit::F32);
            kit::assert_close("standardize std", &std, &kit::flat(&reference["std"]), kit::F32);
        }
    }
}
