//! The training vocabulary the compiler's IR and the runtime share: the
//! initializers, the optimizer settings with PyTorch's defaults, the
//! learning-rate schedules and early stopping, defined once.

use alloc::vec::Vec;

/// A learning-rate schedule; `lr(base, k)` is the rate after `k` scheduler steps.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Schedule {
    /// `base·γ^⌊k/step_size⌋` (StepLR).
    Step {
        /// Steps between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// `base·γ^(#milestones ≤ k)` (MultiStepLR; a repeated milestone counts twice).
    MultiStep {
        /// Milestones.
        milestones: Vec<usize>,
        /// Decay factor.
        gamma: f64,
    },
    /// `base·γ^k` (ExponentialLR).
    Exponential {
        /// Decay factor.
        gamma: f64,
    },
    /// `eta_min + (base−eta_min)(1+cos(πk/t_max))/2`, not clamped at t_max (CosineAnnealingLR).
    Cosine {
        /// Half period.
        t_max: usize,
        /// Minimum.
        eta_min: f64,
    },
    /// `base·(start + (end−start)·min(k, total)/total)` (LinearLR, a warm-up).
    Linear {
        /// Factor at k = 0.
        start_factor: f64,
        /// Factor from k = total on.
        end_factor: f64,
        /// Length of the ramp.
        total_iters: usize,
    },
}

#[cfg(feature = "std")]
impl Schedule {
    /// The learning rate after `k` steps from `base`.
    pub fn lr(&self, base: f64, k: usize) -> f64 {
        match self {
            Schedule::Step { step_size, gamma } => base * gamma.powi((k / (*step_size).max(1)) as i32),
            Schedule::MultiStep { milestones, gamma } => {
                base * gamma.powi(milestones.iter().filter(|m| **m <= k).count() as i32)
            }
            Schedule::Exponential { gamma } => base * gamma.powi(k as i32),
            Schedule::Cosine { t_max, eta_min } => {
                let phase = core::f64::consts::PI * k as f64 / (*t_max).max(1) as f64;
                eta_min + (base - eta_min) * (1.0 + phase.cos()) / 2.0
            }
            Schedule::Linear { start_factor, end_factor, total_iters } => {
                let total = (*total_iters).max(1);
                base * (start_factor + (end_factor - start_factor) * k.min(total) as f64 / total as f64)
            }
        }
    }
}

/// Early stopping settings.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EarlyStopping {
    /// Watch the validation loss (else the training loss).
    pub monitor_validation: bool,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The least decrease that counts as an improvement.
    pub min_delta: f64,
    /// Restore the best weights when training ends.
    pub restore_best: bool,
}

/// PyTorch's default hyper-parameters, written once.
pub mod defaults {
    /// Adam's and AdamW's `betas`.
    pub const BETAS: (f64, f64) = (0.9, 0.999);
    /// Adam's, AdamW's and RMSprop's `eps`.
    pub const EPS: f64 = 1e-8;
    /// Adagrad's `eps`.
    pub const ADAGRAD_EPS: f64 = 1e-10;
    /// RMSprop's `alpha`.
    pub const ALPHA: f64 = 0.99;
    /// AdamW's `weight_decay` (every other optimizer's is 0).
    pub const ADAMW_WEIGHT_DECAY: f64 = 0.01;
    /// The `momentum` of the `momentum` and `nesterov` optimizers (plain `sgd` has none).
    pub const MOMENTUM: f64 = 0.9;

    /// The learning rate of the optimizer called `name` when none is given:
    /// PyTorch's 0.01 for Adagrad and RMSprop, 0.001 for the others.
    pub fn lr(name: &str) -> f64 {
        match name {
            "adagrad" | "rmsprop" => 0.01,
            _ => 1e-3,
        }
    }
}

