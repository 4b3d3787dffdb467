//! `nnspec check`: every diagnostic of each file, for people or as JSON for editors.

use super::*;
use crate::MessageFormat;

pub(crate) fn check(files: &[PathBuf], format: MessageFormat) -> Result<ExitCode, Failure> {
    let (mut errors, mut warnings) = (0, 0);
    for path in files {
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(Failure(message)) => {
                tell!("error: {message}");
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
                    say!("{}", diagnostic_json(d, path, &source));
                }
            }
        }
    }
    let summary = match (errors, warnings) {
        (0, 0) => format!("{}: no problems found", plural(files.len(), "file")),
        _ => format!("{}, {}", plural(errors, "error"), plural(warnings, "warning")),
    };
    // The result goes where results go (stdout), the diagnostics where rustc
    // puts them (stderr); with JSON on stdout the summary stays off it.
    match format {
        MessageFormat::Human => say!("{summary}"),
        MessageFormat::Json => tell!("{summary}"),
    }
    Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

pub(crate) fn diagnostic_json(d: &Diagnostic, path: &Path, source: &str) -> String {
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
