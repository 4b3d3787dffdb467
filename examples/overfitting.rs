//! Seed 003: an over-sized network on 20 noisy points, without regularisation
//! and with L2, L1 and dropout; a table and a PNG of the validation curves.
//!
//! `cargo run --release --example overfitting`

use nnspec_examples::overfitting;
use nnspec_plot::{lines, Series};

fn main() -> Result<(), String> {
    let seeds = [1, 2, 3];
    println!(
        "sin(3x) + noise: 20 training points, 400 validation points; 1 → tanh 64 → tanh 64 → 1, Adam, 1500 epochs"
    );
    println!("regularisation   train MSE   validation MSE   gap (mean over {} seeds)", seeds.len());
    for (name, fit) in overfitting::compare(&seeds) {
        println!("{name:<15} {:>10.4} {:>16.4} {:>7.4}", fit.train, fit.validation, fit.validation - fit.train);
    }
    let train = overfitting::samples(20, 0.3, 1);
    let validation = overfitting::samples(400, 0.0, 1000);
    let series: Vec<Series> = overfitting::VARIANTS
        .iter()
        .map(|&name| {
            let (_, curve) = overfitting::run(name, 1, &train, &validation);
            Series {
                name: format!("{name} (validation)"),
                points: curve.iter().enumerate().map(|(i, (_, v))| ((i + 1) as f64, *v)).collect(),
            }
        })
        .collect();
    let path = nnspec_examples::output_dir().join("overfitting.png");
    lines(&path, "Validation MSE with and without regularisation", "epoch", "MSE", &series, true)?;
    println!("\nwrote {}", path.display());
    Ok(())
}
