//! The trainer: epochs of shuffled mini-batches, penalties, clipping, an
//! optimizer and a schedule; metrics on the training and validation sets;
//! early stopping that restores the best weights; a progress bar on a
//! terminal; a loss history that can be saved.
//!
//! NaN or infinity in a loss or gradient stops training with
//! [`Error::NonFinite`] naming the epoch, batch and tensor; the model keeps the
//! last weights that were finite.

use crate::data::{epoch_order, Dataset};
use crate::error::Error;
use crate::loss::Loss;
use crate::model::{Model, Workspace};
use crate::optim::{Optimizer, OptimizerConfig};
use crate::schedule::{clip_coefficient, clip_grad_value, grad_norm, scale, Schedule};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

/// Early stopping settings.
#[derive(Debug, Clone, Copy, PartialEq)]
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

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Mini-batch size; `None` for full-batch.
    pub batch: Option<usize>,
    /// Number of epochs.
    pub epochs: usize,
    /// Seed of shuffling and dropout.
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
            optimizer: OptimizerConfig::Adam {
                lr: 1e-3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.0,
                amsgrad: false,
                decoupled: false,
            },
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

/// Loss and metrics of a model on a data set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// Mean data loss (no penalty).
    pub loss: f64,
    /// Fraction of correct predictions, for classification losses.
    pub accuracy: Option<f64>,
    /// Coefficient of determination, for regression losses.
    pub r2: Option<f64>,
    /// Mean squared error of the outputs, for regression losses.
    pub mse: Option<f64>,
}

/// One epoch's record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (data loss plus penalty).
    pub loss: f64,
    /// Validation metrics, if a validation set was given.
    pub validation: Option<Metrics>,
    /// The learning rate used in this epoch.
    pub lr: f64,
}

/// One optimizer step as the trainer took it, reported to [`Observer::step`].
///
/// The loss that is differentiated is `data_loss + l1_penalty + l2_penalty`
/// ([`StepRecord::loss`]); penalties are those of the parameters before the step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRecord {
    /// 1-based epoch, as in [`EpochRecord`].
    pub epoch: usize,
    /// 0-based batch within the epoch.
    pub batch: usize,
    /// The batch's positions in the epoch's order of rows (the data's own rows when not shuffled).
    pub rows: std::ops::Range<usize>,
    /// The learning rate of this step.
    pub lr: f64,
    /// The batch's data loss (mean unless the loss is a sum).
    pub data_loss: f64,
    /// The L1 penalty term.
    pub l1_penalty: f64,
    /// The L2 penalty term.
    pub l2_penalty: f64,
    /// The global 2-norm of the gradient of the loss (penalties included), before clipping.
    pub grad_norm: f64,
    /// The `clip_grad_norm` coefficient applied, when clipping by norm.
    pub clip_coef: Option<f64>,
    /// How many gradient elements `clip_grad_value` clamped, when clipping by value.
    pub clipped_elements: Option<usize>,
}

impl StepRecord {
    /// The loss that was differentiated: data loss plus both penalties.
    pub fn loss(&self) -> f64 {
        self.data_loss + self.l1_penalty + self.l2_penalty
    }
}

/// Watches a training run through [`Trainer::fit_observed`].
pub trait Observer {
    /// Whether [`Observer::step`] wants every step (recording one costs a pass over the gradient).
    fn wants_steps(&self) -> bool {
        false
    }

    /// After every optimizer step (when [`Observer::wants_steps`]): what the step did,
    /// the gradient the optimizer received (penalties added, clipped) and the parameters after it.
    fn step(&mut self, _record: &StepRecord, _grad: &[f32], _params: &[f32]) {}

