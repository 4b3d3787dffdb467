//! A dense layer: `Gemm` (or `MatMul` without a bias), then its activation.

use super::*;

pub(super) fn write(w: &mut Writer<'_>, node: &GraphNode, f: nnspec_core::Activation, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], false);
    let name = node.name.as_ref();
    let a = if out.last { out.name } else { format!("{name}.a") };
    let weight = w.param(out.node, Role::Weight).expect("every dense layer has a weight tensor");
    let z = format!("{name}.z");
    match w.param(out.node, Role::Bias) {
        Some(bias) => w.nodes.push(Node::new("Gemm", name, &[&x, &weight, &bias], &[&z])),
        None => w.nodes.push(Node::new("MatMul", name, &[&x, &weight], &[&z])),
    }
    activation::nodes(name, f, &z, &a, &mut w.nodes, &mut w.initializers);
    (a, false)
}
