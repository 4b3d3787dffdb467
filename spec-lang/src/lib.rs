//! The `.nn` network description language: grammar, syntax tree with spans,
//! checker, typed IR and rustc-style diagnostics.
//!
//! The pipeline is one function per stage — [`parse`](parse_file) (pest) →
//! lower (pairs → [`ast`]) → [`check`](check_source) (names, shapes, ranges,
//! loss/output fit) → [`ir`] — and every stage after the parser reports all the
//! errors it finds. No input makes any stage panic.
//!
//! ```
//! let source = "
//!     network Xor {
//!         input x: [2];
//!         dense hidden: 2, activation = sigmoid;
//!         dense out: 1, activation = sigmoid;
//!         loss binary_cross_entropy;
//!     }";
//! let checked = nnspec_lang::check_source(source).expect("a valid spec");
//! let xor = &checked.program.networks[0];
//! assert_eq!(xor.param_count, 2 * 2 + 2 + 2 * 1 + 1);
//! ```
//!
//! The language reference is `docs/language.md`; the error index is `docs/errors.md`.

#![deny(missing_docs)]
// Diagnostics travel by value on the error path only, which is cold; boxing them buys nothing.
#![allow(clippy::result_large_err)]

pub mod ast;
mod check;
pub mod diagnostic;
pub mod fmt;
pub mod ir;
mod lower;
mod parse;
pub mod source_map;
pub mod warnings;
mod words;

pub use check::{MAX_PARAMS, MAX_UNITS};
pub use diagnostic::{render, Code, Diagnostic, Diagnostics, Severity, Span};
/// The lowered execution plan ([`ir::Network::plan`]), shared with the runtime.
pub use nnspec_core::plan;
pub use parse::MAX_NESTING;

/// The words an editor offers, from the lists the checker reads.
pub mod vocabulary {
    pub use crate::words::describe;
    pub use nnspec_core::vocabulary::{Init, OptimizerConfig};
    pub use nnspec_core::{Activation, Loss};

    /// Every statement word (the activations are statements too, see [`Activation::NAMES`]).
    pub fn statements() -> &'static [&'static str] {
        crate::check::STATEMENTS
    }

    /// The option names `keyword` takes (`"train"` for the train block).
    pub fn options(keyword: &str) -> &'static [&'static str] {
        crate::check::option_keys(keyword)
    }

    /// The learning-rate schedules.
    pub fn schedules() -> &'static [&'static str] {
        crate::check::SCHEDULES
    }

    /// Rust's keywords, which no network may be named (E0211) and a tool that
    /// writes specs avoids for node names too.
    pub fn rust_keywords() -> &'static [&'static str] {
        crate::check::RUST_KEYWORDS
    }
}

/// A file that passed every check: its IR and any warnings.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The networks.
    pub program: ir::Program,
    /// Warnings (the spec is valid).
    pub warnings: Vec<Diagnostic>,
    /// Where each network's nodes were written.
    pub source_map: source_map::SourceMap,
}

/// Parses and lowers `source` to a syntax tree, or returns the syntax errors.
pub fn parse_file(source: &str) -> Result<ast::File, Vec<Diagnostic>> {
    let pairs = parse::parse(source).map_err(|d| vec![d])?;
    let mut diagnostics = Diagnostics::default();
    let file = lower::lower_file(pairs, &mut diagnostics);
    diagnostics.finish().map(|_| file)
}

/// Parses and checks `source`; returns the IR, or every error in the file.
pub fn check_source(source: &str) -> Result<Checked, Vec<Diagnostic>> {
    let file = parse_file(source)?;
    check_ast(&file)
}

/// Checks a syntax tree.
pub fn check_ast(file: &ast::File) -> Result<Checked, Vec<Diagnostic>> {
    let mut diagnostics = Diagnostics::default();
    let (program, source_map) = check::check_file(file, &mut diagnostics);
    if !diagnostics.has_errors() {
        warnings::lint(&program, &source_map, &mut diagnostics);
    }
    let warnings = diagnostics.finish()?;
    Ok(Checked { program, warnings, source_map })
}

/// Like [`check_source`] for raw bytes: text that is not UTF-8 gets a diagnostic at the first bad byte.
pub fn check_bytes(bytes: &[u8]) -> Result<Checked, Vec<Diagnostic>> {
    match std::str::from_utf8(bytes) {
        Ok(source) => check_source(source),
        Err(error) => {
            let at = error.valid_up_to();
            let mut diagnostic = Diagnostic::error(Code::SYNTAX, Span::new(at, at), "the file is not valid UTF-8");
            diagnostic.help(format!("byte {at} starts an invalid UTF-8 sequence; save the file as UTF-8"));
            Err(vec![diagnostic])
        }
    }
}

/// The Rust blocks of the crate's README, run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
