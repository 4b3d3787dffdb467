//! The statements an import found, written as `.nn` text, and their weights
//! by the names the plan gives them.

use super::graph::number;
use std::collections::{HashMap, HashSet};

/// A recurrent layer's settings and its tensors in PyTorch's layout.
#[derive(Debug, Clone)]
pub(super) struct Recurrent {
    pub lstm: bool,
    pub hidden: usize,
    pub bidirectional: bool,
    pub sequence: bool,
    /// `(suffix, values)`: `weight_ih_l0` … in PyTorch's gate order.
    pub tensors: Vec<(String, Vec<f32>)>,
}

/// What a statement computes, with its values.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Input,
    Standardize {
        mean: Vec<f32>,
        std: Vec<f32>,
    },
    /// `weight` is nnspec's `[in][out]`.
    Dense {
        units: usize,
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
        activation: Option<String>,
    },
    Conv {
        kernel: Vec<usize>,
        stride: Vec<usize>,
        padding: Vec<usize>,
        dilation: Vec<usize>,
        groups: usize,
        out: usize,
        weight: Vec<f32>,
        bias: Option<Vec<f32>>,
    },
    BatchNorm {
        eps: f32,
        momentum: f32,
        weight: Vec<f32>,
        bias: Vec<f32>,
        mean: Vec<f32>,
        var: Vec<f32>,
    },
    LayerNorm {
        eps: f32,
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    Activation(String),
    Pool {
        max: bool,
        kernel: Vec<usize>,
        stride: Vec<usize>,
    },
    GlobalAvgPool,
    Flatten,
    Add,
    Concat,
    Recurrent(Recurrent),
}

/// One statement: its name hint (made valid when written), what it computes, the statements it reads and its per-sample shape.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<usize>,
    pub shape: Vec<usize>,
}

/// `hint` as a node name: snake case, ASCII, not a keyword, not taken.
fn valid_name(hint: &str, taken: &mut HashSet<String>) -> String {
    let mut name = String::new();
    let mut previous_lower = false;
    for c in hint.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && previous_lower {
                name.push('_');
            }
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            name.push(c.to_ascii_lowercase());
        } else {
            previous_lower = false;
            if !name.ends_with('_') {
                name.push('_');
            }
        }
    }
    let mut name = name.trim_matches('_').to_string();
    if name.is_empty() {
        name = "node".into();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("n{name}");
    }
    if nnspec_lang::vocabulary::rust_keywords().contains(&name.as_str()) {
        name = format!("{name}_node");
    }
    let mut unique = name.clone();
    let mut counter = 2;
    while taken.contains(&unique) {
        unique = format!("{name}_{counter}");
        counter += 1;
    }
    taken.insert(unique.clone());
    unique
}

/// `hint` as a network (type) name: upper camel case.
pub(super) fn type_name(hint: &str) -> String {
    let mut name = String::new();
    let mut upper = true;
    for c in hint.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("Imported{name}");
    }
    if nnspec_lang::vocabulary::rust_keywords().contains(&name.as_str()) {
        name.push_str("Net");
    }
    name
}

