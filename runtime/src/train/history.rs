//! What a run leaves behind: per-epoch records and metrics, warnings, and
//! the [`History`] that saves them as CSV or JSON.

use crate::error::Error;
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

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
