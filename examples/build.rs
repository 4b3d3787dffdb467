//! The build-script style: the flower networks are compiled from
//! `specs/flower.nn` into `OUT_DIR/flower.rs`, the CNNs from `specs/cnn.nn`
//! into `OUT_DIR/cnn.rs`, the residual MLP from `specs/residual.nn`, the
//! gesture GRU from `specs/gestures.nn`.

fn main() {
    nnspec_codegen::Builder::new()
        .file("specs/flower.nn")
        .file("specs/cnn.nn")
        .file("specs/residual.nn")
        .file("specs/gestures.nn")
        .compile()
        .unwrap_or_else(|error| panic!("{error}"));
}
