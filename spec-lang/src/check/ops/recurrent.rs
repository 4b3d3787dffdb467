//! `gru NAME: HIDDEN;` and `lstm NAME: HIDDEN;` with `bidirectional`,
//! `sequence` and the parameter options, over a time-first `[T, F]` value or
//! a convolution's channel-first `[C, L]` read as L steps of C features.

use super::*;
use nnspec_core::recurrent::{Cell, RecurrentGeometry, MAX_GATE_ROWS};

pub(crate) const RECURRENT_KEYS: &[&str] = &["bidirectional", "sequence", "init", "bias_init", "l1", "l2"];

impl<'a> Checker<'a, '_> {
    /// `gru NAME: H, bidirectional = false, sequence = false;` and `lstm`.
    pub(in crate::check) fn recurrent(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        let cell = if keyword == "gru" { Cell::Gru } else { Cell::Lstm };
        self.no_args(statement);
        self.check_duplicate_keys(&statement.options);
        let name = self.spatial_name(statement);
        let hidden = match &statement.value {
            Some(value) => self.size(value, "a recurrent layer's hidden units"),
            None => {
                self.diagnostics
                    .error(
                        Code::MISSING_ARGUMENT,
                        statement.span,
                        format!("`{keyword}` needs its number of hidden units"),
                    )
                    .help(format!("write `{keyword} NAME: 16;`"));
                None
            }
        };
        let (mut bidirectional, mut sequence, mut settings) = (false, false, ParamSettings::default());
        for option in &statement.options {
            if self.param_option(option, &mut settings) {
                continue;
            }
            match option.key.text.as_str() {
                "bidirectional" => bidirectional = self.boolean(&option.value).unwrap_or(bidirectional),
                "sequence" => sequence = self.boolean(&option.value).unwrap_or(sequence),
                _ => self.unknown_key(&option.key, RECURRENT_KEYS, &format!("`{keyword}`")),
            }
        }
        let input = self.single_input(statement, pending);
        let shape = self.sequence_shape(statement, pending, input);
        let (Some(name), Some(hidden), Some(([steps, features], channels_first))) = (name, hidden, shape) else {
            return;
        };
        let geometry = RecurrentGeometry { cell, steps, features, hidden, bidirectional, sequence, channels_first };
        if channels_first && features > MAX_GATE_ROWS {
            self.diagnostics
                .error(
                    Code::BAD_SIZE,
                    statement.span,
                    format!("`{}` reads {features} channels as the features of each step", name.text),
                )
                .help(format!("a recurrent layer reads at most {MAX_GATE_ROWS} channels of a convolution"));
            return;
        }
        if !matches!(hidden.checked_mul(geometry.gates()), Some(rows) if rows <= MAX_GATE_ROWS) {
            self.diagnostics
                .error(Code::BAD_SIZE, statement.span, format!("`{}` has too many hidden units", name.text))
                .help(format!("at most {} hidden units for `{keyword}`", MAX_GATE_ROWS / geometry.gates()));
            return;
        }
        let directions = geometry.directions();
        let shape: Vec<usize> = if sequence { vec![steps, directions * hidden] } else { vec![directions * hidden] };
        let node =
            Node::new(name.text.clone(), Op::Recurrent(geometry), &[input], 0).with_shape(&shape).with_params(settings);
        self.push_node(statement, node, pending);
    }

    /// The `[T, F]` of the value a recurrent statement reads, and whether it
    /// is channel-first: a time-first input or another recurrent layer's
    /// whole sequence is `[T, F]`; a convolution's or pool's `[C, L]` (through
    /// statements that keep its layout) is read as L steps of C features.
    fn sequence_shape(
        &mut self,
        statement: &Statement,
        pending: &Pending<'a>,
        input: usize,
    ) -> Option<([usize; 2], bool)> {
        let keyword = &statement.keyword.text;
        let node = &pending.nodes[input];
        let [rows, columns] = node.shape[..] else {
            self.diagnostics
                .error(
                    Code::SHAPE_MISMATCH,
                    statement.keyword.span,
                    format!("`{keyword}` reads a sequence `[T, F]`, but `{}` is {:?}", node.name, &node.shape[..]),
                )
                .help("declare the input time first, e.g. `input x: [24, 3];` (24 steps of 3 features), or read a `conv1d`'s `[C, L]` output");
            return None;
        };
        if channel_first(&pending.nodes, input) {
            Some(([columns, rows], true))
        } else {
            Some(([rows, columns], false))
        }
    }
}

/// Whether node `index`'s `[C, L]` value is channel-first: a convolution's or
/// pool's output, through statements that keep the layout.
fn channel_first(nodes: &[Node], index: usize) -> bool {
    match nodes[index].op {
        Op::Conv { .. } | Op::Pool { .. } => true,
        Op::Activation(_) | Op::Dropout(_) | Op::LayerNorm { .. } | Op::BatchNorm { .. } => {
            channel_first(nodes, nodes[index].inputs[0])
        }
        Op::Add | Op::Concat => nodes[index].inputs.iter().any(|&i| channel_first(nodes, i)),
        _ => false,
    }
}
