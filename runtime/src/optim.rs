//! Optimizers on flat parameter and gradient slices, following `torch.optim`'s
//! update rules exactly (see each type's docs). `g` is the gradient, `t` the
//! step number starting at 1; all state is per element and starts at 0.
//!
//! ```
//! use nnspec::optim::{Optimizer, Sgd};
//! let mut params = [1.0f32, -2.0];
//! let mut sgd = Sgd::new(0.1);
//! sgd.step(&mut params, &[1.0, -1.0]);
//! assert_eq!(params, [0.9, -1.9]);
//! ```

use nnspec_core::vocabulary::defaults;
/// An optimizer updating a flat parameter buffer in place.
pub trait Optimizer {
    /// One update from gradient `grads` (same layout as `params`).
    fn step(&mut self, params: &mut [f32], grads: &[f32]);
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (for schedules).
    fn set_lr(&mut self, lr: f64);
}

fn ensure(state: &mut Vec<f32>, len: usize, value: f32) {
    if state.len() != len {
        state.clear();
        state.resize(len, value);
    }
}

/// `torch.optim.SGD`: with weight decay λ, `g ← g + λp`; with momentum μ,
/// `buf ← g` on the first step and `buf ← μ·buf + (1−dampening)·g` after;
/// Nesterov uses `g + μ·buf`; then `p ← p − lr·(that)`.
#[derive(Debug, Clone)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor μ.
    pub momentum: f64,
    /// Dampening of the momentum (not applied on the first step).
    pub dampening: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Coupled L2 weight decay λ.
    pub weight_decay: f64,
    buffer: Vec<f32>,
    steps: u64,
}