/// The settings of any optimizer, with `torch.optim`'s names; the runtime's
/// `nnspec::Build` makes the optimizer. The constructors fill in PyTorch's
/// defaults ([`defaults`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum OptimizerConfig {
    /// `torch.optim.SGD`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum.
        momentum: f64,
        /// Dampening.
        dampening: f64,
        /// Nesterov.
        nesterov: bool,
        /// Weight decay.
        weight_decay: f64,
    },
    /// `torch.optim.Adagrad`.
    Adagrad {
        /// Learning rate.
        lr: f64,
        /// Learning-rate decay.
        lr_decay: f64,
        /// Weight decay.
        weight_decay: f64,
        /// Initial accumulator.
        initial_accumulator_value: f64,
        /// eps.
        eps: f64,
    },
    /// `torch.optim.RMSprop`.
    RmsProp {
        /// Learning rate.
        lr: f64,
        /// α.
        alpha: f64,
        /// eps.
        eps: f64,
        /// Weight decay.
        weight_decay: f64,
        /// Momentum.
        momentum: f64,
        /// Centered.
        centered: bool,
    },
    /// `torch.optim.Adam` (`AdamW` when `decoupled`).
    Adam {
        /// Learning rate.
        lr: f64,
        /// β1.
        beta1: f64,
        /// β2.
        beta2: f64,
        /// eps.
        eps: f64,
        /// Weight decay.
        weight_decay: f64,
        /// AMSGrad.
        amsgrad: bool,
        /// Decoupled (AdamW).
        decoupled: bool,
    },
}

impl OptimizerConfig {
    /// The names accepted in specs.
    pub const NAMES: &'static [&'static str] = &["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"];

    /// `torch.optim.SGD(lr)`: no momentum, dampening or weight decay.
    pub fn sgd(lr: f64) -> OptimizerConfig {
        OptimizerConfig::Sgd { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }

    /// `torch.optim.Adagrad(lr)` with PyTorch's defaults.
    pub fn adagrad(lr: f64) -> OptimizerConfig {
        OptimizerConfig::Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: defaults::ADAGRAD_EPS,
        }
    }

    /// `torch.optim.RMSprop(lr)` with PyTorch's defaults.
    pub fn rmsprop(lr: f64) -> OptimizerConfig {
        let eps = defaults::EPS;
        OptimizerConfig::RmsProp { lr, alpha: defaults::ALPHA, eps, weight_decay: 0.0, momentum: 0.0, centered: false }
    }

    /// `torch.optim.Adam(lr)` with PyTorch's defaults.
    pub fn adam(lr: f64) -> OptimizerConfig {
        let (beta1, beta2) = defaults::BETAS;
        let eps = defaults::EPS;
        OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay: 0.0, amsgrad: false, decoupled: false }
    }

    /// `torch.optim.AdamW(lr)` with PyTorch's defaults (weight decay 0.01).
    pub fn adamw(lr: f64) -> OptimizerConfig {
        let (beta1, beta2) = defaults::BETAS;
        let (eps, weight_decay) = (defaults::EPS, defaults::ADAMW_WEIGHT_DECAY);
        OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay, amsgrad: false, decoupled: true }
    }

    /// The optimizer a spec calls `name`, with every setting at its default
    /// and the learning rate `lr` (else [`defaults::lr`]); `None` for a name
    /// not in [`Self::NAMES`].
    pub fn named(name: &str, lr: Option<f64>) -> Option<OptimizerConfig> {
        let lr = lr.unwrap_or_else(|| defaults::lr(name));
        let momentum = |nesterov| OptimizerConfig::Sgd {
            lr,
            momentum: defaults::MOMENTUM,
            dampening: 0.0,
            nesterov,
            weight_decay: 0.0,
        };
        Some(match name {
            "sgd" => OptimizerConfig::sgd(lr),
            "momentum" => momentum(false),
            "nesterov" => momentum(true),
            "adagrad" => OptimizerConfig::adagrad(lr),
            "rmsprop" => OptimizerConfig::rmsprop(lr),
            "adam" => OptimizerConfig::adam(lr),
            "adamw" => OptimizerConfig::adamw(lr),
            _ => return None,
        })
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adagrad { lr, .. }
            | OptimizerConfig::RmsProp { lr, .. }
            | OptimizerConfig::Adam { lr, .. } => lr,
        }
    }

    /// A copy with another learning rate.
    pub fn with_lr(mut self, new_lr: f64) -> OptimizerConfig {
        match &mut self {
            OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::Adagrad { lr, .. }
            | OptimizerConfig::RmsProp { lr, .. }
            | OptimizerConfig::Adam { lr, .. } => *lr = new_lr,
        }
        self
    }

    /// A short name: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw.
    pub fn name(&self) -> &'static str {
        match *self {
            OptimizerConfig::Sgd { nesterov: true, .. } => "nesterov",
            OptimizerConfig::Sgd { momentum, .. } if momentum > 0.0 => "momentum",
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adagrad { .. } => "adagrad",
            OptimizerConfig::RmsProp { .. } => "rmsprop",
            OptimizerConfig::Adam { decoupled: true, .. } => "adamw",
            OptimizerConfig::Adam { .. } => "adam",
        }
    }
}

