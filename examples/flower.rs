//! Seed 004: the planar flower data set. Logistic regression against a
//! 2-4-1 tanh network, then the hidden-layer-size sweep of the course.
//!
//! `cargo run --release --example flower`

use nnspec::Model;
use nnspec_examples::flower;

fn main() -> Result<(), nnspec::Error> {
    let data = flower::data()?;
    let course = flower::Course::load();
    println!("flower data: {} points from {}", data.len(), flower::data_path().display());
    println!("full-batch gradient descent, lr {}, {} iterations\n", course.lr, course.iterations);
    let logistic = flower::logistic(&data, course.iterations);
    println!("logistic regression (2 → sigmoid 1): train accuracy {:.4}", logistic.accuracy);
    println!("\nhidden units  train accuracy  final cost");
    for run in flower::sweep(&data, &course.sizes, course.iterations, Some(course.lr)) {
        let final_cost = run.costs.last().map_or(f64::NAN, |c| c.1);
        println!("{:>12}  {:>14.4}  {final_cost:.6}", run.hidden, run.accuracy);
    }
    // The decision boundary of the 2-4-1 network.
    let mut planar = flower::Planar::zeroed();
    match flower::reference_initial(4) {
        Some(params) => planar.params_mut().copy_from_slice(&params),
        None => planar.init_params(2),
    }
    let config = flower::Planar::train_config();
    flower::train(
        &mut planar,
        nnspec::TrainConfig { optimizer: config.optimizer.with_lr(course.lr), ..config },
        &data,
        course.iterations,
        4,
    );
    let points: Vec<(f64, f64, usize)> =
        (0..data.len()).map(|i| (f64::from(data.x[2 * i]), f64::from(data.x[2 * i + 1]), data.y[i] as usize)).collect();
    let path = nnspec_examples::output_dir().join("flower_boundary.png");
    let classify = |x: f64, y: f64| usize::from(planar.predict(&[x as f32, y as f32])[0] > 0.5);
    match nnspec_plot::decision_boundary(&path, "2-4-1 tanh network on the flower data", &points, classify) {
        Ok(()) => println!("\nwrote {}", path.display()),
        Err(error) => eprintln!("could not draw the decision boundary: {error}"),
    }
    Ok(())
}
