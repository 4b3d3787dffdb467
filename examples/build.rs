//! The build-script style: the flower networks are compiled from
//! `specs/flower.nn` into `OUT_DIR/flower.rs`, the CNNs from `specs/cnn.nn`
//! into `OUT_DIR/cnn.rs`, the residual MLP from `specs/residual.nn`, the
//! gesture GRU from `specs/gestures.nn`, and a model trained in PyTorch from
//! its ONNX file `models/flower_torch.onnx` (imported, then compiled with its
//! weights into `OUT_DIR/flower_torch.rs`).

fn main() {
    nnspec_codegen::Builder::new()
        .file("specs/flower.nn")
        .file("specs/cnn.nn")
        .file("specs/residual.nn")
        .file("specs/gestures.nn")
        .file("models/flower_torch.onnx")
        .compile()
        .unwrap_or_else(|error| panic!("{error}"));
}
