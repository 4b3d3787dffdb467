//! The compiled-in weights are the file's, and `predict` gives what the
//! runtime's interpreter gives with the same file.

use nnspec::{Activation, LayerInfo, LayerInit, Loss, Mlp, Model, Workspace};
use nnspec_nostd_example::probability;

#[test]
fn compiled_in_weights_predict_like_the_file() {
    let layer = |name: &'static str, units, activation| {
        (LayerInfo { name: name.into(), inputs: 0, units, activation, bias: true }, LayerInit::default())
    };
    let mut mlp = Mlp::new(
        "Planar",
        2,
        vec![layer("hidden", 4, Activation::Tanh), layer("out", 1, Activation::Sigmoid)],
        Loss::BinaryCrossEntropy,
    );
    nnspec::weights::load(&mut mlp, concat!(env!("CARGO_MANIFEST_DIR"), "/models/planar.safetensors")).unwrap();
    let points = [(0.0f32, 0.0f32), (1.5, 2.0), (-3.0, 1.0), (2.5, -2.5)];
    for (x, y) in points {
        let mut out = [0.0f32];
        mlp.forward(&[x, y], &mut out, &mut Workspace::default());
        assert_eq!(probability(x, y), out[0], "at ({x}, {y})");
    }
}
