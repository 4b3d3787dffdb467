//! The graph of a network body: which nodes a statement reads (the statement
//! above it, or the names in parentheses after its name), adding a node, and
//! statements whose output nothing reads.

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
            Op::Dense { activation, .. } | Op::Activation(activation) => {
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
    pub(super) fn inputs(&mut self, statement: &Statement, pending: &Pending<'a>) -> Option<Vec<usize>> {
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
