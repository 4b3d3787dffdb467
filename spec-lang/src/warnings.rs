//! Stage 3b: warnings that teach — the classic mistakes of the tutorials,
//! found before anything runs. Each has a code (`W0001`…), a name that
//! `#[allow(name)]` on a network silences, a span, a one-line reason and a help
//! line saying what to do instead. They run only on a spec that checked
//! without errors.
//!
//! Some mistakes the tutorials warn about are errors here instead (E0306):
//! softmax before `softmax_cross_entropy`, sigmoid before a with-logits loss,
//! binary cross-entropy or softmax cross-entropy on an output that does not
//! produce what they take.

use crate::ast::{self, ValueKind};
use crate::diagnostic::{Code, Diagnostics, Span};
use crate::ir::{Activation, Init, Loss, Op, Optimizer};
use crate::source_map::SourceMap;

/// The names `#[allow(…)]` accepts, in code order.
pub const NAMES: &[&str] = &[
    "symmetric_init",
    "regression_loss_on_classifier",
    "vanishing_gradients",
    "learning_rate",
    "output_dropout",
    "l2_with_adamw",
    "overparameterized",
    "step_has_no_gradient",
    "large_stack",
    "batch_norm_single_row",
    "pool_drops_positions",
    "no_network",
    "validation_monitor_without_split",
];

/// The stack `predict` may use before [`Code::LARGE_STACK`] warns: half of the
/// 2 MiB a Rust thread gets by default.
pub const STACK_BUDGET: usize = 1 << 20;

impl Code {
    /// A layer's weights start constant and another layer follows: its units stay identical.
    pub const SYMMETRIC_INIT: Code = Code("W0001");
    /// Mean/sum of squares on a sigmoid or softmax output.
    pub const REGRESSION_LOSS_ON_CLASSIFIER: Code = Code("W0002");
    /// Sigmoid or tanh in three or more hidden layers.
    pub const VANISHING_GRADIENTS: Code = Code("W0003");
    /// A learning rate far outside the optimizer's usual range.
    pub const LEARNING_RATE: Code = Code("W0004");
    /// Dropout on the output layer (it is not applied there).
    pub const OUTPUT_DROPOUT: Code = Code("W0005");
    /// L2 penalties together with AdamW's decoupled decay.
    pub const L2_WITH_ADAMW: Code = Code("W0006");
    /// More parameters than training samples.
    pub const OVERPARAMETERIZED: Code = Code("W0007");
    /// A `step` activation: zero gradient, so gradient descent cannot train through it.
    pub const STEP_HAS_NO_GRADIENT: Code = Code("W0008");
    /// `predict` keeps more layer outputs on the stack than [`STACK_BUDGET`].
    pub const LARGE_STACK: Code = Code("W0009");
    /// A batch normalisation trained on batches of one row.
    pub const BATCH_NORM_SINGLE_ROW: Code = Code("W0010");
    /// A pool whose windows leave the last positions of its input unread.
    pub const POOL_DROPS_POSITIONS: Code = Code("W0011");
    /// A file (or `net!` block) that defines no network.
    pub const NO_NETWORK: Code = Code("W0012");
    /// Early stopping on the validation loss with nothing held out for validation.
    pub const VALIDATION_MONITOR_WITHOUT_SPLIT: Code = Code("W0013");
}

