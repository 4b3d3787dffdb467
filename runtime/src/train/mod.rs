//! The trainer: epochs of shuffled mini-batches, penalties, clipping, an
//! optimizer and a schedule; metrics on the training and validation sets;
//! early stopping that restores the best weights; a progress bar on a
//! terminal; a loss history that can be saved.
//!
//! NaN or infinity in a loss or gradient stops training with
//! [`Error::NonFinite`] naming the epoch, batch and tensor; the model keeps the
//! last weights that were finite.

mod config;
mod evaluate;
mod history;
mod observe;
mod parallel;
mod watchdog;

pub use config::{EarlyStopping, TrainConfig};
pub use evaluate::{
    accuracy, check_fits, classes, evaluate, evaluate_chunked, fit_split, predict, predict_chunked, r2_and_mse,
    PREDICT_CHUNK_ROWS,
};
pub use history::{EpochRecord, History, Metrics, TrainingWarning};
pub use observe::{Observer, StepRecord};

use crate::data::{epoch_order, Dataset};
use crate::error::Error;
use crate::model::{Descent, Divergence, Model, Workspace};
use crate::optim::{Build as _, OptimizerConfig};
use crate::schedule::{clip_coefficient, clip_grad_value, grad_norm, scale};
use observe::OnEpoch;
pub use parallel::all_finite;
use parallel::{split_loss_and_grad, split_step, SecondHalf, PARALLEL_MIN_ROWS, PARALLEL_MIN_WORK};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::{IsTerminal, Write as _};
use std::ops::ControlFlow;
use std::time::Instant;
use watchdog::Watchdog;

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
        if validation.is_some_and(Dataset::is_empty) {
            return Err(Error::Config(format!(
                "the validation set holds no rows (of {} in all): a larger `validation_split` or more data gives it some",
                train.len()
            )));
        }
        // Standardisation statistics come from the training rows, before any step.
        model.adapt(&train.x, train.len());
        if config.early_stopping.is_some_and(|s| s.monitor_validation) && validation.is_none() {
            return Err(Error::Config(
                "early stopping monitors the validation loss, but there is no validation data: hold some out \
                 (`validation_split = 0.2` in the train block) or monitor the training loss (`monitor = loss`)"
                    .into(),
            ));
        }
        let started = Instant::now();
        let mut optimizer = config.optimizer.build();
        let base_lr = config.optimizer.lr();
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let mut workspace = Workspace::new(config.seed.wrapping_add(1));
        let batch_size = config.batch.unwrap_or(train.len()).clamp(1, train.len());
        let smallest = match train.len() % batch_size {
            0 => batch_size,
            rest => rest,
        };
        if smallest < model.min_training_rows() {
            return Err(Error::Config(format!(
                "`{}` has a batch normalisation over features, whose unbiased running variance needs at least {} rows \
                 in every training batch, but {} rows in batches of {batch_size} leave a batch of {smallest}: \
                 choose a batch size that leaves no single row over",
                model.name(),
                model.min_training_rows(),
                train.len()
            )));
        }
        let mut grad = vec![0.0f32; model.param_count()];
        let mut x = Vec::with_capacity(batch_size * train.features);
        let mut y = Vec::with_capacity(batch_size * train.target_width);
        let tensors = model.tensors().to_vec();
        let penalised = tensors.iter().any(|t| t.l1 > 0.0 || t.l2 > 0.0);
        let mut book = Bookkeeping::new(config, model);
        // Without shuffling, each batch is a contiguous slice of the data: no copy.
        let in_order = !config.shuffle;
        // Large batches of large models run on two threads, each on half the rows.
        // Batch statistics need the whole batch in one pass.
        let parallel = batch_size >= PARALLEL_MIN_ROWS
            && !model.batch_statistics()
            && batch_size.saturating_mul(model.param_count()) >= PARALLEL_MIN_WORK
            && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2);
        let mut second = parallel.then(|| SecondHalf {
            thread: thread_tree::ThreadTree::new_with_level(1),
            workspace: Workspace::new(config.seed.wrapping_add(2)),
            grad: vec![0.0; model.param_count()],
            optimizer: config.optimizer.build(),
        });
        // One batch of every row, unshuffled, and plain SGD at a constant rate:
        // the model may run every epoch in one call (`Model::descend`), which
        // takes the same steps as the loop below, to the bit.
        let plain_sgd = match config.optimizer {
            OptimizerConfig::Sgd { lr, momentum: 0.0, weight_decay, .. } => Some((lr, weight_decay)),
            _ => None,
        };
        // (A model with buffers steps through `update_buffers` after each pass.)
        let whole_batch = batch_size == train.len() && (in_order || train.len() == 1) && model.buffers().is_empty();
        if let (Some((lr, weight_decay)), true, None, false, None, None, false, None) = (
            plain_sgd,
            whole_batch,
            validation,
            penalised,
            config.clip_grad_norm,
            config.clip_grad_value,
            record_steps,
            &config.schedule,
        ) {
            let (xb, yb) = train.rows(0..train.len());
            let rows = train.len();
            let mut epoch = 0;
            let outcome = model.descend(
                xb,
                yb,
                lr as f32,
                weight_decay as f32,
                config.epochs,
                &mut workspace,
                &mut |loss, grad, params| {
                    epoch += 1;
                    book.batch(epoch, grad);
                    // As the loop below sums a one-batch epoch, no penalty.
                    let total = f64::from(loss + 0.0) * rows as f64;
                    let record = EpochRecord { epoch, loss: total / rows as f64, validation: None, lr };
                    book.epoch_end(record, params, &[], observer)
                },
            );
            match outcome {
                None => {}
                Some(Descent::Ran) => return Ok(book.finish(model, started)),
                Some(Descent::Diverged { step, cause }) => {
                    let what = match cause {
                        Divergence::Loss => "the loss".to_string(),
                        Divergence::Gradient(grad) => {
                            format!("the gradient of `{}`", first_non_finite(&tensors, &grad))
                        }
                        Divergence::Params(params) => {
                            format!("`{}` after the update", first_non_finite(&tensors, &params))
                        }
                    };
                    return Err(Error::NonFinite { epoch: step + 1, batch: 0, what });
                }
            }
        }
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
                // A short last batch stays on one thread. The two-thread step
                // checks the combined gradient finite as it combines it.
                let (loss, checked_finite) = match &mut second {
                    Some(second) if end - start >= PARALLEL_MIN_ROWS => {
                        let (loss, finite) = split_loss_and_grad(&*model, xb, yb, &mut grad, &mut workspace, second);
                        (loss, Some(finite))
                    }
                    _ => (model.loss_and_grad(xb, yb, Some(&mut grad), &mut workspace, true), None),
                };
                model.update_buffers(&mut workspace, end - start);
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
                // One cheap, vectorisable pass first (or none: the two-thread step
                // checked it, and no penalty has changed it since); the tensor is
                // looked up only on failure.
                let suspicious = |values: &[f32]| !all_finite(values);
                let grad_finite = match checked_finite {
                    Some(finite) if !penalised => finite,
                    _ => !suspicious(&grad),
                };
                if !grad_finite {
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
                if batch_index == 0 {
                    book.batch(epoch, &grad);
                }
                let params_finite = match &mut second {
                    // Every optimizer updates each parameter from its own gradient and
                    // state alone, so two instances, one per half of the parameters,
                    // take the same step as one over all of them.
                    Some(second) => split_step(optimizer.as_mut(), second, model.params_mut(), &grad),
                    None => {
                        optimizer.step(model.params_mut(), &grad);
                        !suspicious(model.params())
                    }
                };
                if !params_finite {
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
            // In chunks no larger than a batch: no more memory than a step.
            let validation_metrics =
                validation.map(|v| evaluate_chunked(model, v, &mut workspace, batch_size.min(PREDICT_CHUNK_ROWS)));
            let record = EpochRecord { epoch, loss: total / seen.max(1) as f64, validation: validation_metrics, lr };
            if book.epoch_end(record, model.params(), model.buffers(), observer).is_break() {
                break;
            }
        }
        Ok(book.finish(model, started))
    }
}

