//! Stage 1: text → pest parse tree, and the syntax error if there is one.
//!
//! pest stops at the first syntax error, so that one is reported alone; from the
//! AST on, every error is reported. Before pest runs, the text is scanned for
//! bracket nesting deeper than [`MAX_NESTING`], which would otherwise recurse
//! without bound.

use crate::diagnostic::{Code, Diagnostic, Span};
use pest::Parser as _;

/// The deepest bracket nesting accepted. Real specs nest three or four levels.
pub const MAX_NESTING: usize = 64;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
pub(crate) struct NnParser;

/// The parse tree of a whole file.
pub(crate) type Pairs<'a> = pest::iterators::Pairs<'a, Rule>;
/// One node of the parse tree.
pub(crate) type Pair<'a> = pest::iterators::Pair<'a, Rule>;

/// Parses `source` into pest pairs for the `file` rule.
pub(crate) fn parse(source: &str) -> Result<Pairs<'_>, Diagnostic> {
    check_brackets_and_comments(source)?;
    NnParser::parse(Rule::file, source).map_err(|_| {
        // Parse again collecting the tokens expected at the furthest position
        // (pest only tracks named rules otherwise, so a missing `;` would be
        // reported at the value before it). The detail is costly, so it is on
        // only for a text already known to be wrong.
        pest::set_error_detail(true);
        let error = NnParser::parse(Rule::file, source).err();
        pest::set_error_detail(false);
        match error {
            Some(error) => syntax_error(source, error),
            None => Diagnostic::error(Code::SYNTAX, Span::new(0, 0), "the text could not be parsed"),
        }
    })
}

/// One pass over the text before pest runs: brackets of the code nested
/// deeper than [`MAX_NESTING`] (brackets inside comments and strings are
/// text, not nesting), and a block comment that is never closed.
fn check_brackets_and_comments(source: &str) -> Result<(), Diagnostic> {
    let bytes = source.as_bytes();
    let mut open: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let pair = (bytes[i], bytes.get(i + 1).copied());
        if !open.is_empty() {
            match pair {
                (b'/', Some(b'*')) => {
                    open.push(i);
                    i += 2;
                }
                (b'*', Some(b'/')) => {
                    open.pop();
                    i += 2;
                }
                _ => i += 1,
            }
            continue;
        }
        match pair {
            (b'/', Some(b'*')) => {
                open.push(i);
                i += 2;
            }
            (b'/', Some(b'/')) => i = source[i..].find('\n').map_or(bytes.len(), |end| i + end),
            (b'"', _) => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            (b'(' | b'[' | b'{', _) => {
                depth += 1;
                if depth > MAX_NESTING {
                    let mut diagnostic = Diagnostic::error(
                        Code::TOO_LARGE,
                        Span::new(i, i + 1),
                        format!("brackets nested more than {MAX_NESTING} deep"),
                    );
                    diagnostic.label_primary("this bracket is too deep");
                    return Err(diagnostic);
                }
                i += 1;
            }
            (b')' | b']' | b'}', _) => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    match open.first() {
        None => Ok(()),
        Some(&start) => {
            let mut diagnostic = Diagnostic::error(Code::SYNTAX, Span::new(start, start + 2), "unclosed block comment");
            diagnostic.label_primary("this `/*` is never closed");
            if open.len() > 1 {
                diagnostic
                    .help("close it with `*/`; block comments nest, so each `/*` inside it needs its own `*/` too");
            } else {
                diagnostic.help("close it with `*/`");
            }
            Err(diagnostic)
        }
    }
}

/// Tokens worth naming in "expected …" (pest also tries comment openers, exponents and the like).
const MEANINGFUL_TOKENS: &[&str] = &[";", ",", "=", ":", "]", ")", "}", "{", "(", "[", "network", "const", "train"];

fn syntax_error(source: &str, error: pest::error::Error<Rule>) -> Diagnostic {
    let (mut start, mut end) = match error.location {
        pest::error::InputLocation::Pos(pos) => (pos, pos),
        pest::error::InputLocation::Span((start, end)) => (start, end),
    };
    let mut tokens: Vec<String> = Vec::new();
    if let Some(attempts) = error.parse_attempts() {
        if attempts.max_position >= start {
            if attempts.max_position > start {
                (start, end) = (attempts.max_position, attempts.max_position);
            }
            tokens = attempts
                .expected_tokens()
                .iter()
                .map(ToString::to_string)
                .filter(|token| MEANINGFUL_TOKENS.contains(&token.as_str()))
                .map(|token| format!("`{token}`"))
                .collect();
        }
    }
    let start = start.min(source.len());
    // Underline the offending token (up to the next space) rather than an empty point.
    let end = if end > start {
        end
    } else {
        let rest = &source[start.min(source.len())..];
        let token = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        start + token.clamp(rest.chars().next().map_or(0, char::len_utf8), 24.min(rest.len()))
    };
    let message = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            // The punctuation pest tried at the furthest position says most; fall back to rule names.
            let expected: Vec<&str> = if tokens.is_empty() {
                positives.iter().filter_map(|rule| describe(*rule)).collect()
            } else {
                tokens.iter().map(String::as_str).collect()
            };
            let found = source[start.min(source.len())..]
                .chars()
                .next()
                .map_or("end of file".to_string(), |c| format!("`{}`", token_at(source, start, c)));
            if expected.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {}, found {found}", join_alternatives(&expected))
            }
        }
        pest::error::ErrorVariant::CustomError { message } => message.clone(),
    };
    let mut diagnostic = Diagnostic::error(Code::SYNTAX, Span::new(start, end), message);
    diagnostic.label_primary("unexpected here");
    if let Some(help) = likely_fix(source, start, &tokens) {
        diagnostic.help(help);
    }
    diagnostic
}

/// A help line for the usual slips: a `;` forgotten at the end of a line, a `:`
/// forgotten between a name and its value.
fn likely_fix(source: &str, at: usize, expected: &[String]) -> Option<String> {
    let before = source[..at].trim_end();
    let line_of = |offset: usize| source[..offset].matches('\n').count() + 1;
    let expects = |token: &str| expected.iter().any(|t| t == &format!("`{token}`"));
    if expects(";") && !before.is_empty() && line_of(before.len()) < line_of(at) {
        return Some(format!("add `;` at the end of line {}: each statement ends with `;`", line_of(before.len())));
    }
    if expects(":") && source[at..].starts_with('[') {
        return Some("a name and its value are separated by `:`, as in `input x: [4];`".into());
    }
    if expects(":") {
        return Some("a layer's name and its units are separated by `:`, as in `dense hidden: 16;`".into());
    }
    None
}

fn token_at(source: &str, start: usize, first: char) -> String {
    let rest = &source[start..];
    if first.is_alphanumeric() || first == '_' {
        rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
    } else {
        first.to_string()
    }
}

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::const_item => "`const`",
        Rule::network => "`network`",
        Rule::ident | Rule::target | Rule::path => "a name",
        Rule::number | Rule::unsigned => "a number",
        Rule::string => "a string",
        Rule::value | Rule::call | Rule::tuple | Rule::list => "a value",
        Rule::option => "`key = value`",
        Rule::layer | Rule::train_block => "a statement",
        Rule::call_args => "`(`",
        Rule::attribute | Rule::doc_comment => "an attribute",
        _ => return None,
    })
}

fn join_alternatives(items: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for item in items {
        if !unique.contains(item) {
            unique.push(item);
        }
    }
    match unique.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
