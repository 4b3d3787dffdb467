//! `nnspec`: check, summarise, emit, train and run `.nn` network specs.
//!
//! A thin layer over the library crates: `nnspec-lang` checks, `nnspec-codegen`
//! emits, and the runtime trains through its interpreter (`nnspec_cli::convert`). Every
//! failure is a message on stderr and exit code 1 (2 for usage errors); nothing
//! panics on bad input.

#[macro_use]
mod commands;
mod config;

use clap::{Parser, Subcommand, ValueEnum};
use commands::*;
use std::path::PathBuf;
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
        /// What to emit: `rust` (the code `net!` generates) or `pytorch` (a
        /// `torch.nn.Module` per network, with helpers that read and write
        /// nnspec's weight files).
        #[arg(long, value_enum, default_value_t = EmitTarget::Rust)]
        target: EmitTarget,
    },
    /// Run the language server on stdin and stdout (for editors; docs/editors.md).
    Lsp,
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
        /// The target column (default: the last); repeat it, or separate names with
        /// commas, for several outputs (`--target y1 --target y2`).
        #[arg(long, value_delimiter = ',')]
        target: Vec<String>,
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
        /// End in probabilities, as `nnspec predict` prints them: append the softmax (or sigmoid) a loss on logits implies.
        #[arg(long)]
        probabilities: bool,
    },
    /// Turn an ONNX model into a `.nn` spec and a weight file in nnspec's layout.
    Import {
        /// The ONNX model.
        model: PathBuf,
        /// The spec to write.
        #[arg(short, long)]
        output: PathBuf,
        /// The weight file to write (default: the spec's path with `.safetensors`).
        #[arg(long)]
        weights: Option<PathBuf>,
        /// The network's name (default: from the model's file name).
        #[arg(long)]
        name: Option<String>,
        /// The loss (default: from the graph's end: softmax → softmax_cross_entropy, sigmoid → binary_cross_entropy, else mse).
        #[arg(long)]
        loss: Option<String>,
    },
    /// Quantise a trained network to int8 (post-training, calibrated on training rows).
    Quantize {
        /// The `.nn` file.
        file: PathBuf,
        /// Trained weights (safetensors).
        #[arg(long)]
        weights: PathBuf,
        /// Calibration rows: the training data (CSV in `nnspec train`'s layout), never the test rows.
        #[arg(long)]
        calibration: PathBuf,
        /// Target columns (default: the last).
        #[arg(long, value_delimiter = ',')]
        target: Vec<String>,
        /// The network (default: the only or first one).
        #[arg(long)]
        network: Option<String>,
        /// The int8 weight file to write (safetensors).
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
        /// Input rows (CSV with a header): the feature columns, and any columns `--target` names, which are left out.
        #[arg(long)]
        data: PathBuf,
        /// Target columns to leave out of the inputs (repeat it, or separate names with commas).
        #[arg(long, value_delimiter = ',')]
        target: Vec<String>,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { files, message_format } => check(&files, message_format),
        Command::Summary { file, network, json } => summary(&file, network.as_deref(), json),
        Command::Emit { file, output, target } => emit(&file, output.as_deref(), target),
        Command::Fmt { files, check } => format_files(&files, check),
        Command::Lsp => match nnspec_cli::lsp::run() {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(error) => {
                eprintln!("error: the language server stopped: {error}");
                Ok(ExitCode::FAILURE)
            }
        },
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
        Command::Export { file, weights, network, output, probabilities } => {
            export(&file, weights.as_deref(), network.as_deref(), &output, probabilities)
        }
        Command::Import { model, output, weights, name, loss } => {
            run_import(&model, &output, weights.as_deref(), name.as_deref(), loss.as_deref())
        }
        Command::Quantize { file, weights, calibration, target, network, output } => {
            quantize(&file, &weights, &calibration, target, network.as_deref(), &output)
        }
        Command::Predict { file, weights, data, target, network, output } => {
            run_predict(&file, &weights, &data, target, network.as_deref(), output.as_deref())
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure(message)) => {
            tell!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
