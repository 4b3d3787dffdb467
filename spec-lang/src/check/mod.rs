//! Stage 3: AST → typed IR. Resolves constants and names, checks every shape,
//! hyper-parameter range and activation/loss combination, and lays out the
//! parameters. Every check reports into the sink and carries on, so one run
//! reports every error of the file; the IR is built only when there is none.

mod graph;
mod ops;
mod statements;
mod train;
mod values;
mod vocabulary;

use crate::ast::{self, Argument, Ident, KeyValue, Statement, Value, ValueKind};
use crate::diagnostic::{closest_name, Code, Diagnostics, Span};
use crate::ir::*;
use crate::source_map::{NetworkMap, SourceMap, StatementMap};
use std::collections::HashMap;

/// Rust's keywords (strict, reserved and `_`): a network's name is its Rust type's name.
pub(crate) const RUST_KEYWORDS: &[&str] = &[
    "_", "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro",
    "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return", "self", "Self", "static", "struct",
    "super", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while",
    "yield",
];

/// Names that are no Rust identifier, even written raw (`r#type` is one; `r#self` is not).
const UNNAMEABLE: &[&str] = &["_", "self", "Self", "super", "crate"];

/// The largest width of one layer or input.
pub const MAX_UNITS: usize = 1 << 24;
/// The largest number of parameters in one network.
pub const MAX_PARAMS: usize = 1 << 30;

pub(crate) const STATEMENTS: &[&str] = &[
    "input",
    "dense",
    "dropout",
    "add",
    "concat",
    "layer_norm",
    "batch_norm",
    "standardize",
    "conv1d",
    "conv2d",
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "global_avg_pool",
    "flatten",
    "gru",
    "lstm",
    "loss",
];
pub(crate) const TRAIN_KEYS: &[&str] = &[
    "optimizer",
    "batch",
    "epochs",
    "seed",
    "schedule",
    "clip_grad_norm",
    "clip_grad_value",
    "early_stopping",
    "validation_split",
    "shuffle",
    "samples",
];
pub(crate) const SCHEDULES: &[&str] = &["step", "multistep", "exponential", "cosine", "linear"];

/// Checks a whole file; returns the IR, or every error found.
/// The option names a statement takes, as the checker reads them (empty for one without options).
pub(crate) fn option_keys(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "dense" => ops::dense::DENSE_KEYS,
        "conv1d" | "conv2d" => ops::conv::CONV_KEYS,
        "max_pool1d" | "max_pool2d" | "avg_pool1d" | "avg_pool2d" => ops::pool::POOL_KEYS,
        "gru" | "lstm" => ops::recurrent::RECURRENT_KEYS,
        "batch_norm" => ops::norm::BATCH_NORM_KEYS,
        "layer_norm" => ops::norm::LAYER_NORM_KEYS,
        "train" => TRAIN_KEYS,
        _ => &[],
    }
}

pub fn check_file(file: &ast::File, diagnostics: &mut Diagnostics) -> (Program, SourceMap) {
    let mut checker = Checker { constants: HashMap::new(), resolved: HashMap::new(), diagnostics };
    for constant in &file.constants {
        if let Some(previous) = checker.constants.get(constant.name.text.as_str()) {
            let previous = previous.name.span;
            checker
                .diagnostics
                .error(
                    Code::DUPLICATE,
                    constant.name.span,
                    format!("constant `{}` is defined twice", constant.name.text),
                )
                .label(previous, "first defined here");
        } else {
            checker.constants.insert(constant.name.text.as_str(), constant);
        }
        checker.check_meta(&constant.meta, &[]);
    }
    // In file order, each name's first definition (a later one is a duplicate, reported above).
    let first_definitions: Vec<&ast::Constant> = file
        .constants
        .iter()
        .filter(|c| checker.constants.get(c.name.text.as_str()).is_some_and(|first| std::ptr::eq(*first, *c)))
        .collect();
    checker.resolve_constants(&first_definitions);
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut networks = Vec::new();
    let mut maps = Vec::new();
    for network in &file.networks {
        if RUST_KEYWORDS.contains(&network.name.text.as_str()) {
            checker
                .diagnostics
                .error(
                    Code::RESERVED_NAME,
                    network.name.span,
                    format!("a network cannot be named `{}`", network.name.text),
                )
                .help(
                    "the network's name is the name of its Rust type, and this one is a Rust keyword: choose another",
                );
        }
        if let Some(previous) = seen.insert(network.name.text.as_str(), network.name.span) {
            checker
                .diagnostics
                .error(Code::DUPLICATE, network.name.span, format!("network `{}` is defined twice", network.name.text))
                .label(previous, "first defined here");
        }
        if let Some((network, map)) = checker.network(network) {
            networks.push(network);
            maps.push(map);
        }
    }
    (Program { networks }, SourceMap { networks: maps })
}

