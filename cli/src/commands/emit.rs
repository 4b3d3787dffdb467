//! `nnspec emit`: the Rust code a spec generates.

use super::*;

/// What `nnspec emit` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EmitTarget {
    /// The Rust code `net!` and `include_net!` generate.
    Rust,
    /// A Python module with a `torch.nn.Module` per network.
    Pytorch,
}

pub(crate) fn emit(path: &Path, output: Option<&Path>, target: EmitTarget) -> Result<ExitCode, Failure> {
    if let Some(output) = output {
        refuse_overwriting("output", output, &[("the spec", path)])?;
    }
    let checked = load(path)?;
    // Every node is code (a kernel call or more), not only the dense layers,
    // and every input a node reads is code too (an `add` or `concat` copies each).
    let nodes: usize = checked.program.networks.iter().map(|n| n.nodes.len() - 1).sum();
    let inputs: usize = checked.program.networks.iter().flat_map(|n| &n.nodes).map(|node| node.inputs.len()).sum();
    memory::check_budget(
        &format!("emitting `{}`", path.display()),
        &[
            (&format!("the code of {nodes} nodes and its syntax tree"), memory::EMIT_BYTES_PER_LAYER * nodes as u64),
            (&format!("the code reading {inputs} node inputs"), memory::EMIT_BYTES_PER_INPUT * inputs as u64),
        ],
        "use a smaller network",
    )?;
    let code = match target {
        EmitTarget::Rust => nnspec_codegen::format_tokens(nnspec_codegen::generate(&checked.program)),
        EmitTarget::Pytorch => nnspec_codegen::pytorch::pytorch_module(
            &checked.program,
            &path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
        ),
    };
    match output {
        Some(out) => nnspec::weights::write_atomically(out, code.as_bytes())?,
        None => write_stdout(&code, false),
    }
    Ok(ExitCode::SUCCESS)
}
