//! `nnspec`: check, summarise, emit, train and run `.nn` network specs.
//!
//! A thin layer over the library crates: `nnspec-lang` checks, `nnspec-codegen`
//! emits, and the runtime trains through its interpreter ([`convert`]). Every
//! failure is a message on stderr and exit code 1 (2 for usage errors); nothing
//! panics on bad input.

mod convert;

use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use nnspec::data::{CsvOptions, Target};
use nnspec::train::{evaluate, fit_split, predict};
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
    /// Train a network on a CSV file.
    Train {
        /// The `.nn` file.
        file: PathBuf,
        /// The CSV data (a header row, numeric cells).
        #[arg(long)]
        data: PathBuf,
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
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
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
        Command::Train { file, data, target, network, epochs, lr, out, history, quiet } => {
            train(&file, &data, target, network.as_deref(), epochs, lr, out.as_deref(), history.as_deref(), quiet)
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

fn csv_options(target: Option<String>) -> CsvOptions {
    CsvOptions { target: target.map_or(Target::Last, |t| Target::Named(vec![t])), features: Vec::new() }
}

#[allow(clippy::too_many_arguments)]
fn train(
    path: &Path,
    data_path: &Path,
    target: Option<String>,
    name: Option<&str>,
    epochs: Option<usize>,
    lr: Option<f64>,
    out: Option<&Path>,
    history_path: Option<&Path>,
    quiet: bool,
) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let net = pick(&checked.program, name, path)?;
    let data = Dataset::from_csv(data_path, &csv_options(target))?;
    let mut model = convert::network(net);
    nnspec::train::check_fits(&model, &data)?;
    let mut config = convert::train_config(&net.train);
    config.progress = !quiet;
    if let Some(epochs) = epochs {
        config.epochs = epochs;
    }
    if let Some(lr) = lr {
        config.optimizer = config.optimizer.with_lr(lr);
    }
    eprintln!(
        "training {} on {} ({} rows × {} features): {} epochs, {}",
        net.name,
        data_path.display(),
        data.len(),
        data.features,
        config.epochs,
        config.optimizer.name()
    );
    let (train_data, validation) = if net.train.validation_split > 0.0 {
        let (a, b) = data.split(net.train.validation_split, net.train.seed);
        (a, Some(b))
    } else {
        (data.clone(), None)
    };
    let history = match fit_split(&mut model, &config, &data, net.train.validation_split) {
        Ok(history) => history,
        Err(error) => {
            if let Some(out) = out {
                nnspec::weights::save(&model, out)?;
                eprintln!("the last good weights were written to {}", out.display());
            }
            return Err(error.into());
        }
    };
    let mut workspace = Workspace::default();
    let report = |label: &str, metrics: nnspec::train::Metrics| {
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
        net.name,
        history.epochs.len(),
        history.elapsed,
        if history.stopped_early { " (early stop)" } else { "" }
    );
    report("train", evaluate(&model, &train_data, &mut workspace));
    if let Some(validation) = &validation {
        report("validation", evaluate(&model, validation, &mut workspace));
    }
    if let Some(out) = out {
        nnspec::weights::save(&model, out)?;
        println!("weights written to {}", out.display());
    }
    if let Some(history_path) = history_path {
        history.save(history_path)?;
        println!("loss history written to {}", history_path.display());
    }
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
    let data = Dataset::from_csv(data_path, &options)?;
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
