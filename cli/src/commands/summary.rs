//! `nnspec summary`: the layers, parameters and training settings of a network.

use super::*;

pub(crate) fn summary(path: &Path, name: Option<&str>, json: bool) -> Result<ExitCode, Failure> {
    let checked = load(path)?;
    let networks: Vec<&ir::Network> = match name {
        Some(_) => vec![pick(&checked.program, name, path)?],
        None => checked.program.networks.iter().collect(),
    };
    if json {
        let value: Vec<serde_json::Value> = networks.iter().map(|n| summary_json(n)).collect();
        say!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    for net in networks {
        say!("network {}  ({} → {}, loss {})", net.name, net.input_size, net.output_size(), net.loss.name());
        // Columns align up to a width; a longer cell (a 70,000-character name, an
        // `add` of thousands of inputs) pushes its row's later columns instead.
        const WIDEST: usize = 64;
        let width = net.nodes.iter().map(|n| n.name.len()).chain([net.input_name.len(), 15]).max().unwrap_or(15) + 1;
        let width = width.min(WIDEST);
        let costs = net.node_costs();
        let computes = (1..net.nodes.len())
            .map(|i| nnspec_cli::convert::describe(net, i).chars().count())
            .chain([14])
            .max()
            .unwrap_or(14);
        let computes = computes.min(WIDEST);
        say!(
            "{:<width$} {:<computes$} {:<14} {:>10} {:>12} {:>12}",
            "node",
            "computes",
            "output shape",
            "params",
            "FLOPs/sample",
            "bytes/sample"
        );
        say!(
            "{:<width$} {:<computes$} {:<14} {:>10} {:>12} {:>12}",
            net.input_name,
            "input",
            format!("{:?}", net.input_shape),
            0,
            0,
            4 * net.input_size
        );
        for (index, node) in net.nodes.iter().enumerate().skip(1) {
            let ((params, flops), kind) = (costs[index], nnspec_cli::convert::describe(net, index));
            say!(
                "{:<width$} {:<computes$} {:<14} {:>10} {:>12} {:>12}",
                node.name,
                kind,
                format!("{:?}", node.shape),
                params,
                flops,
                4 * node.width
            );
        }
        say!("total: {} parameters ({} bytes), {} FLOPs per forward sample, predict uses {} bytes of stack for activations", net.param_count, 4 * net.param_count, net.forward_flops(), net.predict_stack_bytes());
        let memory = Memory::of(net);
        let int8 = match &memory.int8 {
            Ok((weights, activations)) => format!("int8 {weights} B of weights, {activations} B of activations"),
            Err(Int8Missing::Unsupported(reason)) => format!("no int8 form ({reason})"),
            Err(Int8Missing::TooLarge(limit)) => {
                format!("int8 not estimated above {limit} parameters (`nnspec quantize` gives its figures)")
            }
        };
        say!("memory (one sample): f32 {} B of weights, {} B of activations; {int8}", memory.f32.0, memory.f32.1);
        say!("train: {}\n", describe_train(&net.train));
    }
    Ok(ExitCode::SUCCESS)
}

/// What inference on one sample needs: bytes of weights (with running
/// statistics; in int8 the weights, biases, requantisation constants and
/// tables `nnspec quantize` writes) and the peak bytes of node values alive at
/// once (a value lives from its node to its last reader).
struct Memory {
    f32: (usize, usize),
    int8: Result<(usize, usize), Int8Missing>,
}

impl Memory {
    fn of(net: &ir::Network) -> Memory {
        use nnspec::quant::{network::activation_bytes, network::quantize, Ranges};
        let plan = net.plan();
        let f32_weights = 4 * (plan.param_count + plan.buffer_count);
        let f32 = (f32_weights, activation_bytes(&plan.nodes, 4, false));
        // The int8 figure is what `quantize` would write, found by quantising the
        // plan itself; past this many parameters that costs more than a summary should.
        const QUANTIZED_MAX: usize = 1 << 24;
        let int8 = if plan.param_count > QUANTIZED_MAX {
            Err(Int8Missing::TooLarge(QUANTIZED_MAX))
        } else {
            let params = vec![0.0; plan.param_count];
            quantize(&plan, &params, &plan.initial_buffers(), None, &Ranges::unit(&plan))
                .map(|q| (q.weight_bytes(), activation_bytes(&plan.nodes, 1, true)))
                .map_err(|e| match e {
                    nnspec::quant::QuantError::Unsupported { node, op } => {
                        Int8Missing::Unsupported(format!("`{node}` is a {op}"))
                    }
                    other => Int8Missing::Unsupported(other.to_string()),
                })
        };
        Memory { f32, int8 }
    }
}

/// Why a summary has no int8 figures.
enum Int8Missing {
    /// An op without an int8 kernel: the node and its op.
    Unsupported(String),
    /// More parameters than a summary quantises to count the bytes.
    TooLarge(usize),
}

pub(crate) fn describe_train(train: &ir::TrainConfig) -> String {
    let batch = train.run.batch.map_or("full".to_string(), |n| n.to_string());
    let mut text = format!(
        "optimizer {} (lr {}), batch {batch}, epochs {}, seed {}",
        train.run.optimizer.name(),
        train.run.optimizer.lr(),
        train.run.epochs,
        train.run.seed,
    );
    if train.validation_split > 0.0 {
        text.push_str(&format!(", validation {}", train.validation_split));
    }
    if let Some(schedule) = &train.run.schedule {
        let schedule = match schedule {
            ir::Schedule::Step { step_size, gamma } => format!("step(step_size = {step_size}, gamma = {gamma})"),
            ir::Schedule::MultiStep { milestones, gamma } => {
                format!("multistep(milestones = {milestones:?}, gamma = {gamma})")
            }
            ir::Schedule::Exponential { gamma } => format!("exponential(gamma = {gamma})"),
            ir::Schedule::Cosine { t_max, eta_min } => format!("cosine(t_max = {t_max}, eta_min = {eta_min})"),
            ir::Schedule::Linear { start_factor, end_factor, total_iters } => {
                format!("linear(start_factor = {start_factor}, end_factor = {end_factor}, total_iters = {total_iters})")
            }
        };
        text.push_str(&format!(", schedule {schedule}"));
    }
    if let Some(max_norm) = train.run.clip_grad_norm {
        text.push_str(&format!(", clip_grad_norm {max_norm}"));
    }
    if let Some(clip) = train.run.clip_grad_value {
        text.push_str(&format!(", clip_grad_value {clip}"));
    }
    if let Some(stopping) = &train.run.early_stopping {
        let monitor = if stopping.monitor_validation { "val_loss" } else { "loss" };
        text.push_str(&format!(", early stopping on {monitor} (patience {}", stopping.patience));
        if stopping.min_delta > 0.0 {
            text.push_str(&format!(", min_delta {}", stopping.min_delta));
        }
        text.push_str(if stopping.restore_best { ", restores the best weights)" } else { ")" });
    }
    text
}

pub(crate) fn summary_json(net: &ir::Network) -> serde_json::Value {
    let Memory { f32, int8 } = Memory::of(net);
    let memory = serde_json::json!({
        "f32": { "weight_bytes": f32.0, "activation_bytes": f32.1 },
        "int8": int8.as_ref().map_or_else(
            |missing| match missing {
                Int8Missing::Unsupported(reason) => serde_json::json!({ "unsupported": reason }),
                Int8Missing::TooLarge(limit) => serde_json::json!({ "not_estimated_above_parameters": limit }),
            },
            |(w, a)| serde_json::json!({ "weight_bytes": w, "activation_bytes": a }),
        ),
    });
    serde_json::json!({
        "name": net.name,
        "input": net.input_size,
        "output": net.output_size(),
        "loss": net.loss.name(),
        "param_count": net.param_count,
        "forward_flops": net.forward_flops(),
        "predict_stack_bytes": net.predict_stack_bytes(),
        "memory": memory,
        "nodes": net.nodes.iter().zip(net.node_costs()).enumerate().skip(1).map(|(index, (n, (params, flops)))| {
            let kind = nnspec_cli::convert::describe(net, index);
            serde_json::json!({
                "name": n.name, "op": n.op.name(), "inputs": n.inputs.iter().map(|&i| &net.nodes[i].name).collect::<Vec<_>>(),
                "width": n.width, "shape": n.shape, "params": params, "flops": flops, "computes": kind,
            })
        }).collect::<Vec<_>>(),
        "tensors": net.tensors,
        "train": net.train,
    })
}
