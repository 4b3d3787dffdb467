//! Data sets: features and targets as row-major `f32` buffers, loaded from CSV
//! or built from slices; splits, standardisation, one-hot encoding, shuffled
//! mini-batches.
//!
//! Bad data is an [`Error::Data`] naming the file, line and column (wrong number
//! of fields, a non-numeric cell, NaN or infinity, an empty file, a label out of
//! range); nothing panics.
//!
//! ```
//! use nnspec::Dataset;
//! let data = Dataset::new(vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], vec![0.0, 1.0, 1.0, 0.0], 2, 1)?;
//! assert_eq!(data.len(), 4);
//! assert_eq!(data.row(3), (&[1.0, 1.0][..], &[0.0][..]));
//! # Ok::<(), nnspec::Error>(())
//! ```

use crate::error::Error;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// The column names for a message: all of them, or the first 20 and how many there are.
fn listing(headers: &[String]) -> String {
    if headers.len() <= 20 {
        headers.join(", ")
    } else {
        format!("{}, … ({} columns)", headers[..20].join(", "), headers.len())
    }
}

/// The longest line a CSV file may have: a row of 100,000 numbers is a few MB.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// A reader that refuses a line longer than [`MAX_LINE_BYTES`], so a file
/// without line breaks (or `/dev/zero`) is an error, not a memory exhaustion.
struct LineLimit<R> {
    inner: R,
    line: usize,
}

impl<R: std::io::Read> std::io::Read for LineLimit<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        for &byte in &buffer[..read] {
            self.line = if byte == b'\n' { 0 } else { self.line + 1 };
            if self.line > MAX_LINE_BYTES {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "a line is longer than {} MiB: not a CSV file of samples, or one row per line is missing",
                        MAX_LINE_BYTES >> 20
                    ),
                ));
            }
        }
        Ok(read)
    }
}

/// `text` for a message: at most 40 characters, then how long it was.
fn shown(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
        None => text.to_string(),
    }
}

/// Samples with `features` inputs and `target_width` targets each.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// `[len][features]`.
    pub x: Vec<f32>,
    /// `[len][target_width]`.
    pub y: Vec<f32>,
    /// Inputs per sample.
    pub features: usize,
    /// Targets per sample (1 for a class label or a single value).
    pub target_width: usize,
    /// Column names of the features, if known.
    pub feature_names: Vec<String>,
    /// Column names of the targets, if known.
    pub target_names: Vec<String>,
}

/// Which CSV columns are targets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// The last column (the default).
    #[default]
    Last,
    /// Columns with these header names, in this order.
    Named(Vec<String>),
    /// No targets (for prediction).
    None,
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// The target columns.
    pub target: Target,
    /// Feature columns by header name; all non-target columns when empty.
    pub features: Vec<String>,
}

impl Dataset {
    /// A data set from row-major buffers; checks the sizes and that every value is finite.
    pub fn new(x: Vec<f32>, y: Vec<f32>, features: usize, target_width: usize) -> Result<Dataset, Error> {
        if features == 0 {
            return Err(Error::data("a data set needs at least one feature"));
        }
        if x.len() % features != 0 {
            return Err(Error::data(format!(
                "{} feature values are not a whole number of rows of {features}",
                x.len()
            )));
        }
        let rows = x.len() / features;
        if y.len() != rows * target_width {
            return Err(Error::data(format!(
                "{rows} rows of features but {} target values (expected {} = {rows} × {target_width})",
                y.len(),
                rows * target_width
            )));
        }
        let data = Dataset { x, y, features, target_width, feature_names: Vec::new(), target_names: Vec::new() };
        data.check_finite()?;
        Ok(data)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.len() / self.features.max(1)
    }

    /// True with no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Features and targets of sample `i`.
    pub fn row(&self, i: usize) -> (&[f32], &[f32]) {
        self.rows(i..i + 1)
    }

    /// Features and targets of the samples in `range`, as contiguous row-major slices.
    pub fn rows(&self, range: std::ops::Range<usize>) -> (&[f32], &[f32]) {
        (
            &self.x[range.start * self.features..range.end * self.features],
            &self.y[range.start * self.target_width..range.end * self.target_width],
        )
    }

