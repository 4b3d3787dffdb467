//! One line per word of the language: what it is and its default, for an
//! editor's hover. Keyed by the names the checker reads (its statement words,
//! each statement's option keys, the train keys, and the activation, loss,
//! optimizer, initializer and schedule names); a test holds every one of those
//! names to having its line here, so the two cannot drift apart.

/// Statement words.
const STATEMENTS: &[(&str, &str)] = &[
    ("input", "`input NAME: [F]` or `[C, L]`, `[C, H, W]`, `[T, F]`: the features of one sample"),
    ("dense", "`dense NAME: UNITS`: a fully connected layer, `f(x·W + b)`"),
    ("dropout", "`dropout(p)`: inverted dropout while training (each value kept with probability 1 − p); identity at inference"),
    ("add", "`add NAME(a, b, …)`: the element-wise sum of equal shapes (a residual join)"),
    ("concat", "`concat NAME(a, b, …)`: its inputs side by side along the features or channels"),
    ("layer_norm", "`layer_norm NAME`: normalises each sample's features, `γ·(x − μ)/√(σ² + eps) + β` (PyTorch's `nn.LayerNorm`)"),
    ("batch_norm", "`batch_norm NAME`: normalises each channel over the batch, running statistics at inference (PyTorch's `nn.BatchNorm1d/2d`)"),
    ("standardize", "`standardize NAME`: `(x − mean)/std` per input feature, with the training rows' statistics"),
    ("conv1d", "`conv1d NAME: OUT, kernel = K`: a 1-D convolution over `[C, L]` (PyTorch's `nn.Conv1d`)"),
    ("conv2d", "`conv2d NAME: OUT, kernel = K`: a 2-D convolution over `[C, H, W]` (PyTorch's `nn.Conv2d`)"),
    ("max_pool1d", "`max_pool1d NAME, kernel = K`: the largest value of each window of `[C, L]`"),
    ("max_pool2d", "`max_pool2d NAME, kernel = K`: the largest value of each window of `[C, H, W]`"),
    ("avg_pool1d", "`avg_pool1d NAME, kernel = K`: the mean of each window of `[C, L]`"),
    ("avg_pool2d", "`avg_pool2d NAME, kernel = K`: the mean of each window of `[C, H, W]`"),
    ("global_avg_pool", "`global_avg_pool NAME`: the mean of every position of each channel, `[C, …]` → `[C]`"),
    ("flatten", "`flatten NAME`: a sample with channels as a flat row of its values"),
    ("gru", "`gru NAME: H`: a GRU over a time-first `[T, F]` sequence (PyTorch's `nn.GRU`); writes the last state `[D·H]`"),
    ("lstm", "`lstm NAME: H`: an LSTM over a time-first `[T, F]` sequence (PyTorch's `nn.LSTM`); writes the last state `[D·H]`"),
    ("loss", "`loss NAME`: what training minimises; it also decides what `predict` prints"),
    ("train", "`train { … }`: the training defaults `fit`, `train_config()` and `nnspec train` use"),
];

