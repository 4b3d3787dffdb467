//! The canonical layout of `.nn` text, as `nnspec fmt` prints it.
//!
//! A token-level pretty-printer: it keeps every comment and doc comment,
//! collapses runs of blank lines to one, and otherwise decides all spacing
//! itself — one statement per line, four-space indentation, `key = value`,
//! `name: value`, `, ` inside brackets, a `train { … }` block on one line when
//! it fits in 100 columns and holds no comment, else with one setting per line
//! and a trailing comma. It works on text the parser accepts (`format`
//! refuses anything else), and two properties are tested: formatting twice
//! changes nothing, and the IR of the output equals the IR of the input.

use crate::diagnostic::Diagnostic;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Punct(char),
    /// `//` or `/* */`; `trailing` when it followed code on the same line,
    /// `inline` when it is a block comment that code follows on the same line.
    Comment {
        text: String,
        trailing: bool,
        inline: bool,
    },
    /// `///` comment (one line).
    Doc(String),
    /// A blank line in the source (one or more).
    Blank,
}

/// Formats `source`, or returns its syntax errors (it must parse). A file
/// whose lines end in CRLF keeps CRLF, and a leading byte-order mark stays.
pub fn format(source: &str) -> Result<String, Vec<Diagnostic>> {
    crate::parse_file(source)?;
    let (bom, body) = match source.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", source),
    };
    let text = print(&lex(body));
    let crlf = body.find('\n').is_some_and(|end| body[..end].ends_with('\r'));
    let text = if crlf { text.replace('\n', "\r\n") } else { text };
    Ok(format!("{bom}{text}"))
}

