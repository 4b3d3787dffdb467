//! A graph file of the conformance set (`graphs/*.json`, README section 9)
//! written as a `.nn` spec: `linear` becomes a dense layer, activations
//! statements of their own, and every other op the statement of the same name.
//! Shared by the build script, which compiles every file's spec into generated
//! code, and by the tests, which run the same spec through the interpreter.
//! The pass-mark entries of `datasets/references.json` describe their
//! architectures in the same node format; [`trained_spec`] writes one with its
//! training recipe as the `train { … }` block.

use serde_json::Value;

/// The numbers of a JSON array, flattened.
fn flat(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => other.as_f64().into_iter().collect(),
    }
}

/// The spec of a graph file, or the ops it needs that the language lacks.
pub fn spec(file: &Value, network: &str) -> Result<String, Vec<String>> {
    let lines = statements(file, "")?;
    Ok(wrap(file, network, &lines))
}

/// The spec of a pass-mark entry's `architecture` (`{input, nodes, loss}`)
/// with its `training` recipe (`{optimizer, hyperparameters, epochs,
/// batch_size}`) as the `train { … }` block, and PyTorch's default
/// initialisation on the dense layers as the recipe states (convolutions have
/// it by default). Errors name what the language cannot say.
pub fn trained_spec(architecture: &Value, training: &Value, network: &str) -> Result<String, String> {
    let mut lines = statements(architecture, ", init = torch_default, bias_init = torch_default")
        .map_err(|missing| format!("ops the language lacks: {}", missing.join(", ")))?;
    let optimizer = training["optimizer"].as_str().ok_or("the training recipe names no optimizer")?;
    let settings: Vec<String> = training["hyperparameters"]
        .as_object()
        .ok_or("the training recipe has no hyper-parameters")?
        .iter()
        .map(|(key, value)| match value {
            Value::Array(pair) => {
                let items: Vec<String> = pair.iter().map(Value::to_string).collect();
                format!("{key} = ({})", items.join(", "))
            }
            other => format!("{key} = {other}"),
        })
        .collect();
    let number = |key: &str| training[key].as_u64().ok_or_else(|| format!("the training recipe has no `{key}`"));
    lines.push(format!(
        "    train {{ optimizer = {}({}), batch = {}, epochs = {} }}",
        optimizer.to_lowercase(),
        settings.join(", "),
        number("batch_size")?,
        number("epochs")?
    ));
    Ok(wrap(architecture, network, &lines))
}

/// The network's statements (input, nodes, loss), `dense_options` appended to each dense layer's.
fn statements(file: &Value, dense_options: &str) -> Result<Vec<String>, Vec<String>> {
    let input = &file["input"];
    let shape: Vec<usize> = flat(&input["shape"]).iter().map(|d| *d as usize).collect();
    let mut missing = Vec::new();
    let dims = shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ");
    let mut lines = vec![format!("    input {}: [{dims}];", input["name"].as_str().unwrap())];
    // `[k]` or `[kh, kw]` in the file; a number or a pair in the spec.
    let axes = |node: &Value, key: &str| {
        let values: Vec<String> = flat(&node[key]).iter().map(|v| (*v as usize).to_string()).collect();
        match values.as_slice() {
            [one] => one.clone(),
            many => format!("({})", many.join(", ")),
        }
    };
    for node in file["nodes"].as_array().unwrap() {
        let name = node["name"].as_str().unwrap();
        let inputs: Vec<&str> = node["inputs"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let inputs = inputs.join(", ");
        let op = node["op"].as_str().unwrap();
        lines.push(match op {
            "linear" => format!(
                "    dense {name}({inputs}): {}, bias = {}{dense_options};",
                node["out_features"],
                node["bias"].as_bool().unwrap_or(true)
            ),
            "relu" | "tanh" | "sigmoid" | "gelu" | "identity" => format!("    {op} {name}({inputs});"),
            "leaky_relu" => format!("    leaky_relu({}) {name}({inputs});", node["negative_slope"]),
            "add" | "concat" => format!("    {op} {name}({inputs});"),
            "layer_norm" => format!("    layer_norm {name}({inputs}), eps = {};", node["eps"]),
            "batch_norm" => format!(
                "    batch_norm {name}({inputs}), eps = {}, momentum = {};",
                node["eps"], node["momentum"]
            ),
            "conv1d" | "conv2d" => format!(
                "    {op} {name}({inputs}): {}, kernel = {}, stride = {}, padding = {}, dilation = {}, groups = {}, bias = {};",
                node["out_channels"],
                axes(node, "kernel_size"),
                axes(node, "stride"),
                axes(node, "padding"),
                axes(node, "dilation"),
                node["groups"],
                node["bias"].as_bool().unwrap_or(true)
            ),
            "max_pool1d" | "max_pool2d" | "avg_pool1d" | "avg_pool2d" => format!(
                "    {op} {name}({inputs}), kernel = {}, stride = {}, padding = {};",
                axes(node, "kernel_size"),
                axes(node, "stride"),
                axes(node, "padding")
            ),
            "global_avg_pool" | "flatten" => format!("    {op} {name}({inputs});"),
            "gru" | "lstm" => format!(
                "    {op} {name}({inputs}): {}, bidirectional = {}, sequence = {};",
                node["hidden_size"],
                node["bidirectional"].as_bool().unwrap_or(false),
                node["return"] == "sequence"
            ),
            other => {
                if !missing.iter().any(|m| m == other) {
                    missing.push(other.to_string());
                }
                continue;
            }
        });
    }
    // The files name their losses as the language does.
    let loss = file["loss"]["type"].as_str().unwrap();
    lines.push(format!("    loss {loss};"));
    if missing.is_empty() {
        Ok(lines)
    } else {
        Err(missing)
    }
}

/// The statements as a network of the given name.
fn wrap(file: &Value, network: &str, lines: &[String]) -> String {
    // PyTorch's pools leave out the positions no window covers; some references do so on purpose.
    format!(
        "/// Conformance graph `{}`.\n#[allow(pool_drops_positions)]\nnetwork {network} {{\n{}\n}}\n",
        file["name"].as_str().unwrap_or(network),
        lines.join("\n")
    )
}