    /// After every epoch, with its record and the parameters; `Break` stops training.
    fn epoch(&mut self, _record: &EpochRecord, _params: &[f32]) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// An [`Observer`] that calls a closure after every epoch.
struct OnEpoch<F>(F);

impl<F: FnMut(&EpochRecord) -> ControlFlow<()>> Observer for OnEpoch<F> {
    fn epoch(&mut self, record: &EpochRecord, _params: &[f32]) -> ControlFlow<()> {
        (self.0)(record)
    }
}

/// A problem only the data can reveal, noticed while training (each kind is reported once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingWarning {
    /// The 1-based epoch where it was noticed.
    pub epoch: usize,
    /// `rising_loss`, `dead_relu` or `vanishing_gradients`.
    pub kind: &'static str,
    /// What was seen and what to do.
    pub message: String,
}

/// Watches a run for the mistakes the tutorials warn about.
struct Watchdog {
    /// (layer name, its tensor ranges) for ReLU layers.
    relu_layers: Vec<(String, Vec<std::ops::Range<usize>>)>,
    first_layer: Vec<std::ops::Range<usize>>,
    last_layer: Vec<std::ops::Range<usize>>,
    warned: Vec<&'static str>,
    warnings: Vec<TrainingWarning>,
}

impl Watchdog {
    fn new(model: &dyn Model) -> Watchdog {
        let ranges = |layer: &str| -> Vec<std::ops::Range<usize>> {
            model
                .tensors()
                .iter()
                .filter(|t| t.name.strip_prefix(layer).is_some_and(|rest| rest.starts_with('.')))
                .map(|t| t.range())
                .collect()
        };
        let layers = model.layers();
        Watchdog {
            relu_layers: layers
                .iter()
                .filter(|l| l.activation == crate::Activation::Relu)
                .map(|l| (l.name.to_string(), ranges(&l.name)))
                .collect(),
            first_layer: layers.first().map(|l| ranges(&l.name)).unwrap_or_default(),
            last_layer: layers.last().map(|l| ranges(&l.name)).unwrap_or_default(),
            warned: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn warn(&mut self, epoch: usize, kind: &'static str, message: String, progress: bool) {
        if self.warned.contains(&kind) {
            return;
        }
        if progress {
            eprintln!("warning (epoch {epoch}): {message}");
        }
        self.warned.push(kind);
        self.warnings.push(TrainingWarning { epoch, kind, message });
    }

    /// Whether the gradient of this epoch's first batch is worth checking: every
    /// epoch up to the eighth, then every eighth (a dead layer or a vanished
    /// gradient persists, so a sparse check still catches it, and tiny networks
    /// do not pay for it every step), until both gradient warnings are given.
    fn due(&self, epoch: usize) -> bool {
        (epoch <= 8 || epoch % 8 == 0)
            && !(self.warned.contains(&"dead_relu") && self.warned.contains(&"vanishing_gradients"))
    }

    /// Checks one batch's gradient.
    fn batch(&mut self, epoch: usize, grad: &[f32], progress: bool) {
        let rms = |ranges: &[std::ops::Range<usize>]| {
            let (mut sum, mut count) = (0.0f64, 0usize);
            for range in ranges {
                let part = &grad[range.clone()];
                sum += part.iter().map(|g| f64::from(*g) * f64::from(*g)).sum::<f64>();
                count += part.len();
            }
            (sum / count.max(1) as f64).sqrt()
        };
        let dead = self
            .relu_layers
            .iter()
            .find(|(_, ranges)| ranges.iter().all(|r| grad[r.clone()].iter().all(|g| *g == 0.0)))
            .map(|(name, _)| name.clone());
        let (first, last) = (rms(&self.first_layer), rms(&self.last_layer));
        if let Some(name) = dead {
            if last > 0.0 {
                self.warn(
                    epoch,
                    "dead_relu",
                    format!("every unit of ReLU layer `{name}` output zero on a whole batch, so it learns nothing; try `leaky_relu`, `he_normal` initialisation or a smaller learning rate"),
                    progress,
                );
            }
        }
        if last > 0.0 && first < last * 1e-6 && self.first_layer != self.last_layer {
            self.warn(
                epoch,
                "vanishing_gradients",
                format!("the first layer's gradient ({first:.1e}) is a millionth of the last layer's ({last:.1e}): use relu or leaky_relu in the hidden layers"),
                progress,
            );
        }
    }

    /// Checks the loss history after an epoch.
    fn epoch(&mut self, epochs: &[EpochRecord], progress: bool) {
        const RISING: usize = 5;
        if epochs.len() == RISING && epochs.windows(2).all(|w| w[1].loss > w[0].loss) {
            self.warn(
                RISING,
                "rising_loss",
                format!("the loss rose in each of the first {RISING} epochs: the learning rate is probably too high"),
                progress,
            );
        }
    }
}

/// The loss history of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct History {
    /// Problems noticed while training (also printed when progress is on).
    pub warnings: Vec<TrainingWarning>,
    /// One record per epoch run.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose weights the model holds at the end (1-based), if early stopping restored them.
    pub best_epoch: Option<usize>,
    /// True if early stopping ended the run.
    pub stopped_early: bool,
    /// Wall-clock time of the run.
    #[serde(skip)]
    pub elapsed: Duration,
}

impl History {
    /// The history as CSV: `epoch,loss,val_loss,val_accuracy,lr`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("epoch,loss,val_loss,val_accuracy,lr\n");
        for record in &self.epochs {
            let (val_loss, val_accuracy) = match record.validation {
                Some(m) => (m.loss.to_string(), m.accuracy.map_or(String::new(), |a| a.to_string())),
                None => (String::new(), String::new()),
            };
            out.push_str(&format!("{},{},{val_loss},{val_accuracy},{}\n", record.epoch, record.loss, record.lr));
        }
        out
    }

