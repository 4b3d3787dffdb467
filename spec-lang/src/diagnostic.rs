//! Diagnostics: a code, a severity, a message, labelled byte ranges and help.
//!
//! Every stage pushes into a [`Diagnostics`] sink and carries on; the sink is
//! consumed once with [`Diagnostics::finish`]. This crate owns its
//! [`Diagnostic`] type and converts to `codespan_reporting` only when rendering
//! ([`render`]), so the rendering crate stays an implementation detail.
//! codespan-reporting was chosen because its output is rustc's layout (`error[E0302]`,
//! `┌─ file:line:col`, `^^^` primary and `---` secondary labels, `= help`) and
//! its `term::emit` writes into any `WriteColor`, which feeds snapshot tests.

use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;
use std::fmt;
use std::ops::Range;

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end: end.max(start) }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// As a `Range<usize>`.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<pest::Span<'_>> for Span {
    fn from(span: pest::Span<'_>) -> Span {
        Span::new(span.start(), span.end())
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The spec is rejected.
    Error,
    /// The spec is accepted, but something is likely wrong.
    Warning,
}

/// A stable diagnostic code, `E0101`…; documented in `docs/errors.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub &'static str);

impl Code {
    /// The text could not be parsed.
    pub const SYNTAX: Code = Code("E0101");
    /// A numeric literal is malformed or does not fit.
    pub const BAD_NUMBER: Code = Code("E0102");
    /// The input is too deeply nested or too large to process.
    pub const TOO_LARGE: Code = Code("E0103");
    /// An unknown statement keyword (`dens hidden: 4;`).
    pub const UNKNOWN_STATEMENT: Code = Code("E0201");
    /// An unknown activation function.
    pub const UNKNOWN_ACTIVATION: Code = Code("E0202");
    /// An unknown loss.
    pub const UNKNOWN_LOSS: Code = Code("E0203");
    /// An unknown optimizer.
    pub const UNKNOWN_OPTIMIZER: Code = Code("E0204");
    /// An unknown option key for a statement, call or the train block.
    pub const UNKNOWN_KEY: Code = Code("E0205");
    /// A name that is neither a constant nor a keyword allowed there.
    pub const UNDEFINED_NAME: Code = Code("E0206");
    /// A name defined twice (network, constant, layer) or a key given twice.
    pub const DUPLICATE: Code = Code("E0207");
    /// An unknown initializer.
    pub const UNKNOWN_INITIALIZER: Code = Code("E0208");
    /// An unknown learning-rate schedule.
    pub const UNKNOWN_SCHEDULE: Code = Code("E0209");
    /// An unknown attribute, or an unknown warning name in `#[allow(...)]`.
    pub const UNKNOWN_ATTRIBUTE: Code = Code("E0210");
    /// A name generated code cannot use: a network named after a Rust keyword,
    /// a node named `_`, `self`, `Self`, `super` or `crate`.
    pub const RESERVED_NAME: Code = Code("E0211");
    /// The network has no `input` statement, or it is not the first statement.
    pub const MISSING_INPUT: Code = Code("E0301");
    /// The loss does not fit the output layer.
    pub const LOSS_OUTPUT_MISMATCH: Code = Code("E0302");
    /// The network has no loss, or more than one.
    pub const MISSING_LOSS: Code = Code("E0303");
    /// A size that is zero, negative, fractional or too large.
    pub const BAD_SIZE: Code = Code("E0304");
    /// No node of the network has parameters.
    pub const NO_LAYERS: Code = Code("E0305");
    /// An activation and loss that must not be combined.
    pub const BAD_COMBINATION: Code = Code("E0306");
    /// A statement in the wrong place (dropout before any layer, a layer after the loss…).
    pub const MISPLACED: Code = Code("E0307");
    /// Inputs whose widths do not fit the statement that reads them (an `add` of unequal widths…).
    pub const SHAPE_MISMATCH: Code = Code("E0308");
    /// A statement whose output nothing reads.
    pub const UNUSED: Code = Code("E0309");
    /// A hyper-parameter outside its range.
    pub const OUT_OF_RANGE: Code = Code("E0401");
    /// A value of the wrong type.
    pub const WRONG_TYPE: Code = Code("E0402");
    /// A required argument is missing.
    pub const MISSING_ARGUMENT: Code = Code("E0403");
    /// Too many positional arguments.
    pub const EXTRA_ARGUMENT: Code = Code("E0404");

    /// The code as text.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// A secondary label: a span with a short message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub message: String,
}

/// One diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// The headline.
    pub message: String,
    /// The primary span (underlined with `^`).
    pub span: Span,
    /// Text under the primary span.
    pub primary_label: Option<String>,
    /// Related spans (underlined with `-`).
    pub labels: Vec<Label>,
    /// Notes (`= note: …`).
    pub notes: Vec<String>,
    /// Help (`= help: …`).
    pub help: Option<String>,
}

