//! `nnspec fmt`: specs rewritten in the canonical layout, or checked.

use super::*;

pub(crate) fn format_files(files: &[PathBuf], check: bool) -> Result<ExitCode, Failure> {
    let mut changed = 0;
    let mut failed = 0;
    for path in files {
        let bytes = match read(path) {
            Ok(bytes) => bytes,
            Err(Failure(message)) => {
                tell!("error: {message}");
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
                    say!("{} is not formatted", path.display());
                } else {
                    nnspec::weights::write_atomically(path, formatted.as_bytes())?;
                    say!("formatted {}", path.display());
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
