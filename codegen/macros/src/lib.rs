//! The `net!` and `include_net!` macros. Use them through the `nnspec` crate,
//! which re-exports both; the language is documented in `docs/language.md`.
//!
//! Each macro is one call into `nnspec-codegen`, which holds the logic and its tests.

extern crate proc_macro;
use proc_macro::TokenStream;

/// Compiles the networks written inside the braces into Rust types.
///
/// ```
/// nnspec::net! {
///     network Xor {
///         input x: [2];
///         dense hidden: 2, activation = sigmoid;
///         dense out: 1, activation = sigmoid;
///         loss binary_cross_entropy;
///     }
/// }
/// let xor = Xor::new();
/// let y = xor.predict(&[0.0, 1.0]);
/// assert!(y[0] > 0.0 && y[0] < 1.0);
/// ```
#[proc_macro]
pub fn net(input: TokenStream) -> TokenStream {
    nnspec_codegen::expand_net(input.into()).into()
}

/// Compiles the networks of a `.nn` file, given relative to the crate root;
/// the crate rebuilds when the file changes.
#[proc_macro]
pub fn include_net(input: TokenStream) -> TokenStream {
    nnspec_codegen::expand_include_net(input.into()).into()
}

/// Keeps the item it is on: `nnspec` re-exports it as `__private_v0_1::std_only` when
/// its `std` feature is on, so the training half of generated code is compiled.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __keep(_: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// Removes the item it is on: `nnspec` re-exports it as `__private_v0_1::std_only`
/// without `std`, so generated code keeps only its `core` inference half.
#[doc(hidden)]
#[proc_macro_attribute]
pub fn __strip(_: TokenStream, _: TokenStream) -> TokenStream {
    TokenStream::new()
}
