//! Seed 000: the XOR network of "A Neural Network in 11 lines of Python",
//! written with `net!`, trained for 1500 iterations of full-batch gradient descent.
//!
//! `cargo run --release --example xor_tutorial`

fn main() {
    let (initial, source) = nnspec_examples::xor::initial_params();
    println!("XOR 3-4-1, sigmoid, no biases, sse_half, GD lr 1, 1500 iterations");
    println!("initial weights: {source}\n");
    let report = nnspec_examples::xor::run(&initial, 1500);
    println!("iteration  loss");
    for (iteration, loss) in &report.checkpoints {
        println!("{iteration:>9}  {loss:.6}");
    }
    println!("\ninput      output   class");
    for (row, output) in [[0, 0], [0, 1], [1, 0], [1, 1]].iter().zip(report.predictions) {
        println!("{:?}     {output:.4}   {}", row, u8::from(output > 0.5));
    }
}
