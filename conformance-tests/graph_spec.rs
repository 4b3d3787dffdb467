//! A graph file of the conformance set (`graphs/*.json`, README section 9)
//! written as a `.nn` spec: `linear` becomes a dense layer, activations
//! statements of their own, and every other op the statement of the same name.
//! Shared by the build script, which compiles every file's spec into generated
//! code, and by the tests, which run the same spec through the interpreter.

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
                "    dense {name}({inputs}): {}, bias = {};",
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
        // PyTorch's pools leave out the positions no window covers; some references do so on purpose.
        Ok(format!(
            "/// Conformance graph `{}`.\n#[allow(pool_drops_positions)]\nnetwork {network} {{\n{}\n}}\n",
            file["name"].as_str().unwrap_or(network),
            lines.join("\n")
        ))
    } else {
        Err(missing)
    }
}