    /// Errors on the first NaN or infinity, naming its row (1-based) and column.
    pub fn check_finite(&self) -> Result<(), Error> {
        for (name, values, width) in [("feature", &self.x, self.features), ("target", &self.y, self.target_width)] {
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::Data {
                    path: None,
                    line: None,
                    column: Some(index % width.max(1) + 1),
                    message: format!(
                        "{name} value {} in row {} is not finite; remove or impute it",
                        values[index],
                        index / width.max(1) + 1
                    ),
                });
            }
        }
        Ok(())
    }

    /// Reads a CSV file with a header row. Every cell must be a number.
    pub fn from_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset, Error> {
        let path = path.as_ref();
        let at = |line: Option<u64>, column: Option<usize>, message: String| Error::Data {
            path: Some(path.to_path_buf()),
            line,
            column,
            message,
        };
        let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(LineLimit { inner: std::io::BufReader::new(file), line: 0 });
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| at(Some(1), None, format!("cannot read the header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if headers.is_empty() || headers.iter().all(String::is_empty) {
            return Err(at(Some(1), None, "the file is empty; expected a header row and data rows".into()));
        }
        // A name twice makes "the column `y`" ambiguous: the label could end up among the features.
        // One pass with a map: linear in the number of columns (a wide file has 10⁶).
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(headers.len());
        for (index, name) in headers.iter().enumerate() {
            if let Some(&first) = seen.get(name.as_str()) {
                return Err(at(
                    Some(1),
                    Some(index + 1),
                    format!(
                        "the column name `{name}` appears twice (columns {} and {}); give each column its own name",
                        first + 1,
                        index + 1
                    ),
                ));
            }
            seen.insert(name, index);
        }
        let find = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| at(Some(1), None, format!("no column `{name}`; the columns are {}", listing(&headers))))
        };
        let targets: Vec<usize> = match &options.target {
            Target::Last => vec![headers.len() - 1],
            Target::Named(names) => names.iter().map(|n| find(n)).collect::<Result<_, _>>()?,
            Target::None => Vec::new(),
        };
        let features: Vec<usize> = if options.features.is_empty() {
            (0..headers.len()).filter(|c| !targets.contains(c)).collect()
        } else {
            options.features.iter().map(|n| find(n)).collect::<Result<_, _>>()?
        };
        if features.is_empty() {
            return Err(at(Some(1), None, "no feature columns are left after the target".into()));
        }
        if let Some(&leak) = features.iter().find(|c| targets.contains(c)) {
            return Err(at(
                Some(1),
                Some(leak + 1),
                format!(
                    "`{}` is both a feature and a target: the network would see the answer; drop it from the features",
                    headers[leak]
                ),
            ));
        }
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map(|p| p.line());
                    let message = match e.kind() {
                        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                            format!("this row has {len} fields, but the header has {expected_len}")
                        }
                        _ => e.to_string(),
                    };
                    return Err(at(line, None, message));
                }
            }
            let line = record.position().map(|p| p.line());
            for (columns, out) in [(&features, &mut x), (&targets, &mut y)] {
                for &column in columns.iter() {
                    let cell = record.get(column).unwrap_or("");
                    let value: f32 = cell.parse().map_err(|_| {
                        at(
                            line,
                            Some(column + 1),
                            format!("`{}` in column `{}` is not a number", shown(cell), shown(&headers[column])),
                        )
                    })?;
                    if !value.is_finite() {
                        return Err(at(
                            line,
                            Some(column + 1),
                            format!(
                                "`{}` in column `{}` is not finite; remove or impute it",
                                shown(cell),
                                shown(&headers[column])
                            ),
                        ));
                    }
                    out.push(value);
                }
            }
        }
        if x.is_empty() {
            return Err(at(Some(1), None, "the file has a header but no data rows".into()));
        }
        Ok(Dataset {
            x,
            y,
            features: features.len(),
            target_width: targets.len(),
            feature_names: features.iter().map(|&c| headers[c].clone()).collect(),
            target_names: targets.iter().map(|&c| headers[c].clone()).collect(),
        })
    }

    /// The samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset, Error> {
        let mut x = Vec::with_capacity(indices.len() * self.features);
        let mut y = Vec::with_capacity(indices.len() * self.target_width);
        for &i in indices {
            if i >= self.len() {
                return Err(Error::data(format!("row index {i} is out of range for {} rows", self.len())));
            }
            let (features, targets) = self.row(i);
            x.extend_from_slice(features);
            y.extend_from_slice(targets);
        }
        Ok(Dataset {
            x,
            y,
            feature_names: self.feature_names.clone(),
            target_names: self.target_names.clone(),
            ..*self
        })
    }

    /// Shuffles with `seed` and splits off the last `fraction` of rows: `(first, second)`.
    pub fn split(&self, fraction: f64, seed: u64) -> (Dataset, Dataset) {
        let mut indices: Vec<usize> = (0..self.len()).collect();
        indices.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let second = ((self.len() as f64) * fraction.clamp(0.0, 1.0)).round() as usize;
        let cut = self.len() - second;
        let first = self.subset(&indices[..cut]).expect("indices in range");
        let second = self.subset(&indices[cut..]).expect("indices in range");
        (first, second)
    }

    /// Checks that every target is a class label, a whole number from 0 to `classes − 1`.
    pub fn check_labels(&self, classes: usize) -> Result<(), Error> {
        if self.target_width != 1 {
            return Ok(());
        }
        for (row, &label) in self.y.iter().enumerate() {
            if label < 0.0 || label.fract() != 0.0 || label as usize >= classes {
                return Err(Error::Data {
                    path: None,
                    line: None,
                    column: None,
                    message: format!(
                        "label {label} in row {}{} is not a class: the network has {classes} outputs, so a label is a whole number from 0 to {}",
                        row + 1,
                        self.target_names.first().map_or_else(String::new, |name| format!(" of column `{name}`")),
                        classes - 1
                    ),
                });
            }
        }
        Ok(())
    }

    /// Replaces integer labels with one-hot rows of width `classes`.
    pub fn one_hot(&self, classes: usize) -> Result<Dataset, Error> {
        self.check_labels(classes)?;
        let mut y = vec![0.0; self.len() * classes];
        for (row, &label) in self.y.iter().enumerate() {
            y[row * classes + label as usize] = 1.0;
        }
        Ok(Dataset {
            y,
            target_width: classes,
            x: self.x.clone(),
            feature_names: self.feature_names.clone(),
            target_names: self.target_names.clone(),
            ..*self
        })
    }
}