    /// Writes [`History::to_csv`] (or JSON when the path ends in `.json`) atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let text = if path.extension().is_some_and(|e| e == "json") {
            serde_json::to_string_pretty(self).map_err(|e| Error::data(e.to_string()))?
        } else {
            self.to_csv()
        };
        crate::weights::write_atomically(path, text.as_bytes())
    }
}

/// Trains models with a [`TrainConfig`].
///
/// ```
/// use nnspec::{Dataset, OptimizerConfig, TrainConfig, Trainer};
/// nnspec::net! {
///     network And {
///         input bits: [2];
///         dense out: 1, activation = sigmoid, init = zeros;
///         loss binary_cross_entropy;
///     }
/// }
/// let data = Dataset::new(vec![0., 0., 0., 1., 1., 0., 1., 1.], vec![0., 0., 0., 1.], 2, 1)?;
/// let config = TrainConfig {
///     optimizer: OptimizerConfig::Sgd { lr: 1.0, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 },
///     batch: None,
///     epochs: 2000,
///     ..TrainConfig::default()
/// };
/// let mut and = And::zeroed();
/// let history = Trainer::new(config).fit(&mut and, &data, None)?;
/// assert!(history.epochs.last().unwrap().loss < 0.01);
/// assert!(and.predict(&[1.0, 1.0])[0] > 0.9 && and.predict(&[0.0, 1.0])[0] < 0.1);
/// # Ok::<(), nnspec::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Trainer {
    /// The settings.
    pub config: TrainConfig,
}

impl Trainer {
    /// A trainer with these settings.
    pub fn new(config: TrainConfig) -> Trainer {
        Trainer { config }
    }

    /// Trains `model` on `train`, evaluating `validation` after every epoch.
    pub fn fit(&self, model: &mut dyn Model, train: &Dataset, validation: Option<&Dataset>) -> Result<History, Error> {
        self.fit_with(model, train, validation, |_| ControlFlow::Continue(()))
    }

    /// Like [`Trainer::fit`], calling `on_epoch` after every epoch; returning
    /// `ControlFlow::Break(())` stops training.
    pub fn fit_with(
        &self,
        model: &mut dyn Model,
        train: &Dataset,
        validation: Option<&Dataset>,
        on_epoch: impl FnMut(&EpochRecord) -> ControlFlow<()>,
    ) -> Result<History, Error> {
        self.fit_observed(model, train, validation, &mut OnEpoch(on_epoch))
    }

