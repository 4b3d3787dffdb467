//! Names with arguments: activations and initializers.

use super::*;

impl<'a> Checker<'a, '_> {
    pub(super) fn activation(&mut self, value: &Value) -> Option<Activation> {
        let (name, args) = match &value.kind {
            ValueKind::Path(name) => (name, &[][..]),
            ValueKind::Call { name, args } => (name, args.as_slice()),
            _ => {
                self.wrong_type(value, "an activation such as `relu`");
                return None;
            }
        };
        self.activation_named(name, args)
    }

    /// The activation `name(args…)`.
    pub(super) fn activation_named(&mut self, name: &Ident, args: &[Argument]) -> Option<Activation> {
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
            "leaky_relu" => Activation::LeakyRelu(alpha(self, 0.01)? as f32),
            "elu" => Activation::Elu(alpha(self, 1.0)? as f32),
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

    pub(super) fn init(&mut self, value: &Value) -> Option<Init> {
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
            "constant" => Init::Constant(get(self, "value", None)? as f32),
            "uniform" => {
                let low = get(self, "low", Some(-1.0))?;
                let high = get(self, "high", Some(1.0))?;
                if low > high {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, value.span, format!("uniform({low}, {high}) has low > high"))
                        .help("write the lower bound first");
                    return None;
                }
                Init::Uniform { low: low as f32, high: high as f32 }
            }
            "normal" => {
                let mean = get(self, "mean", Some(0.0))?;
                let std = get(self, "std", Some(1.0))?;
                if std < 0.0 {
                    self.out_of_range(map.get("std").map_or(value.span, |v| v.span), "a standard deviation", "≥ 0");
                    return None;
                }
                Init::Normal { mean: mean as f32, std: std as f32 }
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
}
