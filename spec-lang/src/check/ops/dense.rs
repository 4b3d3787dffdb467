//! `dense NAME: UNITS, activation = …, bias, init, bias_init, l1, l2;`.

use super::*;

const DENSE_KEYS: &[&str] = &["activation", "bias", "init", "bias_init", "l1", "l2"];

impl<'a> Checker<'a, '_> {
    pub(in crate::check) fn dense(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
        let input = self.single_input(statement, pending);
        let mut layer = DenseLayer {
            name,
            doc: statement.meta.doc.clone(),
            inputs: pending.nodes[input].width,
            units: units.unwrap_or(1),
            activation: Activation::Identity,
            bias: true,
            init: Init::XavierUniform,
            bias_init: Init::Zeros,
            l1: 0.0,
            l2: 0.0,
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
        let node = Node::new(layer.name.clone(), Op::Dense(pending.layers.len()), &[input], layer.units);
        self.push_node(statement, node, pending);
        pending.layers.push(layer);
        pending.layer_spans.push(statement.span);
    }
}