impl Sgd {
    /// Plain SGD: `p ← p − lr·g`; add momentum with [`Sgd::momentum`].
    ///
    /// ```
    /// use nnspec::{Optimizer, Sgd};
    /// let mut sgd = Sgd::new(0.1).momentum(0.9);
    /// let mut p = [1.0f32];
    /// sgd.step(&mut p, &[1.0]); // buf = g = 1, p = 1 − 0.1·1
    /// sgd.step(&mut p, &[1.0]); // buf = 0.9·1 + 1 = 1.9, p = 0.9 − 0.19
    /// assert!((p[0] - 0.71).abs() < 1e-6);
    /// ```
    pub fn new(lr: f64) -> Sgd {
        Sgd { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, buffer: Vec::new(), steps: 0 }
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> Sgd {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening.
    pub fn dampening(mut self, dampening: f64) -> Sgd {
        self.dampening = dampening;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Sgd {
        self.nesterov = nesterov;
        self
    }

    /// Sets the coupled weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Sgd {
        self.weight_decay = weight_decay;
        self
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        let lr = self.lr as f32;
        let wd = self.weight_decay as f32;
        let mu = self.momentum as f32;
        // PyTorch computes 1 − dampening in f64 and rounds once.
        let damp = (1.0 - self.dampening) as f32;
        self.steps += 1;
        if self.momentum == 0.0 {
            sgd_update(params, grads, lr, wd);
            return;
        }
        let first = self.steps == 1;
        ensure(&mut self.buffer, params.len(), 0.0);
        for ((p, g), buf) in params.iter_mut().zip(grads).zip(self.buffer.iter_mut()) {
            let g = g + wd * *p;
            *buf = if first { g } else { mu * *buf + damp * g };
            let update = if self.nesterov { g + mu * *buf } else { *buf };
            *p -= lr * update;
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// One step of SGD without momentum, `p ← p − lr·(g + weight_decay·p)`: what
/// [`Sgd`] computes then, and what a generated [`crate::Model::descend`] calls,
/// so that both take the same step to the bit.
#[inline(always)]
pub fn sgd_update(params: &mut [f32], grads: &[f32], lr: f32, weight_decay: f32) {
    for (p, g) in params.iter_mut().zip(grads) {
        let g = g + weight_decay * *p;
        *p -= lr * g;
    }
}

/// `torch.optim.Adagrad`: `sum ← sum + g²`,
/// `p ← p − clr·g/(√sum + eps)` with `clr = lr/(1+(t−1)·lr_decay)`; eps outside the root.
#[derive(Debug, Clone)]
pub struct Adagrad {
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate decay.
    pub lr_decay: f64,
    /// Coupled L2 weight decay.
    pub weight_decay: f64,
    /// Starting value of the accumulator.
    pub initial_accumulator_value: f64,
    /// Added outside the square root.
    pub eps: f64,
    sum: Vec<f32>,
    steps: u64,
}

impl Adagrad {
    /// Adagrad with PyTorch's defaults (lr_decay 0, eps 1e-10, accumulator 0).
    ///
    /// ```
    /// use nnspec::{Adagrad, Optimizer};
    /// let mut adagrad = Adagrad::new(0.1);
    /// let mut p = [1.0f32];
    /// adagrad.step(&mut p, &[2.0]); // sum = 4, p = 1 − 0.1·2/(√4 + 1e-10)
    /// assert!((p[0] - 0.9).abs() < 1e-6);
    /// ```
    pub fn new(lr: f64) -> Adagrad {
        Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: defaults::ADAGRAD_EPS,
            sum: Vec::new(),
            steps: 0,
        }
    }

    /// Sets the learning-rate decay.
    pub fn lr_decay(mut self, lr_decay: f64) -> Adagrad {
        self.lr_decay = lr_decay;
        self
    }

    /// Sets the coupled weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Adagrad {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the accumulator's starting value.
    pub fn initial_accumulator_value(mut self, value: f64) -> Adagrad {
        self.initial_accumulator_value = value;
        self
    }

    /// Sets eps.
    pub fn eps(mut self, eps: f64) -> Adagrad {
        self.eps = eps;
        self
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        ensure(&mut self.sum, params.len(), self.initial_accumulator_value as f32);
        self.steps += 1;
        let clr = (self.lr / (1.0 + (self.steps - 1) as f64 * self.lr_decay)) as f32;
        let wd = self.weight_decay as f32;
        let eps = self.eps as f32;
        for ((p, g), sum) in params.iter_mut().zip(grads).zip(self.sum.iter_mut()) {
            let g = g + wd * *p;
            *sum += g * g;
            *p -= clr * g / (sum.sqrt() + eps);
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// `torch.optim.RMSprop`: `v ← αv + (1−α)g²`; `d = √v + eps` (centered:
/// `ḡ ← αḡ + (1−α)g`, `d = √(v − ḡ²) + eps`); with momentum μ
/// `buf ← μ·buf + g/d`, `p ← p − lr·buf`, else `p ← p − lr·g/d`. No bias correction.
#[derive(Debug, Clone)]
pub struct RmsProp {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant α.
    pub alpha: f64,
    /// Added outside the square root.
    pub eps: f64,
    /// Coupled L2 weight decay.
    pub weight_decay: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Centered variant.
    pub centered: bool,
    square_avg: Vec<f32>,
    grad_avg: Vec<f32>,
    buffer: Vec<f32>,
}

impl RmsProp {
    /// RMSprop with PyTorch's defaults (α 0.99, eps 1e-8).
    ///
    /// ```
    /// use nnspec::{Optimizer, RmsProp};
    /// let mut rmsprop = RmsProp::new(0.01);
    /// let mut p = [1.0f32];
    /// rmsprop.step(&mut p, &[1.0]); // v = 0.01, p = 1 − 0.01·1/(√0.01 + 1e-8)
    /// assert!((p[0] - 0.9).abs() < 1e-6);
    /// ```
    pub fn new(lr: f64) -> RmsProp {
        RmsProp {
            lr,
            alpha: defaults::ALPHA,
            eps: defaults::EPS,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            square_avg: Vec::new(),
            grad_avg: Vec::new(),
            buffer: Vec::new(),
        }
    }

    /// Sets α.
    pub fn alpha(mut self, alpha: f64) -> RmsProp {
        self.alpha = alpha;
        self
    }

    /// Sets eps.
    pub fn eps(mut self, eps: f64) -> RmsProp {
        self.eps = eps;
        self
    }

    /// Sets the coupled weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> RmsProp {
        self.weight_decay = weight_decay;
        self
    }

    /// Sets the momentum factor.
    pub fn momentum(mut self, momentum: f64) -> RmsProp {
        self.momentum = momentum;
        self
    }

    /// Turns the centered variant on or off.
    pub fn centered(mut self, centered: bool) -> RmsProp {
        self.centered = centered;
        self
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        let n = params.len();
        ensure(&mut self.square_avg, n, 0.0);
        if self.centered {
            ensure(&mut self.grad_avg, n, 0.0);
        }
        if self.momentum > 0.0 {
            ensure(&mut self.buffer, n, 0.0);
        }
        let (lr, alpha, eps, wd, mu) =
            (self.lr as f32, self.alpha as f32, self.eps as f32, self.weight_decay as f32, self.momentum as f32);
        // 1 − α in f64, rounded once, as PyTorch passes it (1 − α of an f32 α loses five digits).
        let rest = (1.0 - self.alpha) as f32;
        for i in 0..n {
            let g = grads[i] + wd * params[i];
            let v = &mut self.square_avg[i];
            *v = alpha * *v + rest * g * g;
            let denominator = if self.centered {
                let mean = &mut self.grad_avg[i];
                *mean = lerp(*mean, g, rest);
                (*v - *mean * *mean).sqrt() + eps
            } else {
                v.sqrt() + eps
            };
            if self.momentum > 0.0 {
                let buf = &mut self.buffer[i];
                *buf = mu * *buf + g / denominator;
                params[i] -= lr * *buf;
            } else {
                params[i] -= lr * g / denominator;
            }
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}

/// `torch.optim.Adam` and `AdamW`: `m ← β1·m + (1−β1)g`, `v ← β2·v + (1−β2)g²`,
/// `p ← p − (lr/(1−β1^t))·m/(√v/√(1−β2^t) + eps)`; eps after the bias correction.
/// Adam's weight decay is coupled (`g ← g + λp`); AdamW's is decoupled
/// (`p ← p(1 − lr·λ)` first). AMSGrad keeps the element-wise maximum of the raw `v`.
#[derive(Debug, Clone)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// β1.
    pub beta1: f64,
    /// β2.
    pub beta2: f64,
    /// Added after the bias correction of √v.
    pub eps: f64,
    /// Weight decay (coupled for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// AMSGrad variant.
    pub amsgrad: bool,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
    m: Vec<f32>,
    v: Vec<f32>,
    v_max: Vec<f32>,
    steps: u64,
}

impl Adam {
    /// Adam with PyTorch's defaults (betas (0.9, 0.999), eps 1e-8, no decay).
    ///
    /// ```
    /// use nnspec::{Adam, Optimizer};
    /// let mut adam = Adam::new(0.01);
    /// let mut p = [1.0f32];
    /// adam.step(&mut p, &[3.0]); // the first step moves by lr·sign(g): m̂ = 3, √v̂ = 3
    /// assert!((p[0] - 0.99).abs() < 1e-6);
    /// let mut adamw = Adam::adamw(0.01); // decoupled decay 0.01 first: p·(1 − lr·wd)
    /// let mut q = [1.0f32];
    /// adamw.step(&mut q, &[3.0]);
    /// assert!((q[0] - (0.9999 - 0.01)).abs() < 1e-6);
    /// ```
    pub fn new(lr: f64) -> Adam {
        Adam {
            lr,
            beta1: defaults::BETAS.0,
            beta2: defaults::BETAS.1,
            eps: defaults::EPS,
            weight_decay: 0.0,
            amsgrad: false,
            decoupled: false,
            m: Vec::new(),
            v: Vec::new(),
            v_max: Vec::new(),
            steps: 0,
        }
    }

    /// AdamW with PyTorch's defaults (weight decay 0.01, decoupled).
    pub fn adamw(lr: f64) -> Adam {
        Adam { weight_decay: defaults::ADAMW_WEIGHT_DECAY, decoupled: true, ..Adam::new(lr) }
    }

    /// Sets (β1, β2).
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Adam {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets eps.
    pub fn eps(mut self, eps: f64) -> Adam {
        self.eps = eps;
        self
    }

    /// Sets the weight decay.
    pub fn weight_decay(mut self, weight_decay: f64) -> Adam {
        self.weight_decay = weight_decay;
        self
    }

    /// Turns AMSGrad on or off.
    pub fn amsgrad(mut self, amsgrad: bool) -> Adam {
        self.amsgrad = amsgrad;
        self
    }
}

/// `a + w·(b − a)` as PyTorch's `lerp_` computes it in f32 (from the far end when `w ≥ ½`).
#[inline(always)]
fn lerp(a: f32, b: f32, w: f32) -> f32 {
    if w < 0.5 {
        a + w * (b - a)
    } else {
        b - (b - a) * (1.0 - w)
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        let n = params.len();
        ensure(&mut self.m, n, 0.0);
        ensure(&mut self.v, n, 0.0);
        if self.amsgrad {
            ensure(&mut self.v_max, n, 0.0);
        }
        self.steps += 1;
        let t = self.steps as i32;
        let bias_correction1 = 1.0 - self.beta1.powi(t);
        let bias_correction2_sqrt = (1.0 - self.beta2.powi(t)).sqrt() as f32;
        let step_size = (self.lr / bias_correction1) as f32;
        let (beta2, eps) = (self.beta2 as f32, self.eps as f32);
        // 1 − β in f64, rounded once, as PyTorch passes them: 1 − β2 of an f32 β2 = 0.999
        // is off by 1.3·10⁻⁵, a bias the bias correction (computed from the f64 β2) does not cancel.
        let (rest1, rest2) = ((1.0 - self.beta1) as f32, (1.0 - self.beta2) as f32);
        // AdamW scales p by (1 − lr·wd) first; Adam adds wd·p to g. Multiplying by
        // exactly 1 and adding exactly 0 leave values unchanged, so one branch-free
        // loop (which vectorises) serves both.
        let (shrink, coupled) = if self.decoupled {
            ((1.0 - self.lr * self.weight_decay) as f32, 0.0)
        } else {
            (1.0, self.weight_decay as f32)
        };
        let state = params.iter_mut().zip(grads).zip(self.m.iter_mut()).zip(self.v.iter_mut());
        if self.amsgrad {
            for ((((p, g), m), v), v_max) in state.zip(self.v_max.iter_mut()) {
                *p *= shrink;
                let g = g + coupled * *p;
                *m = lerp(*m, g, rest1);
                *v = beta2 * *v + rest2 * g * g;
                *v_max = v_max.max(*v);
                *p -= step_size * *m / (v_max.sqrt() / bias_correction2_sqrt + eps);
            }
        } else {
            for (((p, g), m), v) in state {
                *p *= shrink;
                let g = g + coupled * *p;
                *m = lerp(*m, g, rest1);
                *v = beta2 * *v + rest2 * g * g;
                *p -= step_size * *m / (v.sqrt() / bias_correction2_sqrt + eps);
            }
        }
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}

pub use nnspec_core::vocabulary::OptimizerConfig;

/// Makes the optimizer an [`OptimizerConfig`] describes (in the prelude of
/// `nnspec`: `use nnspec::Build;`).
pub trait Build {
    /// Builds the optimizer.
    fn build(&self) -> Box<dyn Optimizer + Send>;
}

impl Build for OptimizerConfig {
    fn build(&self) -> Box<dyn Optimizer + Send> {
        match *self {
            OptimizerConfig::Sgd { lr, momentum, dampening, nesterov, weight_decay } => Box::new(
                Sgd::new(lr).momentum(momentum).dampening(dampening).nesterov(nesterov).weight_decay(weight_decay),
            ),
            OptimizerConfig::Adagrad { lr, lr_decay, weight_decay, initial_accumulator_value, eps } => Box::new(
                Adagrad::new(lr)
                    .lr_decay(lr_decay)
                    .weight_decay(weight_decay)
                    .initial_accumulator_value(initial_accumulator_value)
                    .eps(eps),
            ),
            OptimizerConfig::RmsProp { lr, alpha, eps, weight_decay, momentum, centered } => Box::new(
                RmsProp::new(lr).alpha(alpha).eps(eps).weight_decay(weight_decay).momentum(momentum).centered(centered),
            ),
            OptimizerConfig::Adam { lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled } => {
                let mut adam = Adam::new(lr).betas(beta1, beta2).eps(eps).weight_decay(weight_decay).amsgrad(amsgrad);
                adam.decoupled = decoupled;
                Box::new(adam)
            }
        }
    }
}
