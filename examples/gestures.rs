//! Seed-style sequences: a GRU classifies accelerometer gestures, then runs
//! on a stream, one reading at a time, through the generated `step`, and
//! is quantised to int8.
//!
//! `cargo run --release --example gestures`

fn main() {
    let directory = nnspec_examples::conformance_dir().join("datasets");
    let Some(references) = nnspec_examples::conformance_json("datasets/references.json") else {
        eprintln!("no conformance data at {}; set NNSPEC_CONFORMANCE", directory.display());
        std::process::exit(1);
    };
    let entries = references["sequence_nets"].as_object().into_iter().flatten().filter(|(_, e)| e.is_object());
    for (name, entry) in entries {
        match nnspec_examples::gestures::run(&directory, entry, 0) {
            Ok(report) => {
                println!("{name}: test accuracy {:.4} (pass mark {})", report.accuracy, report.pass_mark);
                let stream: Vec<String> = report.stream.iter().map(usize::to_string).collect();
                println!("streamed, the class after each reading: {}", stream.join(" "));
                println!("predict on the whole sequence: class {}", report.whole);
                println!(
                    "int8 (integer GRU, 16-bit state): test accuracy {:.4}, {} bytes of weights and constants",
                    report.int8_accuracy, report.int8_bytes
                );
            }
            Err(error) => println!("{name}: {error}"),
        }
    }
}
