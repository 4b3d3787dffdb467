//! Seed 003: SGD, mini-batches, Momentum, Nesterov, AdaGrad, RMSProp, Adam and
//! AdamW on the same network and data; a table and a PNG of the loss curves.
//!
//! `cargo run --release --example optimizers`

use nnspec_examples::{flower, optimizers};
use nnspec_plot::{lines, Series};

fn main() -> Result<(), String> {
    let data = flower::data().map_err(|e| e.to_string())?;
    let epochs = 100;
    let curves = optimizers::compare(&data, epochs, &[1, 2, 3]);
    println!("flower data, 2 → tanh 16 → sigmoid 1, mean BCE averaged over 3 seeds");
    println!("optimizer        loss after 10     after 50     after {epochs}");
    for (name, curve) in &curves {
        println!("{name:<15} {:>12.4} {:>12.4} {:>12.4}", curve[9], curve[49], curve[epochs - 1]);
    }
    let series: Vec<Series> = curves
        .iter()
        .map(|(name, curve)| Series {
            name: (*name).into(),
            points: curve.iter().enumerate().map(|(i, l)| ((i + 1) as f64, *l)).collect(),
        })
        .collect();
    let path = nnspec_examples::output_dir().join("optimizers.png");
    lines(&path, "Training loss by optimizer (flower data)", "epoch", "mean BCE", &series, true)?;
    println!("\nwrote {}", path.display());
    Ok(())
}
