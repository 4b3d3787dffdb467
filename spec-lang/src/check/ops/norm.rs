//! Normalisations: `layer_norm`, `batch_norm` and `standardize`.

use super::*;

pub(crate) const BATCH_NORM_KEYS: &[&str] = &["eps", "momentum"];
pub(crate) const LAYER_NORM_KEYS: &[&str] = &["eps"];

impl<'a> Checker<'a, '_> {
    /// `layer_norm NAME, eps = …;` normalises each sample's features;
    /// `batch_norm NAME, eps = …, momentum = …;` each channel over the batch.
    pub(in crate::check) fn norm(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        let batch = keyword == "batch_norm";
        self.no_args(statement);
        self.no_value(statement, format!("its shape is its input's: write `{keyword} NAME;`"));
        self.check_duplicate_keys(&statement.options);
        let (mut eps, mut momentum) = (1e-5, 0.1);
        let keys: &[&str] = if batch { BATCH_NORM_KEYS } else { LAYER_NORM_KEYS };
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
    pub(in crate::check) fn standardize(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
}
