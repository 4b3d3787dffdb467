//! Generated code for every network of the conformance directory, compiled by
//! this crate's build script through `nnspec_codegen::Builder`.

#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/conformance.rs"));
include!(concat!(env!("OUT_DIR"), "/registry.rs"));