/// A value list: one number when every axis agrees, else a tuple.
fn axes(values: &[usize]) -> String {
    if values.windows(2).all(|w| w[0] == w[1]) {
        values[0].to_string()
    } else {
        format!("({})", values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
    }
}

/// A doc comment's text on one line: control characters become spaces.
pub(super) fn doc_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The spec text of `statements` (the statements kept, in order) and, per
/// tensor name, its values.
pub(super) fn write(
    network: &str,
    doc: &[String],
    statements: &[Statement],
    kept: &[usize],
    loss: &str,
) -> (String, HashMap<String, Vec<f32>>) {
    let mut taken = HashSet::new();
    let mut names: HashMap<usize, String> = HashMap::new();
    for &index in kept {
        names.insert(index, valid_name(&statements[index].name, &mut taken));
    }
    let mut text = String::new();
    for line in doc {
        text.push_str(&format!("/// {}\n", doc_line(line)));
    }
    text.push_str(&format!("network {network} {{\n"));
    let mut weights = HashMap::new();
    let mut previous: Option<usize> = None;
    for &index in kept {
        let statement = &statements[index];
        let name = &names[&index];
        let reads: Vec<&str> = statement.inputs.iter().map(|i| names[i].as_str()).collect();
        let chained = statement.inputs.len() == 1 && Some(statement.inputs[0]) == previous;
        let source = if chained || reads.is_empty() { String::new() } else { format!("({})", reads.join(", ")) };
        let mut put = |suffix: &str, values: &[f32]| {
            weights.insert(format!("{name}.{suffix}"), values.to_vec());
        };
        let line = match &statement.op {
            Op::Input => {
                let dims: Vec<String> = statement.shape.iter().map(ToString::to_string).collect();
                format!("input {name}: [{}];", dims.join(", "))
            }
            Op::Standardize { mean, std } => {
                put("mean", mean);
                put("std", std);
                put("count", &[1.0]);
                format!("standardize {name}{source};")
            }
            Op::Dense { units, weight, bias, activation } => {
                put("weight", weight);
                let mut options = Vec::new();
                if let Some(activation) = activation {
                    options.push(format!("activation = {activation}"));
                }
                match bias {
                    Some(bias) => put("bias", bias),
                    None => options.push("bias = false".into()),
                }
                let options: String = options.iter().map(|o| format!(", {o}")).collect();
                format!("dense {name}{source}: {units}{options};")
            }
            Op::Conv { kernel, stride, padding, dilation, groups, out, weight, bias } => {
                put("weight", weight);
                let word = if kernel.len() == 1 { "conv1d" } else { "conv2d" };
                let mut options = vec![format!("kernel = {}", axes(kernel))];
                if stride.iter().any(|&s| s != 1) {
                    options.push(format!("stride = {}", axes(stride)));
                }
                if padding.iter().any(|&p| p != 0) {
                    options.push(format!("padding = {}", axes(padding)));
                }
                if dilation.iter().any(|&d| d != 1) {
                    options.push(format!("dilation = {}", axes(dilation)));
                }
                if *groups != 1 {
                    options.push(format!("groups = {groups}"));
                }
                match bias {
                    Some(bias) => put("bias", bias),
                    None => options.push("bias = false".into()),
                }
                format!("{word} {name}{source}: {out}, {};", options.join(", "))
            }
            Op::BatchNorm { eps, momentum, weight, bias, mean, var } => {
                put("weight", weight);
                put("bias", bias);
                put("running_mean", mean);
                put("running_var", var);
                put("num_batches_tracked", &[0.0]);
                let mut options = String::new();
                if (eps - 1e-5).abs() > 1e-9 {
                    options.push_str(&format!(", eps = {}", number(*eps)));
                }
                if (momentum - 0.1).abs() > 1e-6 {
                    options.push_str(&format!(", momentum = {}", number(*momentum)));
                }
                format!("batch_norm {name}{source}{options};")
            }
            Op::LayerNorm { eps, weight, bias } => {
                put("weight", weight);
                put("bias", bias);
                let options =
                    if (eps - 1e-5).abs() > 1e-9 { format!(", eps = {}", number(*eps)) } else { String::new() };
                format!("layer_norm {name}{source}{options};")
            }
            Op::Activation(activation) => format!("{activation} {name}{source};"),
            Op::Pool { max, kernel, stride } => {
                let word = format!("{}_pool{}d", if *max { "max" } else { "avg" }, kernel.len());
                let stride = if stride == kernel { String::new() } else { format!(", stride = {}", axes(stride)) };
                format!("{word} {name}{source}, kernel = {}{stride};", axes(kernel))
            }
            Op::GlobalAvgPool => format!("global_avg_pool {name}{source};"),
            Op::Flatten => format!("flatten {name}{source};"),
            Op::Add => format!("add {name}({});", reads.join(", ")),
            Op::Concat => format!("concat {name}({});", reads.join(", ")),
            Op::Recurrent(r) => {
                for (suffix, values) in &r.tensors {
                    put(suffix, values);
                }
                let mut options = String::new();
                if r.bidirectional {
                    options.push_str(", bidirectional = true");
                }
                if r.sequence {
                    options.push_str(", sequence = true");
                }
                format!("{} {name}{source}: {}{options};", if r.lstm { "lstm" } else { "gru" }, r.hidden)
            }
        };
        text.push_str("    ");
        text.push_str(&line);
        text.push('\n');
        previous = Some(index);
    }
    text.push_str(&format!("    loss {loss};\n}}\n"));
    (text, weights)
}
