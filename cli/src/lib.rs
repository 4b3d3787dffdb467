//! The library half of the `nnspec` command: how a checked spec becomes a
//! runtime network and training settings ([`convert`]), and the language
//! server ([`lsp`]). The binary is a thin
//! layer over it; tests and tools that train a `.nn` spec the way `nnspec train`
//! does use it too.

#![deny(missing_docs)]

pub mod convert;
pub mod lsp;
