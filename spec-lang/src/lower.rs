//! Stage 2: pest pairs → [`ast`](crate::ast). Literal conversion reports errors
//! (E0102 for numbers that overflow f64), never unwraps; every node gets its span.

use crate::ast::*;
use crate::diagnostic::{Code, Diagnostics, Span};
use crate::parse::{Pair, Pairs, Rule};

/// Lowers the parse tree of a whole file.
pub(crate) fn lower_file(pairs: Pairs<'_>, diagnostics: &mut Diagnostics) -> File {
    let mut file = File::default();
    let items = pairs.into_iter().next().map(|file| file.into_inner());
    for pair in items.into_iter().flatten() {
        match pair.as_rule() {
            Rule::const_item => file.constants.push(lower_const(pair, diagnostics)),
            Rule::network => file.networks.push(lower_network(pair, diagnostics)),
            _ => {}
        }
    }
    file
}

fn span(pair: &Pair<'_>) -> Span {
    pair.as_span().into()
}

fn ident(pair: Pair<'_>) -> Ident {
    Ident { text: pair.as_str().to_string(), span: span(&pair) }
}

/// Splits leading doc comments and attributes from the rest of a node's children.
fn take_meta<'a>(children: &mut std::iter::Peekable<Pairs<'a>>, diagnostics: &mut Diagnostics) -> Meta {
    let mut meta = Meta::default();
    while let Some(pair) = children.next_if(|p| matches!(p.as_rule(), Rule::doc_comment | Rule::attribute)) {
        match pair.as_rule() {
            Rule::doc_comment => {
                let text = pair.into_inner().next().map_or("", |p| p.as_str());
                meta.doc.push(text.strip_prefix(' ').unwrap_or(text).trim_end().to_string());
            }
            _ => lower_attribute(pair, &mut meta, diagnostics),
        }
    }
    meta
}

fn lower_attribute(pair: Pair<'_>, meta: &mut Meta, diagnostics: &mut Diagnostics) {
    let whole = span(&pair);
    let mut inner = pair.into_inner();
    let Some(name) = inner.next().map(ident) else {
        return;
    };
    match inner.next() {
        Some(value) if value.as_rule() == Rule::attr_value => {
            let text = value.into_inner().next().map(|s| unescape(s, diagnostics)).unwrap_or_default();
            if name.text == "doc" {
                meta.doc.push(text.strip_prefix(' ').unwrap_or(&text).trim_end().to_string());
            } else {
                diagnostics
                    .error(Code::UNKNOWN_ATTRIBUTE, name.span, format!("unknown attribute `{}`", name.text))
                    .help("the attributes are `doc = \"…\"` and `allow(…)`");
            }
        }
        Some(args) => {
            let args = args.into_inner().map(ident).collect();
            meta.attributes.push(Attribute { name, args, span: whole });
        }
        None => meta.attributes.push(Attribute { name, args: Vec::new(), span: whole }),
    }
}

