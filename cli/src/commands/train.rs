//! `nnspec train`: a spec trained on CSV data (from flags or a run configuration,
//! with sweeps), its weights, history and loss plot written out.

use super::*;
use crate::config;

/// Everything `nnspec train` needs, from flags or a run configuration.
pub(crate) struct TrainRequest {
    pub(crate) spec: PathBuf,
    pub(crate) network: Option<String>,
    pub(crate) data: PathBuf,
    /// Target columns; empty for the last column.
    pub(crate) target: Vec<String>,
    pub(crate) features: Vec<String>,
    pub(crate) standardize: bool,
    pub(crate) validation_split: Option<f64>,
    pub(crate) overrides: config::TrainOverrides,
    pub(crate) outputs: config::Outputs,
    pub(crate) sweep: Option<(String, config::SweepValues)>,
    pub(crate) quiet: bool,
}

impl TrainRequest {
    pub(crate) fn from_config(path: &Path) -> Result<TrainRequest, Failure> {
        let config = config::RunConfig::read(path).map_err(Failure)?;
        Ok(TrainRequest {
            spec: config.spec,
            network: config.network,
            data: config.data,
            target: config.target.names(),
            features: config.features,
            standardize: config.standardize,
            validation_split: config.validation_split,
            overrides: config.train,
            outputs: config.output,
            sweep: config.sweep.into_iter().next(),
            quiet: false,
        })
    }
}

/// The optimizer called `name`, with PyTorch's defaults and learning rate `lr` (or the optimizer's default).
pub(crate) fn optimizer_by_name(name: &str, lr: Option<f64>) -> Result<nnspec::OptimizerConfig, Failure> {
    nnspec::OptimizerConfig::named(name, lr).ok_or_else(|| {
        Failure(format!("unknown optimizer `{name}`; the optimizers are {}", nnspec::OptimizerConfig::NAMES.join(", ")))
    })
}

/// One training run's outcome, for reports and sweep tables.
pub(crate) struct RunReport {
    label: String,
    epochs: usize,
    elapsed: std::time::Duration,
    train: nnspec::train::Metrics,
    validation: Option<nnspec::train::Metrics>,
}

/// The settings given on the command line or in a run configuration get the
/// checks the spec's own get, before any work is done.
fn check_overrides(request: &TrainRequest) -> Result<(), Failure> {
    let overrides = &request.overrides;
    if let Some(lr) = overrides.lr.filter(|lr| !(lr.is_finite() && *lr > 0.0)) {
        return Err(Failure(format!(
            "the learning rate must be a number greater than 0, found {lr} (usually 1e-4 to 1e-2 for adam and rmsprop, 1e-3 to 1 for sgd)"
        )));
    }
    if overrides.epochs == Some(0) {
        return Err(Failure("the number of epochs must be at least 1".into()));
    }
    if let Some(config::Batch::Size(0)) = overrides.batch {
        return Err(Failure("the batch size must be at least 1, or \"full\"".into()));
    }
    if let Some(split) = request.validation_split.filter(|s| !(0.0..1.0).contains(s)) {
        return Err(Failure(format!("validation_split must be at least 0 and below 1, found {split}")));
    }
    Ok(())
}

/// Output paths are checked before any work: their folders exist, the plot is a
/// PNG and the history CSV or JSON, and none is an input or another output
/// (writing it would destroy what was there).
fn check_outputs(request: &TrainRequest) -> Result<(), Failure> {
    let outputs = &request.outputs;
    let named = [("weights", &outputs.weights), ("history", &outputs.history), ("plot", &outputs.plot)];
    let named: Vec<(&str, &PathBuf)> =
        named.into_iter().filter_map(|(what, path)| path.as_ref().map(|p| (what, p))).collect();
    let inputs = [("the spec", request.spec.as_path()), ("the data", request.data.as_path())];
    for (i, (what, path)) in named.iter().enumerate() {
        if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty() && !f.is_dir()) {
            return Err(Failure(format!(
                "the {what} output `{}`: the folder `{}` does not exist",
                path.display(),
                folder.display()
            )));
        }
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match (*what, extension.as_deref()) {
            ("plot", Some("png")) | ("history", Some("csv" | "json")) | ("weights", _) => {}
            ("plot", _) => {
                return Err(Failure(format!(
                    "the plot `{}` must be a .png file (the loss curve is drawn as a PNG)",
                    path.display()
                )))
            }
            (_, _) => return Err(Failure(format!("the history `{}` must be a .csv or a .json file", path.display()))),
        }
        refuse_overwriting(&format!("{what} output"), path, &inputs)?;
        if let Some((other, _)) = named[..i].iter().find(|(_, p)| same_file(p, path)) {
            return Err(Failure(format!(
                "the {what} and {other} outputs are both `{}`; give each its own path",
                path.display()
            )));
        }
    }
    Ok(())
}

