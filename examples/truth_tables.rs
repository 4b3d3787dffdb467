//! Seed 002: logic gates with one neuron, and why XOR needs a hidden layer.
//!
//! `cargo run --release --example truth_tables`

use nnspec_examples::truth_tables::{self, Gate};

/// A seed whose initial weights lead the 2-2-1 network to XOR (some fall into a
/// local minimum, the classic trap), used when the reference file is absent.
const FALLBACK_SEED: u64 = 0;

const AND: [f32; 4] = [0.0, 0.0, 0.0, 1.0];
const OR: [f32; 4] = [0.0, 1.0, 1.0, 1.0];
const XOR: [f32; 4] = [0.0, 1.0, 1.0, 0.0];

fn main() {
    println!("gate  model                      outputs for 00, 01, 10, 11          classes  mean BCE");
    match truth_tables::Case::load() {
        // The tutorial's cases, settings and initial weights.
        Some(cases) => {
            for case in cases {
                let model = match case.hidden {
                    0 => "one sigmoid neuron".to_string(),
                    h => format!("2-{h}-1 sigmoid network"),
                };
                print_row(&case.gate, &model, &case.run());
            }
        }
        None => {
            for (name, table) in [("AND", AND), ("OR", OR), ("XOR", XOR)] {
                let outcome = truth_tables::train(&mut Gate::zeroed(), &table, 1.0, 2000);
                print_row(name, "one sigmoid neuron", &outcome);
            }
            let mut mlp = truth_tables::mlp(2);
            mlp.init_params(FALLBACK_SEED);
            let outcome = truth_tables::train(mlp.as_mut(), &XOR, 2.0, 5000);
            print_row("XOR", "2-2-1 sigmoid network", &outcome);
        }
    }
    println!("\nperceptron rule on a step neuron:");
    for (name, table) in [("AND", AND), ("OR", OR), ("XOR", XOR)] {
        let (epochs, classes) = truth_tables::perceptron(&table, 1.0, 100);
        let learned = classes.iter().zip(&table).all(|(c, t)| f32::from(*c) == *t);
        println!(
            "  {name:<4} {classes:?} after {epochs} epochs: {}",
            if learned { "learned" } else { "not separable by one line" }
        );
    }
}

fn print_row(name: &str, model: &str, outcome: &truth_tables::Outcome) {
    let outputs: Vec<String> = outcome.outputs.iter().map(|o| format!("{o:.4}")).collect();
    println!("{name:<5} {model:<26} {:<36} {:?}  {:.5}", outputs.join(", "), outcome.classes, outcome.final_loss);
}
