//! `net! { … }` and `include_net!("…")` expansion, kept here so the proc-macro
//! crate is one call per macro.
//!
//! `net!` rebuilds `.nn` text from the macro's tokens, recording each leaf
//! token's byte range and span, and runs the front end unchanged. Each
//! diagnostic becomes a `compile_error!` whose span runs from the first to the
//! last token under the diagnostic's primary range, so the editor underlines the
//! user's exact words; help and labels become lines of the message. A stub
//! `struct Name;` per network keeps one mistake from cascading into others.

use nnspec_lang::{ast, Diagnostic, Severity};
use proc_macro2::{Delimiter, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use std::path::{Path, PathBuf};

/// Text rebuilt from tokens, with the span of each leaf token's byte range.
struct SourceMap {
    text: String,
    tokens: Vec<(usize, usize, Span)>,
}

impl SourceMap {
    fn from_tokens(input: TokenStream) -> SourceMap {
        let mut map = SourceMap { text: String::new(), tokens: Vec::new() };
        map.push_stream(input);
        map
    }

    fn push_stream(&mut self, input: TokenStream) {
        for tree in input {
            match tree {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Brace => ("{", "}"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::None => ("", ""),
                    };
                    self.push_leaf(open, group.span_open());
                    self.push_stream(group.stream());
                    self.push_leaf(close, group.span_close());
                }
                TokenTree::Punct(punct) => self.push_leaf(&punct.as_char().to_string(), punct.span()),
                TokenTree::Ident(ident) => self.push_leaf(&ident.to_string(), ident.span()),
                TokenTree::Literal(literal) => self.push_leaf(&literal.to_string(), literal.span()),
            }
        }
    }

    fn push_leaf(&mut self, text: &str, span: Span) {
        if text.is_empty() {
            return;
        }
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.tokens.push((start, self.text.len(), span));
    }

    /// The spans of the first and last tokens overlapping `start..end`.
    fn spans(&self, start: usize, end: usize) -> (Span, Span) {
        let end = end.max(start + 1);
        let mut overlapping = self.tokens.iter().filter(|(s, e, _)| *s < end && *e > start);
        match overlapping.next() {
            Some(first) => {
                let last = overlapping.next_back().unwrap_or(first);
                (first.2, last.2)
            }
            None => {
                let nearest = self.tokens.iter().rev().find(|(s, _, _)| *s <= start).or(self.tokens.first());
                let span = nearest.map_or_else(Span::call_site, |t| t.2);
                (span, span)
            }
        }
    }
}

/// The text of a diagnostic for `compile_error!`: headline, then help and labels as lines.
fn message(diagnostic: &Diagnostic, text: &str) -> String {
    let kind = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    // rustc prefixes `error: ` itself; a warning says what it is.
    let mut message = match diagnostic.severity {
        Severity::Error => format!("[{}] {}", diagnostic.code, diagnostic.message),
        Severity::Warning => format!("{kind}[{}]: {}", diagnostic.code, diagnostic.message),
    };
    if let Some(label) = &diagnostic.primary_label {
        message.push_str(&format!("\n  label: {label}"));
    }
    for label in &diagnostic.labels {
        let snippet = text.get(label.span.range()).unwrap_or("");
        message.push_str(&format!("\n  note: {} (at `{snippet}`)", label.message));
    }
    for note in &diagnostic.notes {
        message.push_str(&format!("\n  = note: {note}"));
    }
    if let Some(help) = &diagnostic.help {
        message.push_str(&format!("\n  = help: {help}"));
    }
    message
}

fn compile_error(message: &str, first: Span, last: Span) -> TokenStream {
    // As syn::Error does: the path carries the start span, the braces the end span,
    // so rustc underlines the whole range on stable.
    let path = quote_spanned!(first=> ::core::compile_error!);
    let literal = {
        let mut literal = Literal::string(message);
        literal.set_span(last);
        literal
    };
    let group = proc_macro2::Group::new(Delimiter::Brace, TokenTree::Literal(literal).into());
    let mut group = group;
    group.set_span(last);
    let mut out = path;
    out.extend([TokenTree::Group(group)]);
    out
}

