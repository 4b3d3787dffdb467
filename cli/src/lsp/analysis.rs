//! What the server knows of one open document: its text, where its lines
//! start (LSP counts columns in UTF-16 code units), its syntax tree, the
//! checker's verdict, and every name's definition and uses.

use nnspec_lang::ast::{self, Argument, Value, ValueKind};
use nnspec_lang::{Checked, Diagnostic, Span};

/// A name the document defines: a node of a network, or a constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symbol {
    /// Node `name` of network `network` (an index into the file's networks).
    Node {
        /// The network's index in the file.
        network: usize,
        /// The node's name.
        name: String,
    },
    /// A file-level constant.
    Constant(String),
}

/// One open document, analysed.
pub struct Document {
    /// The text.
    pub text: String,
    line_starts: Vec<usize>,
    /// The syntax tree, if the text parses.
    pub file: Option<ast::File>,
    /// The checked program, if the text has no error.
    pub checked: Option<Checked>,
    /// Every error and warning the checker gives.
    pub diagnostics: Vec<Diagnostic>,
    /// Every occurrence of a name: its span, what it names, and whether it is the definition.
    pub occurrences: Vec<(Span, Symbol, bool)>,
}

impl Document {
    /// Parses and checks `text`.
    pub fn new(text: String) -> Document {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let file = nnspec_lang::parse_file(&text).ok();
        let (checked, diagnostics) = match nnspec_lang::check_source(&text) {
            Ok(checked) => {
                let warnings = checked.warnings.clone();
                (Some(checked), warnings)
            }
            Err(diagnostics) => (None, diagnostics),
        };
        let occurrences = file.as_ref().map(occurrences).unwrap_or_default();
        Document { text, line_starts, file, checked, diagnostics, occurrences }
    }

    /// The LSP position (line, UTF-16 column) of byte `offset`.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset).saturating_sub(1);
        let start = self.line_starts[line];
        let column: usize = self.text.get(start..offset).map_or(0, |s| s.chars().map(char::len_utf16).sum());
        (line as u32, column as u32)
    }

    /// The byte offset of an LSP position (clamped to the line's end and the text).
    pub fn offset(&self, line: u32, column: u32) -> usize {
        let Some(&start) = self.line_starts.get(line as usize) else { return self.text.len() };
        let end = self.line_starts.get(line as usize + 1).map_or(self.text.len(), |&next| next);
        let mut units = 0usize;
        for (index, c) in self.text[start..end].char_indices() {
            if units >= column as usize || c == '\n' {
                return start + index;
            }
            units += c.len_utf16();
        }
        end
    }

    /// The name occurrence under byte `offset`, if any.
    pub fn occurrence_at(&self, offset: usize) -> Option<&(Span, Symbol, bool)> {
        self.occurrences.iter().find(|(span, ..)| span.start <= offset && offset <= span.end)
    }

    /// Every occurrence of `symbol`, the definition first.
    pub fn occurrences_of(&self, symbol: &Symbol) -> Vec<(Span, bool)> {
        let mut all: Vec<(Span, bool)> =
            self.occurrences.iter().filter(|(_, s, _)| s == symbol).map(|(span, _, d)| (*span, *d)).collect();
        all.sort_by_key(|(span, definition)| (!definition, span.start));
        all
    }

    /// The network (its index in the file) whose text holds byte `offset`.
    pub fn network_at(&self, offset: usize) -> Option<usize> {
        let file = self.file.as_ref()?;
        file.networks.iter().position(|n| n.span.start <= offset && offset <= n.span.end)
    }
}

/// Every definition and use of a node or constant name in the file.
fn occurrences(file: &ast::File) -> Vec<(Span, Symbol, bool)> {
    let mut found = Vec::new();
    let constants: Vec<&str> = file.constants.iter().map(|c| c.name.text.as_str()).collect();
    for constant in &file.constants {
        found.push((constant.name.span, Symbol::Constant(constant.name.text.clone()), true));
        values(&constant.value, &constants, &mut found);
    }
    for (network, net) in file.networks.iter().enumerate() {
        let node = |name: &str| Symbol::Node { network, name: name.to_string() };
        for statement in &net.statements {
            if statement.keyword.text != "loss" {
                if let Some(target) = &statement.target {
                    found.push((target.span, node(&target.text), true));
                }
            }
            for input in statement.inputs.iter().flatten() {
                found.push((input.span, node(&input.text), false));
            }
            for argument in statement.args.iter().flatten() {
                argument_values(argument, &constants, &mut found);
            }
            if let Some(value) = &statement.value {
                values(value, &constants, &mut found);
            }
            for option in &statement.options {
                values(&option.value, &constants, &mut found);
            }
        }
        for block in &net.train {
            for option in &block.options {
                values(&option.value, &constants, &mut found);
            }
        }
    }
    found
}

/// The constants a value names.
fn values(value: &Value, constants: &[&str], found: &mut Vec<(Span, Symbol, bool)>) {
    match &value.kind {
        ValueKind::Path(name) if constants.contains(&name.text.as_str()) => {
            found.push((name.span, Symbol::Constant(name.text.clone()), false));
        }
        ValueKind::Call { args, .. } | ValueKind::Tuple(args) => {
            args.iter().for_each(|a| argument_values(a, constants, found));
        }
        ValueKind::List(items) => items.iter().for_each(|v| values(v, constants, found)),
        _ => {}
    }
}

fn argument_values(argument: &Argument, constants: &[&str], found: &mut Vec<(Span, Symbol, bool)>) {
    match argument {
        Argument::Positional(value) => values(value, constants, found),
        Argument::Named(kv) => values(&kv.value, constants, found),
    }
}
