//! The build-script style: the flower networks are compiled from
//! `specs/flower.nn` into `OUT_DIR/flower.rs`.

fn main() {
    nnspec_codegen::Builder::new()
        .file("specs/flower.nn")
        .compile()
        .unwrap_or_else(|error| panic!("specs/flower.nn:\n{error}"));
}
