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
        say!(
            "{:<16} {:<14} {:<14} {:>10} {:>12} {:>12}",
            "layer",
            "activation",
            "output shape",
            "params",
            "FLOPs/sample",
            "bytes/sample"
        );
        say!(
            "{:<16} {:<14} {:<14} {:>10} {:>12} {:>12}",
            net.input_name,
            "input",
            format!("[{}]", net.input_size),
            0,
            0,
            4 * net.input_size
        );
        for layer in &net.layers {
            let params = layer.inputs * layer.units + if layer.bias { layer.units } else { 0 };
            let flops = 2 * layer.inputs * layer.units + if layer.bias { layer.units } else { 0 };
            let mut activation = layer.activation.name().to_string();
            if let Some(p) = layer.dropout {
                activation.push_str(&format!("+drop{p}"));
            }
            say!(
                "{:<16} {:<14} {:<14} {:>10} {:>12} {:>12}",
                layer.name,
                activation,
                format!("[{}]", layer.units),
                params,
                flops,
                4 * layer.units
            );
        }
        let stack: usize = net.layers.iter().map(|l| 4 * l.units).sum();
        say!("total: {} parameters ({} bytes), {} FLOPs per forward sample, predict uses {} bytes of stack for activations", net.param_count, 4 * net.param_count, net.forward_flops(), stack);
        say!("train: {}\n", describe_train(&net.train));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn describe_train(train: &ir::TrainConfig) -> String {
    let batch = match train.batch {
        ir::BatchSize::Full => "full".to_string(),
        ir::BatchSize::Size(n) => n.to_string(),
    };
    format!(
        "optimizer {} (lr {}), batch {batch}, epochs {}, seed {}{}",
        convert::optimizer(&train.optimizer).name(),
        train.optimizer.lr(),
        train.epochs,
        train.seed,
        if train.validation_split > 0.0 { format!(", validation {}", train.validation_split) } else { String::new() }
    )
}

pub(crate) fn summary_json(net: &ir::Network) -> serde_json::Value {
    serde_json::json!({
        "name": net.name,
        "input": net.input_size,
        "output": net.output_size(),
        "loss": net.loss.name(),
        "param_count": net.param_count,
        "forward_flops": net.forward_flops(),
        "predict_stack_bytes": net.layers.iter().map(|l| 4 * l.units).sum::<usize>(),
        "layers": net.layers.iter().map(|l| serde_json::json!({
            "name": l.name, "inputs": l.inputs, "units": l.units, "activation": l.activation.name(),
            "bias": l.bias, "dropout": l.dropout,
            "params": l.inputs * l.units + if l.bias { l.units } else { 0 },
            "flops": 2 * l.inputs * l.units + if l.bias { l.units } else { 0 },
        })).collect::<Vec<_>>(),
        "tensors": net.tensors,
        "train": net.train,
    })
}
