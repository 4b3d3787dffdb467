//! Generated code for every network of the conformance directory, compiled by
//! this crate's build script through `nnspec_codegen::Builder`.

#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/conformance.rs"));
include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// The generated network of a whole training run (`training/<stem>.json`).
pub struct TrainingRun {
    /// The conformance file's stem.
    pub stem: &'static str,
    /// The network's name in [`TRAINING_SPECS`].
    pub network: &'static str,
    /// A zeroed network.
    pub make: Constructor,
    /// The settings of the spec's `train { … }` block.
    pub config: fn() -> nnspec::TrainConfig,
}

/// The specs of the whole training runs (`training/*.json`), as the build script
/// wrote them: the same text the generated networks were compiled from, for
/// training them through the interpreter too.
pub const TRAINING_SPECS: &str = include_str!(concat!(env!("OUT_DIR"), "/training.nn"));

pub mod heads;
