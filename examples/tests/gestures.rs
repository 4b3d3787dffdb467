//! The gestures example on every `sequence_nets` entry its spec reads (rows
//! of `Gestures::INPUT` values): above the pass mark in f32, the stream of
//! `step` ends where `predict` does, and int8 loses at most 1 point.

use nnspec_testkit::{self as kit, datasets};

#[test]
fn the_gestures_example_trains_streams_and_quantises() {
    let directory = kit::dir().join("datasets");
    let entries = datasets::require("a sequence classifier", datasets::entries("sequence_nets"));
    let input = nnspec_examples::gestures::Gestures::INPUT;
    for entry in entries {
        if entry.input_shape().iter().product::<usize>() != input {
            println!("{}: rows of {:?}, the example's spec reads {input} values", entry.name, entry.input_shape());
            continue;
        }
        let report = nnspec_examples::gestures::run(&directory, &entry.value, 0).unwrap();
        println!(
            "{}: f32 {:.4} (pass mark {}), int8 {:.4}, {} bytes",
            entry.name, report.accuracy, report.pass_mark, report.int8_accuracy, report.int8_bytes
        );
        assert!(report.accuracy >= report.pass_mark, "{}: {report:?}", entry.name);
        assert_eq!(report.stream.last(), Some(&report.whole), "{}", entry.name);
        assert!(report.int8_accuracy >= report.accuracy - 0.01, "{}: {report:?}", entry.name);
    }
}
