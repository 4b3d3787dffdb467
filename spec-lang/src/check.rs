//! Stage 3: AST → typed IR. Resolves constants and names, checks every shape,
//! hyper-parameter range and activation/loss combination, and lays out the
//! parameters. Every check reports into the sink and carries on, so one run
//! reports every error of the file; the IR is built only when there is none.

use crate::ast::{self, Argument, Ident, KeyValue, Statement, Value, ValueKind};
use crate::diagnostic::{closest_name, Code, Diagnostics, Span};
use crate::ir::*;
use std::collections::HashMap;

fn usual_lr(optimizer: &str) -> &'static str {
    match optimizer {
        "adam" | "adamw" | "rmsprop" => "1e-4 to 1e-2",
        _ => "1e-3 to 1",
    }
}

/// The largest width of one layer or input.
pub const MAX_UNITS: usize = 1 << 24;
/// The largest number of parameters in one network.
pub const MAX_PARAMS: usize = 1 << 30;

const STATEMENTS: &[&str] = &["input", "dense", "dropout", "loss"];
const DENSE_KEYS: &[&str] = &["activation", "bias", "init", "bias_init", "l1", "l2"];
const TRAIN_KEYS: &[&str] = &[
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
const SCHEDULES: &[&str] = &["step", "multistep", "exponential", "cosine", "linear"];

/// Checks a whole file; returns the IR, or every error found.
pub fn check_file(file: &ast::File, diagnostics: &mut Diagnostics) -> Program {
    let mut checker = Checker { constants: HashMap::new(), diagnostics };
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
    for constant in &file.constants {
        checker.number(&constant.value);
    }
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut networks = Vec::new();
    for network in &file.networks {
        if let Some(previous) = seen.insert(network.name.text.as_str(), network.name.span) {
            checker
                .diagnostics
                .error(Code::DUPLICATE, network.name.span, format!("network `{}` is defined twice", network.name.text))
                .label(previous, "first defined here");
        }
        if let Some(network) = checker.network(network) {
            networks.push(network);
        }
    }
    Program { networks }
}

struct Checker<'a, 'd> {
    constants: HashMap<&'a str, &'a ast::Constant>,
    diagnostics: &'d mut Diagnostics,
}

/// What the statements of a network declare, before layout.
struct Pending {
    input: Option<(String, Vec<usize>, usize)>,
    layers: Vec<DenseLayer>,
    layer_spans: Vec<Span>,
    /// True once an `input` statement was seen, even one whose shape was wrong.
    input_seen: bool,
    /// True if the network has an `input` statement anywhere.
    has_input: bool,
    /// The loss statement: `None` inside when its name was not recognised.
    loss: Option<(Option<Loss>, Span)>,
}

impl<'a> Checker<'a, '_> {
    fn network(&mut self, network: &'a ast::Network) -> Option<Network> {
        let errors_before = self.error_count();
        let allow = self.check_meta(&network.meta, crate::warnings::NAMES);
        let has_input = network.statements.iter().any(|s| s.keyword.text == "input");
        let mut pending = Pending {
            input: None,
            layers: Vec::new(),
            layer_spans: Vec::new(),
            input_seen: false,
            has_input,
            loss: None,
        };
        let mut names: HashMap<&str, Span> = HashMap::new();
        for (index, statement) in network.statements.iter().enumerate() {
            self.check_meta(&statement.meta, &[]);
            if let Some(target) = &statement.target {
                if statement.keyword.text != "loss" {
                    if let Some(previous) = names.insert(target.text.as_str(), target.span) {
                        self.diagnostics
                            .error(Code::DUPLICATE, target.span, format!("the name `{}` is used twice", target.text))
                            .label(previous, "first used here")
                            .help("give every input and layer its own name");
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
        if pending.layers.is_empty() {
            self.diagnostics
                .error(
                    Code::NO_LAYERS,
                    network.name.span,
                    format!("network `{}` has no dense layer", network.name.text),
                )
                .help("add a layer such as `dense out: 1, activation = sigmoid;`");
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
        let mut layers = pending.layers;
        let (tensors, param_count) = self.layout(&mut layers, input_size, network.name.span)?;
        Some(Network {
            name: network.name.text.clone(),
            doc: network.meta.doc.clone(),
            input_name,
            input_shape,
            input_size,
            layers,
            loss: loss?,
            train,
            tensors,
            param_count,
            allow,
        })
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

    fn statement(&mut self, statement: &'a Statement, index: usize, pending: &mut Pending) {
        let keyword = statement.keyword.text.as_str();
        if pending.loss.is_some() && keyword != "loss" && STATEMENTS.contains(&keyword) {
            self.diagnostics
                .error(Code::MISPLACED, statement.keyword.span, format!("`{keyword}` after the loss"))
                .help("the loss is the last statement of a network");
        }
        match keyword {
            "input" => self.input(statement, index, pending),
            "dense" => self.dense(statement, pending),
            "dropout" => self.dropout(statement, pending),
            "loss" => self.loss(statement, pending),
            other => {
                let error = self.diagnostics.error(
                    Code::UNKNOWN_STATEMENT,
                    statement.keyword.span,
                    format!("unknown statement `{other}`"),
                );
                match closest_name(other, STATEMENTS.iter().copied().chain(["train"])) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help("a network holds `input`, `dense`, `dropout`, `loss` and `train { … }`"),
                };
            }
        }
    }

    fn no_args(&mut self, statement: &Statement) {
        if let Some(args) = &statement.args {
            let span = args.first().map_or(statement.keyword.span, Argument::span);
            self.diagnostics
                .error(
                    Code::EXTRA_ARGUMENT,
                    span,
                    format!("`{}` takes no parenthesised arguments", statement.keyword.text),
                )
                .help("write options as `key = value` after the name");
        }
    }

    fn no_options(&mut self, statement: &Statement, help: &str) {
        for option in &statement.options {
            self.diagnostics
                .error(
                    Code::UNKNOWN_KEY,
                    option.key.span,
                    format!("`{}` takes no option `{}`", statement.keyword.text, option.key.text),
                )
                .help(help.to_string());
        }
    }

    fn input(&mut self, statement: &Statement, index: usize, pending: &mut Pending) {
        self.no_args(statement);
        self.no_options(statement, "write `input x: [FEATURES];`");
        if pending.input_seen {
            self.diagnostics
                .error(Code::MISSING_INPUT, statement.keyword.span, "a network has exactly one input")
                .help("merge the inputs into one `input x: [FEATURES];`");
            return;
        }
        pending.input_seen = true;
        if index != 0 {
            self.diagnostics
                .error(Code::MISSING_INPUT, statement.keyword.span, "`input` must be the first statement")
                .help("move the input above the layers");
        }
        let name = statement.target.as_ref().map_or_else(|| "input".to_string(), |t| t.text.clone());
        let Some(value) = &statement.value else {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.span, "the input needs a shape")
                .help(format!("write `input {name}: [FEATURES];`"));
            return;
        };
        let dims: Vec<&Value> = match &value.kind {
            ValueKind::List(items) => items.iter().collect(),
            _ => vec![value],
        };
        if dims.is_empty() {
            self.diagnostics.error(Code::BAD_SIZE, value.span, "the input shape is empty").help("write `[FEATURES]`");
            return;
        }
        let mut shape = Vec::new();
        for dim in dims {
            match self.size(dim, "an input size") {
                Some(size) => shape.push(size),
                None => return,
            }
        }
        let mut total: usize = 1;
        for &d in &shape {
            total = match total.checked_mul(d).filter(|t| *t <= MAX_UNITS) {
                Some(t) => t,
                None => {
                    self.diagnostics
                        .error(Code::BAD_SIZE, value.span, "the input is too large")
                        .help(format!("at most {MAX_UNITS} features per sample"));
                    return;
                }
            };
        }
        pending.input = Some((name, shape, total));
    }

    fn dense(&mut self, statement: &'a Statement, pending: &mut Pending) {
        self.no_args(statement);
        let name = match &statement.target {
            Some(target) => target.text.clone(),
            None => {
                self.diagnostics
                    .error(Code::MISSING_ARGUMENT, statement.keyword.span, "a dense layer needs a name")
                    .help("write `dense hidden: 16;`");
                format!("dense{}", pending.layers.len() + 1)
            }
        };
        let units = match &statement.value {
            Some(value) => self.size(value, "a layer's units"),
            None => {
                self.diagnostics
                    .error(Code::MISSING_ARGUMENT, statement.span, format!("layer `{name}` needs a number of units"))
                    .help(format!("write `dense {name}: 16;`"));
                None
            }
        };
        let mut layer = DenseLayer {
            name,
            doc: statement.meta.doc.clone(),
            inputs: pending.layers.last().map(|l| l.units).or(pending.input.as_ref().map(|i| i.2)).unwrap_or(0),
            units: units.unwrap_or(1),
            activation: Activation::Identity,
            bias: true,
            init: Init::XavierUniform,
            bias_init: Init::Zeros,
            l1: 0.0,
            l2: 0.0,
            dropout: None,
            weight_offset: 0,
            bias_offset: None,
        };
        self.check_duplicate_keys(&statement.options);
        for option in &statement.options {
            match option.key.text.as_str() {
                "activation" => {
                    if let Some(activation) = self.activation(&option.value) {
                        layer.activation = activation;
                    }
                }
                "bias" => {
                    if let Some(bias) = self.boolean(&option.value) {
                        layer.bias = bias;
                    }
                }
                "init" => {
                    if let Some(init) = self.init(&option.value) {
                        layer.init = init;
                    }
                }
                "bias_init" => {
                    if let Some(init) = self.init(&option.value) {
                        layer.bias_init = init;
                    }
                }
                "l1" | "l2" => {
                    if let Some(coef) = self.ranged(&option.value, 0.0, f64::INFINITY, true, "a penalty coefficient") {
                        if option.key.text == "l1" {
                            layer.l1 = coef;
                        } else {
                            layer.l2 = coef;
                        }
                    }
                }
                _ => self.unknown_key(&option.key, DENSE_KEYS, "a dense layer"),
            }
        }
        if pending.has_input && !pending.input_seen && pending.layers.is_empty() {
            self.diagnostics
                .error(Code::MISSING_INPUT, statement.keyword.span, "a layer before the input")
                .help("start the network with `input x: [FEATURES];`");
        }
        pending.layers.push(layer);
        pending.layer_spans.push(statement.span);
    }

    fn dropout(&mut self, statement: &Statement, pending: &mut Pending) {
        self.no_options(statement, "write `dropout(0.5);`");
        let value = match (&statement.args, &statement.value) {
            (Some(args), _) => {
                let map = self.arguments(statement.keyword.span, args, &["p"], "dropout");
                map.get("p").copied()
            }
            (None, Some(value)) => Some(value),
            (None, None) => None,
        };
        let Some(value) = value else {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.span, "dropout needs a probability")
                .help("write `dropout(0.5);` to drop half the units while training");
            return;
        };
        let p = self.ranged(value, 0.0, 1.0, false, "a dropout probability");
        match pending.layers.last_mut() {
            Some(layer) if layer.dropout.is_none() => layer.dropout = p,
            Some(layer) => {
                self.diagnostics
                    .error(Code::DUPLICATE, statement.span, format!("layer `{}` already has a dropout", layer.name))
                    .help("use one `dropout(p)` per layer");
            }
            None => {
                self.diagnostics
                    .error(Code::MISPLACED, statement.keyword.span, "dropout before any dense layer")
                    .help("dropout applies to the output of the dense layer above it");
            }
        }
    }

    fn loss(&mut self, statement: &Statement, pending: &mut Pending) {
        self.no_args(statement);
        self.no_options(statement, "write `loss mse;`");
        if let Some((_, previous)) = pending.loss {
            self.diagnostics
                .error(Code::MISSING_LOSS, statement.keyword.span, "a network has exactly one loss")
                .label(previous, "first loss here");
            return;
        }
        let Some(target) = &statement.target else {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.span, "`loss` needs the name of a loss")
                .help(format!("the losses are {}", Loss::NAMES.join(", ")));
            return;
        };
        let loss = match target.text.as_str() {
            "mse" => Loss::Mse,
            "sse" => Loss::Sse,
            "sse_half" => Loss::SseHalf,
            "binary_cross_entropy" | "bce" => Loss::BinaryCrossEntropy,
            "binary_cross_entropy_with_logits" | "bce_with_logits" => Loss::BinaryCrossEntropyWithLogits,
            "softmax_cross_entropy" => Loss::SoftmaxCrossEntropy,
            "cross_entropy" => Loss::CrossEntropy,
            other => {
                let error = self.diagnostics.error(Code::UNKNOWN_LOSS, target.span, format!("unknown loss `{other}`"));
                match closest_name(other, Loss::NAMES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the losses are {}", Loss::NAMES.join(", "))),
                };
                pending.loss = Some((None, statement.span));
                return;
            }
        };
        pending.loss = Some((Some(loss), statement.span));
    }

    fn check_loss_fit(&mut self, loss: Loss, loss_span: Span, pending: &Pending) {
        let (Some(last), Some(&last_span)) = (pending.layers.last(), pending.layer_spans.last()) else {
            return;
        };
        let activation = last.activation;
        match loss {
            Loss::SoftmaxCrossEntropy | Loss::CrossEntropy if last.units < 2 => {
                self.diagnostics
                    .error(
                        Code::LOSS_OUTPUT_MISMATCH,
                        loss_span,
                        format!("`{}` needs at least 2 outputs, but `{}` has {}", loss.name(), last.name, last.units),
                    )
                    .label(last_span, format!("output layer with {} unit", last.units))
                    .help("for two classes use one output with `binary_cross_entropy`, or give the output layer one unit per class");
            }
            _ => {}
        }
        let wrong = match (loss, activation) {
            (Loss::SoftmaxCrossEntropy, Activation::Softmax) => Some((
                "softmax applied twice: `softmax_cross_entropy` takes logits".to_string(),
                "remove the output activation, or use `loss cross_entropy;` on the softmax output".to_string(),
            )),
            (Loss::SoftmaxCrossEntropy, a) if a != Activation::Identity => Some((
                format!("`softmax_cross_entropy` takes logits, but the output layer applies `{}`", a.name()),
                "remove the output layer's activation".to_string(),
            )),
            (Loss::CrossEntropy, a) if a != Activation::Softmax => Some((
                format!("`cross_entropy` takes the probabilities of a softmax output, not `{}`", a.name()),
                "use `activation = softmax` on the output layer, or `loss softmax_cross_entropy;` on logits"
                    .to_string(),
            )),
            (Loss::BinaryCrossEntropyWithLogits, Activation::Sigmoid) => Some((
                "sigmoid applied twice: `binary_cross_entropy_with_logits` takes logits".to_string(),
                "remove the output activation, or use `loss binary_cross_entropy;` on the sigmoid output".to_string(),
            )),
            (Loss::BinaryCrossEntropyWithLogits, a) if a != Activation::Identity => Some((
                format!("`binary_cross_entropy_with_logits` takes logits, but the output layer applies `{}`", a.name()),
                "remove the output layer's activation".to_string(),
            )),
            (Loss::BinaryCrossEntropy, a) if !matches!(a, Activation::Sigmoid | Activation::Softmax) => Some((
                format!(
                    "`binary_cross_entropy` takes probabilities in (0, 1), but `{}` outputs can leave that range",
                    a.name()
                ),
                "use `activation = sigmoid` on the output layer, or `loss binary_cross_entropy_with_logits;`"
                    .to_string(),
            )),
            _ => None,
        };
        if let Some((message, help)) = wrong {
            self.diagnostics
                .error(Code::BAD_COMBINATION, loss_span, message)
                .label(last_span, "output layer")
                .help(help);
        }
    }

    fn layout(&mut self, layers: &mut [DenseLayer], input: usize, span: Span) -> Option<(Vec<Tensor>, usize)> {
        let mut tensors = Vec::new();
        let mut offset: usize = 0;
        let mut inputs = input;
        for (index, layer) in layers.iter_mut().enumerate() {
            layer.inputs = inputs;
            inputs = layer.units;
            let weights = layer.inputs.checked_mul(layer.units);
            let total = weights.and_then(|w| offset.checked_add(w)).and_then(|t| t.checked_add(layer.units));
            if total.is_none_or(|t| t > MAX_PARAMS) {
                self.diagnostics
                    .error(Code::BAD_SIZE, span, "the network has too many parameters")
                    .help(format!("at most {MAX_PARAMS} parameters per network"));
                return None;
            }
            let weights = weights?;
            layer.weight_offset = offset;
            tensors.push(Tensor {
                name: format!("{}.weight", layer.name),
                layer: index,
                is_weight: true,
                shape: vec![layer.inputs, layer.units],
                offset,
                len: weights,
            });
            offset += weights;
            if layer.bias {
                layer.bias_offset = Some(offset);
                tensors.push(Tensor {
                    name: format!("{}.bias", layer.name),
                    layer: index,
                    is_weight: false,
                    shape: vec![layer.units],
                    offset,
                    len: layer.units,
                });
                offset += layer.units;
            }
        }
        Some((tensors, offset))
    }

    fn train(&mut self, block: &ast::TrainBlock) -> TrainConfig {
        let mut config = TrainConfig::default();
        self.check_duplicate_keys(&block.options);
        for option in &block.options {
            let value = &option.value;
            match option.key.text.as_str() {
                "optimizer" => {
                    if let Some(optimizer) = self.optimizer(value) {
                        config.optimizer = optimizer;
                    }
                }
                "batch" => match &value.kind {
                    ValueKind::Path(ident) if ident.text == "full" => config.batch = BatchSize::Full,
                    _ => {
                        if let Some(size) = self.size(value, "a batch size") {
                            config.batch = BatchSize::Size(size);
                        }
                    }
                },
                "epochs" => {
                    if let Some(epochs) = self.count(value, "a number of epochs", 1) {
                        config.epochs = epochs;
                    }
                }
                "seed" => {
                    if let Some(seed) = self.count(value, "a seed", 0) {
                        config.seed = seed as u64;
                    }
                }
                "samples" => config.samples = self.count(value, "a number of samples", 1),
                "schedule" => config.schedule = self.schedule(value),
                "clip_grad_norm" => config.clip_grad_norm = self.ranged(value, 0.0, f64::INFINITY, false, "a norm"),
                "clip_grad_value" => {
                    config.clip_grad_value = self.ranged(value, 0.0, f64::INFINITY, false, "a clip value")
                }
                "validation_split" => {
                    if let Some(split) = self.ranged(value, 0.0, 1.0, true, "a validation fraction") {
                        config.validation_split = split;
                    }
                }
                "shuffle" => {
                    if let Some(shuffle) = self.boolean(value) {
                        config.shuffle = shuffle;
                    }
                }
                "early_stopping" => config.early_stopping = self.early_stopping(value),
                _ => self.unknown_key(&option.key, TRAIN_KEYS, "the train block"),
            }
        }
        config
    }

    fn early_stopping(&mut self, value: &Value) -> Option<EarlyStopping> {
        let ValueKind::Tuple(args) = &value.kind else {
            self.wrong_type(value, "`(monitor = val_loss, patience = 10)`");
            return None;
        };
        let map =
            self.arguments(value.span, args, &["monitor", "patience", "min_delta", "restore_best"], "early_stopping");
        let mut stopping = EarlyStopping { monitor_validation: true, patience: 10, min_delta: 0.0, restore_best: true };
        if let Some(monitor) = map.get("monitor") {
            match &monitor.kind {
                ValueKind::Path(ident) if ident.text == "val_loss" => stopping.monitor_validation = true,
                ValueKind::Path(ident) if ident.text == "loss" => stopping.monitor_validation = false,
                _ => {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, monitor.span, "early stopping monitors `val_loss` or `loss`")
                        .help("write `monitor = val_loss`");
                }
            }
        }
        if let Some(patience) = map.get("patience") {
            stopping.patience = self.count(patience, "a patience", 1)?;
        }
        if let Some(delta) = map.get("min_delta") {
            stopping.min_delta = self.ranged(delta, 0.0, f64::INFINITY, true, "a minimum improvement")?;
        }
        if let Some(restore) = map.get("restore_best") {
            stopping.restore_best = self.boolean(restore)?;
        }
        Some(stopping)
    }

    fn schedule(&mut self, value: &Value) -> Option<Schedule> {
        let (name, args) = match &value.kind {
            ValueKind::Call { name, args } => (name, args.as_slice()),
            ValueKind::Path(name) => (name, &[][..]),
            _ => {
                self.wrong_type(value, "a schedule such as `cosine(t_max = 100)`");
                return None;
            }
        };
        let params: &[&str] = match name.text.as_str() {
            "step" => &["step_size", "gamma"],
            "multistep" => &["milestones", "gamma"],
            "exponential" => &["gamma"],
            "cosine" => &["t_max", "eta_min"],
            "linear" => &["start_factor", "end_factor", "total_iters"],
            other => {
                let error =
                    self.diagnostics.error(Code::UNKNOWN_SCHEDULE, name.span, format!("unknown schedule `{other}`"));
                match closest_name(other, SCHEDULES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the schedules are {}", SCHEDULES.join(", "))),
                };
                return None;
            }
        };
        let map = self.arguments(name.span, args, params, &name.text);
        let gamma = |this: &mut Self, default: Option<f64>| match map.get("gamma") {
            Some(v) => this.ranged(v, 0.0, f64::INFINITY, false, "a decay factor"),
            None => default.or_else(|| {
                this.missing(name, "gamma");
                None
            }),
        };
        Some(match name.text.as_str() {
            "step" => Schedule::Step {
                step_size: self.required_count(&map, name, "step_size")?,
                gamma: gamma(self, Some(0.1))?,
            },
            "multistep" => {
                let Some(list) = map.get("milestones") else {
                    self.missing(name, "milestones");
                    return None;
                };
                let ValueKind::List(items) = &list.kind else {
                    self.wrong_type(list, "a list of epochs such as `[30, 60]`");
                    return None;
                };
                let mut milestones = Vec::new();
                for item in items {
                    milestones.push(self.count(item, "an epoch", 0)?);
                }
                Schedule::MultiStep { milestones, gamma: gamma(self, Some(0.1))? }
            }
            "exponential" => Schedule::Exponential { gamma: gamma(self, None)? },
            "cosine" => Schedule::Cosine {
                t_max: self.required_count(&map, name, "t_max")?,
                eta_min: match map.get("eta_min") {
                    Some(v) => self.ranged(v, 0.0, f64::INFINITY, true, "a minimum learning rate")?,
                    None => 0.0,
                },
            },
            _ => {
                let factor = |this: &mut Self, key: &str, default: f64| match map.get(key) {
                    Some(v) => this.ranged(v, 0.0, 1.0, true, "a factor").filter(|_| true),
                    None => Some(default),
                };
                let start_factor = factor(self, "start_factor", 1.0 / 3.0)?;
                let end_factor = factor(self, "end_factor", 1.0)?;
                let total_iters = match map.get("total_iters") {
                    Some(v) => self.count(v, "a number of epochs", 1)?,
                    None => 5,
                };
                if start_factor == 0.0 {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, value.span, "`start_factor` must be greater than 0")
                        .help("PyTorch's LinearLR requires 0 < start_factor ≤ 1");
                    return None;
                }
                Schedule::Linear { start_factor, end_factor, total_iters }
            }
        })
    }

    fn optimizer(&mut self, value: &Value) -> Option<Optimizer> {
        let (name, args) = match &value.kind {
            ValueKind::Call { name, args } => (name, args.as_slice()),
            ValueKind::Path(name) => (name, &[][..]),
            _ => {
                self.wrong_type(value, "an optimizer such as `adam(lr = 1e-3)`");
                return None;
            }
        };
        let params: &[&str] = match name.text.as_str() {
            "sgd" => &["lr", "momentum", "dampening", "nesterov", "weight_decay"],
            "momentum" => &["lr", "momentum", "dampening", "weight_decay"],
            "nesterov" => &["lr", "momentum", "weight_decay"],
            "adagrad" => &["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
            "rmsprop" => &["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
            "adam" | "adamw" => &["lr", "betas", "eps", "weight_decay", "amsgrad"],
            other => {
                let error =
                    self.diagnostics.error(Code::UNKNOWN_OPTIMIZER, name.span, format!("unknown optimizer `{other}`"));
                match closest_name(other, Optimizer::NAMES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the optimizers are {}", Optimizer::NAMES.join(", "))),
                };
                return None;
            }
        };
        let map = self.arguments(name.span, args, params, &name.text);
        let errors_before = self.error_count();
        let real = |this: &mut Self, key: &str, default: f64, low: f64, high: f64, closed: bool| -> f64 {
            match map.get(key) {
                Some(v) => this.ranged(v, low, high, closed, key).unwrap_or(default),
                None => default,
            }
        };
        let default_lr = match name.text.as_str() {
            "adagrad" | "rmsprop" => 0.01,
            _ => 1e-3,
        };
        let lr = match map.get("lr") {
            Some(v) => match self.number(v) {
                Some(lr) if lr < 0.0 => {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, v.span, format!("lr must be greater than 0, found {lr}"))
                        .label_primary("a negative learning rate climbs the loss")
                        .help(format!("the usual range for `{}` is {}", name.text, usual_lr(&name.text)));
                    default_lr
                }
                Some(lr) => lr,
                None => default_lr,
            },
            None => default_lr,
        };
        if lr == 0.0 {
            let span = map.get("lr").map_or(value.span, |v| v.span);
            self.diagnostics
                .error(Code::OUT_OF_RANGE, span, "lr must be greater than 0, found 0")
                .label_primary("a zero learning rate never moves the parameters");
        }
        let weight_decay_default = if name.text == "adamw" { 0.01 } else { 0.0 };
        let weight_decay = real(self, "weight_decay", weight_decay_default, 0.0, f64::INFINITY, true);
        let optimizer = match name.text.as_str() {
            "sgd" | "momentum" | "nesterov" => {
                let momentum_default = if name.text == "sgd" { 0.0 } else { 0.9 };
                let momentum = real(self, "momentum", momentum_default, 0.0, 1.0, true);
                let dampening = real(self, "dampening", 0.0, 0.0, 1.0, true);
                let nesterov = match map.get("nesterov") {
                    Some(v) => self.boolean(v).unwrap_or(false),
                    None => name.text == "nesterov",
                };
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, value.span, "Nesterov momentum needs momentum > 0 and dampening = 0")
                        .help("set `momentum = 0.9` and leave `dampening` at 0");
                }
                if momentum >= 1.0 {
                    self.out_of_range(map.get("momentum").map_or(value.span, |v| v.span), "momentum", "[0, 1)");
                }
                Optimizer::Sgd { lr, momentum, dampening, nesterov, weight_decay }
            }
            "adagrad" => Optimizer::Adagrad {
                lr,
                lr_decay: real(self, "lr_decay", 0.0, 0.0, f64::INFINITY, true),
                weight_decay,
                initial_accumulator_value: real(self, "initial_accumulator_value", 0.0, 0.0, f64::INFINITY, true),
                eps: real(self, "eps", 1e-10, 0.0, f64::INFINITY, true),
            },
            "rmsprop" => {
                let momentum = real(self, "momentum", 0.0, 0.0, 1.0, true);
                if momentum >= 1.0 {
                    self.out_of_range(map.get("momentum").map_or(value.span, |v| v.span), "momentum", "[0, 1)");
                }
                Optimizer::RmsProp {
                    lr,
                    alpha: real(self, "alpha", 0.99, 0.0, 1.0, true),
                    eps: real(self, "eps", 1e-8, 0.0, f64::INFINITY, true),
                    weight_decay,
                    momentum,
                    centered: map.get("centered").and_then(|v| self.boolean(v)).unwrap_or(false),
                }
            }
            _ => {
                let (beta1, beta2) = match map.get("betas") {
                    Some(betas) => self.betas(betas).unwrap_or((0.9, 0.999)),
                    None => (0.9, 0.999),
                };
                Optimizer::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps: real(self, "eps", 1e-8, 0.0, f64::INFINITY, true),
                    weight_decay,
                    amsgrad: map.get("amsgrad").and_then(|v| self.boolean(v)).unwrap_or(false),
                    decoupled: name.text == "adamw",
                }
            }
        };
        (self.error_count() == errors_before).then_some(optimizer)
    }

    fn betas(&mut self, value: &Value) -> Option<(f64, f64)> {
        let ValueKind::Tuple(items) = &value.kind else {
            self.wrong_type(value, "a pair such as `(0.9, 0.999)`");
            return None;
        };
        let [Argument::Positional(b1), Argument::Positional(b2)] = items.as_slice() else {
            self.wrong_type(value, "a pair such as `(0.9, 0.999)`");
            return None;
        };
        let beta1 = self.ranged(b1, 0.0, 1.0, false, "beta1");
        let beta2 = self.ranged(b2, 0.0, 1.0, false, "beta2");
        for (beta, v) in [(beta1, b1), (beta2, b2)] {
            if beta.is_some_and(|b| b >= 1.0) {
                self.out_of_range(v.span, "a beta", "[0, 1)");
                return None;
            }
        }
        Some((beta1?, beta2?))
    }

    fn activation(&mut self, value: &Value) -> Option<Activation> {
        let (name, args) = match &value.kind {
            ValueKind::Path(name) => (name, &[][..]),
            ValueKind::Call { name, args } => (name, args.as_slice()),
            _ => {
                self.wrong_type(value, "an activation such as `relu`");
                return None;
            }
        };
        let params: &[&str] = match name.text.as_str() {
            "leaky_relu" => &["alpha"],
            "elu" => &["alpha"],
            _ => &[],
        };
        let map = self.arguments(name.span, args, params, &name.text);
        let alpha = |this: &mut Self, default: f64| match map.get("alpha") {
            Some(v) => this.ranged(v, 0.0, f64::INFINITY, true, "alpha"),
            None => Some(default),
        };
        Some(match name.text.as_str() {
            "step" | "heaviside" => Activation::Step,
            "identity" | "linear" | "none" => Activation::Identity,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(alpha(self, 0.01)?),
            "elu" => Activation::Elu(alpha(self, 1.0)?),
            "softplus" => Activation::Softplus,
            "gelu" => Activation::Gelu,
            "softmax" => Activation::Softmax,
            "log_softmax" => Activation::LogSoftmax,
            other => {
                let error = self.diagnostics.error(
                    Code::UNKNOWN_ACTIVATION,
                    name.span,
                    format!("unknown activation `{other}`"),
                );
                match closest_name(other, Activation::NAMES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the activations are {}", Activation::NAMES.join(", "))),
                };
                return None;
            }
        })
    }

    fn init(&mut self, value: &Value) -> Option<Init> {
        let (name, args) = match &value.kind {
            ValueKind::Path(name) => (name, &[][..]),
            ValueKind::Call { name, args } => (name, args.as_slice()),
            _ => {
                self.wrong_type(value, "an initializer such as `he_normal`");
                return None;
            }
        };
        let params: &[&str] = match name.text.as_str() {
            "constant" => &["value"],
            "uniform" => &["low", "high"],
            "normal" => &["mean", "std"],
            _ => &[],
        };
        let map = self.arguments(name.span, args, params, &name.text);
        let get = |this: &mut Self, key: &str, default: Option<f64>| match map.get(key) {
            Some(v) => this.number(v),
            None => default.or_else(|| {
                this.missing(name, key);
                None
            }),
        };
        Some(match name.text.as_str() {
            "zeros" => Init::Zeros,
            "ones" => Init::Constant(1.0),
            "constant" => Init::Constant(get(self, "value", None)?),
            "uniform" => {
                let low = get(self, "low", Some(-1.0))?;
                let high = get(self, "high", Some(1.0))?;
                if low > high {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, value.span, format!("uniform({low}, {high}) has low > high"))
                        .help("write the lower bound first");
                    return None;
                }
                Init::Uniform { low, high }
            }
            "normal" => {
                let mean = get(self, "mean", Some(0.0))?;
                let std = get(self, "std", Some(1.0))?;
                if std < 0.0 {
                    self.out_of_range(map.get("std").map_or(value.span, |v| v.span), "a standard deviation", "≥ 0");
                    return None;
                }
                Init::Normal { mean, std }
            }
            "xavier_uniform" | "glorot_uniform" => Init::XavierUniform,
            "xavier_normal" | "glorot_normal" => Init::XavierNormal,
            "he_uniform" | "kaiming_uniform" => Init::HeUniform,
            "he_normal" | "kaiming_normal" => Init::HeNormal,
            "torch_default" => Init::TorchDefault,
            other => {
                let error = self.diagnostics.error(
                    Code::UNKNOWN_INITIALIZER,
                    name.span,
                    format!("unknown initializer `{other}`"),
                );
                match closest_name(other, Init::NAMES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the initializers are {}", Init::NAMES.join(", "))),
                };
                return None;
            }
        })
    }

    /// Maps positional and named arguments onto `params`, reporting unknown, duplicate and extra ones.
    fn arguments<'v>(
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

    fn check_duplicate_keys(&mut self, options: &[KeyValue]) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for option in options {
            if let Some(previous) = seen.insert(option.key.text.as_str(), option.key.span) {
                self.diagnostics
                    .error(Code::DUPLICATE, option.key.span, format!("`{}` is set twice", option.key.text))
                    .label(previous, "first set here");
            }
        }
    }

    fn unknown_key(&mut self, key: &Ident, known: &[&str], what: &str) {
        let error = self.diagnostics.error(Code::UNKNOWN_KEY, key.span, format!("{what} has no option `{}`", key.text));
        match closest_name(&key.text, known.iter().copied()) {
            Some(close) => error.help(format!("did you mean `{close}`?")),
            None if known.is_empty() => error.help("it takes no options"),
            None => error.help(format!("the options are {}", known.join(", "))),
        };
    }

    fn missing(&mut self, name: &Ident, key: &str) {
        self.diagnostics
            .error(Code::MISSING_ARGUMENT, name.span, format!("`{}` needs `{key}`", name.text))
            .help(format!("write `{}({key} = …)`", name.text));
    }

    fn wrong_type(&mut self, value: &Value, expected: &str) {
        self.diagnostics
            .error(Code::WRONG_TYPE, value.span, format!("expected {expected}, found {}", value.describe()))
            .label_primary(format!("this is {}", value.describe()));
    }

    fn out_of_range(&mut self, span: Span, what: &str, range: &str) {
        self.diagnostics
            .error(Code::OUT_OF_RANGE, span, format!("{what} must be in {range}"))
            .label_primary("out of range");
    }

    fn required_count(&mut self, map: &HashMap<&'static str, &Value>, name: &Ident, key: &str) -> Option<usize> {
        match map.get(key) {
            Some(v) => self.count(v, key, 1),
            None => {
                self.missing(name, key);
                None
            }
        }
    }

    /// A number, resolving constants.
    fn number(&mut self, value: &Value) -> Option<f64> {
        self.number_at_depth(value, 0).map(|(v, _)| v)
    }

    fn number_at_depth(&mut self, value: &Value, depth: usize) -> Option<(f64, bool)> {
        match &value.kind {
            ValueKind::Number { value, is_integer } => Some((*value, *is_integer)),
            ValueKind::Path(ident) => match self.constants.get(ident.text.as_str()).copied() {
                Some(constant) if depth < 32 => self.number_at_depth(&constant.value, depth + 1),
                Some(constant) => {
                    self.diagnostics
                        .error(Code::TOO_LARGE, constant.name.span, "constants refer to each other in a cycle")
                        .help("give one of them a number");
                    None
                }
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

    fn ranged(&mut self, value: &Value, low: f64, high: f64, closed_high: bool, what: &str) -> Option<f64> {
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
    fn size(&mut self, value: &Value, what: &str) -> Option<usize> {
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
    fn count(&mut self, value: &Value, what: &str, min: usize) -> Option<usize> {
        let (number, is_integer) = self.number_at_depth(value, 0)?;
        if !is_integer || number.fract() != 0.0 {
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

    fn boolean(&mut self, value: &Value) -> Option<bool> {
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