/// How to fill a parameter tensor. Fans follow PyTorch: for a dense layer's
/// weight `fan_in` = inputs and `fan_out` = outputs; a bias uses its layer's fans.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Init {
    /// All zeros.
    Zeros,
    /// A constant.
    Constant(f32),
    /// U(low, high).
    Uniform {
        /// Lower bound.
        low: f32,
        /// Upper bound.
        high: f32,
    },
    /// N(mean, std²).
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Glorot/Xavier uniform.
    XavierUniform,
    /// Glorot/Xavier normal.
    XavierNormal,
    /// He/Kaiming uniform (gain √2).
    HeUniform,
    /// He/Kaiming normal (gain √2).
    HeNormal,
    /// PyTorch's default for `nn.Linear` weights and biases: U(−1/√fan_in, 1/√fan_in).
    TorchDefault,
}

impl Init {
    /// The names accepted in specs (`glorot_*` and `kaiming_*` are aliases).
    pub const NAMES: &'static [&'static str] = &[
        "zeros",
        "ones",
        "constant",
        "uniform",
        "normal",
        "xavier_uniform",
        "xavier_normal",
        "glorot_uniform",
        "glorot_normal",
        "he_uniform",
        "he_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "torch_default",
    ];
}

/// How to train: what the trainer (`nnspec::Trainer`) runs with, and the
/// settings of a spec's `train { … }` block that it takes (the compiler's IR
/// adds the two the trainer does not read: the validation split and the
/// expected number of samples). Defaults as PyTorch users expect: Adam at
/// 0.001, batches of 32, 100 epochs, shuffled.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TrainConfig {
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Mini-batch size; `None` for full-batch.
    pub batch: Option<usize>,
    /// Number of epochs.
    pub epochs: usize,
    /// Seed of shuffling and dropout (and of a spec's initialisation).
    pub seed: u64,
    /// Shuffle the rows every epoch.
    pub shuffle: bool,
    /// Learning-rate schedule, stepped once per epoch.
    pub schedule: Option<Schedule>,
    /// Clip the global gradient norm.
    pub clip_grad_norm: Option<f64>,
    /// Clip gradient elements.
    pub clip_grad_value: Option<f64>,
    /// Early stopping.
    pub early_stopping: Option<EarlyStopping>,
    /// Report progress on stderr: a bar on a terminal, otherwise a plain line
    /// every tenth of the run.
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            optimizer: OptimizerConfig::adam(1e-3),
            batch: Some(32),
            epochs: 100,
            seed: 0,
            shuffle: true,
            schedule: None,
            clip_grad_norm: None,
            clip_grad_value: None,
            early_stopping: None,
            progress: false,
        }
    }
}
