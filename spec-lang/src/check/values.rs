//! Value readers shared by every check: arguments by name or position,
//! numbers, sizes, counts and booleans, each reporting at the value's span.

use super::*;

impl<'a> Checker<'a, '_> {
    /// Maps positional and named arguments onto `params`, reporting unknown, duplicate and extra ones.
    pub(super) fn arguments<'v>(
        &mut self,
        span: Span,
        args: &'v [Argument],
        params: &[&'static str],
        what: &str,
    ) -> HashMap<&'static str, &'v Value> {
        let mut map: HashMap<&'static str, &'v Value> = HashMap::new();
        let mut position = 0;
        for argument in args {
            match argument {
                Argument::Positional(value) => {
                    if let Some(&param) = params.get(position) {
                        map.insert(param, value);
                    } else {
                        let error = self.diagnostics.error(
                            Code::EXTRA_ARGUMENT,
                            value.span,
                            format!(
                                "`{what}` takes {} argument{}",
                                params.len(),
                                if params.len() == 1 { "" } else { "s" }
                            ),
                        );
                        error.label(span, format!("`{what}` here"));
                        if !params.is_empty() {
                            error.help(format!("its arguments are {}", params.join(", ")));
                        }
                    }
                    position += 1;
                }
                Argument::Named(kv) => match params.iter().find(|p| **p == kv.key.text) {
                    Some(&param) => {
                        if map.insert(param, &kv.value).is_some() {
                            self.diagnostics
                                .error(Code::DUPLICATE, kv.key.span, format!("`{param}` is given twice"))
                                .help("give each argument once");
                        }
                    }
                    None => self.unknown_key(&kv.key, params, &format!("`{what}`")),
                },
            }
        }
        map
    }

    pub(super) fn check_duplicate_keys(&mut self, options: &[KeyValue]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for option in options {
            if let Some(previous) = seen.insert(option.key.text.as_str(), option.key.span) {
                self.diagnostics
                    .error(Code::DUPLICATE, option.key.span, format!("`{}` is set twice", option.key.text))
                    .label(previous, "first set here");
            }
        }
    }

    pub(super) fn unknown_key(&mut self, key: &Ident, known: &[&str], what: &str) {
        let error = self.diagnostics.error(Code::UNKNOWN_KEY, key.span, format!("{what} has no option `{}`", key.text));
        match closest_name(&key.text, known.iter().copied()) {
            Some(close) => error.help(format!("did you mean `{close}`?")),
            None if known.is_empty() => error.help("it takes no options"),
            None => error.help(format!("the options are {}", known.join(", "))),
        };
    }

    pub(super) fn missing(&mut self, name: &Ident, key: &str) {
        self.diagnostics
            .error(Code::MISSING_ARGUMENT, name.span, format!("`{}` needs `{key}`", name.text))
            .help(format!("write `{}({key} = …)`", name.text));
    }

    pub(super) fn wrong_type(&mut self, value: &Value, expected: &str) {
        let error = self
            .diagnostics
            .error(Code::WRONG_TYPE, value.span, format!("expected {expected}, found {}", value.describe()))
            .label_primary(format!("this is {}", value.describe()));
        if let ValueKind::String(text) = &value.kind {
            if text.trim().parse::<f64>().is_ok() && expected.contains("number") {
                error.help(format!("write the number without quotes: `{}`", text.trim()));
            }
        }
    }

    pub(super) fn out_of_range(&mut self, span: Span, what: &str, range: &str) {
        self.diagnostics
            .error(Code::OUT_OF_RANGE, span, format!("{what} must be in {range}"))
            .label_primary("out of range");
    }

    pub(super) fn required_count(
        &mut self,
        map: &HashMap<&'static str, &Value>,
        name: &Ident,
        key: &str,
    ) -> Option<usize> {
        match map.get(key) {
            Some(v) => self.count(v, key, 1),
            None => {
                self.missing(name, key);
                None
            }
        }
    }

    /// A number, resolving constants.
    pub(super) fn number(&mut self, value: &Value) -> Option<f64> {
        self.number_and_kind(value).map(|(v, _)| v)
    }

    /// A number and whether it was written as an integer, resolving constants
    /// (resolved once, up front, by [`Checker::resolve_constants`]).
    pub(super) fn number_and_kind(&mut self, value: &Value) -> Option<(f64, bool)> {
        match &value.kind {
            ValueKind::Number { value, is_integer } => Some((*value, *is_integer)),
            ValueKind::Path(ident) => match self.resolved.get(ident.text.as_str()) {
                Some(Resolved::Number(value, is_integer)) => Some((*value, *is_integer)),
                // Its error was reported where the constant is defined.
                Some(Resolved::Failed) => None,
                None => {
                    let error = self.diagnostics.error(
                        Code::UNDEFINED_NAME,
                        ident.span,
                        format!("cannot find constant `{}`", ident.text),
                    );
                    match closest_name(&ident.text, self.constants.keys().copied()) {
                        Some(close) => error.help(format!("did you mean `{close}`?")),
                        None => error.help(format!("define it with `const {} = …;`", ident.text)),
                    };
                    None
                }
            },
            _ => {
                self.wrong_type(value, "a number");
                None
            }
        }
    }

    /// Resolves every constant of the file in one pass: each names a number or
    /// another constant, so the constants form chains that are followed once
    /// each, remembering every result (linear in the number of constants, of any
    /// chain length). A cycle is reported once, at the constant where it closes.
    pub(super) fn resolve_constants(&mut self, constants: &[&'a ast::Constant]) {
        for &start in constants {
            if self.resolved.contains_key(start.name.text.as_str()) {
                continue;
            }
            let mut chain: Vec<&'a ast::Constant> = vec![start];
            let result = loop {
                let current = *chain.last().expect("the chain starts with one constant");
                match &current.value.kind {
                    ValueKind::Number { value, is_integer } => break Resolved::Number(*value, *is_integer),
                    ValueKind::Path(ident) => {
                        let target = ident.text.as_str();
                        if let Some(known) = self.resolved.get(target) {
                            break *known;
                        }
                        if let Some(at) = chain.iter().position(|c| c.name.text == target) {
                            let cycle: Vec<&str> = chain[at..].iter().map(|c| c.name.text.as_str()).collect();
                            let mut error = self.diagnostics.error(
                                Code::TOO_LARGE,
                                chain[at].name.span,
                                format!("constants refer to each other in a cycle: {} → {target}", cycle.join(" → ")),
                            );
                            for other in &chain[at + 1..] {
                                error = error.label(other.name.span, "part of the cycle");
                            }
                            error.help("give one of them a number");
                            break Resolved::Failed;
                        }
                        match self.constants.get(target) {
                            Some(next) => chain.push(next),
                            None => {
                                self.number_and_kind(&current.value);
                                break Resolved::Failed;
                            }
                        }
                    }
                    _ => {
                        self.wrong_type(&current.value, "a number");
                        break Resolved::Failed;
                    }
                }
            };
            for constant in chain {
                self.resolved.insert(constant.name.text.as_str(), result);
            }
        }
    }

    pub(super) fn ranged(&mut self, value: &Value, low: f64, high: f64, closed_high: bool, what: &str) -> Option<f64> {
        let number = self.number(value)?;
        let above = if closed_high { number > high } else { number >= high };
        if number < low || above {
            let range = match (high.is_infinite(), closed_high) {
                (true, _) => format!("≥ {low}"),
                (false, true) => format!("in [{low}, {high}]"),
                (false, false) => format!("in [{low}, {high})"),
            };
            self.diagnostics
                .error(Code::OUT_OF_RANGE, value.span, format!("{what} must be {range}, found {number}"))
                .label_primary("out of range");
            return None;
        }
        Some(number)
    }

    /// A positive integer size (units, features, batch).
    pub(super) fn size(&mut self, value: &Value, what: &str) -> Option<usize> {
        let size = self.count(value, what, 1)?;
        if size > MAX_UNITS {
            self.diagnostics
                .error(Code::BAD_SIZE, value.span, format!("{what} of {size} is too large"))
                .help(format!("at most {MAX_UNITS}"));
            return None;
        }
        Some(size)
    }

    /// A non-negative integer ≥ `min`.
    pub(super) fn count(&mut self, value: &Value, what: &str, min: usize) -> Option<usize> {
        // A whole number written with an exponent (`1e6`) is that integer.
        let (number, _) = self.number_and_kind(value)?;
        if number.fract() != 0.0 {
            self.diagnostics
                .error(Code::BAD_SIZE, value.span, format!("{what} must be a whole number, found {number}"))
                .label_primary("not a whole number");
            return None;
        }
        if number < min as f64 {
            self.diagnostics
                .error(Code::BAD_SIZE, value.span, format!("{what} must be at least {min}, found {number}"))
                .label_primary("too small");
            return None;
        }
        if number >= 2f64.powi(53) {
            self.diagnostics
                .error(Code::BAD_SIZE, value.span, format!("{what} of {number} is too large"))
                .label_primary("too large");
            return None;
        }
        Some(number as usize)
    }

    pub(super) fn boolean(&mut self, value: &Value) -> Option<bool> {
        match &value.kind {
            ValueKind::Path(ident) if ident.text == "true" => Some(true),
            ValueKind::Path(ident) if ident.text == "false" => Some(false),
            _ => {
                self.wrong_type(value, "`true` or `false`");
                None
            }
        }
    }
}
