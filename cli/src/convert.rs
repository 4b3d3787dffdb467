//! IR → runtime: the interpreter network and the training settings of a checked spec.
//!
//! The CLI trains with [`nnspec::Interpreter`], which runs the network's plan: the same
//! kernel calls, in the same order, that generated code makes, so `nnspec
//! train` gives the numbers a compiled network would.

use nnspec::{Interpreter, TrainConfig};
use nnspec_lang::ir;

/// The interpreter for a checked network, parameters initialised from the spec's seed.
pub fn network(net: &ir::Network) -> Interpreter {
    let mut mlp = Interpreter::graph(net.name.clone(), net.nodes.clone(), net.loss)
        .expect("the checker accepts only graphs the plan can lower");
    nnspec::Model::init_params(&mut mlp, net.train.run.seed);
    mlp
}

/// The runtime training settings of a spec's `train { … }` block.
/// The block's own settings, with a progress report (the command line's default).
pub fn train_config(train: &ir::TrainConfig) -> TrainConfig {
    TrainConfig { progress: true, ..train.run.clone() }
}

/// What node `index` computes, as `nnspec summary` and the language server's hover say it.
pub fn describe(net: &ir::Network, index: usize) -> String {
    let node = &net.nodes[index];
    let reads = || node.inputs.iter().map(|&i| net.nodes[i].name.as_ref()).collect::<Vec<_>>().join(", ");
    match node.op {
        ir::Op::Dense { activation: ir::Activation::Identity, .. } => "dense".to_string(),
        ir::Op::Dense { activation, .. } => format!("dense, {}", activation.name()),
        ir::Op::Dropout(p) => format!("dropout({p})"),
        ir::Op::Add | ir::Op::Concat => format!("{}({})", node.op.name(), reads()),
        ir::Op::LayerNorm { eps } => format!("layer_norm(eps {eps})"),
        ir::Op::BatchNorm { eps, momentum, .. } => format!("batch_norm(eps {eps}, momentum {momentum})"),
        ir::Op::Recurrent(g) => format!(
            "{}{}({} steps of {}{}, {} units{})",
            if g.bidirectional { "bidirectional " } else { "" },
            node.op.name(),
            g.steps,
            g.features,
            if g.channels_first { " channels" } else { "" },
            g.hidden,
            if g.sequence { ", sequence" } else { "" }
        ),
        op => op.name().to_string(),
    }
}
