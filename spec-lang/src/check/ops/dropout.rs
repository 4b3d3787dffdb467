//! `dropout(p);` after a layer, or `dropout(p) NAME(input);`.

use super::*;

impl<'a> Checker<'a, '_> {
    pub(in crate::check) fn dropout(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
        let input = self.single_input(statement, pending);
        let source = &pending.nodes[input];
        match source.op {
            Op::Input => {
                self.diagnostics
                    .error(Code::MISPLACED, statement.keyword.span, "dropout before any dense layer")
                    .help("dropout applies to the output of the dense layer above it");
            }
            Op::Dropout(_) => {
                let layer = &pending.nodes[source.inputs[0]].name;
                self.diagnostics
                    .error(Code::DUPLICATE, statement.span, format!("layer `{layer}` already has a dropout"))
                    .help("use one `dropout(p)` per layer");
            }
            _ => {
                let name =
                    statement.target.as_ref().map_or_else(|| format!("{}.dropout", source.name), |t| t.text.clone());
                let node = Node::new(name, Op::Dropout(p.unwrap_or(0.0) as f32), &[input], 0).with_shape(&source.shape);
                self.push_node(statement, node, pending);
            }
        }
    }
}