fn lex(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut newlines = 0usize;
    let mut code_on_line = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            newlines += 1;
            code_on_line = false;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if newlines >= 2 && !tokens.is_empty() {
            tokens.push(Token::Blank);
        }
        newlines = 0;
        let rest = &chars[i..];
        let starts = |s: &str| rest.iter().take(s.len()).copied().eq(s.chars());
        if starts("///") && !starts("////") {
            let end = rest.iter().position(|c| *c == '\n').unwrap_or(rest.len());
            let text: String = rest[3..end].iter().collect();
            tokens.push(Token::Doc(text.trim_end().to_string()));
            i += end;
        } else if starts("//") {
            let end = rest.iter().position(|c| *c == '\n').unwrap_or(rest.len());
            let text: String = rest[..end].iter().collect();
            tokens.push(Token::Comment { text: text.trim_end().to_string(), trailing: code_on_line, inline: false });
            i += end;
        } else if starts("/*") {
            let mut depth = 0;
            let mut j = 0;
            while j < rest.len() {
                if rest[j..].starts_with(&['/', '*']) {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(&['*', '/']) {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            let text: String = rest[..j.min(rest.len())].iter().collect::<String>().replace("\r\n", "\n");
            newlines = 0;
            let after = rest[j.min(rest.len())..].iter().find(|c| **c == '\n' || !c.is_whitespace());
            let inline = code_on_line && after.is_some_and(|c| *c != '\n' && *c != '/');
            tokens.push(Token::Comment { text, trailing: code_on_line, inline });
            i += j;
        } else if c == '"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != '"' {
                j += if rest[j] == '\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            tokens.push(Token::Word(rest[..end].iter().collect()));
            code_on_line = true;
            i += end;
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            // Words and numbers, including exponents such as `1e-3`.
            let mut j = 0;
            while j < rest.len() {
                let d = rest[j];
                let exponent_sign =
                    (d == '-' || d == '+') && j > 0 && matches!(rest[j - 1], 'e' | 'E') && rest[0].is_ascii_digit();
                if d.is_alphanumeric() || d == '_' || d == '.' || exponent_sign {
                    j += 1;
                } else {
                    break;
                }
            }
            tokens.push(Token::Word(rest[..j].iter().collect()));
            code_on_line = true;
            i += j;
        } else {
            tokens.push(Token::Punct(c));
            code_on_line = true;
            i += 1;
        }
    }
    tokens
}

#[derive(Clone, Copy, PartialEq)]
enum Block {
    /// A network body: statements end with `;`.
    Statements,
    /// A `train` body short enough for one line and without comments:
    /// `train { optimizer = sgd(lr = 1.2), batch = full }`.
    InlineSettings,
    /// A `train` body: settings separated by `,`.
    Settings,
}

struct Printer {
    out: String,
    line: String,
    indent: usize,
}

impl Printer {
    fn push(&mut self, text: &str) {
        if self.line.is_empty() {
            self.line.push_str(&"    ".repeat(self.indent));
        }
        self.line.push_str(text);
    }

    /// Drops spaces at the end of the line (before `,`, `;` and closing brackets).
    fn trim_space(&mut self) {
        while self.line.ends_with(' ') && !self.line.trim().is_empty() {
            self.line.pop();
        }
    }

    fn end_line(&mut self) {
        if !self.line.trim().is_empty() {
            self.out.push_str(self.line.trim_end());
            self.out.push('\n');
        }
        self.line.clear();
    }

    fn blank(&mut self) {
        self.end_line();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") && !self.out.ends_with("{\n") {
            self.out.push('\n');
        }
    }
}

fn print(tokens: &[Token]) -> String {
    let mut p = Printer { out: String::new(), line: String::new(), indent: 0 };
    let mut blocks: Vec<Block> = Vec::new();
    let mut parens = 0usize;
    let mut attribute = 0usize;
    let mut previous: Option<&Token> = None;
    let mut pending: Option<String> = None;
    for (index, token) in tokens.iter().enumerate() {
        let next = tokens.get(index + 1);
        match token {
            Token::Blank => {
                if !matches!(next, Some(Token::Punct('}')) | None) {
                    p.blank();
                }
            }
            Token::Doc(text) => {
                p.end_line();
                p.push(&format!("///{text}"));
                p.end_line();
            }
            Token::Comment { text, trailing, inline } => {
                if *inline && !p.line.trim().is_empty() {
                    // A block comment between code on one line stays there.
                    if !p.line.ends_with(' ') && !p.line.ends_with('(') && !p.line.ends_with('[') {
                        p.line.push(' ');
                    }
                    p.line.push_str(text);
                    p.line.push(' ');
                } else if *trailing && !p.line.trim().is_empty() && matches!(next, Some(Token::Punct(';'))) {
                    // A comment before the statement's `;` follows it.
                    pending = Some(text.clone());
                } else if *trailing && !p.line.trim().is_empty() {
                    // The last setting of a `train` block gets its comma before the comment.
                    if blocks.last() == Some(&Block::Settings)
                        && matches!(next, Some(Token::Punct('}')))
                        && !p.line.trim_end().ends_with(',')
                    {
                        p.trim_space();
                        p.line.push(',');
                    }
                    p.line.push(' ');
                    p.line.push_str(text);
                    p.end_line();
                } else if *trailing && p.out.ends_with('\n') && !p.out.is_empty() {
                    // The code it trailed already ended its line: attach it there.
                    p.out.pop();
                    p.out.push(' ');
                    p.out.push_str(text);
                    p.out.push('\n');
                } else {
                    p.end_line();
                    p.push(text);
                    p.end_line();
                }
            }
            Token::Punct('#') => {
                p.end_line();
                p.push("#");
                attribute = 1;
            }
            Token::Punct('[') if attribute == 1 => {
                p.push("[");
                attribute = 2;
            }
            Token::Punct(']') if attribute == 2 && parens == 0 => {
                p.push("]");
                p.end_line();
                attribute = 0;
            }
            Token::Punct('{') => {
                let settings = matches!(previous, Some(Token::Word(w)) if w == "train");
                if settings && fits_on_one_line(tokens, index, p.line.len()) {
                    p.push(" { ");
                    blocks.push(Block::InlineSettings);
                } else {
                    p.push(" {");
                    p.end_line();
                    p.indent += 1;
                    blocks.push(if settings { Block::Settings } else { Block::Statements });
                }
            }
            Token::Punct('}') if blocks.last() == Some(&Block::InlineSettings) => {
                p.trim_space();
                if p.line.ends_with(',') {
                    p.line.pop();
                }
                blocks.pop();
                p.push(" }");
                p.end_line();
            }
            Token::Punct('}') => {
                if blocks.last() == Some(&Block::Settings)
                    && !matches!(previous, Some(Token::Punct(',') | Token::Punct('{')))
                    && !p.line.trim().is_empty()
                {
                    p.push(",");
                }
                p.end_line();
                blocks.pop();
                p.indent = p.indent.saturating_sub(1);
                p.push("}");
                p.end_line();
            }
            Token::Punct(';') => {
                p.trim_space();
                p.push(";");
                if let Some(comment) = pending.take() {
                    p.line.push(' ');
                    p.line.push_str(&comment);
                }
                p.end_line();
            }
            Token::Punct(',') => {
                p.trim_space();
                p.push(",");
                if parens == 0 && blocks.last() == Some(&Block::Settings) {
                    p.end_line();
                } else if !matches!(next, Some(Token::Punct(')' | ']' | ';'))) {
                    p.push(" ");
                }
            }
            Token::Punct(c @ ('(' | '[')) => {
                parens += 1;
                p.push(&c.to_string());
            }
            Token::Punct(c @ (')' | ']')) => {
                parens = parens.saturating_sub(1);
                if p.line.ends_with(", ") {
                    p.line.truncate(p.line.len() - 2);
                }
                p.trim_space();
                p.push(&c.to_string());
            }
            Token::Punct('=') => p.push(" = "),
            Token::Punct(':') => p.push(": "),
            Token::Punct('-') => {
                if matches!(previous, Some(Token::Word(_) | Token::Punct(')' | ']'))) {
                    p.push(" - ");
                } else {
                    p.push("-");
                }
            }
            Token::Punct(c) => p.push(&c.to_string()),
            Token::Word(word) => {
                let glued = p.line.trim().is_empty()
                    || p.line.ends_with(' ')
                    || p.line.ends_with('(')
                    || p.line.ends_with('[')
                    || p.line.ends_with('-')
                    || p.line.ends_with('#');
                if !glued && !matches!(previous, Some(Token::Punct('['))) {
                    p.push(" ");
                }
                p.push(word);
            }
        }
        if !matches!(token, Token::Blank) {
            previous = Some(token);
        }
    }
    p.end_line();
    while p.out.ends_with("\n\n") {
        p.out.pop();
    }
    p.out
}

/// The widest line the formatter keeps a `train { … }` block on.
const MAX_WIDTH: usize = 100;

/// Whether the `train` block opening at `tokens[open]` has no comment and, laid
/// out on one line after `prefix` columns, fits in [`MAX_WIDTH`]. The width is
/// counted from the tokens alone (a trailing comma left out), so formatted text
/// makes the same choice again.
fn fits_on_one_line(tokens: &[Token], open: usize, prefix: usize) -> bool {
    let mut depth = 0usize;
    let mut width = prefix + " {  }".len();
    for (i, token) in tokens.iter().enumerate().skip(open) {
        let next = tokens.get(i + 1);
        width += match token {
            Token::Punct('{') => {
                depth += 1;
                0
            }
            Token::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return width <= MAX_WIDTH;
                }
                1
            }
            Token::Comment { .. } | Token::Doc(_) | Token::Blank => return false,
            Token::Punct(',') if matches!(next, Some(Token::Punct('}'))) => 0,
            Token::Punct(',' | '=') => 2 + usize::from(matches!(token, Token::Punct('='))),
            Token::Punct(':') => 2,
            Token::Punct(_) => 1,
            Token::Word(word) => word.chars().count(),
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::format;

    fn check(input: &str, expected: &str) {
        let once = format(input).expect("parses");
        assert_eq!(once, expected);
        assert_eq!(format(&once).unwrap(), once, "not idempotent");
    }

    #[test]
    fn lays_out_a_network() {
        check(
            "network   Xor{input x:[3];dense hidden : 4,activation=sigmoid,bias=false,init=uniform( -1 , 1 );loss sse_half;}",
            "network Xor {\n    input x: [3];\n    dense hidden: 4, activation = sigmoid, bias = false, init = uniform(-1, 1);\n    loss sse_half;\n}\n",
        );
    }

    #[test]
    fn short_train_blocks_stay_on_one_line() {
        check(
            "network N { input x: [2]; dense o: 1; loss mse; train { optimizer = adam(lr = 1e-3, betas = (0.9, 0.999)), batch = full, } }",
            "network N {\n    input x: [2];\n    dense o: 1;\n    loss mse;\n    train { optimizer = adam(lr = 1e-3, betas = (0.9, 0.999)), batch = full }\n}\n",
        );
    }

    #[test]
    fn long_train_blocks_get_one_setting_per_line() {
        check(
            "network N { input x: [2]; dense o: 1; loss mse; train { optimizer = adam(lr = 1e-3, betas = (0.9, 0.999)), batch = full, epochs = 200, schedule = cosine(t_max = 200) } }",
            "network N {\n    input x: [2];\n    dense o: 1;\n    loss mse;\n    train {\n        optimizer = adam(lr = 1e-3, betas = (0.9, 0.999)),\n        batch = full,\n        epochs = 200,\n        schedule = cosine(t_max = 200),\n    }\n}\n",
        );
    }

    #[test]
    fn keeps_comments_docs_and_single_blank_lines() {
        check(
            "// Header.\n\n\n/// Sizes.\nconst N = 4; // four\n\n/// Net.\nnetwork A {\n    input x: [N];\n\n    // the output\n    dense o: 1;\n    loss mse;\n}\n",
            "// Header.\n\n/// Sizes.\nconst N = 4; // four\n\n/// Net.\nnetwork A {\n    input x: [N];\n\n    // the output\n    dense o: 1;\n    loss mse;\n}\n",
        );
    }

    #[test]
    fn block_comments_between_code_stay_inline() {
        check(
            "network A { input x: [2]; dense o: 1 /* one */, /* the default */ activation = identity; loss mse; }",
            "network A {\n    input x: [2];\n    dense o: 1 /* one */, /* the default */ activation = identity;\n    loss mse;\n}\n",
        );
    }

    #[test]
    fn crlf_files_stay_crlf_and_a_byte_order_mark_stays() {
        check(
            "\u{feff}network A {\r\n  input x: [2]; /* two\r\n lines */\r\n  dense o: 1;\r\n  loss mse;\r\n}\r\n",
            "\u{feff}network A {\r\n    input x: [2]; /* two\r\n lines */\r\n    dense o: 1;\r\n    loss mse;\r\n}\r\n",
        );
    }

    #[test]
    fn refuses_text_that_does_not_parse() {
        assert!(format("network {").is_err());
    }
}
