//! The runtime's error type.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong at run time: data, shapes, weights, training.
#[derive(Debug)]
pub enum Error {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        source: std::io::Error,
    },
    /// Bad data: where and what.
    Data {
        /// The file, if the data came from one.
        path: Option<PathBuf>,
        /// 1-based line, if known.
        line: Option<u64>,
        /// 1-based column, if known.
        column: Option<usize>,
        /// What is wrong and what to do.
        message: String,
    },
    /// Sizes that do not fit the network.
    Shape(String),
    /// A weights file that is corrupt or belongs to another network.
    Weights(String),
    /// Training settings that cannot work together (what and what to do).
    Config(String),
    /// Training produced NaN or infinity.
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The tensor or quantity that went non-finite.
        what: String,
    },
}

impl Error {
    pub(crate) fn data(message: impl Into<String>) -> Error {
        Error::Data { path: None, line: None, column: None, message: message.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Data { path, line, column, message } => {
                if let Some(path) = path {
                    write!(f, "{}", path.display())?;
                    if let Some(line) = line {
                        write!(f, ":{line}")?;
                        if let Some(column) = column {
                            write!(f, ":{column}")?;
                        }
                    }
                    write!(f, ": ")?;
                } else if let Some(line) = line {
                    write!(f, "line {line}: ")?;
                }
                write!(f, "{message}")
            }
            Error::Config(message) => write!(f, "{message}"),
            Error::Shape(message) => write!(f, "shape mismatch: {message}"),
            Error::Weights(message) => write!(f, "weights: {message}"),
            Error::NonFinite { epoch, batch, what } => write!(
                f,
                "training diverged: {what} is NaN or infinite in epoch {epoch}, batch {batch}; \
                 the last good weights were kept (try a smaller learning rate or gradient clipping)"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