impl Diagnostic {
    /// A new error.
    pub fn error(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            primary_label: None,
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Sets the text under the primary span.
    pub fn label_primary(&mut self, message: impl Into<String>) -> &mut Diagnostic {
        self.primary_label = Some(message.into());
        self
    }

    /// Adds a secondary label.
    pub fn label(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    /// Adds a note.
    pub fn note(&mut self, message: impl Into<String>) -> &mut Diagnostic {
        self.notes.push(message.into());
        self
    }

    /// Sets the help line.
    pub fn help(&mut self, message: impl Into<String>) -> &mut Diagnostic {
        self.help = Some(message.into());
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as a `codespan_reporting` diagnostic over file id `()`.
    pub fn to_codespan(&self) -> cs::Diagnostic<()> {
        let base = match self.severity {
            Severity::Error => cs::Diagnostic::error(),
            Severity::Warning => cs::Diagnostic::warning(),
        };
        let mut primary = cs::Label::primary((), self.span.range());
        if let Some(text) = &self.primary_label {
            primary = primary.with_message(text.clone());
        }
        let mut labels = vec![primary];
        labels.extend(
            self.labels
                .iter()
                .map(|label| cs::Label::secondary((), label.span.range()).with_message(label.message.clone())),
        );
        let mut notes: Vec<String> = self.notes.iter().map(|n| format!("note: {n}")).collect();
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        base.with_code(self.code.as_str()).with_message(self.message.clone()).with_labels(labels).with_notes(notes)
    }

    /// Renders this diagnostic like rustc, without colour.
    pub fn render(&self, file_name: &str, source: &str) -> String {
        render(std::slice::from_ref(self), file_name, source)
    }

    /// Clamps every span into `0..=len` (at char boundaries), so rendering can never fail.
    fn clamped(&self, source: &str) -> Diagnostic {
        let clamp = |span: Span| {
            let fix = |mut i: usize| {
                i = i.min(source.len());
                while !source.is_char_boundary(i) {
                    i -= 1;
                }
                i
            };
            Span::new(fix(span.start), fix(span.end))
        };
        let mut out = self.clone();
        out.span = clamp(out.span);
        for label in &mut out.labels {
            label.span = clamp(label.span);
        }
        out
    }
}

/// Renders diagnostics like rustc, without colour (for snapshots, logs and `compile_error!`).
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &str) -> String {
    let mut buffer = term::termcolor::NoColor::new(Vec::new());
    emit(&mut buffer, diagnostics, file_name, source);
    String::from_utf8_lossy(&buffer.into_inner()).into_owned()
}

/// Writes diagnostics like rustc to `writer` (use a `termcolor::StandardStream` for colour).
pub fn emit(writer: &mut dyn term::termcolor::WriteColor, diagnostics: &[Diagnostic], file_name: &str, source: &str) {
    let file = SimpleFile::new(file_name, source);
    let config = term::Config::default();
    for diagnostic in diagnostics {
        let diagnostic = diagnostic.clamped(source).to_codespan();
        if term::emit_to_write_style(writer, &config, &file, &diagnostic).is_err() {
            // A span codespan cannot place: fall back to the headline alone.
            let _ = writeln!(writer, "error: {}", diagnostic.message);
        }
    }
}

/// Diagnostics of one stage; consume with [`Diagnostics::finish`].
#[derive(Debug, Default)]
#[must_use = "call `finish` or `into_vec` to report what was collected"]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Records an error and returns it for labels and help.
    pub fn error(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.list.push(Diagnostic::error(code, span, message));
        self.list.last_mut().expect("just pushed")
    }

    /// Records a warning and returns it for labels and help.
    pub fn warning(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        let mut diagnostic = Diagnostic::error(code, span, message);
        diagnostic.severity = Severity::Warning;
        self.list.push(diagnostic);
        self.list.last_mut().expect("just pushed")
    }

    /// Adds diagnostics collected elsewhere.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.list.extend(other);
    }

    /// True if any error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(Diagnostic::is_error)
    }

    /// Number of errors (not warnings) recorded.
    pub fn error_count(&self) -> usize {
        self.list.iter().filter(|d| d.is_error()).count()
    }

    /// All diagnostics, in the order recorded.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }

    /// `Ok` with the warnings if there is no error, else `Err` with everything.
    pub fn finish(self) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
        if self.has_errors() {
            Err(self.list)
        } else {
            Ok(self.list)
        }
    }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
pub fn closest_name<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance over chars counting insertions, deletions, substitutions and
/// transpositions of neighbours (optimal string alignment), so `tnah` is one edit from `tanh`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            table[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (table[(i - 1) * width + j] + 1)
                    .min(table[i * width + j - 1] + 1)
                    .min(table[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(table[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    table[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("tanh", "tanh"), 0);
        assert_eq!(edit_distance("tanhh", "tanh"), 1);
        assert_eq!(edit_distance("sigmiod", "sigmoid"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "relu"), 4);
    }

    #[test]
    fn closest_name_suggests_only_near_words() {
        assert_eq!(closest_name("tnah", ["tanh", "relu"]), Some("tanh"));
        assert_eq!(closest_name("softmaxx", ["softmax", "softplus"]), Some("softmax"));
        assert_eq!(closest_name("banana", ["tanh", "relu"]), None);
    }

    #[test]
    fn out_of_range_spans_render_without_panicking() {
        let mut diagnostic = Diagnostic::error(Code::SYNTAX, Span::new(100, 200), "far away");
        diagnostic.label(Span::new(3, 999), "also far");
        let text = diagnostic.render("x.nn", "héllo");
        assert!(text.contains("far away"), "{text}");
    }
}