/// The name of the first tensor holding a value that is not finite.
fn first_non_finite<'a>(tensors: &'a [crate::TensorInfo], values: &[f32]) -> &'a str {
    tensors.iter().find(|t| values[t.range()].iter().any(|v| !v.is_finite())).map_or("?", |t| &*t.name)
}

/// What a run keeps track of between epochs: the history, the watchdog,
/// progress, and early stopping's best epoch.
struct Bookkeeping<'a> {
    config: &'a TrainConfig,
    history: History,
    watchdog: Watchdog,
    progress: Option<indicatif::ProgressBar>,
    /// (monitored value, epoch, parameters, buffers) of the best epoch so far.
    best: Option<(f64, usize, Vec<f32>, Vec<f32>)>,
    since_best: usize,
}

impl<'a> Bookkeeping<'a> {
    fn new(config: &'a TrainConfig, model: &dyn Model) -> Bookkeeping<'a> {
        Bookkeeping {
            config,
            // Room for every epoch's record from the start (up to 2¹⁶ of
            // them): no copies as the history grows.
            history: History { epochs: Vec::with_capacity(config.epochs.min(1 << 16)), ..History::default() },
            watchdog: Watchdog::new(model),
            progress: progress_bar(config.progress, config.epochs),
            best: None,
            since_best: 0,
        }
    }

    /// The gradient of an epoch's first batch, for the watchdog.
    fn batch(&mut self, epoch: usize, grad: &[f32]) {
        if self.watchdog.due(epoch) {
            self.watchdog.batch(epoch, grad, self.config.progress);
        }
    }

    /// After an epoch: records it, reports progress, keeps early stopping's
    /// best weights and asks the observer; `Break` ends the run.
    fn epoch_end(
        &mut self,
        record: EpochRecord,
        params: &[f32],
        buffers: &[f32],
        observer: &mut dyn Observer,
    ) -> ControlFlow<()> {
        let config = self.config;
        let epoch = record.epoch;
        let plain = config.progress && self.progress.is_none();
        if plain && (epoch == config.epochs || epoch % config.epochs.div_ceil(10).max(1) == 0) {
            let mut line = format!("epoch {epoch}/{}: loss {:.6}", config.epochs, record.loss);
            if let Some(m) = record.validation {
                line.push_str(&format!(", val_loss {:.6}", m.loss));
            }
            let _ = writeln!(std::io::stderr(), "{line}");
        }
        if let Some(bar) = &self.progress {
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
            let improved = self.best.as_ref().is_none_or(|(value, ..)| monitored < value - stopping.min_delta);
            if improved {
                self.best = Some((monitored, epoch, params.to_vec(), buffers.to_vec()));
                self.since_best = 0;
            } else {
                self.since_best += 1;
                if self.since_best >= stopping.patience {
                    self.history.stopped_early = true;
                }
            }
        }
        // Stored last: copied right after its fields are written, the record
        // stalls on store forwarding (16-byte reads of 8-byte writes), which
        // a one-batch epoch of a tiny network feels.
        self.history.epochs.push(record);
        self.watchdog.epoch(&self.history.epochs, config.progress);
        if self.history.stopped_early || observer.epoch(&record, params).is_break() {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// The history of the run; restores the best epoch's weights if early stopping asks to.
    fn finish(mut self, model: &mut dyn Model, started: Instant) -> History {
        if let (Some(stopping), Some((_, epoch, params, buffers))) = (self.config.early_stopping, self.best) {
            if stopping.restore_best {
                model.params_mut().copy_from_slice(&params);
                model.buffers_mut().copy_from_slice(&buffers);
                self.history.best_epoch = Some(epoch);
            }
        }
        if let Some(bar) = self.progress {
            bar.finish_and_clear();
        }
        self.history.elapsed = started.elapsed();
        self.history.warnings = self.watchdog.warnings;
        self.history
    }
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