/// Option keys, by the statement that takes them (`None`: the same for every statement).
const OPTIONS: &[(Option<&str>, &str, &str)] = &[
    (None, "activation", "the layer's activation, applied to `x·W + b`; default `identity`"),
    (None, "bias", "whether the layer adds a bias; default `true`"),
    (None, "init", "how the weights start; default `xavier_uniform` for `dense`, `torch_default` (U(±1/√fan_in)) for convolutions and recurrent layers"),
    (None, "bias_init", "how the bias starts; default `zeros` for `dense`, `torch_default` for convolutions and recurrent layers"),
    (None, "l1", "adds `l1·Σ|W|` to the loss (weights only); default 0"),
    (None, "l2", "adds `½·l2·ΣW²` to the loss (weights only); default 0"),
    (None, "kernel", "the window: one number, or a pair `(h, w)` for 2-D; required"),
    (Some("conv1d"), "stride", "the step between windows; default 1"),
    (Some("conv2d"), "stride", "the step between windows, a number or a pair; default 1"),
    (None, "stride", "the step between windows; default the kernel (windows side by side)"),
    (Some("conv1d"), "padding", "zeros added on both sides; default 0"),
    (Some("conv2d"), "padding", "zeros added on both sides, a number or a pair; default 0"),
    (None, "padding", "pools take no padding: only 0 is accepted (every window lies inside the input)"),
    (None, "dilation", "the spacing of the kernel's taps; default 1"),
    (None, "groups", "input and output channels split into this many independent groups (`groups = C`: depthwise); default 1"),
    (None, "eps", "added to the variance before its square root; default 1e-5 (PyTorch's)"),
    (None, "momentum", "the weight of each new batch in the running statistics (PyTorch's convention); default 0.1"),
    (None, "bidirectional", "also run the sequence backwards and write both directions' states; default `false`"),
    (None, "sequence", "write every step's state `[T, D·H]` instead of the last one; default `false`"),
    (Some("train"), "optimizer", "the optimizer with PyTorch's names and defaults; default `adam(lr = 0.001)`"),
    (Some("train"), "batch", "rows per step, or `full`; default 32"),
    (Some("train"), "epochs", "passes over the training rows; default 100"),
    (Some("train"), "seed", "seeds initialisation, shuffling and dropout; default 0"),
    (Some("train"), "schedule", "a learning-rate schedule (`step`, `multistep`, `exponential`, `cosine`, `linear`); default none"),
    (Some("train"), "clip_grad_norm", "rescales the gradient to at most this norm; default none"),
    (Some("train"), "clip_grad_value", "clamps every gradient value to ± this; default none"),
    (Some("train"), "early_stopping", "`(monitor = val_loss | loss, patience, min_delta, restore_best)`: stop when the loss stops improving; default none"),
    (Some("train"), "validation_split", "the share of rows `fit` holds out for validation; default 0"),
    (Some("train"), "shuffle", "shuffle the rows every epoch; default `true`"),
    (Some("train"), "samples", "the training-set size the spec expects (the overparameterisation warning; a specialised full-batch pass); default none"),
];

/// Values: activations, losses, optimizers, initializers, schedules.
const VALUES: &[(&str, &str)] = &[
    ("step", "activation: Heaviside step, 1 for x ≥ 0 else 0 (its gradient is 0)"),
    ("identity", "activation: none, `f(x) = x`"),
    ("sigmoid", "activation: the logistic function `1/(1 + e^−x)`"),
    ("tanh", "activation: the hyperbolic tangent"),
    ("relu", "activation: `max(0, x)`"),
    ("leaky_relu", "activation: `x` if positive, else `α·x`; `leaky_relu(alpha)`, default α = 0.01 (PyTorch's)"),
    ("elu", "activation: `x` if positive, else `α·(e^x − 1)`; `elu(alpha)`, default α = 1"),
    ("softplus", "activation: `ln(1 + e^x)`"),
    ("gelu", "activation: `x·Φ(x)` with the exact normal CDF (erf), PyTorch's default GELU"),
    ("softmax", "activation: probabilities over the features; fused into `cross_entropy`"),
    ("log_softmax", "activation: the logarithm of softmax"),
    ("mse", "loss: the mean of `(ŷ − y)²`"),
    ("sse", "loss: the sum of `(ŷ − y)²`"),
    ("sse_half", "loss: `½·Σ(ŷ − y)²`, the classic tutorials' error"),
    ("binary_cross_entropy", "loss: cross-entropy of probabilities (a `sigmoid` output, fused into the stable logit form) and 0/1 targets"),
    ("binary_cross_entropy_with_logits", "loss: binary cross-entropy of logits (no activation), as `BCEWithLogitsLoss`"),
    ("softmax_cross_entropy", "loss: cross-entropy of logits (no activation) and class labels, as PyTorch's `CrossEntropyLoss`; `predict` prints the softmax"),
    ("cross_entropy", "loss: cross-entropy after a `softmax` output (fused with it)"),
    ("sgd", "optimizer: `sgd(lr, momentum, dampening, nesterov, weight_decay)`, PyTorch's `SGD`; lr default 0.001"),
    ("momentum", "optimizer: SGD with momentum 0.9 by default, `momentum(lr, momentum, …)`"),
    ("nesterov", "optimizer: SGD with Nesterov momentum 0.9 by default"),
    ("adagrad", "optimizer: `adagrad(lr, lr_decay, weight_decay, initial_accumulator_value, eps)`; lr default 0.01"),
    ("rmsprop", "optimizer: `rmsprop(lr, alpha, eps, weight_decay, momentum, centered)`; lr default 0.01, alpha 0.99"),
    ("adam", "optimizer: `adam(lr, betas, eps, weight_decay, amsgrad)`; lr default 0.001, betas (0.9, 0.999), eps 1e-8"),
    ("adamw", "optimizer: Adam with decoupled weight decay (default 0.01), PyTorch's `AdamW`"),
    ("zeros", "initializer: all 0"),
    ("ones", "initializer: all 1"),
    ("constant", "initializer: `constant(value)`, every value the same"),
    ("uniform", "initializer: `uniform(low, high)`"),
    ("normal", "initializer: `normal(mean, std)`"),
    ("xavier_uniform", "initializer: U(±√(6/(fan_in + fan_out))), Glorot's"),
    ("xavier_normal", "initializer: N(0, 2/(fan_in + fan_out)), Glorot's"),
    ("glorot_uniform", "initializer: another name of `xavier_uniform`"),
    ("glorot_normal", "initializer: another name of `xavier_normal`"),
    ("he_uniform", "initializer: U(±√(6/fan_in)), He's, for ReLU layers"),
    ("he_normal", "initializer: N(0, 2/fan_in), He's, for ReLU layers"),
    ("kaiming_uniform", "initializer: another name of `he_uniform`"),
    ("kaiming_normal", "initializer: another name of `he_normal`"),
    ("torch_default", "initializer: U(±1/√fan_in), PyTorch's default for `nn.Linear`, convolutions and recurrent layers"),
    ("multistep", "schedule: `multistep(milestones = [..], gamma)`, the learning rate times gamma at each milestone epoch"),
    ("exponential", "schedule: `exponential(gamma)`, the learning rate times gamma every epoch"),
    ("cosine", "schedule: `cosine(t_max, eta_min)`, cosine annealing"),
    ("linear", "schedule: `linear(start_factor, end_factor, total_iters)`"),
];