#[cfg(feature = "ndarray")]
impl Dataset {
    /// A data set from arrays: `x` is `[samples, features]`, `y` is
    /// `[samples, targets]` (any memory layout; values are copied row by row).
    ///
    /// ```
    /// use ndarray::array;
    /// let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    /// let y = array![[0.0f32], [1.0], [1.0], [0.0]];
    /// let data = nnspec::Dataset::from_ndarray(x.view(), y.view())?;
    /// assert_eq!((data.len(), data.features, data.target_width), (4, 2, 1));
    /// # Ok::<(), nnspec::Error>(())
    /// ```
    pub fn from_ndarray(x: ndarray::ArrayView2<'_, f32>, y: ndarray::ArrayView2<'_, f32>) -> Result<Dataset, Error> {
        if x.nrows() != y.nrows() {
            return Err(Error::data(format!("{} rows of features but {} rows of targets", x.nrows(), y.nrows())));
        }
        Dataset::new(x.iter().copied().collect(), y.iter().copied().collect(), x.ncols(), y.ncols())
    }

    /// The features as a `[samples, features]` view.
    pub fn x_view(&self) -> ndarray::ArrayView2<'_, f32> {
        ndarray::ArrayView2::from_shape((self.len(), self.features), &self.x).expect("x holds len × features values")
    }

    /// The targets as a `[samples, targets]` view.
    pub fn y_view(&self) -> ndarray::ArrayView2<'_, f32> {
        ndarray::ArrayView2::from_shape((self.len(), self.target_width), &self.y).expect("y holds len × targets values")
    }
}

/// Per-feature standardisation `z = (x − mean)/std`, fitted on training data
/// (population std; a constant feature gets std 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Per-feature means.
    pub mean: Vec<f32>,
    /// Per-feature standard deviations.
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fits on `data`'s features: per feature the mean and the population
    /// standard deviation (1 for a constant feature), as a `standardize`
    /// statement computes them (`nnspec_core::norm::standardize_fit`).
    pub fn fit(data: &Dataset) -> Standardizer {
        let width = data.features;
        let mut statistics = vec![0.0; 2 * width + 1];
        nnspec_core::norm::standardize_fit(&data.x, &mut statistics, data.len(), width);
        Standardizer { mean: statistics[..width].to_vec(), std: statistics[width..2 * width].to_vec() }
    }

    /// Standardises `data`'s features in place.
    pub fn apply(&self, data: &mut Dataset) {
        self.apply_rows(&mut data.x);
    }

    /// Standardises rows of `self.mean.len()` features in place.
    pub fn apply_rows(&self, x: &mut [f32]) {
        for row in x.chunks_exact_mut(self.mean.len().max(1)) {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }
}

/// Row order for one epoch: shuffled with `rng`, or in order.
pub fn epoch_order(len: usize, shuffle: Option<&mut ChaCha8Rng>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    if let Some(rng) = shuffle {
        order.shuffle(rng);
    }
    order
}
