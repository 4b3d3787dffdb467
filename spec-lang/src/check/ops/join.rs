//! The joins: `add NAME(a, b, …);` and `concat NAME(a, b, …);`.

use super::*;

impl<'a> Checker<'a, '_> {
    /// `add NAME(a, b, …);` and `concat NAME(a, b, …);`.
    pub(in crate::check) fn join(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
}
