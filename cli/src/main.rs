//! `nnspec`: check, summarise, emit, train and run `.nn` network specs.
//!
//! A thin layer over the library crates: `nnspec-lang` checks, `nnspec-codegen`
//! emits, and the runtime trains through its interpreter (`nnspec_cli::convert`). Every
//! failure is a message on stderr and exit code 1 (2 for usage errors); nothing
//! panics on bad input.

mod config;

use nnspec_cli::convert;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use nnspec::data::{CsvOptions, Target};
use nnspec::train::{evaluate, predict};
use nnspec::{Dataset, Model, Workspace};
use nnspec_lang::{ir, Checked, Diagnostic};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "nnspec", version, about = "Check, compile and train .nn neural-network specs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check specs and print every diagnostic.
    Check {
        /// The `.nn` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `human` (rustc style) or `json` (one object per line).
        #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
        message_format: MessageFormat,
    },
    /// Print each network's layers, shapes, parameters and cost.
    Summary {
        /// The `.nn` file.
        file: PathBuf,
        /// Only this network.
        #[arg(long)]
        network: Option<String>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print the generated Rust code.
    Emit {
        /// The `.nn` file.
        file: PathBuf,
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Rewrite specs in the canonical layout (comments kept).
    Fmt {
        /// The `.nn` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only check: list the files that would change and exit with 1 if any would.
        #[arg(long)]
        check: bool,
    },
    /// Train a network on a CSV file (or as a TOML run configuration says).
    Train {
        /// The `.nn` file (not needed with `--config`).
        #[arg(required_unless_present = "config")]
        file: Option<PathBuf>,
        /// A TOML run configuration (see `nnspec help train` and docs/cli.md).
        #[arg(long, conflicts_with_all = ["data", "target", "network"])]
        config: Option<PathBuf>,
        /// The CSV data (a header row, numeric cells).
        #[arg(long, required_unless_present = "config")]
        data: Option<PathBuf>,
        /// The target column (default: the last).
        #[arg(long)]
        target: Option<String>,
        /// The network to train (default: the only or first one).
        #[arg(long)]
        network: Option<String>,
        /// Override the spec's epochs.
        #[arg(long)]
        epochs: Option<usize>,
        /// Override the spec's learning rate.
        #[arg(long)]
        lr: Option<f64>,
        /// Write the trained weights here (safetensors).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the loss history here (CSV, or JSON for `.json`).
        #[arg(long)]
        history: Option<PathBuf>,
        /// Draw the loss curve into this PNG.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Write a trained network as an ONNX model (opset 17).
    Export {
        /// The `.nn` file.
        file: PathBuf,
        /// Trained weights (safetensors); without them the spec's initialisation is exported.
        #[arg(long)]
        weights: Option<PathBuf>,
        /// The network (default: the only or first one).
        #[arg(long)]
        network: Option<String>,
        /// The ONNX file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Run a trained network on a CSV file.
    Predict {
        /// The `.nn` file.
        file: PathBuf,
        /// Trained weights (safetensors).
        #[arg(long)]
        weights: PathBuf,
        /// Input rows (CSV with a header; the feature columns only, or with the target column last when `--target` names it).
        #[arg(long)]
        data: PathBuf,
        /// A target column to ignore.
        #[arg(long)]
        target: Option<String>,
        /// The network (default: the only or first one).
        #[arg(long)]
        network: Option<String>,
        /// Write the outputs here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

/// A failure: the message, already formatted.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { files, message_format } => check(&files, message_format),
        Command::Summary { file, network, json } => summary(&file, network.as_deref(), json),
        Command::Emit { file, output } => emit(&file, output.as_deref()),
        Command::Fmt { files, check } => format_files(&files, check),
        Command::Train { file, config, data, target, network, epochs, lr, out, history, plot, quiet } => {
            let request = match config {
                Some(path) => TrainRequest::from_config(&path),
                None => Ok(TrainRequest {
                    spec: file.unwrap_or_default(),
                    network,
                    data: data.unwrap_or_default(),
                    target,
                    features: Vec::new(),
                    standardize: false,
                    validation_split: None,
                    overrides: config::TrainOverrides { epochs, lr, ..Default::default() },
                    outputs: config::Outputs { weights: out, history, plot },
                    sweep: None,
                    quiet,
                }),
            };
            request.and_then(|mut r| {
                r.overrides.epochs = epochs.or(r.overrides.epochs);
                r.overrides.lr = lr.or(r.overrides.lr);
                r.quiet |= quiet;
                train(&r)
            })
        }
        Command::Export { file, weights, network, output } => {
            export(&file, weights.as_deref(), network.as_deref(), &output)
        }
        Command::Predict { file, weights, data, target, network, output } => {
            run_predict(&file, &weights, &data, target, network.as_deref(), output.as_deref())
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure(format!("cannot read `{}`: {e}", path.display())))
}

fn print_diagnostics(diagnostics: &[Diagnostic], path: &Path, source: &str) {
    let choice = if std::io::stderr().is_terminal() { ColorChoice::Auto } else { ColorChoice::Never };
    let mut stderr = StandardStream::stderr(choice);
    nnspec_lang::diagnostic::emit(&mut stderr, diagnostics, &path.display().to_string(), source);
}

/// Reads and checks a spec, printing its diagnostics; fails if it has errors.
fn load(path: &Path) -> Result<Checked, Failure> {
    let bytes = read(path)?;
    let source = String::from_utf8_lossy(&bytes).into_owned();
    match nnspec_lang::check_bytes(&bytes) {
        Ok(checked) => {
            print_diagnostics(&checked.warnings, path, &source);
            Ok(checked)
        }
        Err(diagnostics) => {
            print_diagnostics(&diagnostics, path, &source);
            let errors = diagnostics.iter().filter(|d| d.is_error()).count();
            Err(Failure(format!("`{}` has {}", path.display(), plural(errors, "error"))))
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn pick<'a>(program: &'a ir::Program, name: Option<&str>, path: &Path) -> Result<&'a ir::Network, Failure> {
    match name {
        Some(name) => program.network(name).ok_or_else(|| {
            let names: Vec<&str> = program.networks.iter().map(|n| n.name.as_str()).collect();
            Failure(format!("`{}` has no network `{name}`; it has {}", path.display(), names.join(", ")))
        }),
        None => program.networks.first().ok_or_else(|| Failure(format!("`{}` defines no network", path.display()))),
    }
}

fn check(files: &[PathBuf], format: MessageFormat) -> Result<ExitCode, Failure> {
    let (mut errors, mut warnings) = (0, 0);
    for path in files {
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(Failure(message)) => {
                eprintln!("error: {message}");
                errors += 1;
                continue;
            }
        };
        let source = String::from_utf8_lossy(&bytes).into_owned();
        let diagnostics = match nnspec_lang::check_bytes(&bytes) {
            Ok(checked) => checked.warnings,
            Err(diagnostics) => diagnostics,
        };
        errors += diagnostics.iter().filter(|d| d.is_error()).count();
        warnings += diagnostics.iter().filter(|d| !d.is_error()).count();
        match format {
            MessageFormat::Human => print_diagnostics(&diagnostics, path, &source),
            MessageFormat::Json => {
                for d in &diagnostics {
                    println!("{}", diagnostic_json(d, path, &source));
                }
            }
        }
    }
    let summary = match (errors, warnings) {
        (0, 0) => format!("{}: no problems found", plural(files.len(), "file")),
        _ => format!("{}, {}", plural(errors, "error"), plural(warnings, "warning")),
    };
    eprintln!("{summary}");
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn diagnostic_json(d: &Diagnostic, path: &Path, source: &str) -> String {
    let (line, column) = line_column(source, d.span.start);
    let (end_line, end_column) = line_column(source, d.span.end);
    serde_json::json!({
        "severity": if d.is_error() { "error" } else { "warning" },
        "code": d.code.as_str(),
        "message": d.message,
        "file": path.display().to_string(),
        "span": { "start": d.span.start, "end": d.span.end, "line": line, "column": column, "end_line": end_line, "end_column": end_column },
        "label": d.primary_label,
        "labels": d.labels.iter().map(|l| serde_json::json!({"start": l.span.start, "end": l.span.end, "message": l.message})).collect::<Vec<_>>(),
        "notes": d.notes,
        "help": d.help,
        "rendered": d.render(&path.display().to_string(), source),
    })
    .to_string()
}

fn summary(path: &Path, name: Option<&str>, json: bool) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let networks: Vec<&ir::Network> = match name {
        Some(_) => vec![pick(&checked.program, name, path)?],
        None => checked.program.networks.iter().collect(),
    };
    if json {
        let value: Vec<serde_json::Value> = networks.iter().map(|n| summary_json(n)).collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    for net in networks {
        println!("network {}  ({} → {}, loss {})", net.name, net.input_size, net.output_size(), net.loss.name());
        println!(
            "{:<16} {:<14} {:<14} {:>10} {:>12} {:>12}",
            "layer", "activation", "output shape", "params", "FLOPs/sample", "bytes/sample"
        );
        println!(
            "{:<16} {:<14} {:<14} {:>10} {:>12} {:>12}",
            net.input_name,
            "input",
            format!("[{}]", net.input_size),
            0,
            0,
            4 * net.input_size
        );
        for layer in &net.layers {
            let params = layer.inputs * layer.units + if layer.bias { layer.units } else { 0 };
            let flops = 2 * layer.inputs * layer.units + if layer.bias { layer.units } else { 0 };
            let mut activation = layer.activation.name().to_string();
            if let Some(p) = layer.dropout {
                activation.push_str(&format!("+drop{p}"));
            }
            println!(
                "{:<16} {:<14} {:<14} {:>10} {:>12} {:>12}",
                layer.name,
                activation,
                format!("[{}]", layer.units),
                params,
                flops,
                4 * layer.units
            );
        }
        let stack: usize = net.layers.iter().map(|l| 4 * l.units).sum();
        println!("total: {} parameters ({} bytes), {} FLOPs per forward sample, predict uses {} bytes of stack for activations", net.param_count, 4 * net.param_count, net.forward_flops(), stack);
        println!("train: {}\n", describe_train(&net.train));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe_train(train: &ir::TrainConfig) -> String {
    let batch = match train.batch {
        ir::BatchSize::Full => "full".to_string(),
        ir::BatchSize::Size(n) => n.to_string(),
    };
    format!(
        "optimizer {} (lr {}), batch {batch}, epochs {}, seed {}{}",
        convert::optimizer(&train.optimizer).name(),
        train.optimizer.lr(),
        train.epochs,
        train.seed,
        if train.validation_split > 0.0 { format!(", validation {}", train.validation_split) } else { String::new() }
    )
}

fn summary_json(net: &ir::Network) -> serde_json::Value {
    serde_json::json!({
        "name": net.name,
        "input": net.input_size,
        "output": net.output_size(),
        "loss": net.loss.name(),
        "param_count": net.param_count,
        "forward_flops": net.forward_flops(),
        "predict_stack_bytes": net.layers.iter().map(|l| 4 * l.units).sum::<usize>(),
        "layers": net.layers.iter().map(|l| serde_json::json!({
            "name": l.name, "inputs": l.inputs, "units": l.units, "activation": l.activation.name(),
            "bias": l.bias, "dropout": l.dropout,
            "params": l.inputs * l.units + if l.bias { l.units } else { 0 },
            "flops": 2 * l.inputs * l.units + if l.bias { l.units } else { 0 },
        })).collect::<Vec<_>>(),
        "tensors": net.tensors,
        "train": net.train,
    })
}

fn emit(path: &Path, output: Option<&Path>) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let code = nnspec_codegen::format_tokens(nnspec_codegen::generate(&checked.program));
    match output {
        Some(out) => nnspec::weights::write_atomically(out, code.as_bytes())?,
        None => print!("{code}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything `nnspec train` needs, from flags or a run configuration.
struct TrainRequest {
    spec: PathBuf,
    network: Option<String>,
    data: PathBuf,
    target: Option<String>,
    features: Vec<String>,
    standardize: bool,
    validation_split: Option<f64>,
    overrides: config::TrainOverrides,
    outputs: config::Outputs,
    sweep: Option<(String, config::SweepValues)>,
    quiet: bool,
}

impl TrainRequest {
    fn from_config(path: &Path) -> Result<TrainRequest, Failure> {
        let config = config::RunConfig::read(path).map_err(Failure)?;
        Ok(TrainRequest {
            spec: config.spec,
            network: config.network,
            data: config.data,
            target: config.target,
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
fn optimizer_by_name(name: &str, lr: Option<f64>) -> Result<nnspec::OptimizerConfig, Failure> {
    use nnspec::OptimizerConfig as O;
    let sgd = |lr, momentum, nesterov| O::Sgd { lr, momentum, dampening: 0.0, nesterov, weight_decay: 0.0 };
    let adam = |lr, decoupled: bool| O::Adam {
        lr,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: if decoupled { 0.01 } else { 0.0 },
        amsgrad: false,
        decoupled,
    };
    Ok(match name {
        "sgd" => sgd(lr.unwrap_or(1e-3), 0.0, false),
        "momentum" => sgd(lr.unwrap_or(1e-3), 0.9, false),
        "nesterov" => sgd(lr.unwrap_or(1e-3), 0.9, true),
        "adagrad" => O::Adagrad {
            lr: lr.unwrap_or(0.01),
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        },
        "rmsprop" => O::RmsProp {
            lr: lr.unwrap_or(0.01),
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        },
        "adam" => adam(lr.unwrap_or(1e-3), false),
        "adamw" => adam(lr.unwrap_or(1e-3), true),
        other => {
            return Err(Failure(format!(
                "unknown optimizer `{other}`; the optimizers are sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw"
            )))
        }
    })
}

/// One training run's outcome, for reports and sweep tables.
struct RunReport {
    label: String,
    epochs: usize,
    elapsed: std::time::Duration,
    train: nnspec::train::Metrics,
    validation: Option<nnspec::train::Metrics>,
}

fn train(request: &TrainRequest) -> Result<ExitCode, Failure> {
    let checked = load(&request.spec)?;
    let net = pick(&checked.program, request.network.as_deref(), &request.spec)?;
    let target = match &request.target {
        Some(t) => Target::Named(vec![t.clone()]),
        None => Target::Last,
    };
    let data = Dataset::from_csv(&request.data, &CsvOptions { target, features: request.features.clone() })?;
    let split = request.validation_split.unwrap_or(net.train.validation_split);
    let seed = request.overrides.seed.unwrap_or(net.train.seed);
    let (mut train_data, mut validation) = if split > 0.0 {
        let (a, b) = data.split(split, seed);
        (a, Some(b))
    } else {
        (data, None)
    };
    let mut metadata = Vec::new();
    if request.standardize {
        let standardizer = nnspec::data::Standardizer::fit(&train_data);
        standardizer.apply(&mut train_data);
        if let Some(v) = validation.as_mut() {
            standardizer.apply(v);
        }
        metadata.push(("standardize_mean".to_string(), serde_json::to_string(&standardizer.mean)?));
        metadata.push(("standardize_std".to_string(), serde_json::to_string(&standardizer.std)?));
    }
    let runs: Vec<(String, ir::Network, Option<String>)> = match &request.sweep {
        None => vec![(net.name.clone(), net.clone(), None)],
        Some((key, config::SweepValues::Units(values))) => {
            let index = net.layers.iter().position(|l| &l.name == key).ok_or_else(|| {
                let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
                Failure(format!(
                    "`[sweep] {key}`: `{}` has no layer `{key}`; its layers are {}",
                    net.name,
                    names.join(", ")
                ))
            })?;
            values
                .iter()
                .map(|&units| {
                    let mut variant = net.clone();
                    variant.layers[index].units = units.max(1);
                    (format!("{key} = {units}"), variant, None)
                })
                .collect()
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
        let mut model = convert::network(variant);
        if let Err(error) = nnspec::train::check_fits(&model, &train_data) {
            return Err(Failure(format!(
                "{}: {error}\n  the feature columns are {}; choose them with --target, or `target`/`features` in a run configuration",
                request.data.display(),
                train_data.feature_names.join(", ")
            )));
        }
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
        eprintln!(
            "training {label} on {} ({} rows × {} features): {} epochs, {}",
            request.data.display(),
            train_data.len(),
            train_data.features,
            config.epochs,
            config.optimizer.name()
        );
        let trainer = nnspec::Trainer::new(config);
        let history = match trainer.fit(&mut model, &train_data, validation.as_ref()) {
            Ok(history) => history,
            Err(error) => {
                if let (Some(out), None) = (&request.outputs.weights, &request.sweep) {
                    nnspec::weights::save_with_metadata(&model, out, &metadata)?;
                    eprintln!("the last good weights were written to {}", out.display());
                }
                return Err(error.into());
            }
        };
        let mut workspace = Workspace::default();
        let report = RunReport {
            label: label.clone(),
            epochs: history.epochs.len(),
            elapsed: history.elapsed,
            train: evaluate(&model, &train_data, &mut workspace),
            validation: validation.as_ref().map(|v| evaluate(&model, v, &mut workspace)),
        };
        if request.sweep.is_none() {
            print_report(&report, history.stopped_early);
            write_outputs(&request.outputs, &model, &history, &metadata)?;
        }
        reports.push(report);
    }
    if request.sweep.is_some() {
        println!("\n{:<24} {:>12} {:>10} {:>12} {:>10}", "run", "train loss", "train acc", "val loss", "val acc");
        for r in &reports {
            let metric =
                |m: &nnspec::train::Metrics| m.accuracy.or(m.r2).map_or("-".to_string(), |v| format!("{v:.4}"));
            let (val_loss, val_metric) = match &r.validation {
                Some(v) => (format!("{:.6}", v.loss), metric(v)),
                None => ("-".into(), "-".into()),
            };
            println!(
                "{:<24} {:>12.6} {:>10} {:>12} {:>10}",
                r.label,
                r.train.loss,
                metric(&r.train),
                val_loss,
                val_metric
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(report: &RunReport, stopped_early: bool) {
    let line = |label: &str, metrics: &nnspec::train::Metrics| {
        let mut line = format!("{label:<10} loss {:.6}", metrics.loss);
        if let Some(a) = metrics.accuracy {
            line.push_str(&format!("  accuracy {a:.4}"));
        }
        if let Some(r2) = metrics.r2 {
            line.push_str(&format!("  R² {r2:.4}"));
        }
        println!("{line}");
    };
    println!(
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

fn write_outputs(
    outputs: &config::Outputs,
    model: &dyn Model,
    history: &nnspec::History,
    metadata: &[(String, String)],
) -> Result<(), Failure> {
    if let Some(out) = &outputs.weights {
        nnspec::weights::save_with_metadata(model, out, metadata)?;
        println!("weights written to {}", out.display());
    }
    if let Some(path) = &outputs.history {
        history.save(path)?;
        println!("loss history written to {}", path.display());
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
        println!("loss curve drawn in {}", path.display());
    }
    Ok(())
}

fn format_files(files: &[PathBuf], check: bool) -> Result<ExitCode, Failure> {
    let mut changed = 0;
    let mut failed = 0;
    for path in files {
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(Failure(message)) => {
                eprintln!("error: {message}");
                failed += 1;
                continue;
            }
        };
        let source = String::from_utf8_lossy(&bytes).into_owned();
        match nnspec_lang::fmt::format(&source) {
            Ok(formatted) if formatted == source => {}
            Ok(formatted) => {
                changed += 1;
                if check {
                    println!("{} is not formatted", path.display());
                } else {
                    nnspec::weights::write_atomically(path, formatted.as_bytes())?;
                    println!("formatted {}", path.display());
                }
            }
            Err(diagnostics) => {
                print_diagnostics(&diagnostics, path, &source);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Failure(format!("{} could not be formatted", plural(failed, "file"))));
    }
    Ok(if check && changed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn export(path: &Path, weights: Option<&Path>, name: Option<&str>, output: &Path) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let mut model = convert::network(net);
    if let Some(weights) = weights {
        nnspec::weights::load(&mut model, weights)?;
    }
    nnspec::onnx::save(&model, output)?;
    println!("{} written to {} (ONNX opset {})", net.name, output.display(), nnspec::onnx::OPSET);
    Ok(ExitCode::SUCCESS)
}

fn run_predict(
    path: &Path,
    weights: &Path,
    data_path: &Path,
    target: Option<String>,
    name: Option<&str>,
    output: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let mut model = convert::network(net);
    nnspec::weights::load(&mut model, weights)?;
    let options = CsvOptions { target: target.map_or(Target::None, |t| Target::Named(vec![t])), features: Vec::new() };
    let mut data = Dataset::from_csv(data_path, &options)?;
    let metadata = nnspec::weights::read_metadata(weights)?;
    if let (Some(mean), Some(std)) = (metadata.get("standardize_mean"), metadata.get("standardize_std")) {
        let standardizer = nnspec::data::Standardizer {
            mean: serde_json::from_str(mean)
                .map_err(|e| Failure(format!("{}: bad standardisation ({e})", weights.display())))?,
            std: serde_json::from_str(std)
                .map_err(|e| Failure(format!("{}: bad standardisation ({e})", weights.display())))?,
        };
        if standardizer.mean.len() == data.features {
            standardizer.apply(&mut data);
        }
    }
    if data.features != model.input_size() {
        return Err(Failure(format!(
            "`{}` has {} feature columns, but `{}` takes {} inputs (use --target to leave out a label column)",
            data_path.display(),
            data.features,
            net.name,
            model.input_size()
        )));
    }
    let outputs = predict(&model, &data.x, &mut Workspace::default());
    let width = model.output_size();
    let loss = model.loss_kind();
    let classes = loss.is_classification().then(|| nnspec::train::classes(loss, &outputs, width));
    let mut text = (0..width).map(|i| format!("output{i}")).collect::<Vec<_>>().join(",");
    if classes.is_some() {
        text.push_str(",class");
    }
    text.push('\n');
    for (row, values) in outputs.chunks_exact(width).enumerate() {
        text.push_str(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","));
        if let Some(classes) = &classes {
            text.push_str(&format!(",{}", classes[row]));
        }
        text.push('\n');
    }
    match output {
        Some(out) => nnspec::weights::write_atomically(out, text.as_bytes())?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
