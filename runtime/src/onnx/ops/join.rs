//! The joins: `Add` nodes for a sum of several inputs, `Concat` along the channels or features.

use super::*;

/// Element-wise ops keep their inputs' form: shaped where the node is.
fn inputs(w: &mut Writer<'_>, node: &GraphNode) -> Vec<String> {
    let spatial = node.shape.len() > 1;
    node.inputs.iter().map(|&i| w.input(i, spatial)).collect()
}

pub(super) fn add(w: &mut Writer<'_>, node: &GraphNode, out: Out) -> (String, bool) {
    let inputs = inputs(w, node);
    let name = &node.name;
    let mut sum = inputs[0].clone();
    for (k, x) in inputs.iter().enumerate().skip(1) {
        let next = if k + 1 == inputs.len() { out.name.clone() } else { format!("{name}.partial{k}") };
        w.nodes.push(Node::new("Add", &format!("{name}.add{k}"), &[&sum, x], &[&next]));
        sum = next;
    }
    (out.name, node.shape.len() > 1)
}

pub(super) fn concat(w: &mut Writer<'_>, node: &GraphNode, out: Out) -> (String, bool) {
    let inputs = inputs(w, node);
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    w.nodes.push(Node::new("Concat", &node.name, &refs, &[&out.name]).int_attribute("axis", 1));
    (out.name, node.shape.len() > 1)
}