    /// Like [`Trainer::fit`], reporting every epoch (and, if it asks, every
    /// optimizer step) to `observer`.
    pub fn fit_observed(
        &self,
        model: &mut dyn Model,
        train: &Dataset,
        validation: Option<&Dataset>,
        observer: &mut dyn Observer,
    ) -> Result<History, Error> {
        let config = &self.config;
        let record_steps = observer.wants_steps();
        check_fits(model, train)?;
        if let Some(validation) = validation {
            check_fits(model, validation)?;
        }
        if train.is_empty() {
            return Err(Error::data("the training set is empty"));
        }
        let started = Instant::now();
        let mut optimizer = config.optimizer.build();
        let base_lr = config.optimizer.lr();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut workspace = Workspace::new(config.seed.wrapping_add(1));
        let batch_size = config.batch.unwrap_or(train.len()).clamp(1, train.len());
        let mut grad = vec![0.0f32; model.param_count()];
        let mut x = Vec::with_capacity(batch_size * train.features);
        let mut y = Vec::with_capacity(batch_size * train.target_width);
        let mut history = History::default();
        let mut best: Option<(f64, usize, Vec<f32>)> = None;
        let mut since_best = 0;
        let tensors = model.tensors().to_vec();
        let penalised = tensors.iter().any(|t| t.l1 > 0.0 || t.l2 > 0.0);
        let progress = progress_bar(config.progress, config.epochs);
        // Without shuffling, each batch is a contiguous slice of the data: no copy.
        let in_order = !config.shuffle;
        let mut watchdog = Watchdog::new(model);
        // Large batches of large models run on two threads, each on half the rows.
        let parallel = batch_size >= PARALLEL_MIN_ROWS
            && batch_size.saturating_mul(model.param_count()) >= PARALLEL_MIN_WORK
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        let mut second = parallel.then(|| SecondHalf {
            workspace: Workspace::new(config.seed.wrapping_add(2)),
            grad: vec![0.0; model.param_count()],
            optimizer: config.optimizer.build(),
        });
        let mut last_good = model.params().to_vec();
        for epoch in 1..=config.epochs {
            let lr = config.schedule.as_ref().map_or(base_lr, |s| s.lr(base_lr, epoch - 1));
            optimizer.set_lr(lr);
            if let Some(second) = &mut second {
                second.optimizer.set_lr(lr);
            }
            let order = if in_order { Vec::new() } else { epoch_order(train.len(), Some(&mut rng)) };
            let mut total = 0.0f64;
            let mut seen = 0usize;
            last_good.copy_from_slice(model.params());
            for (batch_index, start) in (0..train.len()).step_by(batch_size).enumerate() {
                let end = (start + batch_size).min(train.len());
                let (xb, yb): (&[f32], &[f32]) = if in_order {
                    train.rows(start..end)
                } else {
                    x.clear();
                    y.clear();
                    for &row in &order[start..end] {
                        let (features, targets) = train.row(row);
                        x.extend_from_slice(features);
                        y.extend_from_slice(targets);
                    }
                    (&x, &y)
                };
                // A short last batch stays on one thread.
                let loss = match &mut second {
                    Some(second) if end - start >= PARALLEL_MIN_ROWS => {
                        split_loss_and_grad(&*model, xb, yb, &mut grad, &mut workspace, second)
                    }
                    _ => model.loss_and_grad(xb, yb, Some(&mut grad), &mut workspace, true),
                };
                let penalty = if penalised {
                    crate::penalty::apply(&tensors, model.params(), &mut grad)
                } else {
                    crate::penalty::Penalty::default()
                };
                let diverged = |what: String| Error::NonFinite { epoch, batch: batch_index, what };
                if !loss.is_finite() {
                    model.params_mut().copy_from_slice(&last_good);
                    return Err(diverged("the loss".into()));
                }
                // One cheap, vectorisable pass first; the tensor is looked up only on failure.
                let suspicious = |values: &[f32]| !values.iter().fold(true, |ok, v| ok & v.is_finite());
                if suspicious(&grad) {
                    if let Some(tensor) = tensors.iter().find(|t| grad[t.range()].iter().any(|g| !g.is_finite())) {
                        model.params_mut().copy_from_slice(&last_good);
                        return Err(diverged(format!("the gradient of `{}`", tensor.name)));
                    }
                }
                let norm = (record_steps || config.clip_grad_norm.is_some()).then(|| grad_norm(&grad));
                let clip_coef = config.clip_grad_norm.zip(norm).map(|(max_norm, norm)| {
                    let coefficient = clip_coefficient(norm, max_norm);
                    scale(&mut grad, coefficient);
                    coefficient
                });
                let clipped_elements = config.clip_grad_value.map(|clip| clip_grad_value(&mut grad, clip));
                if batch_index == 0 && watchdog.due(epoch) {
                    watchdog.batch(epoch, &grad, config.progress);
                }
                match &mut second {
                    // Every optimizer updates each parameter from its own gradient and
                    // state alone, so two instances, one per half of the parameters,
                    // take the same step as one over all of them.
                    Some(SecondHalf { optimizer: second, .. }) => {
                        let split_at = grad.len() / 2;
                        let (p1, p2) = model.params_mut().split_at_mut(split_at);
                        let (g1, g2) = grad.split_at(split_at);
                        std::thread::scope(|scope| {
                            scope.spawn(|| second.step(p2, g2));
                            optimizer.step(p1, g1);
                        });
                    }
                    None => optimizer.step(model.params_mut(), &grad),
                }
                if suspicious(model.params()) {
                    if let Some(tensor) =
                        tensors.iter().find(|t| model.params()[t.range()].iter().any(|p| !p.is_finite()))
                    {
                        let name = tensor.name.to_string();
                        model.params_mut().copy_from_slice(&last_good);
                        return Err(diverged(format!("`{name}` after the update")));
                    }
                }
                if record_steps {
                    let record = StepRecord {
                        epoch,
                        batch: batch_index,
                        rows: start..end,
                        lr,
                        data_loss: f64::from(loss),
                        l1_penalty: f64::from(penalty.l1),
                        l2_penalty: f64::from(penalty.l2),
                        grad_norm: norm.unwrap_or_default(),
                        clip_coef,
                        clipped_elements,
                    };
                    observer.step(&record, &grad, model.params());
                }
                total += f64::from(loss + penalty.total()) * (end - start) as f64;
                seen += end - start;
            }
            let validation_metrics = validation.map(|v| evaluate(model, v, &mut workspace));
            let record = EpochRecord { epoch, loss: total / seen.max(1) as f64, validation: validation_metrics, lr };
            history.epochs.push(record);
            watchdog.epoch(&history.epochs, config.progress);
            let plain = config.progress && progress.is_none();
            if plain && (epoch == config.epochs || epoch % config.epochs.div_ceil(10).max(1) == 0) {
                let mut line = format!("epoch {epoch}/{}: loss {:.6}", config.epochs, record.loss);
                if let Some(m) = record.validation {
                    line.push_str(&format!(", val_loss {:.6}", m.loss));
                }
                eprintln!("{line}");
            }
            if let Some(bar) = &progress {
                bar.set_position(epoch as u64);
                let mut message = format!("loss {:.4}", record.loss);
                if let Some(m) = record.validation {
                    message.push_str(&format!("  val_loss {:.4}", m.loss));
                    if let Some(a) = m.accuracy {
                        message.push_str(&format!("  val_acc {a:.3}"));
                    }
                }
                bar.set_message(message);
            }
            if let Some(stopping) = config.early_stopping {
                let monitored = match (stopping.monitor_validation, record.validation) {
                    (true, Some(m)) => m.loss,
                    _ => record.loss,
                };
                let improved = best.as_ref().is_none_or(|(value, ..)| monitored < value - stopping.min_delta);
                if improved {
                    best = Some((monitored, epoch, model.params().to_vec()));
                    since_best = 0;
                } else {
                    since_best += 1;
                    if since_best >= stopping.patience {
                        history.stopped_early = true;
                    }
                }
            }
            if history.stopped_early || observer.epoch(&record, model.params()).is_break() {
                break;
            }
        }
        if let (Some(stopping), Some((_, epoch, params))) = (config.early_stopping, best) {
            if stopping.restore_best {
                model.params_mut().copy_from_slice(&params);
                history.best_epoch = Some(epoch);
            }
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        history.elapsed = started.elapsed();
        history.warnings = watchdog.warnings;
        Ok(history)
    }
}

/// The fewest rows per batch worth splitting across two threads.
const PARALLEL_MIN_ROWS: usize = 64;
/// The least rows × parameters per batch worth a thread: below it, spawning costs
/// more than it saves (W4 in `docs/performance.md`: 128 × 235 146 runs 1.7× faster on two).
const PARALLEL_MIN_WORK: usize = 1 << 23;

/// What the second thread of a two-thread step owns: a workspace and gradient
/// buffer for the second half of the batch's rows, and the optimizer for the
/// second half of the parameters.
struct SecondHalf {
    workspace: Workspace,
    grad: Vec<f32>,
    optimizer: Box<dyn Optimizer + Send>,
}

/// `loss_and_grad` on a batch split in two halves computed on two threads; the
/// halves' losses and gradients are combined as the whole batch's would be
/// (weighted by rows for mean losses, added for sums).
fn split_loss_and_grad(
    model: &dyn Model,
    x: &[f32],
    y: &[f32],
    grad: &mut [f32],
    workspace: &mut Workspace,
    second: &mut SecondHalf,
) -> f32 {
    let rows = x.len() / model.input_size().max(1);
    let first_rows = rows / 2;
    let target_width = y.len() / rows.max(1);
    let (x1, x2) = x.split_at(first_rows * model.input_size());
    let (y1, y2) = y.split_at(first_rows * target_width);
    let (loss1, loss2) = std::thread::scope(|scope| {
        let SecondHalf { workspace: w2, grad: g2, .. } = second;
        let other = scope.spawn(move || model.loss_and_grad(x2, y2, Some(g2), w2, true));
        let loss1 = model.loss_and_grad(x1, y1, Some(grad), workspace, true);
        (loss1, other.join().unwrap_or(f32::NAN))
    });
    let (w1, w2) = if matches!(model.loss_kind(), Loss::Sse | Loss::SseHalf) {
        (1.0, 1.0)
    } else {
        (first_rows as f32 / rows as f32, (rows - first_rows) as f32 / rows as f32)
    };
    for (g, h) in grad.iter_mut().zip(&second.grad) {
        *g = w1 * *g + w2 * h;
    }
    w1 * loss1 + w2 * loss2
}

fn progress_bar(enabled: bool, epochs: usize) -> Option<indicatif::ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(epochs as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("epoch {pos}/{len} {bar:30} {msg} [{elapsed}<{eta}]") {
        bar.set_style(style);
    }
    Some(bar)
}

/// Checks that `data` fits `model`'s input and output (and labels are in range).
pub fn check_fits(model: &dyn Model, data: &Dataset) -> Result<(), Error> {
    if data.features != model.input_size() {
        return Err(Error::Shape(format!(
            "the data has {} feature columns, but `{}` takes {} inputs",
            data.features,
            model.name(),
            model.input_size()
        )));
    }
    let outputs = model.output_size();
    let loss = model.loss_kind();
    if loss.takes_labels() && data.target_width == 1 {
        return data.check_labels(outputs);
    }
    if data.target_width != outputs {
        return Err(Error::Shape(format!(
            "the data has {} target column{}, but `{}` has {outputs} output{}",
            data.target_width,
            if data.target_width == 1 { "" } else { "s" },
            model.name(),
            if outputs == 1 { "" } else { "s" },
        )));
    }
    Ok(())
}

/// Outputs of `model` for every row of `x` (`[rows][input]`).
pub fn predict(model: &dyn Model, x: &[f32], workspace: &mut Workspace) -> Vec<f32> {
    let input = model.input_size().max(1);
    let output = model.output_size();
    let rows = x.len() / input;
    let mut out = vec![0.0f32; rows * output];
    const CHUNK: usize = 1024;
    for (x_chunk, out_chunk) in x.chunks(CHUNK * input).zip(out.chunks_mut(CHUNK * output)) {
        model.forward(x_chunk, out_chunk, workspace);
    }
    out
}

/// The class of each output row: argmax for several outputs; for one output,
/// 1 if above the threshold (0.5 for probabilities, 0 for logits).
pub fn classes(loss: Loss, outputs: &[f32], width: usize) -> Vec<usize> {
    if width == 1 {
        let threshold = if loss == Loss::BinaryCrossEntropyWithLogits { 0.0 } else { 0.5 };
        return outputs.iter().map(|o| usize::from(*o > threshold)).collect();
    }
    outputs
        .chunks_exact(width)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, v)| if *v > best.1 { (i, *v) } else { best })
                .0
        })
        .collect()
}