fn lower_const(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> Constant {
    let whole = span(&pair);
    let mut children = pair.into_inner().peekable();
    let meta = take_meta(&mut children, diagnostics);
    let name = children.next().map(ident).unwrap_or_else(|| missing(whole));
    let value = children
        .next()
        .map(|p| lower_value(p, diagnostics))
        .unwrap_or_else(|| Value { kind: ValueKind::Tuple(Vec::new()), span: whole });
    Constant { meta, name, value, span: whole }
}

fn missing(span: Span) -> Ident {
    Ident { text: String::new(), span }
}

fn lower_network(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> Network {
    let whole = span(&pair);
    let mut children = pair.into_inner().peekable();
    let meta = take_meta(&mut children, diagnostics);
    let name = children.next().map(ident).unwrap_or_else(|| missing(whole));
    let mut statements = Vec::new();
    let mut train = Vec::new();
    for child in children {
        match child.as_rule() {
            Rule::layer => statements.push(lower_statement(child, diagnostics)),
            Rule::train_block => train.push(lower_train(child, diagnostics)),
            _ => {}
        }
    }
    Network { meta, name, statements, train, span: whole }
}

fn lower_statement(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> Statement {
    let whole = span(&pair);
    let mut children = pair.into_inner().peekable();
    let meta = take_meta(&mut children, diagnostics);
    let keyword = children.next().map(ident).unwrap_or_else(|| missing(whole));
    let mut statement = Statement {
        meta,
        keyword,
        args: None,
        target: None,
        inputs: None,
        value: None,
        options: Vec::new(),
        span: whole,
    };
    for child in children {
        match child.as_rule() {
            Rule::call_args => statement.args = Some(lower_arguments(child, diagnostics)),
            Rule::target => statement.target = child.into_inner().next().map(ident),
            Rule::inputs => statement.inputs = Some(child.into_inner().map(ident).collect()),
            Rule::option => statement.options.push(lower_option(child, diagnostics)),
            _ => statement.value = Some(lower_value(child, diagnostics)),
        }
    }
    statement
}

fn lower_train(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> TrainBlock {
    let whole = span(&pair);
    let mut children = pair.into_inner().peekable();
    let meta = take_meta(&mut children, diagnostics);
    let options = children.map(|child| lower_option(child, diagnostics)).collect();
    TrainBlock { meta, options, span: whole }
}

fn lower_option(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> KeyValue {
    let whole = span(&pair);
    let mut inner = pair.into_inner();
    let key = inner.next().map(ident).unwrap_or_else(|| missing(whole));
    let value = inner
        .next()
        .map(|p| lower_value(p, diagnostics))
        .unwrap_or_else(|| Value { kind: ValueKind::Tuple(Vec::new()), span: whole });
    KeyValue { key, value, span: whole }
}

fn lower_arguments(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> Vec<Argument> {
    pair.into_inner()
        .map(|child| match child.as_rule() {
            Rule::option => Argument::Named(lower_option(child, diagnostics)),
            _ => Argument::Positional(lower_value(child, diagnostics)),
        })
        .collect()
}

fn lower_value(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> Value {
    let whole = span(&pair);
    let kind = match pair.as_rule() {
        Rule::number => lower_number(pair, diagnostics),
        Rule::string => {
            ValueKind::String(pair.into_inner().next().map(|s| unescape(s, diagnostics)).unwrap_or_default())
        }
        Rule::path => ValueKind::Path(pair.into_inner().next().map(ident).unwrap_or_else(|| missing(whole))),
        Rule::call => {
            let mut inner = pair.into_inner();
            let name = inner.next().map(ident).unwrap_or_else(|| missing(whole));
            let args = inner.next().map(|a| lower_arguments(a, diagnostics)).unwrap_or_default();
            ValueKind::Call { name, args }
        }
        Rule::tuple => ValueKind::Tuple(lower_arguments(pair, diagnostics)),
        Rule::list => ValueKind::List(pair.into_inner().map(|v| lower_value(v, diagnostics)).collect()),
        _ => ValueKind::Tuple(Vec::new()),
    };
    Value { kind, span: whole }
}

fn lower_number(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> ValueKind {
    let whole = span(&pair);
    let mut negative = false;
    let mut digits = "";
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::minus => negative = true,
            _ => digits = part.as_str(),
        }
    }
    let cleaned: String = digits.chars().filter(|c| *c != '_').collect();
    let is_integer = !cleaned.contains(['.', 'e', 'E']);
    match cleaned.parse::<f64>() {
        Ok(value) if value.is_finite() => {
            ValueKind::Number { value: if negative { -value } else { value }, is_integer }
        }
        _ => {
            diagnostics
                .error(Code::BAD_NUMBER, whole, format!("number `{digits}` is too large"))
                .label_primary("does not fit in a 64-bit float")
                .help("numbers must be finite; the largest is about 1.8e308");
            ValueKind::Number { value: 0.0, is_integer }
        }
    }
}

fn unescape(pair: Pair<'_>, diagnostics: &mut Diagnostics) -> String {
    let raw = pair.as_str();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((offset, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().map(|(_, c)| c) {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some(c @ ('\\' | '"' | '\'')) => out.push(c),
            other => {
                let start = pair.as_span().start() + offset;
                let end = start + 1 + other.map_or(0, char::len_utf8);
                diagnostics
                    .error(Code::SYNTAX, Span::new(start, end), "unknown escape in string")
                    .help("the escapes are \\n, \\t, \\r, \\0, \\\\, \\\" and \\'");
            }
        }
    }
    out
}
