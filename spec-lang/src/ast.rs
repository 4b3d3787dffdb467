//! The syntax tree of a `.nn` file: plain data, a [`Span`] on every node.
//!
//! Stage: produced by `lower` from the pest parse tree, consumed by
//! `check`. The tree is deliberately generic (a statement is a keyword,
//! optional call arguments, an optional target name, an optional `: value` and
//! `key = value` options) so that the checker, not the parser, decides what a
//! word means and can answer a misspelling with a suggestion.
//!
//! Invariant: every span lies inside the source text it was parsed from.

use crate::diagnostic::Span;

/// A whole `.nn` file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct File {
    /// `const NAME = value;` items, in source order.
    pub constants: Vec<Constant>,
    /// `network Name { … }` items, in source order.
    pub networks: Vec<Network>,
}

/// A name as written, with its span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The text of the name.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// Doc comments and `#[…]` attributes in front of an item or statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Meta {
    /// The lines of `///` comments (or `#[doc = "…"]`), without the slashes.
    pub doc: Vec<String>,
    /// `#[name(args…)]` attributes other than `doc`.
    pub attributes: Vec<Attribute>,
}

/// An attribute such as `#[allow(zero_init)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute's name (`allow`).
    pub name: Ident,
    /// Its parenthesised words (`zero_init`).
    pub args: Vec<Ident>,
    /// The whole attribute.
    pub span: Span,
}

/// `const NAME = value;`
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// Doc comments and attributes.
    pub meta: Meta,
    /// The constant's name.
    pub name: Ident,
    /// Its value.
    pub value: Value,
    /// The whole item.
    pub span: Span,
}

/// `network Name { statements… }`
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Doc comments and attributes.
    pub meta: Meta,
    /// The network's name (becomes the generated type's name).
    pub name: Ident,
    /// Layer statements in order (`input`, `dense`, `dropout`, `loss`, …).
    pub statements: Vec<Statement>,
    /// `train { … }` blocks (the checker accepts at most one).
    pub train: Vec<TrainBlock>,
    /// The whole item.
    pub span: Span,
}

/// One statement such as `dense hidden: 4, activation = tanh;` or `dropout(0.2);`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Doc comments and attributes.
    pub meta: Meta,
    /// The first word (`dense`).
    pub keyword: Ident,
    /// Parenthesised arguments right after the keyword (`dropout(0.2)`).
    pub args: Option<Vec<Argument>>,
    /// The word after the keyword (`hidden` in `dense hidden`, `mse` in `loss mse`).
    pub target: Option<Ident>,
    /// The nodes it reads, in parentheses after the name (`a, b` in `add sum(a, b)`);
    /// none means the statement above.
    pub inputs: Option<Vec<Ident>>,
    /// The value after `:` (`4` in `dense hidden: 4`).
    pub value: Option<Value>,
    /// `key = value` options after the value.
    pub options: Vec<KeyValue>,
    /// The whole statement, up to and including `;`.
    pub span: Span,
}

/// `train { key = value, … }`
#[derive(Debug, Clone, PartialEq)]
pub struct TrainBlock {
    /// Doc comments and attributes.
    pub meta: Meta,
    /// The settings.
    pub options: Vec<KeyValue>,
    /// The whole block.
    pub span: Span,
}

/// `key = value`
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// The key.
    pub key: Ident,
    /// The value.
    pub value: Value,
    /// `key = value` as a whole.
    pub span: Span,
}

/// A call or tuple argument: positional or named.
#[derive(Debug, Clone, PartialEq)]
pub enum Argument {
    /// `0.5`
    Positional(Value),
    /// `lr = 0.5`
    Named(KeyValue),
}

impl Argument {
    /// The span of the whole argument.
    pub fn span(&self) -> Span {
        match self {
            Argument::Positional(value) => value.span,
            Argument::Named(kv) => kv.span,
        }
    }
}

/// A value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What kind of value.
    pub kind: ValueKind,
    /// Where it stands.
    pub span: Span,
}

/// The kinds of values.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A numeric literal. `is_integer` is true when it was written without `.` or exponent.
    Number {
        /// The value as f64 (finite: `lower` rejects overflowing literals).
        value: f64,
        /// Written as an integer literal (`4`, `1_000`, `-3`).
        is_integer: bool,
    },
    /// A string literal (escapes resolved).
    String(String),
    /// A bare name: a constant, `full`, `relu`, `true`…
    Path(Ident),
    /// `name(args…)`
    Call {
        /// The function's name.
        name: Ident,
        /// Its arguments.
        args: Vec<Argument>,
    },
    /// `(a, b)` or `(key = value, …)`
    Tuple(Vec<Argument>),
    /// `[a, b, …]`
    List(Vec<Value>),
}

impl Value {
    /// A short word for the kind of value, for diagnostics ("expected a number, found a list").
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            ValueKind::Number { is_integer: true, .. } => "an integer",
            ValueKind::Number { .. } => "a number",
            ValueKind::String(_) => "a string",
            ValueKind::Path(_) => "a name",
            ValueKind::Call { .. } => "a call",
            ValueKind::Tuple(_) => "a tuple",
            ValueKind::List(_) => "a list",
        }
    }
}