struct Checker<'a, 'd> {
    constants: HashMap<&'a str, &'a ast::Constant>,
    /// Every constant's value, resolved once.
    resolved: HashMap<&'a str, Resolved>,
    diagnostics: &'d mut Diagnostics,
}

/// What a constant stands for.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    /// A number, and whether it was written as an integer.
    Number(f64, bool),
    /// Its error is reported already.
    Failed,
}

/// What the statements of a network declare, before layout.
struct Pending<'a> {
    input: Option<(String, Vec<usize>, usize)>,
    /// The graph so far: node 0 is the input (named and sized by its statement).
    nodes: Vec<Node>,
    /// Each node's statement (none for an input that was never declared).
    node_spans: Vec<Option<Span>>,
    /// Each node's statement and options, for the source map.
    node_statements: Vec<Option<StatementMap>>,
    /// The nodes by name.
    names: HashMap<&'a str, usize>,
    /// The names of the network's statements that come later, for "defined below".
    later: HashMap<&'a str, Span>,
    /// True once an `input` statement was seen, even one whose shape was wrong.
    input_seen: bool,
    /// True if the network has an `input` statement anywhere.
    has_input: bool,
    /// The loss statement: `None` inside when its name was not recognised.
    loss: Option<(Option<Loss>, Span)>,
}

