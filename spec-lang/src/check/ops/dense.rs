//! `dense NAME: UNITS, activation = …, bias, init, bias_init, l1, l2;`.

use super::*;

pub(crate) const DENSE_KEYS: &[&str] = &["activation", "bias", "init", "bias_init", "l1", "l2"];

impl<'a> Checker<'a, '_> {
    pub(in crate::check) fn dense(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        self.no_args(statement);
        let name = match &statement.target {
            Some(target) => target.text.clone(),
            None => {
                self.diagnostics
                    .error(Code::MISSING_ARGUMENT, statement.keyword.span, "a dense layer needs a name")
                    .help("write `dense hidden: 16;`");
                format!("dense{}", pending.nodes.len())
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
        let input = self.single_input(statement, pending);
        let (mut activation, mut bias, mut settings) = (Activation::Identity, true, ParamSettings::default());
        self.check_duplicate_keys(&statement.options);
        for option in &statement.options {
            if self.param_option(option, &mut settings) {
                continue;
            }
            match option.key.text.as_str() {
                "activation" => activation = self.activation(&option.value).unwrap_or(activation),
                "bias" => bias = self.boolean(&option.value).unwrap_or(bias),
                _ => self.unknown_key(&option.key, DENSE_KEYS, "a dense layer"),
            }
        }
        if pending.has_input && !pending.input_seen && pending.nodes.len() <= 1 {
            self.diagnostics
                .error(Code::MISSING_INPUT, statement.keyword.span, "a layer before the input")
                .help("start the network with `input x: [FEATURES];`");
        }
        let op = Op::Dense { activation, bias };
        let node = Node::new(name, op, &[input], units.unwrap_or(1)).with_params(settings);
        self.push_node(statement, node, pending);
    }
}
