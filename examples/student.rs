//! Seed 001: pass/fail by cross-entropy and the score by mean squared error
//! from the same three inputs, student A's prediction, and the learning rate.
//!
//! `cargo run --release --example student`

use nnspec_examples::student;

fn main() -> Result<(), nnspec::Error> {
    let trained = student::train(1)?;
    println!("600 synthetic students (seeded), 500 to train, 100 to test");
    println!("classification (sigmoid + binary cross-entropy): test accuracy {:.3}", trained.accuracy);
    println!("regression (linear + mean squared error):        test R²       {:.3}", trained.r2);
    let (p, score) = trained.predict(&student::STUDENT_A);
    println!(
        "\nstudent A (21 lectures, 90 h homework, 7 connection losses): P(pass) = {p:.3}, predicted score {score:.1} (generator: {:.1})",
        student::true_score(&student::STUDENT_A)
    );
    println!("\nlearning rate  training MSE after 50 epochs (regression, SGD, batch 32)");
    for lr in [1e-5, 0.05, 5.0] {
        match student::learning_rate_trial(lr, 50, 1) {
            Ok(loss) => println!("{lr:>13}  {loss:.6}"),
            Err(error) => println!("{lr:>13}  {error}"),
        }
    }
    Ok(())
}
