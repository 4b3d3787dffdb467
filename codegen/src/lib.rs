//! Compile `.nn` network specs into specialised Rust.
//!
//! One entry point per delivery: [`generate`] turns checked IR into tokens
//! (used by `net!`/`include_net!` through [`expand_net`] and
//! [`expand_include_net`]), [`Builder`] compiles files from a build script into
//! `OUT_DIR`, and `emit_pretty` (feature `pretty`) formats the code for
//! `nnspec emit`.
//!
//! ```
//! let tokens = nnspec_codegen::compile_str("
//!     network Tiny {
//!         input x: [2];
//!         dense out: 1, activation = sigmoid;
//!         loss binary_cross_entropy;
//!     }").expect("a valid spec");
//! assert!(tokens.to_string().contains("pub struct Tiny"));
//! ```
//!
//! Invariant: generated code names only the runtime crate, by absolute path
//! (`::nnspec::…`), and grows with the number of layers, never with their width.

#![deny(missing_docs)]

mod builder;
mod emit;
pub mod import;
pub mod pytorch;
mod tokens;
pub mod weights;

pub use builder::{BuildError, Builder};
pub use emit::{generate, generate_int8, generate_with};
pub use nnspec_lang as lang;
pub use tokens::{expand_include_net, expand_net, include_file as include_net_file, IncludeError};

use nnspec_lang::Diagnostic;
use proc_macro2::TokenStream;

/// Parses, checks and generates code for a whole `.nn` source.
pub fn compile_str(source: &str) -> Result<TokenStream, Vec<Diagnostic>> {
    let checked = nnspec_lang::check_source(source)?;
    Ok(generate(&checked.program))
}

/// The generated code of `source`, formatted with prettyplease.
#[cfg(feature = "pretty")]
pub fn emit_pretty(source: &str) -> Result<String, Vec<Diagnostic>> {
    let tokens = compile_str(source)?;
    Ok(format_tokens(tokens))
}

/// Formats generated tokens with prettyplease.
#[cfg(feature = "pretty")]
pub fn format_tokens(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => tokens.to_string(),
    }
}

/// The Rust blocks of the crate's README, run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
