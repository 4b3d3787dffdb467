//! The reference networks of the real data sets, trained in f32, quantised to
//! int8 after training with their training rows as calibration data, and
//! scored on their test rows in integer arithmetic (`nnspec::quant`).
//!
//! `cargo run --release --example int8`

fn main() {
    let directory = nnspec_examples::conformance_dir().join("datasets");
    let Some(references) = nnspec_examples::conformance_json("datasets/references.json") else {
        eprintln!("no conformance data at {}; set NNSPEC_CONFORMANCE", directory.display());
        std::process::exit(1);
    };
    println!("network          f32 accuracy  int8 accuracy  f32 bytes  int8 bytes");
    let print = |name: &str, result: Result<nnspec_examples::int8::Comparison, String>| match result {
        Ok(c) => println!(
            "{name:<16} {:>12.4}  {:>13.4}  {:>9}  {:>10}",
            c.f32_accuracy, c.int8_accuracy, c.f32_bytes, c.int8_bytes
        ),
        Err(error) => println!("{name:<16} failed: {error}"),
    };
    for (name, entry) in references["datasets"].as_object().into_iter().flatten() {
        if entry["task"] == "classification" {
            print(name, nnspec_examples::int8::mlp(&directory, entry, 0));
        }
    }
    for (name, entry) in references["conv_nets"].as_object().into_iter().flatten().filter(|(n, _)| *n != "note") {
        match nnspec_examples::real_data::example_cnn(name, 0) {
            Some((model, config)) => print(name, nnspec_examples::int8::cnn(&directory, entry, model, config)),
            None => println!("{name:<16} skipped: specs/cnn.nn has no network for it"),
        }
    }
}