/// Stub types for the networks named in a spec, so that one error does not cascade.
fn stubs(file: Option<&ast::File>) -> TokenStream {
    let Some(file) = file else {
        return TokenStream::new();
    };
    file.networks
        .iter()
        .filter(|n| is_identifier(&n.name.text))
        .map(|n| {
            let name = format_ident!("{}", n.name.text);
            quote!(#[allow(dead_code)] pub struct #name;)
        })
        .collect()
}

fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Expands `net! { … }`.
pub fn expand_net(input: TokenStream) -> TokenStream {
    let map = SourceMap::from_tokens(input);
    match nnspec_lang::check_source(&map.text) {
        Ok(checked) => {
            let mut out = crate::generate(&checked.program);
            for warning in &checked.warnings {
                out.extend(warning_tokens(warning, &map));
            }
            out
        }
        Err(diagnostics) => {
            let mut out: TokenStream = diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| {
                    let (first, last) = map.spans(d.span.start, d.span.end);
                    compile_error(&message(d, &map.text), first, last)
                })
                .collect();
            out.extend(stubs(nnspec_lang::parse_file(&map.text).ok().as_ref()));
            out
        }
    }
}

/// A warning as a deprecated item used at the warning's span: stable rustc
/// prints it as a `deprecated` warning carrying the message, on the right tokens.
fn warning_tokens(warning: &Diagnostic, map: &SourceMap) -> TokenStream {
    let (first, _) = map.spans(warning.span.start, warning.span.end);
    deprecated_use(warning, &message(warning, &map.text), first)
}

/// The one form of a warning stable rustc prints: a `deprecated` item whose
/// note is `note`, used at `at` (the user's tokens for `net!`, the call for
/// `include_net!`).
fn deprecated_use(warning: &Diagnostic, note: &str, at: Span) -> TokenStream {
    let name = format!("__nnspec_warning_{}", warning.code.as_str().to_lowercase());
    let definition = Ident::new(&name, Span::call_site());
    let usage = Ident::new(&name, at);
    quote! {
        const _: () = {
            #[deprecated(note = #note)]
            #[allow(non_camel_case_types)]
            struct #definition;
            #[allow(dead_code)]
            fn nnspec_warning() { let _ = #usage; }
        };
    }
}

/// Expands `include_net!("path.nn")` or `include_net!("path.nn", weights = "w.safetensors")`
/// (with `network = "Name"` when the spec has several networks). Paths are relative
/// to `CARGO_MANIFEST_DIR`.
pub fn expand_include_net(input: TokenStream) -> TokenStream {
    const USAGE: &str = "include_net! takes a path string and optional `weights = \"…\"`, `network = \"…\"`: include_net!(\"specs/net.nn\", weights = \"models/net.safetensors\")";
    // A literal passed through `macro_rules!` (`$path:literal`) arrives in an invisible group.
    let trees: Vec<TokenTree> = input
        .into_iter()
        .flat_map(|tree| match tree {
            TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::None => {
                group.stream().into_iter().collect()
            }
            tree => vec![tree],
        })
        .collect();
    let string = |tree: Option<&TokenTree>| match tree {
        Some(TokenTree::Literal(literal)) => {
            let text = literal.to_string();
            text.strip_prefix('"').and_then(|s| s.strip_suffix('"')).map(|s| (s.to_string(), literal.span()))
        }
        _ => None,
    };
    let Some((relative, span)) = string(trees.first()) else {
        let span = trees.first().map_or_else(Span::call_site, TokenTree::span);
        return compile_error(USAGE, span, span);
    };
    let mut weights = None;
    let mut network = None;
    let mut rest = &trees[1..];
    while !rest.is_empty() {
        match rest {
            [TokenTree::Punct(comma), TokenTree::Ident(key), TokenTree::Punct(eq), value, tail @ ..]
                if comma.as_char() == ',' && eq.as_char() == '=' =>
            {
                let Some(found) = string(Some(value)) else { return compile_error(USAGE, value.span(), value.span()) };
                match key.to_string().as_str() {
                    "weights" => weights = Some(found),
                    "network" => network = Some(found.0),
                    _ => return compile_error(USAGE, key.span(), key.span()),
                }
                rest = tail;
            }
            [TokenTree::Punct(comma)] if comma.as_char() == ',' => break,
            [other, ..] => return compile_error(USAGE, other.span(), other.span()),
            [] => break,
        }
    }
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let weights = weights.map(|(w, span)| (base.join(&w), w, span));
    match include_file(
        &base.join(&relative),
        weights.as_ref().map(|(p, d, _)| (p.as_path(), d.as_str())),
        network.as_deref(),
    ) {
        Ok(tokens) => tokens,
        Err(error) => {
            // An error about the weights file lands on its path, any other on the spec's.
            let span = weights.as_ref().filter(|_| error.about_weights).map_or(span, |w| w.2);
            compile_error(&error.message, span, span)
        }
    }
}

/// Why [`include_file`] failed: the message, and whether it is about the
/// weights file (else about the spec), so `include_net!` puts it on the right argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncludeError {
    /// What went wrong, rendered for the user.
    pub message: String,
    /// True when the weights file is at fault.
    pub about_weights: bool,
}