impl<'a> Checker<'a, '_> {
    fn network(&mut self, network: &'a ast::Network) -> Option<(Network, NetworkMap)> {
        let errors_before = self.error_count();
        let allow = self.check_meta(&network.meta, crate::warnings::NAMES);
        let has_input = network.statements.iter().any(|s| s.keyword.text == "input");
        let later = network
            .statements
            .iter()
            .filter(|s| s.keyword.text != "loss")
            .filter_map(|s| s.target.as_ref().map(|t| (t.text.as_str(), t.span)))
            .collect();
        let mut pending = Pending {
            input: None,
            nodes: vec![Node::new("input", Op::Input, &[], 0)],
            node_spans: vec![None],
            node_statements: vec![None],
            names: HashMap::new(),
            later,
            input_seen: false,
            has_input,
            loss: None,
        };
        // By their lowercase form: generated code names constants and
        // workspace slots after nodes (`HIDDEN_WEIGHT`, `hidden_z`), so two
        // names that differ only in case would collide there.
        let mut names: HashMap<String, (&str, Span)> = HashMap::new();
        for (index, statement) in network.statements.iter().enumerate() {
            self.check_meta(&statement.meta, &[]);
            if let Some(target) = &statement.target {
                if statement.keyword.text != "loss" {
                    let name = target.text.as_str();
                    if UNNAMEABLE.contains(&name) {
                        self.diagnostics
                            .error(Code::RESERVED_NAME, target.span, format!("a node cannot be named `{name}`"))
                            .help("generated code names values and accessors after nodes, and Rust has no way to write this name: choose another");
                    }
                    match names.insert(name.to_lowercase(), (name, target.span)) {
                        Some((previous, span)) if previous == name => {
                            self.diagnostics
                                .error(Code::DUPLICATE, target.span, format!("the name `{name}` is used twice"))
                                .label(span, "first used here")
                                .help("give every input and layer its own name");
                        }
                        Some((previous, span)) => {
                            self.diagnostics
                                .error(
                                    Code::DUPLICATE,
                                    target.span,
                                    format!("`{name}` and `{previous}` differ only in case"),
                                )
                                .label(span, format!("`{previous}` is here"))
                                .help(format!(
                                    "generated code names constants after nodes (`{}_WEIGHT`), so names must differ in more than case",
                                    name.to_uppercase()
                                ));
                        }
                        None => {}
                    }
                }
            }
            self.statement(statement, index, &mut pending);
        }
        let train = match network.train.as_slice() {
            [] => TrainConfig::default(),
            [block, rest @ ..] => {
                for extra in rest {
                    self.diagnostics
                        .error(Code::DUPLICATE, extra.span, "a network has at most one `train` block")
                        .label(block.span, "first `train` block");
                }
                self.check_meta(&block.meta, &[]);
                self.train(block)
            }
        };
        if !pending.has_input {
            self.diagnostics
                .error(Code::MISSING_INPUT, network.name.span, format!("network `{}` has no input", network.name.text))
                .help("start the network with `input x: [FEATURES];`");
        }
        if self.error_count() == errors_before {
            self.check_unused(&pending);
        }
        let has_parameters = (0..pending.nodes.len()).any(|i| {
            !matches!(pending.nodes[i].op, Op::Input) && !nnspec_core::plan::node_tensors(&pending.nodes, i).is_empty()
        });
        if !has_parameters {
            self.diagnostics
                .error(
                    Code::NO_LAYERS,
                    network.name.span,
                    format!("network `{}` has nothing to train: no node has parameters", network.name.text),
                )
                .help("add a layer with weights, such as `dense out: 1, activation = sigmoid;` or a convolution");
        }
        let loss = match pending.loss {
            Some((Some(loss), span)) => {
                self.check_loss_fit(loss, span, &pending);
                Some(loss)
            }
            Some((None, _)) => None,
            None => {
                self.diagnostics
                    .error(
                        Code::MISSING_LOSS,
                        network.name.span,
                        format!("network `{}` has no loss", network.name.text),
                    )
                    .help("end the network with a loss, e.g. `loss mse;` or `loss softmax_cross_entropy;`");
                None
            }
        };
        if self.error_count() > errors_before {
            return None;
        }
        let (input_name, input_shape, input_size) = pending.input?;
        let nodes = pending.nodes;
        let (tensors, param_count) = self.layout(&nodes, network.name.span)?;
        let map = NetworkMap {
            name: network.name.text.clone(),
            span: network.name.span,
            nodes: pending.node_statements,
            loss: pending.loss.map(|(_, span)| span),
            train: network.train.first().map(|block| block.options.clone()).unwrap_or_default(),
        };
        let network = Network {
            name: network.name.text.clone(),
            doc: network.meta.doc.clone(),
            input_name,
            input_shape,
            input_size,
            nodes,
            loss: loss?,
            train,
            tensors,
            param_count,
            allow,
        };
        Some((network, map))
    }

    fn error_count(&self) -> usize {
        self.diagnostics.error_count()
    }

    /// Validates attributes; returns the words of `#[allow(...)]`.
    fn check_meta(&mut self, meta: &ast::Meta, allowed: &[&str]) -> Vec<String> {
        let mut allow = Vec::new();
        for attribute in &meta.attributes {
            if attribute.name.text != "allow" {
                self.diagnostics
                    .error(
                        Code::UNKNOWN_ATTRIBUTE,
                        attribute.name.span,
                        format!("unknown attribute `{}`", attribute.name.text),
                    )
                    .help("the attributes are `doc = \"…\"` and `allow(…)` (on a network)");
                continue;
            }
            for word in &attribute.args {
                if allowed.contains(&word.text.as_str()) {
                    allow.push(word.text.clone());
                } else {
                    let error = self.diagnostics.error(
                        Code::UNKNOWN_ATTRIBUTE,
                        word.span,
                        format!("`{}` cannot be allowed here", word.text),
                    );
                    match closest_name(&word.text, allowed.iter().copied()) {
                        Some(close) => error.help(format!("did you mean `{close}`?")),
                        None if allowed.is_empty() => error.help("`allow(…)` goes on a network"),
                        None => error.help(format!("the warnings are {}", allowed.join(", "))),
                    };
                }
            }
        }
        allow
    }

    fn statement(&mut self, statement: &'a Statement, index: usize, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        if pending.loss.is_some()
            && keyword != "loss"
            && (STATEMENTS.contains(&keyword) || Activation::NAMES.contains(&keyword))
        {
            self.diagnostics
                .error(Code::MISPLACED, statement.keyword.span, format!("`{keyword}` after the loss"))
                .help("the loss is the last statement of a network");
        }
        match keyword {
            "input" => self.input(statement, index, pending),
            "dense" => self.dense(statement, pending),
            "dropout" => self.dropout(statement, pending),
            "add" | "concat" => self.join(statement, pending),
            "layer_norm" | "batch_norm" => self.norm(statement, pending),
            "standardize" => self.standardize(statement, pending),
            "conv1d" | "conv2d" => self.conv(statement, pending),
            "max_pool1d" | "max_pool2d" | "avg_pool1d" | "avg_pool2d" => self.pool(statement, pending),
            "global_avg_pool" | "flatten" => self.reshape(statement, pending),
            "gru" | "lstm" => self.recurrent(statement, pending),
            word if Activation::NAMES.contains(&word) => self.activation_node(statement, pending),
            "loss" => self.loss(statement, pending),
            other => {
                let error = self.diagnostics.error(
                    Code::UNKNOWN_STATEMENT,
                    statement.keyword.span,
                    format!("unknown statement `{other}`"),
                );
                match closest_name(other, STATEMENTS.iter().chain(Activation::NAMES).copied().chain(["train"])) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error
                        .help("a network holds `input`, `dense`, `dropout`, `add`, `concat`, `loss` and `train { … }`"),
                };
            }
        }
    }
}
