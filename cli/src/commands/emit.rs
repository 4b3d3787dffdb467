//! `nnspec emit`: the Rust code a spec generates.

use super::*;

pub(crate) fn emit(path: &Path, output: Option<&Path>) -> Result<ExitCode, Failure> {
    if let Some(output) = output {
        refuse_overwriting("output", output, &[("the spec", path)])?;
    }
    let checked = load(path)?;
    let layers: usize = checked.program.networks.iter().map(|n| n.layers.len()).sum();
    memory::check_budget(
        &format!("emitting `{}`", path.display()),
        &[(&format!("the code of {layers} layers and its syntax tree"), memory::EMIT_BYTES_PER_LAYER * layers as u64)],
    )?;
    let code = nnspec_codegen::format_tokens(nnspec_codegen::generate(&checked.program));
    match output {
        Some(out) => nnspec::weights::write_atomically(out, code.as_bytes())?,
        None => write_stdout(&code, false),
    }
    Ok(ExitCode::SUCCESS)
}
