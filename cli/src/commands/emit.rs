//! `nnspec emit`: the Rust code a spec generates.

use super::*;

pub(crate) fn emit(path: &Path, output: Option<&Path>) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let code = nnspec_codegen::format_tokens(nnspec_codegen::generate(&checked.program));
    match output {
        Some(out) => nnspec::weights::write_atomically(out, code.as_bytes())?,
        None => write_stdout(&code, false),
    }
    Ok(ExitCode::SUCCESS)
}
