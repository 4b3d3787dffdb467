//! The graph of a network body: which nodes a statement reads (the statement
//! above it, or the names in parentheses after its name), `add` and `concat`,
//! the widths they need, and statements whose output nothing reads.

use super::*;

/// The node the loss reads, as the loss checks see it.
pub(super) struct Output<'p> {
    pub(super) name: &'p str,
    pub(super) units: usize,
    pub(super) activation: Activation,
    pub(super) span: Span,
}

impl Pending<'_> {
    /// The output: the last node, through a dropout on it (which never runs
    /// there); a dense layer's activation, the identity for anything else.
    pub(super) fn output(&self) -> Option<Output<'_>> {
        let mut index = self.nodes.len() - 1;
        if let Op::Dropout(_) = self.nodes[index].op {
            index = self.nodes[index].inputs[0];
        }
        let node = &self.nodes[index];
        match node.op {
            Op::Input => None,
            Op::Dense(layer) => {
                let layer_info = self.layers.get(layer)?;
                Some(Output {
                    name: &layer_info.name,
                    units: layer_info.units,
                    activation: layer_info.activation,
                    span: *self.layer_spans.get(layer)?,
                })
            }
            Op::Activation(activation) => {
                Some(Output { name: &node.name, units: node.width, activation, span: self.node_spans[index]? })
            }
            _ => Some(Output {
                name: &node.name,
                units: node.width,
                activation: Activation::Identity,
                span: self.node_spans[index]?,
            }),
        }
    }
}

