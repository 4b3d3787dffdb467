//! The compiled-in weights are the file's, and `predict` gives what the
//! runtime's interpreter gives with the same file.

use nnspec::{Activation, Interpreter, Loss, Model, Workspace};
use nnspec_nostd_example::probability;

#[test]
fn compiled_in_weights_predict_like_the_file() {
    let layers = [("hidden", 4, Activation::Tanh), ("out", 1, Activation::Sigmoid)];
    let mut mlp = Interpreter::new("Planar", 2, &layers, Loss::BinaryCrossEntropy);
    nnspec::weights::load(&mut mlp, concat!(env!("CARGO_MANIFEST_DIR"), "/models/planar.safetensors")).unwrap();
    let points = [(0.0f32, 0.0f32), (1.5, 2.0), (-3.0, 1.0), (2.5, -2.5)];
    for (x, y) in points {
        let mut out = [0.0f32];
        mlp.forward(&[x, y], &mut out, &mut Workspace::default());
        assert_eq!(probability(x, y), out[0], "at ({x}, {y})");
    }
}

/// The int8 network classifies the flower data set's points as the f32
/// network does, but for a few near the boundary.
#[test]
fn the_int8_network_agrees_with_f32_on_the_data() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/flower.csv")).unwrap();
    let points: Vec<(f32, f32)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<f32> = line.split(',').map(|c| c.parse().unwrap()).collect();
            (cells[0], cells[1])
        })
        .collect();
    let agree = points
        .iter()
        .filter(|(x, y)| nnspec_nostd_example::class_int8(*x, *y) == u8::from(probability(*x, *y) > 0.5))
        .count();
    let share = agree as f64 / points.len() as f64;
    assert!(share >= 0.95, "int8 and f32 agree on {share:.3} of the points");
}