/// A sweep run's own output path: `loss.csv` becomes `loss-hidden-4.csv`.
fn run_path(path: &Path, label: &str) -> PathBuf {
    let suffix: String = label
        .replace(" = ", "-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let stem = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(extension) => format!("{stem}-{suffix}.{}", extension.to_string_lossy()),
        None => format!("{stem}-{suffix}"),
    };
    path.with_file_name(name)
}

pub(crate) fn train(request: &TrainRequest) -> Result<ExitCode, Failure> {
    check_overrides(request)?;
    check_outputs(request)?;
    let checked = load(&request.spec)?;
    let net = pick(&checked.program, request.network.as_deref(), &request.spec)?;
    let target = match request.target.as_slice() {
        [] => Target::Last,
        names => Target::Named(names.to_vec()),
    };
    let data = Dataset::from_csv(&request.data, &CsvOptions { target, features: request.features.clone() })?;
    // The whole file's rows, numbered as in the file (before any split), against
    // the network's widths; the network is built only once it fits in memory.
    memory::check_inference(net, 1)?;
    if let Err(error) = nnspec::train::check_fits(&convert::network(net), &data) {
        let hint = match error {
            nnspec::Error::Shape(_) => format!(
                "\n  the feature columns are {}; name the target columns with --target (repeat it for several outputs), or `target`/`features` in a run configuration",
                data.feature_names.join(", ")
            ),
            // A defaulted target that holds fractions or negatives is likely a feature column.
            _ if request.target.is_empty() && data.y.iter().any(|v| v.fract() != 0.0 || *v < 0.0) => format!(
                "\n  the target is the last column, `{}`, since no --target was given: name the target columns with --target; rows count from 1, after the header",
                data.target_names.join(", ")
            ),
            _ => "\n  rows count from 1, after the header".to_string(),
        };
        return Err(Failure(format!("{}: {error}{hint}", request.data.display())));
    }
    if !data.feature_names.is_empty() && data.feature_names.iter().all(|name| name.trim().parse::<f64>().is_ok()) {
        tell!(
            "warning: every column name in the first line of {} is a number: is the header missing? \
             The first line is read as the header, so that row is not trained on",
            request.data.display()
        );
    }
    let split = request.validation_split.unwrap_or(net.train.validation_split);
    let seed = request.overrides.seed.unwrap_or(net.train.run.seed);
    let (mut train_data, mut validation) = if split > 0.0 {
        let (a, b) = data.split(split, seed);
        (a, Some(b))
    } else {
        (data, None)
    };
    let mut metadata = Vec::new();
    if request.standardize {
        if let Some(node) = net.nodes.iter().find(|n| n.op == ir::Op::Standardize) {
            return Err(Failure(format!(
                "`{}` standardises its input already (`standardize {}`): remove `standardize = true` from the run configuration",
                net.name, node.name
            )));
        }
        let standardizer = nnspec::data::Standardizer::fit(&train_data);
        standardizer.apply(&mut train_data);
        if let Some(v) = validation.as_mut() {
            standardizer.apply(v);
        }
        metadata.extend(nnspec::weights::standardizer_metadata(&standardizer));
    }
    let runs: Vec<(String, ir::Network, Option<String>)> = match &request.sweep {
        None => vec![(net.name.clone(), net.clone(), None)],
        Some((key, config::SweepValues::Units(values))) => {
            let source = String::from_utf8_lossy(&read(&request.spec)?).into_owned();
            values
                .iter()
                .map(|&units| {
                    let variant = swept(&source, &net.name, key, units)
                        .map_err(|message| Failure(format!("`[sweep] {key} = {units}`: {message}")))?;
                    Ok((format!("{key} = {units}"), variant, None))
                })
                .collect::<Result<_, Failure>>()?
        }
        Some((key, config::SweepValues::Names(names))) if key == "optimizer" => {
            names.iter().map(|name| (format!("optimizer = {name}"), net.clone(), Some(name.clone()))).collect()
        }
        Some((key, _)) => {
            return Err(Failure(format!("`[sweep] {key}` is not sweepable: sweep a layer's units or `optimizer`")))
        }
    };
    let mut reports = Vec::new();
    for (label, variant, optimizer) in &runs {
        let mut config = convert::train_config(&variant.train);
        config.progress = !request.quiet;
        config.seed = seed;
        if let Some(epochs) = request.overrides.epochs {
            config.epochs = epochs;
        }
        if let Some(batch) = &request.overrides.batch {
            config.batch = match batch {
                config::Batch::Size(n) => Some(*n),
                config::Batch::Full(_) => None,
            };
        }
        if let Some(name) = optimizer.as_ref().or(request.overrides.optimizer.as_ref()) {
            config.optimizer = optimizer_by_name(name, request.overrides.lr)?;
        }
        if let Some(lr) = request.overrides.lr {
            config.optimizer = config.optimizer.with_lr(lr);
        }
        let batch_rows = config.batch.unwrap_or(train_data.len()).clamp(1, train_data.len().max(1));
        memory::check_training(variant, batch_rows, &config.optimizer)?;
        // Evaluation runs in chunks no larger than a batch: within the memory just checked.
        let eval_rows = batch_rows.min(nnspec::train::PREDICT_CHUNK_ROWS);
        // The whole file was checked against the network before the split; a
        // sweep changes hidden widths only.
        let mut model = convert::network(variant);
        tell!(
            "training {label} on {} ({} rows × {} features): {} epochs, {}",
            request.data.display(),
            train_data.len(),
            train_data.features,
            config.epochs,
            config.optimizer.name()
        );
        let trainer = nnspec::Trainer::new(config);
        // The epochs completed so far, kept for the history file if the run diverges.
        let mut completed = nnspec::History::default();
        let on_epoch = |record: &nnspec::train::EpochRecord| {
            completed.epochs.push(*record);
            std::ops::ControlFlow::Continue(())
        };
        let history = match trainer.fit_with(&mut model, &train_data, validation.as_ref(), on_epoch) {
            Ok(history) => history,
            Err(error) => {
                if let (Some(path), None, false) =
                    (&request.outputs.history, &request.sweep, completed.epochs.is_empty())
                {
                    completed.save(path)?;
                    tell!(
                        "the history of the {} completed epochs was written to {}",
                        completed.epochs.len(),
                        path.display()
                    );
                }
                // The model holds the weights from before the epoch that diverged. A
                // weights file already there is kept unless these do better on the
                // training data (after a first-epoch divergence they are the
                // starting weights).
                // A run that completed no epoch (refused before its first step, or diverged in
                // its first epoch) holds its starting weights: it writes nothing.
                if let (Some(out), None, false) =
                    (&request.outputs.weights, &request.sweep, completed.epochs.is_empty())
                {
                    let mut workspace = Workspace::default();
                    let loss_now = evaluate_chunked(&model, &train_data, &mut workspace, eval_rows).loss;
                    let mut previous = convert::network(variant);
                    let loss_before = nnspec::weights::load(&mut previous, out)
                        .ok()
                        .map(|()| evaluate_chunked(&previous, &train_data, &mut workspace, eval_rows).loss)
                        .filter(|loss| loss.is_finite());
                    match loss_before {
                        Some(before) if loss_now == before => tell!(
                            "{} is left as it was: its weights have the same training loss ({before:.6})",
                            out.display()
                        ),
                        Some(before) if !loss_now.is_finite() || loss_now > before => tell!(
                            "{} is left as it was: its weights have the lower training loss ({before:.6} against {loss_now:.6})",
                            out.display()
                        ),
                        _ => {
                            nnspec::weights::save_with_metadata(&model, out, &metadata)?;
                            tell!("the last good weights were written to {}", out.display());
                        }
                    }
                }
                return Err(error.into());
            }
        };
        let mut workspace = Workspace::default();
        let report = RunReport {
            label: label.clone(),
            epochs: history.epochs.len(),
            elapsed: history.elapsed,
            train: evaluate_chunked(&model, &train_data, &mut workspace, eval_rows),
            validation: validation.as_ref().map(|v| evaluate_chunked(&model, v, &mut workspace, eval_rows)),
        };
        if request.sweep.is_none() {
            print_report(&report, history.stopped_early);
            write_outputs(&request.outputs, &model, &history, &metadata)?;
        } else {
            // Each run of a sweep writes its own files, named after the run.
            let outputs = config::Outputs {
                weights: request.outputs.weights.as_deref().map(|p| run_path(p, label)),
                history: request.outputs.history.as_deref().map(|p| run_path(p, label)),
                plot: request.outputs.plot.as_deref().map(|p| run_path(p, label)),
            };
            write_outputs(&outputs, &model, &history, &metadata)?;
        }
        reports.push(report);
    }
    if request.sweep.is_some() {
        // Accuracy for a classifier, R² for a regression: the column says which.
        let name = if reports.iter().any(|r| r.train.accuracy.is_some()) { "acc" } else { "R²" };
        let (train_metric, val_metric) = (format!("train {name}"), format!("val {name}"));
        say!("\n{:<24} {:>12} {:>10} {:>12} {:>10}", "run", "train loss", train_metric, "val loss", val_metric);
        for r in &reports {
            let metric =
                |m: &nnspec::train::Metrics| m.accuracy.or(m.r2).map_or("-".to_string(), |v| format!("{v:.4}"));
            let (val_loss, val_metric) = match &r.validation {
                Some(v) => (format!("{:.6}", v.loss), metric(v)),
                None => ("-".into(), "-".into()),
            };
            say!("{:<24} {:>12.6} {:>10} {:>12} {:>10}", r.label, r.train.loss, metric(&r.train), val_loss, val_metric);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_report(report: &RunReport, stopped_early: bool) {
    let line = |label: &str, metrics: &nnspec::train::Metrics| {
        let mut line = format!("{label:<10} loss {:.6}", metrics.loss);
        if let Some(a) = metrics.accuracy {
            line.push_str(&format!("  accuracy {a:.4}"));
        }
        if let Some(r2) = metrics.r2 {
            line.push_str(&format!("  R² {r2:.4}"));
        }
        say!("{line}");
    };
    say!(
        "trained {} for {} epochs in {:.2?}{}",
        report.label,
        report.epochs,
        report.elapsed,
        if stopped_early { " (early stop)" } else { "" }
    );
    line("train", &report.train);
    if let Some(validation) = &report.validation {
        line("validation", validation);
    }
}

pub(crate) fn write_outputs(
    outputs: &config::Outputs,
    model: &dyn Model,
    history: &nnspec::History,
    metadata: &[(String, String)],
) -> Result<(), Failure> {
    if let Some(out) = &outputs.weights {
        nnspec::weights::save_with_metadata(model, out, metadata)?;
        say!("weights written to {}", out.display());
    }
    if let Some(path) = &outputs.history {
        history.save(path)?;
        say!("loss history written to {}", path.display());
    }
    if let Some(path) = &outputs.plot {
        let mut series = vec![nnspec_plot::Series {
            name: "training loss".into(),
            points: history.epochs.iter().map(|e| (e.epoch as f64, e.loss)).collect(),
        }];
        if history.epochs.iter().any(|e| e.validation.is_some()) {
            series.push(nnspec_plot::Series {
                name: "validation loss".into(),
                points: history.epochs.iter().filter_map(|e| e.validation.map(|v| (e.epoch as f64, v.loss))).collect(),
            });
        }
        let log = history.epochs.iter().all(|e| e.loss > 0.0);
        nnspec_plot::lines(path, &format!("{} loss", model.name()), "epoch", "loss", &series, log).map_err(Failure)?;
        say!("loss curve drawn in {}", path.display());
    }
    Ok(())
}

/// The network `name` of the spec `source` with `key` (a constant of the
/// file, or one of the network's dense layers) set to `value`, checked again
/// as a whole: a swept value meets every check the spec's own values meet.
fn swept(source: &str, name: &str, key: &str, value: usize) -> Result<ir::Network, String> {
    use nnspec_lang::ast::{Value, ValueKind};
    let mut file = nnspec_lang::parse_file(source).map_err(|_| "the spec no longer parses".to_string())?;
    let literal = |span| Value { kind: ValueKind::Number { value: value as f64, is_integer: true }, span };
    let network = file.networks.iter_mut().find(|n| n.name.text == name).ok_or("the network is gone")?;
    let layer = network
        .statements
        .iter_mut()
        .find(|s| s.keyword.text == "dense" && s.target.as_ref().is_some_and(|t| t.text == key));
    match (file.constants.iter_mut().find(|c| c.name.text == key), layer) {
        (Some(constant), _) => constant.value = literal(constant.value.span),
        (None, Some(statement)) => statement.value = Some(literal(statement.span)),
        (None, None) => {
            let layers: Vec<&str> = network
                .statements
                .iter()
                .filter(|s| s.keyword.text == "dense")
                .filter_map(|s| s.target.as_ref().map(|t| t.text.as_str()))
                .collect();
            return Err(format!("`{name}` has no layer or constant `{key}`; its layers are {}", layers.join(", ")));
        }
    }
    let checked = nnspec_lang::check_ast(&file).map_err(|diagnostics| {
        let errors: Vec<String> = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| match &d.help {
                Some(help) => format!("{} ({help})", d.message),
                None => d.message.clone(),
            })
            .collect();
        errors.join("; ")
    })?;
    checked.program.network(name).cloned().ok_or_else(|| "the network is gone".to_string())
}
