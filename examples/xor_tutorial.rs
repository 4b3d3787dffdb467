//! Seed 000: the XOR network of "A Neural Network in 11 lines of Python",
//! written with `net!`, trained by full-batch gradient descent with the
//! tutorial's weights, learning rate and iteration count (read from the
//! conformance directory when it is there).
//!
//! `cargo run --release --example xor_tutorial`

fn main() {
    let tutorial = nnspec_examples::xor::Tutorial::load();
    println!(
        "XOR {}-{}-1, sigmoid, no biases, sse_half, GD lr {}, {} iterations",
        tutorial.inputs, tutorial.hidden, tutorial.lr, tutorial.iterations
    );
    println!("initial weights: {}\n", tutorial.source);
    let report = nnspec_examples::xor::run(&tutorial);
    println!("iteration  loss");
    for (iteration, loss) in report.checkpoints(100) {
        println!("{iteration:>9}  {loss:.6}");
    }
    println!("\ninput      output   class");
    // The last input column is the constant 1 that stands in for a bias.
    let rows = tutorial.x.chunks(tutorial.inputs).map(|row| {
        let shown: Vec<String> = row[..row.len() - 1].iter().map(f32::to_string).collect();
        format!("[{}]", shown.join(", "))
    });
    for (row, output) in rows.zip(report.predictions) {
        println!("{row:<10} {output:.4}   {}", u8::from(output > 0.5));
    }
}
