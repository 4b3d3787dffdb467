//! Normalisations: `LayerNormalization`, `BatchNormalization` with the
//! running statistics (as `predict` uses them), and a standardisation as
//! `Sub` and `Div` by the training data's statistics.

use super::*;

pub(super) fn layer_norm(w: &mut Writer<'_>, node: &GraphNode, eps: f32, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], false);
    let name = node.name.as_ref();
    let scale = w.param(out.node, Role::Scale).expect("a layer norm has its scale");
    let shift = w.param(out.node, Role::Shift).expect("a layer norm has its shift");
    w.nodes.push(
        Node::new("LayerNormalization", name, &[&x, &scale, &shift], &[&out.name])
            .int_attribute("axis", -1)
            .float_attribute("epsilon", eps),
    );
    (out.name, false)
}

pub(super) fn standardize(w: &mut Writer<'_>, node: &GraphNode, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], false);
    let name = node.name.as_ref();
    let mean = w.buffer(name, "mean").expect("a standardisation has its mean");
    let std = w.buffer(name, "std").expect("a standardisation has its deviation");
    let centred = format!("{name}.centred");
    w.nodes.push(Node::new("Sub", &format!("{name}.centre"), &[&x, &mean], &[&centred]));
    w.nodes.push(Node::new("Div", &format!("{name}.scale"), &[&centred, &std], &[&out.name]));
    (out.name, false)
}

pub(super) fn batch_norm(w: &mut Writer<'_>, node: &GraphNode, eps: f32, out: Out) -> (String, bool) {
    let spatial = node.shape.len() > 1;
    let x = w.input(node.inputs[0], spatial);
    let name = node.name.as_ref();
    let mut operands = vec![x];
    for role in [Role::Scale, Role::Shift] {
        operands.push(w.param(out.node, role).expect("a batch norm has its scale and shift"));
    }
    for suffix in ["running_mean", "running_var"] {
        operands.push(w.buffer(name, suffix).expect("a batch norm has its running statistics"));
    }
    let refs: Vec<&str> = operands.iter().map(String::as_str).collect();
    let written = if out.last && spatial { format!("{name}.out") } else { out.name };
    w.nodes.push(Node::new("BatchNormalization", name, &refs, &[&written]).float_attribute("epsilon", eps));
    (written, spatial)
}
