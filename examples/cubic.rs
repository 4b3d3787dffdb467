//! Seed 002: six sigmoid units approximate f(x) = x³ + x² − x − 1 on [−2, 2];
//! and a gallery of the activation functions and their derivatives.
//!
//! `cargo run --release --example cubic` (PNGs in `target/nnspec-examples/`)

use nnspec::Activation;
use nnspec_examples::cubic;
use nnspec_plot::{lines, Series};

fn main() -> Result<(), String> {
    let (network, max_error) = cubic::fit(6000);
    println!("f(x) = x³ + x² − x − 1 on [−2, 2], 1 → sigmoid 6 → 1, Adam lr 0.05, 6000 full-batch epochs");
    println!("largest |error| on a 401-point grid: {max_error:.4}\n");
    println!("    x      f(x)   network");
    for x in [-2.0f32, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0] {
        println!("{x:>5.1} {:>9.4} {:>9.4}", cubic::f(x), network.predict(&[x])[0]);
    }
    let out = nnspec_examples::output_dir();
    let grid: Vec<f64> = (0..=200).map(|i| -2.0 + 4.0 * f64::from(i) / 200.0).collect();
    let curve = |g: &dyn Fn(f32) -> f32| grid.iter().map(|&x| (x, f64::from(g(x as f32)))).collect();
    lines(
        &out.join("cubic.png"),
        "x³ + x² − x − 1 and six sigmoid units",
        "x",
        "y",
        &[
            Series { name: "f(x)".into(), points: curve(&cubic::f) },
            Series { name: "network".into(), points: curve(&|x| network.predict(&[x])[0]) },
        ],
        false,
    )?;
    let gallery = [
        ("step", Activation::Step),
        ("sigmoid", Activation::Sigmoid),
        ("tanh", Activation::Tanh),
        ("relu", Activation::Relu),
        ("leaky_relu(0.1)", Activation::LeakyRelu(0.1)),
        ("elu", Activation::Elu(1.0)),
        ("softplus", Activation::Softplus),
        ("gelu", Activation::Gelu),
    ];
    let grid: Vec<f64> = (0..=400).map(|i| -4.0 + 8.0 * f64::from(i) / 400.0).collect();
    let values: Vec<Series> = gallery
        .iter()
        .map(|(name, a)| Series {
            name: (*name).into(),
            points: grid.iter().map(|&x| (x, f64::from(a.apply(x as f32)))).collect(),
        })
        .collect();
    let derivatives: Vec<Series> = gallery
        .iter()
        .map(|(name, a)| Series {
            name: format!("{name}′"),
            points: grid.iter().map(|&x| (x, f64::from(a.derivative(x as f32, a.apply(x as f32))))).collect(),
        })
        .collect();
    lines(&out.join("activations.png"), "Activation functions", "x", "f(x)", &values, false)?;
    lines(&out.join("activation_derivatives.png"), "Their derivatives", "x", "f′(x)", &derivatives, false)?;
    println!("\nwrote cubic.png, activations.png and activation_derivatives.png to {}", out.display());
    Ok(())
}