/// Loss and metrics of `model` on `data` (no dropout).
pub fn evaluate(model: &dyn Model, data: &Dataset, workspace: &mut Workspace) -> Metrics {
    let loss_kind = model.loss_kind();
    let width = model.output_size();
    let outputs = predict(model, &data.x, workspace);
    // Mean losses are averaged over chunks weighted by their rows; sums are added up.
    let is_sum = matches!(loss_kind, Loss::Sse | Loss::SseHalf);
    let mut loss = 0.0f64;
    const CHUNK: usize = 1024;
    let input = model.input_size().max(1);
    for (x_chunk, y_chunk) in data.x.chunks(CHUNK * input).zip(data.y.chunks(CHUNK * data.target_width.max(1))) {
        let rows = if is_sum { 1 } else { x_chunk.len() / input };
        loss += f64::from(model.loss_and_grad(x_chunk, y_chunk, None, workspace, false)) * rows as f64;
    }
    if !is_sum {
        loss /= data.len().max(1) as f64;
    }
    if loss_kind.is_classification() {
        let predicted = classes(loss_kind, &outputs, width);
        let correct = if data.target_width == 1 && width > 1 {
            predicted.iter().zip(&data.y).filter(|(p, y)| **p as f32 == **y).count()
        } else if width > 1 {
            let truth = classes(Loss::CrossEntropy, &data.y, width);
            predicted.iter().zip(&truth).filter(|(p, t)| p == t).count()
        } else {
            predicted.iter().zip(&data.y).filter(|(p, y)| (**p as f32 - **y).abs() < 0.5).count()
        };
        Metrics { loss, accuracy: Some(correct as f64 / data.len().max(1) as f64), r2: None, mse: None }
    } else {
        let (r2, mse) = r2_and_mse(&outputs, &data.y, width);
        Metrics { loss, accuracy: None, r2: Some(r2), mse: Some(mse) }
    }
}