/// Adds the warnings of every network of `program`, at the spans `map` records.
pub(crate) fn lint(program: &crate::ir::Program, map: &SourceMap, diagnostics: &mut Diagnostics) {
    if program.networks.is_empty() {
        diagnostics
            .warning(
                Code::NO_NETWORK,
                Span::new(0, 0),
                "this file defines no network: there is nothing to check or compile",
            )
            .help("a spec holds `network Name { input x: [F]; …; loss …; }` (docs/language.md)");
    }
    for network in &program.networks {
        let Some(map) = map.network(&network.name) else { continue };
        let allowed = |name: &str| network.allow.iter().any(|a| a == name);
        // The dense layers in order: each one's node and activation.
        let layers: Vec<(usize, Activation)> = network
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n.op {
                Op::Dense { activation, .. } => Some((i, activation)),
                _ => None,
            })
            .collect();
        let layer_span = |layer: usize| map.node(layers[layer].0);
        let option_span = |layer: usize, key: &str| map.option(layers[layer].0, key);
        let mut warn = |name: &str, code: Code, span: Span, message: String, help: String| {
            if !allowed(name) {
                diagnostics
                    .warning(code, span, message)
                    .note(format!("`#[allow({name})]` on the network silences this"))
                    .help(help);
            }
        };
        let last = layers.len().saturating_sub(1);

        for (index, &(node, _)) in layers.iter().enumerate().take(last) {
            let layer = &network.nodes[node];
            if matches!(layer.params.init, Some(Init::Zeros | Init::Constant(_))) {
                warn(
                    "symmetric_init",
                    Code::SYMMETRIC_INIT,
                    option_span(index, "init"),
                    format!(
                        "every weight of `{}` starts equal, so its {} units stay identical",
                        layer.name, layer.width
                    ),
                    "start from random weights: `init = normal(0, 0.01)`, `xavier_uniform` or `he_normal`".into(),
                );
            }
        }

        // The output: the last node, through a dropout on it (which never runs there).
        let nodes = &network.nodes;
        let output_dropout = matches!(nodes.last().map(|n| n.op), Some(Op::Dropout(_)));
        let output_node = match nodes.last() {
            Some(node) if output_dropout => &nodes[node.inputs[0]],
            Some(node) => node,
            None => return,
        };
        let output_activation = match output_node.op {
            Op::Dense { activation, .. } | Op::Activation(activation) => activation,
            _ => Activation::Identity,
        };
        if matches!(network.loss, Loss::Mse | Loss::Sse | Loss::SseHalf)
            && matches!(output_activation, Activation::Sigmoid | Activation::Softmax)
        {
            let loss_span = map.loss.unwrap_or(map.span);
            let matching =
                if output_activation == Activation::Sigmoid { "binary_cross_entropy" } else { "cross_entropy" };
            warn(
                "regression_loss_on_classifier",
                Code::REGRESSION_LOSS_ON_CLASSIFIER,
                loss_span,
                format!(
                    "`{}` on a {} output: squared error on probabilities learns slowly when it is most wrong",
                    network.loss.name(),
                    output_activation.name()
                ),
                format!("for class labels use `loss {matching};`"),
            );
        }

        let saturating: Vec<usize> =
            (0..last).filter(|&i| matches!(layers[i].1, Activation::Sigmoid | Activation::Tanh)).collect();
        if saturating.len() >= 3 {
            warn(
                "vanishing_gradients",
                Code::VANISHING_GRADIENTS,
                layer_span(saturating[0]),
                format!("{} hidden layers use sigmoid or tanh: the gradient shrinks through each and the first layers barely learn", saturating.len()),
                "use `activation = relu` or `leaky_relu(0.01)` in deep hidden layers".into(),
            );
        }

        let optimizer_span = map
            .train_option("optimizer")
            .map(|o| match &o.value.kind {
                ValueKind::Call { args, .. } => args
                    .iter()
                    .find_map(|a| match a {
                        ast::Argument::Named(kv) if kv.key.text == "lr" => Some(kv.value.span),
                        _ => None,
                    })
                    .unwrap_or(o.value.span),
                _ => o.value.span,
            })
            .unwrap_or(map.span);
        let lr = network.train.run.optimizer.lr();
        let (name, low, high, example) = learning_rate_range(&network.train.run.optimizer);
        // Outside the range the help gives, never at its ends; far outside (a
        // factor of ten beyond) is said more strongly than just outside.
        if lr > high || lr < low {
            let (above, factor) = if lr > high { (true, lr / high) } else { (false, low / lr) };
            let message = match (above, factor > 10.0) {
                (true, true) => {
                    format!("lr = {lr} is far above the usual range for {name}: training will likely diverge")
                }
                (true, false) => format!("lr = {lr} is above the usual range for {name}: training may diverge"),
                (false, true) => {
                    format!("lr = {lr} is far below the usual range for {name}: training will barely move")
                }
                (false, false) => format!("lr = {lr} is below the usual range for {name}: training may be slow"),
            };
            warn(
                "learning_rate",
                Code::LEARNING_RATE,
                optimizer_span,
                message,
                format!("the usual range for {name} is {low:e} to {high}; try {example}"),
            );
        }

        if network.train.run.early_stopping.is_some_and(|e| e.monitor_validation)
            && network.train.validation_split == 0.0
        {
            let span = map.train_option("early_stopping").map_or(map.span, |o| o.span);
            warn(
                "validation_monitor_without_split",
                Code::VALIDATION_MONITOR_WITHOUT_SPLIT,
                span,
                "early stopping watches the validation loss, but the train block holds no rows out for validation".into(),
                "add `validation_split = 0.2` to the train block (or give `nnspec train` a run configuration with one), or monitor the training loss: `monitor = loss`".into(),
            );
        }

        if output_dropout {
            let span = map.node(nodes.len() - 1);
            warn(
                "output_dropout",
                Code::OUTPUT_DROPOUT,
                span,
                format!(
                    "dropout after the output layer `{}` is not applied: it would randomly zero the predictions",
                    output_node.name
                ),
                "move `dropout(p);` after a hidden layer, or remove it".into(),
            );
        }

        if matches!(network.train.run.optimizer, Optimizer::Adam { decoupled: true, weight_decay, .. } if weight_decay > 0.0)
        {
            if let Some(index) = layers.iter().position(|&(node, _)| network.nodes[node].params.l2 > 0.0) {
                warn(
                    "l2_with_adamw",
                    Code::L2_WITH_ADAMW,
                    option_span(index, "l2"),
                    "an L2 penalty with AdamW decays the weights twice (AdamW already applies weight decay)".into(),
                    "remove `l2 = …`, or set `weight_decay = 0` in `adamw(…)`, or use `adam`".into(),
                );
            }
        }

        if let Some(index) = layers.iter().position(|&(_, activation)| activation == Activation::Step) {
            let layer = &network.nodes[layers[index].0];
            let untrained = if index == 0 {
                format!("`{}`", layer.name)
            } else {
                format!("`{}` and every layer before it", layer.name)
            };
            warn(
                "step_has_no_gradient",
                Code::STEP_HAS_NO_GRADIENT,
                option_span(index, "activation"),
                format!("`step` has zero gradient everywhere: gradient descent never changes {untrained}"),
                "use `sigmoid` (a smooth step) or `tanh` to train by gradient descent; a step neuron learns by the perceptron rule, which the trainer does not run"
                    .into(),
            );
        }

        let stack = network.predict_stack_bytes();
        if stack > STACK_BUDGET {
            let widest = (1..network.nodes.len()).max_by_key(|&i| network.nodes[i].width).unwrap_or(0);
            warn(
                "large_stack",
                Code::LARGE_STACK,
                map.node(widest),
                format!(
                    "`predict` keeps {stack} bytes of layer outputs on the stack, more than the {} KiB budget: it can overflow a thread's stack",
                    STACK_BUDGET / 1024
                ),
                "run it on a thread with a larger stack (`std::thread::Builder::stack_size`), or use the batch `Model::forward`, whose workspace is on the heap"
                    .into(),
            );
        }

        let batch_norm = nodes.iter().position(|n| matches!(n.op, Op::BatchNorm { .. }));
        if let (Some(index), Some(1)) = (batch_norm, network.train.run.batch) {
            let norm = &nodes[index];
            let span = map.train_option("batch").map_or_else(|| map.node(index), |o| o.span);
            let over = if norm.shape.len() > 1 { "the positions of one sample" } else { "a single value per feature" };
            warn(
                "batch_norm_single_row",
                Code::BATCH_NORM_SINGLE_ROW,
                span,
                format!("`batch_norm {}` trained with `batch = 1` takes its statistics from {over}", norm.name),
                if norm.shape.len() > 1 {
                    "train with batches of 16 rows or more, or use `layer_norm`, which normalises each sample on its own"
                } else {
                    "over features a batch of one row has no variance (the trainer refuses it): train with batches of 16 rows or more, or use `layer_norm`"
                }
                .into(),
            );
        }

        for (index, node) in nodes.iter().enumerate() {
            let Op::Pool { geometry: g, one_d } = node.op else { continue };
            let axes: &[(usize, usize, usize, &str)] = if one_d {
                &[(g.in_w, g.kernel[1], g.stride[1], "length")]
            } else {
                &[(g.in_h, g.kernel[0], g.stride[0], "height"), (g.in_w, g.kernel[1], g.stride[1], "width")]
            };
            let dropped: Vec<String> = axes
                .iter()
                .filter(|(size, kernel, stride, _)| size >= kernel && (size - kernel) % stride != 0)
                .map(|(size, kernel, stride, axis)| {
                    format!("the last {} of its {axis} {size}", (size - kernel) % stride)
                })
                .collect();
            if dropped.is_empty() {
                continue;
            }
            warn(
                "pool_drops_positions",
                Code::POOL_DROPS_POSITIONS,
                map.node(index),
                format!("`{} {}` never reads {}: no window covers them", node.op.name(), node.name, dropped.join(" and ")),
                "choose a kernel and stride with (size − kernel) divisible by the stride, or pad the convolution before it"
                    .into(),
            );
        }

        if let Some(samples) = network.train.samples {
            // Ten parameters per sample and more: the textbook MNIST MLP (784-128-10,
            // 1.7 per sample) generalises well; a network with tens per sample memorises.
            if network.param_count > 10 * samples {
                let span = map.train_option("samples").map_or(map.span, |o| o.span);
                let has_l2 = nodes.iter().any(|n| n.params.l2 > 0.0);
                let has_dropout = nodes.iter().any(|n| matches!(n.op, Op::Dropout(_)));
                let mut remedies: Vec<&str> = Vec::new();
                if !has_l2 {
                    remedies.push("add L2 (`l2 = 1e-4`)");
                }
                if !has_dropout {
                    remedies.push("add dropout");
                }
                remedies.push("get more data or shrink the hidden layers");
                warn(
                    "overparameterized",
                    Code::OVERPARAMETERIZED,
                    span,
                    format!(
                        "{} parameters for {samples} training samples ({} per sample): the network can memorise the data",
                        network.param_count,
                        network.param_count / samples.max(1)
                    ),
                    format!("{}; watch the validation loss", remedies.join(", ")),
                );
            }
        }
    }
}

/// The optimizer's name as W0004 says it, the range of learning rates it
/// usually trains with (W0004 warns outside it, E0301's help quotes it) and a
/// value to try.
pub(crate) fn learning_rate_range(optimizer: &Optimizer) -> (&'static str, f64, f64, &'static str) {
    match *optimizer {
        Optimizer::Adam { decoupled: true, .. } => ("adamw", 1e-6, 0.1, "1e-3"),
        Optimizer::Adam { .. } => ("adam", 1e-6, 0.1, "1e-3"),
        Optimizer::RmsProp { .. } => ("rmsprop", 1e-6, 0.1, "1e-3"),
        Optimizer::Adagrad { .. } => ("adagrad", 1e-5, 1.0, "0.01"),
        Optimizer::Sgd { momentum, .. } if momentum > 0.0 => ("sgd with momentum", 1e-6, 1.0, "0.01 to 0.5"),
        Optimizer::Sgd { .. } => ("sgd", 1e-6, 10.0, "0.01 to 0.5"),
    }
}