impl IncludeError {
    fn spec(message: String) -> IncludeError {
        IncludeError { message, about_weights: false }
    }

    fn weights(message: String) -> IncludeError {
        IncludeError { message, about_weights: true }
    }
}

impl std::fmt::Display for IncludeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IncludeError {}

/// The generated code of a `.nn` file plus an `include_bytes!` of it, so cargo
/// rebuilds when the file changes; or the rendered diagnostics. With `weights`,
/// the file's tensors are checked and embedded (`trained()`).
pub fn include_file(
    path: &Path,
    weights: Option<(&Path, &str)>,
    network: Option<&str>,
) -> Result<TokenStream, IncludeError> {
    let bytes =
        std::fs::read(path).map_err(|e| IncludeError::spec(format!("cannot read `{}`: {e}", path.display())))?;
    let display = path.display().to_string();
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let checked = nnspec_lang::check_bytes(&bytes)
        .map_err(|diagnostics| IncludeError::spec(nnspec_lang::render(&diagnostics, &display, &source)))?;
    if let Some((weights_path, weights_display)) = weights.filter(|(p, _)| crate::weights::is_int8(p)) {
        let mut out = crate::weights::int8_code(&checked.program, weights_path, weights_display, network)
            .map_err(IncludeError::weights)?;
        let weights_literal = weights_path.canonicalize().unwrap_or_else(|_| weights_path.to_path_buf());
        let weights_literal = weights_literal.to_string_lossy().into_owned();
        out.extend(quote!(
            const _: &[u8] = ::core::include_bytes!(#weights_literal);
        ));
        return Ok(finish_include(out, path, &checked, &display, &source));
    }
    let embedded = match weights {
        Some((weights_path, weights_display)) => {
            let target = crate::weights::target(&checked.program, weights_path, network)
                .map_err(|e| IncludeError::weights(format!("weights `{weights_display}`: {e}")))?;
            let embedded = crate::weights::embed(target, weights_path, weights_display).map_err(|problems| {
                let list = problems.join("\n  - ");
                IncludeError::weights(format!("the weights do not match network `{}`:\n  - {list}", target.name))
            })?;
            Some(embedded)
        }
        None => None,
    };
    let out = crate::generate_with(&checked.program, embedded.as_ref());
    Ok(finish_include(out, path, &checked, &display, &source))
}

/// Adds to an included spec's code an `include_bytes!` of the spec (so cargo
/// rebuilds when it changes) and each warning as a `deprecated` use.
fn finish_include(
    mut out: TokenStream,
    path: &Path,
    checked: &nnspec_lang::Checked,
    display: &str,
    source: &str,
) -> TokenStream {
    let path_literal = path.to_string_lossy().into_owned();
    out.extend(quote!(
        const _: &[u8] = ::core::include_bytes!(#path_literal);
    ));
    for warning in &checked.warnings {
        let note = nnspec_lang::render(std::slice::from_ref(warning), display, source);
        out.extend(deprecated_use(warning, &note, Span::call_site()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilt_text_keeps_tokens_apart_and_maps_back() {
        let tokens: TokenStream =
            "network X { input x: [2]; dense out: 1, activation = tnah; loss mse; }".parse().unwrap();
        let map = SourceMap::from_tokens(tokens);
        let at = map.text.find("tnah").unwrap();
        let overlapping: Vec<_> = map.tokens.iter().filter(|(s, e, _)| *s <= at && *e > at).collect();
        assert_eq!(overlapping.len(), 1);
        assert_eq!(&map.text[overlapping[0].0..overlapping[0].1], "tnah");
    }

    #[test]
    fn errors_expand_to_compile_errors_and_stubs() {
        let tokens: TokenStream =
            "network X { input x: [2]; dense out: 1, activation = tnah; loss mse; }".parse().unwrap();
        let out = expand_net(tokens).to_string();
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("did you mean `tanh`?"), "{out}");
        assert!(out.contains("pub struct X"), "{out}");
    }
}
