//! The commands, one module each, and what they share: reading and checking a
//! spec with its diagnostics printed, choosing a network, and [`Failure`].

/// `println!` for a command's results, except that a reader who goes away
/// (`nnspec predict … | head -1`) ends the command quietly with exit code 0
/// instead of a panic: see [`write_stdout`].
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::commands::write_stdout(&format!($($arg)*), true)
    };
}

/// `eprintln!` that never panics: with standard error closed the message is
/// dropped and the command carries on.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod check;
mod emit;
mod export;
mod fmt;
mod import;
mod memory;
mod predict;
mod quantize;
mod summary;
mod train;

pub(crate) use check::check;
pub(crate) use emit::{emit, EmitTarget};
pub(crate) use export::export;
pub(crate) use fmt::format_files;
pub(crate) use import::run_import;
pub(crate) use predict::run_predict;
pub(crate) use quantize::quantize;
pub(crate) use summary::summary;
pub(crate) use train::{train, TrainRequest};

use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use nnspec::data::{CsvOptions, Target};
use nnspec::train::{evaluate_chunked, predict_chunked};
use nnspec::{Dataset, Model, Workspace};
use nnspec_cli::convert;
use nnspec_lang::{ir, Checked, Diagnostic};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A failure: the message, already formatted.
pub(crate) struct Failure(pub(crate) String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(error.to_string())
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure(format!("cannot read `{}`: {e}", path.display())))
}

pub(crate) fn print_diagnostics(diagnostics: &[Diagnostic], path: &Path, source: &str) {
    let choice = if std::io::stderr().is_terminal() { ColorChoice::Auto } else { ColorChoice::Never };
    let mut stderr = StandardStream::stderr(choice);
    nnspec_lang::diagnostic::emit(&mut stderr, diagnostics, &path.display().to_string(), source);
}

/// Reads and checks a spec, printing its diagnostics; fails if it has errors.
pub(crate) fn load(path: &Path) -> Result<Checked, Failure> {
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

pub(crate) fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub(crate) fn pick<'a>(program: &'a ir::Program, name: Option<&str>, path: &Path) -> Result<&'a ir::Network, Failure> {
    match name {
        Some(name) => program.network(name).ok_or_else(|| {
            let names: Vec<&str> = program.networks.iter().map(|n| n.name.as_str()).collect();
            Failure(format!("`{}` has no network `{name}`; it has {}", path.display(), names.join(", ")))
        }),
        None => program.networks.first().ok_or_else(|| Failure(format!("`{}` defines no network", path.display()))),
    }
}

/// Writes `text` (and a newline) to standard output. A closed pipe ends the
/// process quietly with exit code 0, the conventional end of a command whose
/// reader has all it wants; any other write error ends it with a message and
/// exit code 1. `print!` would panic in both cases.
pub(crate) fn write_stdout(text: &str, newline: bool) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(text.as_bytes()).and_then(|()| match newline {
        true => stdout.write_all(b"\n"),
        false => stdout.flush(),
    });
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write to standard output: {error}");
            std::process::exit(1)
        }
    }
}

/// The same file for two paths that name it: the canonical path of one that
/// exists, else the absolute path.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    let identity = |path: &Path| {
        path.canonicalize()
            .unwrap_or_else(|_| std::env::current_dir().map_or_else(|_| path.to_path_buf(), |d| d.join(path)))
    };
    identity(a) == identity(b)
}

/// Refuses an output path that is one of the command's inputs: writing it would destroy it.
pub(crate) fn refuse_overwriting(what: &str, output: &Path, inputs: &[(&str, &Path)]) -> Result<(), Failure> {
    match inputs.iter().find(|(_, input)| same_file(output, input)) {
        Some((input, _)) => Err(Failure(format!(
            "the {what} `{}` is {input}: writing it would destroy it; choose another path",
            output.display()
        ))),
        None => Ok(()),
    }
}
