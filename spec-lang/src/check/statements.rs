//! The statements of a network body that are not ops: `input` and `loss`,
//! whether the loss fits the output, the parameter layout, and the checks
//! every statement shares (no arguments, no value, no options where an op
//! takes none).

use super::*;

impl<'a> Checker<'a, '_> {
    pub(super) fn no_args(&mut self, statement: &Statement) {
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

    /// A statement whose size follows from its inputs takes no `: value`; `help` says what to write.
    pub(super) fn no_value(&mut self, statement: &Statement, help: impl Into<String>) {
        if let Some(value) = &statement.value {
            self.diagnostics
                .error(Code::EXTRA_ARGUMENT, value.span, format!("`{}` takes no `: value`", statement.keyword.text))
                .help(help.into());
        }
    }

    pub(super) fn no_options(&mut self, statement: &Statement, help: &str) {
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

    pub(super) fn input(&mut self, statement: &'a Statement, index: usize, pending: &mut Pending<'a>) {
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
        pending.nodes[0] = Node::new(name.clone(), Op::Input, &[], total).with_shape(&shape);
        pending.node_spans[0] = Some(statement.span);
        pending.node_statements[0] = Some(StatementMap::of(statement));
        pending.names.insert(statement.target.as_ref().map_or("input", |t| t.text.as_str()), 0);
        pending.input = Some((name, shape, total));
    }

    pub(super) fn loss(&mut self, statement: &Statement, pending: &mut Pending<'_>) {
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

    pub(super) fn check_loss_fit(&mut self, loss: Loss, loss_span: Span, pending: &Pending<'_>) {
        let Some(last) = pending.output() else {
            return;
        };
        let (activation, last_span) = (last.activation, last.span);
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
            (Loss::BinaryCrossEntropy, Activation::Softmax) => Some((
                "`binary_cross_entropy` scores each output on its own, but a softmax couples them (its outputs sum to 1)"
                    .to_string(),
                "for one class per sample use `loss cross_entropy;` on the softmax output; for independent labels use `activation = sigmoid`"
                    .to_string(),
            )),
            (Loss::BinaryCrossEntropy, a) if a != Activation::Sigmoid => Some((
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

    pub(super) fn layout(&mut self, nodes: &[Node], span: Span) -> Option<(Vec<Tensor>, usize)> {
        let layout = crate::ir::layout(nodes, MAX_PARAMS);
        if layout.is_none() {
            self.diagnostics
                .error(Code::BAD_SIZE, span, "the network has too many parameters")
                .help(format!("at most {MAX_PARAMS} parameters per network"));
        }
        layout
    }
}
