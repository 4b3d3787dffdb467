//! The `train { … }` block: optimizer, schedule, early stopping and the
//! other settings, each checked against its range.

use super::*;
use nnspec_core::vocabulary::defaults;

/// The usual learning rates of the optimizer called `name`, as W0004 gives them.
fn usual_lr(name: &str) -> String {
    let optimizer = Optimizer::named(name, None).unwrap_or(Optimizer::sgd(defaults::lr(name)));
    let (_, low, high, example) = crate::warnings::learning_rate_range(&optimizer);
    format!("{low:e} to {high}; try {example}")
}

impl<'a> Checker<'a, '_> {
    pub(super) fn train(&mut self, block: &ast::TrainBlock) -> TrainConfig {
        let mut config = TrainConfig::default();
        self.check_duplicate_keys(&block.options);
        for option in &block.options {
            let value = &option.value;
            match option.key.text.as_str() {
                "optimizer" => {
                    if let Some(optimizer) = self.optimizer(value) {
                        config.run.optimizer = optimizer;
                    }
                }
                "batch" => match &value.kind {
                    ValueKind::Path(ident) if ident.text == "full" => config.run.batch = None,
                    _ => {
                        if let Some(size) = self.size(value, "a batch size") {
                            config.run.batch = Some(size);
                        }
                    }
                },
                "epochs" => {
                    if let Some(epochs) = self.count(value, "a number of epochs", 1) {
                        config.run.epochs = epochs;
                    }
                }
                "seed" => {
                    if let Some(seed) = self.count(value, "a seed", 0) {
                        config.run.seed = seed as u64;
                    }
                }
                "samples" => config.samples = self.count(value, "a number of samples", 1),
                "schedule" => config.run.schedule = self.schedule(value),
                "clip_grad_norm" => config.run.clip_grad_norm = self.ranged(value, 0.0, f64::INFINITY, false, "a norm"),
                "clip_grad_value" => {
                    config.run.clip_grad_value = self.ranged(value, 0.0, f64::INFINITY, false, "a clip value")
                }
                "validation_split" => {
                    if let Some(split) = self.ranged(value, 0.0, 1.0, false, "a validation fraction") {
                        config.validation_split = split;
                    }
                }
                "shuffle" => {
                    if let Some(shuffle) = self.boolean(value) {
                        config.run.shuffle = shuffle;
                    }
                }
                "early_stopping" => config.run.early_stopping = self.early_stopping(value),
                _ => self.unknown_key(&option.key, TRAIN_KEYS, "the train block"),
            }
        }
        config
    }

    pub(super) fn early_stopping(&mut self, value: &Value) -> Option<EarlyStopping> {
        let ValueKind::Tuple(args) = &value.kind else {
            self.wrong_type(value, "`(monitor = val_loss, patience = 10)`");
            return None;
        };
        let map =
            self.arguments(value.span, args, &["monitor", "patience", "min_delta", "restore_best"], "early_stopping");
        let mut stopping = EarlyStopping { monitor_validation: true, patience: 10, min_delta: 0.0, restore_best: true };
        if let Some(monitor) = map.get("monitor") {
            match &monitor.kind {
                ValueKind::Path(ident) if ident.text == "val_loss" => stopping.monitor_validation = true,
                ValueKind::Path(ident) if ident.text == "loss" => stopping.monitor_validation = false,
                _ => {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, monitor.span, "early stopping monitors `val_loss` or `loss`")
                        .help("write `monitor = val_loss`");
                }
            }
        }
        if let Some(patience) = map.get("patience") {
            stopping.patience = self.count(patience, "a patience", 1)?;
        }
        if let Some(delta) = map.get("min_delta") {
            stopping.min_delta = self.ranged(delta, 0.0, f64::INFINITY, true, "a minimum improvement")?;
        }
        if let Some(restore) = map.get("restore_best") {
            stopping.restore_best = self.boolean(restore)?;
        }
        Some(stopping)
    }

    pub(super) fn schedule(&mut self, value: &Value) -> Option<Schedule> {
        let (name, args) = match &value.kind {
            ValueKind::Call { name, args } => (name, args.as_slice()),
            ValueKind::Path(name) => (name, &[][..]),
            _ => {
                self.wrong_type(value, "a schedule such as `cosine(t_max = 100)`");
                return None;
            }
        };
        let params: &[&str] = match name.text.as_str() {
            "step" => &["step_size", "gamma"],
            "multistep" => &["milestones", "gamma"],
            "exponential" => &["gamma"],
            "cosine" => &["t_max", "eta_min"],
            "linear" => &["start_factor", "end_factor", "total_iters"],
            other => {
                let error =
                    self.diagnostics.error(Code::UNKNOWN_SCHEDULE, name.span, format!("unknown schedule `{other}`"));
                match closest_name(other, SCHEDULES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the schedules are {}", SCHEDULES.join(", "))),
                };
                return None;
            }
        };
        let map = self.arguments(name.span, args, params, &name.text);
        let gamma = |this: &mut Self, default: Option<f64>| match map.get("gamma") {
            Some(v) => this.ranged(v, 0.0, f64::INFINITY, false, "a decay factor"),
            None => default.or_else(|| {
                this.missing(name, "gamma");
                None
            }),
        };
        Some(match name.text.as_str() {
            "step" => Schedule::Step {
                step_size: self.required_count(&map, name, "step_size")?,
                gamma: gamma(self, Some(0.1))?,
            },
            "multistep" => {
                let Some(list) = map.get("milestones") else {
                    self.missing(name, "milestones");
                    return None;
                };
                let ValueKind::List(items) = &list.kind else {
                    self.wrong_type(list, "a list of epochs such as `[30, 60]`");
                    return None;
                };
                let mut milestones = Vec::new();
                for item in items {
                    milestones.push(self.count(item, "an epoch", 0)?);
                }
                Schedule::MultiStep { milestones, gamma: gamma(self, Some(0.1))? }
            }
            "exponential" => Schedule::Exponential { gamma: gamma(self, None)? },
            "cosine" => Schedule::Cosine {
                t_max: self.required_count(&map, name, "t_max")?,
                eta_min: match map.get("eta_min") {
                    Some(v) => self.ranged(v, 0.0, f64::INFINITY, true, "a minimum learning rate")?,
                    None => 0.0,
                },
            },
            _ => {
                let factor = |this: &mut Self, key: &str, default: f64| match map.get(key) {
                    Some(v) => this.ranged(v, 0.0, 1.0, true, "a factor").filter(|_| true),
                    None => Some(default),
                };
                let start_factor = factor(self, "start_factor", 1.0 / 3.0)?;
                let end_factor = factor(self, "end_factor", 1.0)?;
                let total_iters = match map.get("total_iters") {
                    Some(v) => self.count(v, "a number of epochs", 1)?,
                    None => 5,
                };
                if start_factor == 0.0 {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, value.span, "`start_factor` must be greater than 0")
                        .help("PyTorch's LinearLR requires 0 < start_factor ≤ 1");
                    return None;
                }
                Schedule::Linear { start_factor, end_factor, total_iters }
            }
        })
    }

    pub(super) fn optimizer(&mut self, value: &Value) -> Option<Optimizer> {
        let (name, args) = match &value.kind {
            ValueKind::Call { name, args } => (name, args.as_slice()),
            ValueKind::Path(name) => (name, &[][..]),
            _ => {
                self.wrong_type(value, "an optimizer such as `adam(lr = 1e-3)`");
                return None;
            }
        };
        let params: &[&str] = match name.text.as_str() {
            "sgd" => &["lr", "momentum", "dampening", "nesterov", "weight_decay"],
            "momentum" => &["lr", "momentum", "dampening", "weight_decay"],
            "nesterov" => &["lr", "momentum", "weight_decay"],
            "adagrad" => &["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"],
            "rmsprop" => &["lr", "alpha", "eps", "weight_decay", "momentum", "centered"],
            "adam" | "adamw" => &["lr", "betas", "eps", "weight_decay", "amsgrad"],
            other => {
                let error =
                    self.diagnostics.error(Code::UNKNOWN_OPTIMIZER, name.span, format!("unknown optimizer `{other}`"));
                match closest_name(other, Optimizer::NAMES.iter().copied()) {
                    Some(close) => error.help(format!("did you mean `{close}`?")),
                    None => error.help(format!("the optimizers are {}", Optimizer::NAMES.join(", "))),
                };
                return None;
            }
        };
        let map = self.arguments(name.span, args, params, &name.text);
        let errors_before = self.error_count();
        let real = |this: &mut Self, key: &str, default: f64, low: f64, high: f64, closed: bool| -> f64 {
            match map.get(key) {
                Some(v) => this.ranged(v, low, high, closed, key).unwrap_or(default),
                None => default,
            }
        };
        let default_lr = defaults::lr(&name.text);
        let lr = match map.get("lr") {
            Some(v) => match self.number(v) {
                Some(lr) if lr <= 0.0 => {
                    let why = if lr == 0.0 {
                        "a zero learning rate never moves"
                    } else {
                        "a negative learning rate climbs the loss"
                    };
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, v.span, format!("lr must be greater than 0, found {lr}"))
                        .label_primary(why)
                        .help(format!("the usual range for `{}` is {}", name.text, usual_lr(&name.text)));
                    default_lr
                }
                Some(lr) => lr,
                None => default_lr,
            },
            None => default_lr,
        };
        if lr == 0.0 {
            let span = map.get("lr").map_or(value.span, |v| v.span);
            self.diagnostics
                .error(Code::OUT_OF_RANGE, span, "lr must be greater than 0, found 0")
                .label_primary("a zero learning rate never moves the parameters");
        }
        let weight_decay_default = if name.text == "adamw" { defaults::ADAMW_WEIGHT_DECAY } else { 0.0 };
        let weight_decay = real(self, "weight_decay", weight_decay_default, 0.0, f64::INFINITY, true);
        let optimizer = match name.text.as_str() {
            "sgd" | "momentum" | "nesterov" => {
                let momentum_default = if name.text == "sgd" { 0.0 } else { defaults::MOMENTUM };
                let momentum = real(self, "momentum", momentum_default, 0.0, 1.0, true);
                let dampening = real(self, "dampening", 0.0, 0.0, 1.0, true);
                let nesterov = match map.get("nesterov") {
                    Some(v) => self.boolean(v).unwrap_or(false),
                    None => name.text == "nesterov",
                };
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    self.diagnostics
                        .error(Code::OUT_OF_RANGE, value.span, "Nesterov momentum needs momentum > 0 and dampening = 0")
                        .help("set `momentum = 0.9` and leave `dampening` at 0");
                }
                if momentum >= 1.0 {
                    self.out_of_range(map.get("momentum").map_or(value.span, |v| v.span), "momentum", "[0, 1)");
                }
                Optimizer::Sgd { lr, momentum, dampening, nesterov, weight_decay }
            }
            "adagrad" => Optimizer::Adagrad {
                lr,
                lr_decay: real(self, "lr_decay", 0.0, 0.0, f64::INFINITY, true),
                weight_decay,
                initial_accumulator_value: real(self, "initial_accumulator_value", 0.0, 0.0, f64::INFINITY, true),
                eps: real(self, "eps", defaults::ADAGRAD_EPS, 0.0, f64::INFINITY, true),
            },
            "rmsprop" => {
                let momentum = real(self, "momentum", 0.0, 0.0, 1.0, true);
                if momentum >= 1.0 {
                    self.out_of_range(map.get("momentum").map_or(value.span, |v| v.span), "momentum", "[0, 1)");
                }
                Optimizer::RmsProp {
                    lr,
                    alpha: real(self, "alpha", defaults::ALPHA, 0.0, 1.0, true),
                    eps: real(self, "eps", defaults::EPS, 0.0, f64::INFINITY, true),
                    weight_decay,
                    momentum,
                    centered: map.get("centered").and_then(|v| self.boolean(v)).unwrap_or(false),
                }
            }
            _ => {
                let (beta1, beta2) = match map.get("betas") {
                    Some(betas) => self.betas(betas).unwrap_or(defaults::BETAS),
                    None => defaults::BETAS,
                };
                Optimizer::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps: real(self, "eps", defaults::EPS, 0.0, f64::INFINITY, true),
                    weight_decay,
                    amsgrad: map.get("amsgrad").and_then(|v| self.boolean(v)).unwrap_or(false),
                    decoupled: name.text == "adamw",
                }
            }
        };
        (self.error_count() == errors_before).then_some(optimizer)
    }

    pub(super) fn betas(&mut self, value: &Value) -> Option<(f64, f64)> {
        let ValueKind::Tuple(items) = &value.kind else {
            self.wrong_type(value, "a pair such as `(0.9, 0.999)`");
            return None;
        };
        let [Argument::Positional(b1), Argument::Positional(b2)] = items.as_slice() else {
            self.wrong_type(value, "a pair such as `(0.9, 0.999)`");
            return None;
        };
        let beta1 = self.ranged(b1, 0.0, 1.0, false, "beta1");
        let beta2 = self.ranged(b2, 0.0, 1.0, false, "beta2");
        for (beta, v) in [(beta1, b1), (beta2, b2)] {
            if beta.is_some_and(|b| b >= 1.0) {
                self.out_of_range(v.span, "a beta", "[0, 1)");
                return None;
            }
        }
        Some((beta1?, beta2?))
    }
}