/// R² (mean over output columns of `1 − SS_res/SS_tot`) and mean squared error.
pub fn r2_and_mse(predicted: &[f32], truth: &[f32], width: usize) -> (f64, f64) {
    let width = width.max(1);
    let rows = truth.len() / width;
    let mut r2_sum = 0.0;
    let mut squared = 0.0;
    for column in 0..width {
        let values = (0..rows).map(|r| f64::from(truth[r * width + column]));
        let mean = values.clone().sum::<f64>() / rows.max(1) as f64;
        let total: f64 = values.map(|v| (v - mean).powi(2)).sum();
        let residual: f64 = (0..rows)
            .map(|r| (f64::from(truth[r * width + column]) - f64::from(predicted[r * width + column])).powi(2))
            .sum();
        squared += residual;
        r2_sum += if total > 0.0 { 1.0 - residual / total } else { 0.0 };
    }
    (r2_sum / width as f64, squared / truth.len().max(1) as f64)
}

/// Trains `model` with `config`, holding out `validation_split` of `data`
/// (shuffled with the config's seed) for validation; the whole data set trains when it is 0.
pub fn fit_split(
    model: &mut dyn Model,
    config: &TrainConfig,
    data: &Dataset,
    validation_split: f64,
) -> Result<History, Error> {
    let trainer = Trainer::new(config.clone());
    if validation_split > 0.0 && data.len() > 1 {
        let (train, validation) = data.split(validation_split, config.seed);
        trainer.fit(model, &train, Some(&validation))
    } else {
        trainer.fit(model, data, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Activation, LayerInfo, LayerInit, Mlp};

    fn net(loss: Loss, output: Activation, outputs: usize) -> Mlp {
        let layer = |name: &'static str, units, activation| {
            let info = LayerInfo { name: name.into(), inputs: 0, units, activation, bias: true, dropout: None };
            (info, LayerInit::default())
        };
        let mut mlp =
            Mlp::new("Split", 3, vec![layer("hidden", 5, Activation::Tanh), layer("out", outputs, output)], loss);
        mlp.init_params(11);
        mlp
    }

    #[test]
    fn two_optimizers_on_the_halves_step_as_one_on_the_whole() {
        let configs = [
            OptimizerConfig::Sgd { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true, weight_decay: 0.01 },
            OptimizerConfig::Adagrad {
                lr: 0.1,
                lr_decay: 0.01,
                weight_decay: 0.01,
                initial_accumulator_value: 0.1,
                eps: 1e-10,
            },
            OptimizerConfig::RmsProp {
                lr: 0.01,
                alpha: 0.9,
                eps: 1e-8,
                weight_decay: 0.01,
                momentum: 0.5,
                centered: true,
            },
            OptimizerConfig::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.99,
                eps: 1e-8,
                weight_decay: 0.01,
                amsgrad: true,
                decoupled: false,
            },
            OptimizerConfig::Adam {
                lr: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.1,
                amsgrad: false,
                decoupled: true,
            },
        ];
        for config in configs {
            let mut whole: Vec<f32> = (0..11).map(|i| (i as f32 * 0.7).sin()).collect();
            let mut halves = whole.clone();
            let (mut one, mut first, mut second) = (config.build(), config.build(), config.build());
            for step in 0..4 {
                let grad: Vec<f32> = (0..11).map(|i| ((i + step * 11) as f32 * 1.3).cos()).collect();
                one.step(&mut whole, &grad);
                let (p1, p2) = halves.split_at_mut(5);
                first.step(p1, &grad[..5]);
                second.step(p2, &grad[5..]);
            }
            assert_eq!(whole, halves, "{config:?}");
        }
    }

    #[test]
    fn a_batch_split_across_threads_gives_the_whole_batch_loss_and_gradient() {
        let rows = 7;
        let x: Vec<f32> = (0..rows * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        for (loss, output) in [
            (Loss::Mse, Activation::Identity),
            (Loss::Sse, Activation::Identity),
            (Loss::SseHalf, Activation::Identity),
            (Loss::SoftmaxCrossEntropy, Activation::Identity),
        ] {
            let model = net(loss, output, 2);
            let y: Vec<f32> = match loss {
                Loss::SoftmaxCrossEntropy => (0..rows).flat_map(|r| [(r % 2) as f32, 1.0 - (r % 2) as f32]).collect(),
                _ => (0..rows * 2).map(|i| (i as f32 * 0.21).cos()).collect(),
            };
            let mut whole = vec![0.0; model.param_count()];
            let expected = model.loss_and_grad(&x, &y, Some(&mut whole), &mut Workspace::new(0), true);
            let mut split = vec![0.0; model.param_count()];
            let mut second = SecondHalf {
                workspace: Workspace::new(1),
                grad: vec![0.0; model.param_count()],
                // Unused by the split itself; the trainer steps with it.
                optimizer: OptimizerConfig::Sgd {
                    lr: 0.1,
                    momentum: 0.0,
                    dampening: 0.0,
                    nesterov: false,
                    weight_decay: 0.0,
                }
                .build(),
            };
            let loss_value = split_loss_and_grad(&model, &x, &y, &mut split, &mut Workspace::new(0), &mut second);
            assert!(
                (loss_value - expected).abs() <= 1e-5 * expected.abs().max(1.0),
                "{loss:?}: {loss_value} vs {expected}"
            );
            for (a, b) in split.iter().zip(&whole) {
                assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{loss:?}: gradient {a} vs {b}");
            }
        }
    }
}
