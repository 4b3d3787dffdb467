//! How much memory a command will need, estimated before it allocates, so a
//! network too large for the machine is refused with the figure and its
//! cause instead of aborting the process.
//!
//! The budget is the memory the system has available (`MemAvailable`) and the
//! process's address-space limit (`ulimit -v`), whichever is smaller, read from
//! `/proc`; where there is no `/proc` nothing is refused.

use super::*;
use nnspec::OptimizerConfig;

/// What `emit` needs per layer: about 5 KB of code, its token stream and the
/// syntax tree prettyplease formats it from (measured: 490 MB for 2,000 layers).
pub(crate) const EMIT_BYTES_PER_LAYER: u64 = 256 * 1024;

/// What `emit` needs per input a node reads (an `add` or `concat` writes code
/// per input; measured: 2.1 GB for a `concat` of 100,000 inputs).
pub(crate) const EMIT_BYTES_PER_INPUT: u64 = 32 * 1024;

/// Bytes the process may still allocate, if the system says.
fn budget() -> Option<u64> {
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
    });
    let limit = std::fs::read_to_string("/proc/self/limits").ok().and_then(|text| {
        let line = text.lines().find(|l| l.starts_with("Max address space"))?;
        line.split_whitespace().nth(3)?.parse::<u64>().ok()
    });
    match (available, limit) {
        (Some(a), Some(l)) => Some(a.min(l)),
        (a, l) => a.or(l),
    }
}

fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// Refuses `needed` bytes (itemised in `parts`) that exceed what the process may allocate.
pub(crate) fn check_budget(what: &str, parts: &[(&str, u64)], advice: &str) -> Result<(), Failure> {
    let needed = parts.iter().fold(0u64, |sum, (_, bytes)| sum.saturating_add(*bytes));
    let Some(budget) = budget() else { return Ok(()) };
    if needed <= budget {
        return Ok(());
    }
    let items: Vec<String> =
        parts.iter().filter(|(_, b)| *b > 0).map(|(name, b)| format!("{name} {}", gigabytes(*b))).collect();
    Err(Failure(format!(
        "{what} needs about {} ({}), but {} is available: {advice}",
        gigabytes(needed),
        items.join(", "),
        gigabytes(budget)
    )))
}

/// f32 values in bytes.
fn floats(count: usize) -> u64 {
    (count as u64).saturating_mul(4)
}

/// Parameters of `net`.
pub(crate) fn parameter_count(net: &ir::Network) -> usize {
    net.param_count
}

/// Workspace values for `rows` rows: the slots of the network's plan.
fn workspace_values(net: &ir::Network, rows: usize) -> usize {
    net.plan().slots.iter().sum::<usize>().saturating_mul(rows)
}

/// The memory of training `net` in batches of `batch` rows with `optimizer`.
pub(crate) fn check_training(net: &ir::Network, batch: usize, optimizer: &OptimizerConfig) -> Result<(), Failure> {
    let params = parameter_count(net);
    let state = match optimizer {
        OptimizerConfig::Sgd { momentum, .. } => usize::from(*momentum > 0.0),
        OptimizerConfig::Adagrad { .. } => 1,
        OptimizerConfig::RmsProp { momentum, centered, .. } => {
            1 + usize::from(*momentum > 0.0) + usize::from(*centered)
        }
        OptimizerConfig::Adam { amsgrad, .. } => 2 + usize::from(*amsgrad),
    };
    check_budget(
        &format!("training `{}`", net.name),
        &[
            ("parameters", floats(params)),
            ("a copy of the last good ones", floats(params)),
            ("gradients", floats(params.saturating_mul(2))),
            ("optimizer state", floats(params.saturating_mul(state))),
            (&format!("a workspace for {batch} rows"), floats(workspace_values(net, batch).saturating_mul(2))),
        ],
        "use a smaller network, or a smaller `batch` in the spec's `train` block",
    )
}

/// The memory of running `net` with weights read from a file.
pub(crate) fn check_inference(net: &ir::Network, rows: usize) -> Result<(), Failure> {
    let params = parameter_count(net);
    check_budget(
        &format!("running `{}`", net.name),
        &[
            ("parameters", floats(params)),
            ("the weights file", floats(params)),
            (&format!("a workspace for {rows} rows"), floats(workspace_values(net, rows))),
        ],
        "use a smaller network",
    )
}

/// The most rows, up to `wanted` and at least one, that `net` can run at
/// once with weights read from a file (a quarter of the memory left after the
/// parameters): inference runs in chunks of this many.
/// Refused only when not even one row fits.
pub(crate) fn inference_rows(net: &ir::Network, wanted: usize) -> Result<usize, Failure> {
    check_inference(net, 1)?;
    let wanted = wanted.max(1);
    let Some(budget) = budget() else { return Ok(wanted) };
    let fixed = floats(parameter_count(net)).saturating_mul(2);
    let per_row = floats(workspace_values(net, 1)).max(1);
    // A quarter of what is left: the process already maps some of its address
    // space, and a growing workspace may briefly hold two copies.
    let rows = budget.saturating_sub(fixed) / 4 / per_row;
    Ok(usize::try_from(rows).unwrap_or(usize::MAX).clamp(1, wanted))
}