impl<'a> Checker<'a, '_> {
    /// Adds a node, named after its statement's name for later statements to read.
    pub(super) fn push_node(&mut self, statement: &'a Statement, node: Node, pending: &mut Pending<'a>) {
        if let Some(target) = &statement.target {
            pending.names.insert(target.text.as_str(), pending.nodes.len());
        }
        pending.nodes.push(node);
        pending.node_spans.push(Some(statement.span));
        pending.node_statements.push(Some(StatementMap::of(statement)));
    }

    /// The nodes a statement reads: the names in its parentheses, or the statement above.
    fn inputs(&mut self, statement: &Statement, pending: &Pending<'a>) -> Option<Vec<usize>> {
        let Some(names) = &statement.inputs else {
            return Some(vec![pending.nodes.len() - 1]);
        };
        let mut inputs = Vec::new();
        for name in names {
            if let Some(&index) = pending.names.get(name.text.as_str()) {
                inputs.push(index);
                continue;
            }
            let itself = statement.target.as_ref().is_some_and(|t| t.text == name.text);
            if itself {
                self.diagnostics
                    .error(Code::MISPLACED, name.span, format!("`{}` reads itself", name.text))
                    .help("name a statement above it");
            } else if let Some(&below) = pending.later.get(name.text.as_str()) {
                self.diagnostics
                    .error(Code::MISPLACED, name.span, format!("`{}` is defined below this statement", name.text))
                    .label(below, "defined here")
                    .help("a statement reads only the input and statements above it");
            } else {
                let error = self.diagnostics.error(
                    Code::UNDEFINED_NAME,
                    name.span,
                    format!("no input or statement named `{}`", name.text),
                );
                match closest_name(&name.text, pending.names.keys().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help("name the input or a statement above this one"),
                };
            }
            return None;
        }
        Some(inputs)
    }

    /// The one node a dense layer or dropout reads (the statement above when
    /// its inputs are in error, so checking carries on).
    pub(super) fn single_input(&mut self, statement: &Statement, pending: &Pending<'a>) -> usize {
        let fallback = pending.nodes.len() - 1;
        let inputs = self.inputs(statement, pending);
        match inputs.as_deref() {
            Some([one]) => *one,
            Some([]) => {
                self.diagnostics
                    .error(
                        Code::MISSING_ARGUMENT,
                        statement.span,
                        format!("`{}` reads nothing", statement.keyword.text),
                    )
                    .help("name the statement it reads in the parentheses, or leave them out to read the one above");
                fallback
            }
            Some(_) => {
                let span = statement.inputs.as_ref().and_then(|n| n.get(1)).map_or(statement.span, |n| n.span);
                self.diagnostics
                    .error(Code::EXTRA_ARGUMENT, span, format!("`{}` reads one input", statement.keyword.text))
                    .help("combine several with `concat NAME(a, b);` or `add NAME(a, b);` first");
                fallback
            }
            None => fallback,
        }
    }

    /// `add NAME(a, b, …);` and `concat NAME(a, b, …);`.
    pub(super) fn join(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        self.no_args(statement);
        self.no_options(statement, &format!("write `{keyword} NAME(a, b);`"));
        self.no_value(statement, format!("its width follows from its inputs: write `{keyword} NAME(a, b);`"));
        let Some(target) = &statement.target else {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.keyword.span, format!("`{keyword}` needs a name"))
                .help(format!("write `{keyword} NAME(a, b);`"));
            return;
        };
        let Some(inputs) = self.inputs(statement, pending) else { return };
        if statement.inputs.is_none() || inputs.len() < 2 {
            self.diagnostics
                .error(
                    Code::MISSING_ARGUMENT,
                    target.span,
                    format!("`{keyword}` needs at least two inputs, named in parentheses"),
                )
                .help(format!("write `{keyword} {}(a, b);`", target.text));
            return;
        }
        let widths: Vec<usize> = inputs.iter().map(|&i| pending.nodes[i].width).collect();
        let shapes: Vec<&[usize]> = inputs.iter().map(|&i| &pending.nodes[i].shape[..]).collect();
        let names = statement.inputs.as_deref().unwrap_or_default();
        let (op, shape) = if keyword == "add" {
            if widths.iter().any(|&w| w != widths[0]) || shapes.iter().any(|s| *s != shapes[0]) {
                let error = self.diagnostics.error(
                    Code::SHAPE_MISMATCH,
                    target.span,
                    format!("`add` sums inputs of one width, but `{}` has inputs of different widths", target.text),
                );
                for (name, shape) in names.iter().zip(&shapes) {
                    match shape {
                        [width] => error.label(name.span, format!("{width} features")),
                        shape => error.label(name.span, format!("shape {shape:?}")),
                    };
                }
                error.help("give the inputs the same width (a dense layer can project one), or use `concat`");
                return;
            }
            (Op::Add, shapes[0].to_vec())
        } else {
            // Channels (or features) side by side: the other axes must agree.
            if shapes.iter().any(|s| s.len() != shapes[0].len() || s[1..] != shapes[0][1..]) {
                let error = self.diagnostics.error(
                    Code::SHAPE_MISMATCH,
                    target.span,
                    format!(
                        "`concat` joins inputs along their first axis, but those of `{}` differ in another",
                        target.text
                    ),
                );
                for (name, shape) in names.iter().zip(&shapes) {
                    error.label(name.span, format!("shape {shape:?}"));
                }
                error.help("concatenate inputs of the same rank and the same positions (flatten them first to join them as features)");
                return;
            }
            let total = widths.iter().try_fold(0usize, |total, &w| total.checked_add(w)).filter(|&t| t <= MAX_UNITS);
            let Some(total) = total else {
                self.diagnostics
                    .error(Code::BAD_SIZE, target.span, format!("`{}` is too wide", target.text))
                    .help(format!("at most {MAX_UNITS} features per node"));
                return;
            };
            let mut shape = shapes[0].to_vec();
            shape[0] = shapes.iter().map(|s| s[0]).sum();
            debug_assert_eq!(shape.iter().product::<usize>(), total);
            (Op::Concat, shape)
        };
        let node = Node::new(target.text.clone(), op, &inputs, 0).with_shape(&shape);
        self.push_node(statement, node, pending);
    }

    /// An activation as a statement of its own: `relu r;`, `leaky_relu(0.2) r(h);`.
    pub(super) fn activation_node(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        self.no_options(statement, &format!("write `{keyword} NAME;`"));
        self.no_value(statement, format!("its width is its input's: write `{keyword} NAME;`"));
        let activation = self.activation_named(&statement.keyword, statement.args.as_deref().unwrap_or_default());
        let input = self.single_input(statement, pending);
        let Some(activation) = activation else { return };
        let source = &pending.nodes[input];
        let name = statement.target.as_ref().map_or_else(|| format!("{}.{keyword}", source.name), |t| t.text.clone());
        let node = Node::new(name, Op::Activation(activation), &[input], source.width).with_shape(&source.shape);
        self.push_node(statement, node, pending);
    }

    /// `layer_norm NAME, eps = …;` normalises each sample's features;
    /// `batch_norm NAME, eps = …, momentum = …;` each channel over the batch.
    pub(super) fn norm(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        let batch = keyword == "batch_norm";
        self.no_args(statement);
        self.no_value(statement, format!("its shape is its input's: write `{keyword} NAME;`"));
        self.check_duplicate_keys(&statement.options);
        let (mut eps, mut momentum) = (1e-5, 0.1);
        let keys: &[&str] = if batch { &["eps", "momentum"] } else { &["eps"] };
        for option in &statement.options {
            match option.key.text.as_str() {
                "eps" => {
                    if let Some(value) = self.ranged(&option.value, 0.0, 1.0, false, "eps") {
                        eps = value;
                    }
                }
                "momentum" if batch => {
                    if let Some(value) = self.ranged(&option.value, 0.0, 1.0, true, "momentum") {
                        momentum = value;
                    }
                }
                _ => self.unknown_key(&option.key, keys, &format!("`{keyword}`")),
            }
        }
        let input = self.single_input(statement, pending);
        let Some(target) = &statement.target else {
            let help = if batch {
                "write `batch_norm norm;`: its scale and shift are saved as `norm.weight` and `norm.bias`, its running statistics as `norm.running_mean` and `norm.running_var`"
            } else {
                "write `layer_norm norm;`: its scale and shift are saved as `norm.weight` and `norm.bias`"
            };
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.keyword.span, format!("`{keyword}` needs a name"))
                .help(help);
            return;
        };
        let source = &pending.nodes[input];
        let op = if batch {
            Op::BatchNorm { channels: source.shape[0], eps: eps as f32, momentum: momentum as f32 }
        } else {
            Op::LayerNorm { eps: eps as f32 }
        };
        let node = Node::new(target.text.clone(), op, &[input], 0).with_shape(&source.shape);
        self.push_node(statement, node, pending);
    }

    /// `standardize NAME;`: the network's input, feature by feature, with the
    /// training data's mean and standard deviation.
    pub(super) fn standardize(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        self.no_args(statement);
        self.no_options(statement, "write `standardize NAME;`: its statistics come from the training data");
        self.no_value(statement, "its shape is its input's: write `standardize NAME;`");
        let input = self.single_input(statement, pending);
        let Some(target) = &statement.target else {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.keyword.span, "`standardize` needs a name")
                .help("write `standardize scaled;`: its statistics are saved as `scaled.mean` and `scaled.std`");
            return;
        };
        if input != 0 {
            self.diagnostics
                .error(
                    Code::MISPLACED,
                    statement.span,
                    format!("`standardize` reads `{}`, not the network's input", pending.nodes[input].name),
                )
                .help(format!(
                    "its statistics are those of the training data: write it right after `input`, or name the input (`standardize {}({});`); use `batch_norm` or `layer_norm` deeper in the network",
                    target.text, pending.nodes[0].name
                ));
            return;
        }
        let source = &pending.nodes[0];
        let node = Node::new(target.text.clone(), Op::Standardize, &[0], 0).with_shape(&source.shape);
        self.push_node(statement, node, pending);
    }

    /// Every statement but the last is read by a later one.
    pub(super) fn check_unused(&mut self, pending: &Pending<'_>) {
        let mut read = vec![false; pending.nodes.len()];
        for node in &pending.nodes {
            for &input in node.inputs.iter() {
                read[input] = true;
            }
        }
        let last = pending.nodes.len() - 1;
        for (index, node) in pending.nodes.iter().enumerate().skip(1) {
            if !read[index] && index != last {
                let Some(span) = pending.node_spans[index] else { continue };
                self.diagnostics
                    .error(Code::UNUSED, span, format!("nothing reads `{}`", node.name))
                    .help(format!(
                        "read it in a later statement, e.g. `add sum({}, …);`, or remove it; the output is the last statement",
                        node.name
                    ));
            }
        }
    }
}
