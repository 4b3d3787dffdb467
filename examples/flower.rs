//! Seed 004: the planar flower data set. Logistic regression against a
//! 2-4-1 tanh network, then the hidden-layer-size sweep of the course.
//!
//! `cargo run --release --example flower`

use nnspec_examples::flower;

fn main() -> Result<(), nnspec::Error> {
    let data = flower::data()?;
    println!("flower data: {} points from {}\n", data.len(), flower::data_path().display());
    let logistic = flower::logistic(&data, 10_000);
    println!("logistic regression (2 → sigmoid 1): train accuracy {:.4}", logistic.accuracy);
    println!("\nhidden units  train accuracy  final cost");
    for run in flower::sweep(&data, &flower::HIDDEN_SIZES, 10_000, None) {
        let final_cost = run.costs.last().map_or(f64::NAN, |c| c.1);
        println!("{:>12}  {:>14.4}  {final_cost:.6}", run.hidden, run.accuracy);
    }
    Ok(())
}
