//! Seed 001 on real data: iris, breast cancer and digits (classification) and
//! friedman1 (regression) on the fixed splits of the conformance directory,
//! then the CNNs of `specs/cnn.nn` on the digits as 8×8 images and on the
//! two-channel signals, and the residual MLP of `specs/residual.nn` (inputs
//! standardised by the network itself) on breast cancer.
//!
//! `cargo run --release --example real_data`

fn main() {
    let directory = nnspec_examples::conformance_dir().join("datasets");
    let Some(references) = nnspec_examples::conformance_json("datasets/references.json") else {
        eprintln!("no conformance data at {}; set NNSPEC_CONFORMANCE", directory.display());
        std::process::exit(1);
    };
    println!("data set        task            test score  pass mark");
    for (name, entry) in references["datasets"].as_object().into_iter().flatten() {
        match nnspec_examples::real_data::run(&directory, entry, 0) {
            Ok(outcome) => {
                let (task, score) = match (outcome.accuracy, outcome.r2) {
                    (Some(a), _) => ("accuracy", a),
                    (_, Some(r2)) => ("R²", r2),
                    _ => ("?", f64::NAN),
                };
                println!("{name:<15} {task:<15} {score:>10.4}  {:>9.2}", outcome.pass_mark);
            }
            Err(error) => println!("{name:<15} failed: {error}"),
        }
    }
    for (name, entry) in references["conv_nets"].as_object().into_iter().flatten().filter(|(n, _)| *n != "note") {
        let Some((model, config)) = nnspec_examples::real_data::example_cnn(name, 0) else {
            println!("{name:<15} skipped: specs/cnn.nn has no network for it");
            continue;
        };
        match nnspec_examples::real_data::run_cnn(&directory, entry, model, config) {
            Ok(outcome) => {
                let score = outcome.accuracy.unwrap_or(f64::NAN);
                println!("{name:<15} {:<15} {score:>10.4}  {:>9.2}", "CNN accuracy", outcome.pass_mark);
            }
            Err(error) => println!("{name:<15} failed: {error}"),
        }
    }
    if let Some(entry) = references["datasets"].get("breast_cancer") {
        let model = Box::new(nnspec_examples::real_data::residual::ResidualMlp::with_seed(0));
        let config = nnspec::TrainConfig {
            progress: false,
            ..nnspec_examples::real_data::residual::ResidualMlp::train_config()
        };
        match nnspec_examples::real_data::run_residual(&directory, entry, model, config) {
            Ok((outcome, ..)) => {
                let score = outcome.accuracy.unwrap_or(f64::NAN);
                println!("{:<15} {:<15} {score:>10.4}  {:>9.2}", "breast_cancer", "residual MLP", outcome.pass_mark);
            }
            Err(error) => println!("residual MLP failed: {error}"),
        }
    }
}