/// The schedule called `step` shares its name with an activation.
const STEP_SCHEDULE: &str = "schedule: `step(step_size, gamma)`, the learning rate times gamma every step_size epochs";

/// What `word` means where it stands: an option of `statement` (its keyword,
/// or `"train"`), a statement word, or a value name. One line with its default.
pub fn describe(statement: Option<&str>, word: &str) -> Option<String> {
    if let Some(keyword) = statement {
        if crate::check::option_keys(keyword).contains(&word) {
            let line = OPTIONS
                .iter()
                .find(|(only, name, _)| *name == word && *only == Some(keyword))
                .or_else(|| OPTIONS.iter().find(|(only, name, _)| *name == word && only.is_none()))?;
            return Some(format!("`{word}` ({keyword} option): {}", line.2));
        }
        if keyword == "train" && word == "step" {
            return Some(format!("`step`: {STEP_SCHEDULE}"));
        }
    }
    if let Some((_, about)) = STATEMENTS.iter().find(|(name, _)| *name == word) {
        if statement.is_none_or(|k| k == word) {
            return Some((*about).to_string());
        }
    }
    VALUES.iter().find(|(name, _)| *name == word).map(|(name, about)| format!("`{name}`: {about}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{option_keys, SCHEDULES, STATEMENTS as CHECKED_STATEMENTS};
    use nnspec_core::vocabulary::{Init, OptimizerConfig};
    use nnspec_core::{Activation, Loss};

    #[test]
    fn every_word_the_checker_reads_is_described() {
        for keyword in CHECKED_STATEMENTS.iter().chain(&["train"]) {
            assert!(describe(None, keyword).is_some() || describe(Some(keyword), keyword).is_some(), "{keyword}");
            for option in option_keys(keyword) {
                let line = describe(Some(keyword), option).unwrap_or_else(|| panic!("{keyword} {option}"));
                assert!(line.contains("option"), "{line}");
            }
        }
        for name in Activation::NAMES.iter().chain(Loss::NAMES).chain(OptimizerConfig::NAMES).chain(Init::NAMES) {
            assert!(describe(None, name).is_some(), "{name}");
        }
        for schedule in SCHEDULES {
            let line = describe(Some("train"), schedule).unwrap_or_else(|| panic!("{schedule}"));
            assert!(line.contains("schedule"), "{line}");
        }
    }

    #[test]
    fn an_option_reads_its_statements_default() {
        assert!(describe(Some("conv2d"), "stride").is_some_and(|l| l.contains("default 1")));
        assert!(describe(Some("max_pool2d"), "stride").is_some_and(|l| l.contains("default the kernel")));
        assert!(describe(Some("dense"), "init").is_some_and(|l| l.contains("xavier_uniform")));
        assert_eq!(describe(Some("dense"), "nonsense"), None);
    }
}
