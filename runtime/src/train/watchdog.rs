//! Run-time warnings: the mistakes the tutorials warn about, noticed from the
//! losses and gradients of a run (each kind reported once).

use super::{EpochRecord, TrainingWarning};
use crate::model::Model;
use std::io::Write as _;

/// Watches a run for the mistakes the tutorials warn about.
pub(super) struct Watchdog {
    /// (node name, its tensor ranges) for nodes with parameters whose value
    /// goes through a ReLU: a dense layer with `activation = relu`, or a node
    /// (a convolution, a dense layer) that a `relu` statement reads.
    relu_layers: Vec<(String, Vec<std::ops::Range<usize>>)>,
    first_layer: Vec<std::ops::Range<usize>>,
    last_layer: Vec<std::ops::Range<usize>>,
    warned: Vec<&'static str>,
    pub(super) warnings: Vec<TrainingWarning>,
}

impl Watchdog {
    pub(super) fn new(model: &dyn Model) -> Watchdog {
        use crate::Op;
        let nodes = model.nodes();
        // The nodes with parameters, in order, found by the tensors' node, not by name.
        let ranges = |node: usize| -> Vec<std::ops::Range<usize>> {
            model.tensors().iter().filter(|t| t.node == node).map(|t| t.range()).collect()
        };
        let mut with_params: Vec<usize> = model.tensors().iter().map(|t| t.node).collect();
        with_params.dedup();
        let relu_nodes: Vec<usize> = (0..nodes.len())
            .filter_map(|i| match nodes[i].op {
                Op::Dense { activation: crate::Activation::Relu, .. } => Some(i),
                Op::Activation(crate::Activation::Relu) => {
                    let read = *nodes[i].inputs.first()?;
                    with_params.contains(&read).then_some(read)
                }
                _ => None,
            })
            .collect();
        Watchdog {
            relu_layers: relu_nodes.iter().map(|&i| (nodes[i].name.to_string(), ranges(i))).collect(),
            first_layer: with_params.first().map(|&i| ranges(i)).unwrap_or_default(),
            last_layer: with_params.last().map(|&i| ranges(i)).unwrap_or_default(),
            warned: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn warn(&mut self, epoch: usize, kind: &'static str, message: String, progress: bool) {
        if self.warned.contains(&kind) {
            return;
        }
        if progress {
            let _ = writeln!(std::io::stderr(), "warning (epoch {epoch}): {message}");
        }
        self.warned.push(kind);
        self.warnings.push(TrainingWarning { epoch, kind, message });
    }

    /// Whether the gradient of this epoch's first batch is worth checking: every
    /// epoch up to the eighth, then every eighth (a dead layer or a vanished
    /// gradient persists, so a sparse check still catches it, and tiny networks
    /// do not pay for it every step), until both gradient warnings are given.
    pub(super) fn due(&self, epoch: usize) -> bool {
        (epoch <= 8 || epoch % 8 == 0)
            && !(self.warned.contains(&"dead_relu") && self.warned.contains(&"vanishing_gradients"))
    }

    /// Checks one batch's gradient.
    pub(super) fn batch(&mut self, epoch: usize, grad: &[f32], progress: bool) {
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
    pub(super) fn epoch(&mut self, epochs: &[EpochRecord], progress: bool) {
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
