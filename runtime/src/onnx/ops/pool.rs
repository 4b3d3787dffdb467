//! Pooling: `MaxPool` or `AveragePool`; a global average is
//! `GlobalAveragePool` then `Flatten`.

use super::*;
use nnspec_core::conv::PoolGeometry;

pub(super) fn write(w: &mut Writer<'_>, node: &GraphNode, g: &PoolGeometry, one_d: bool, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], true);
    let op = if g.max { "MaxPool" } else { "AveragePool" };
    let written = shaped_out(node, out);
    w.nodes.push(
        Node::new(op, &node.name, &[&x], &[&written])
            .ints_attribute("kernel_shape", &axes(g.kernel, one_d))
            .ints_attribute("strides", &axes(g.stride, one_d)),
    );
    (written, true)
}

pub(super) fn global_average(w: &mut Writer<'_>, node: &GraphNode, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], true);
    let name = &node.name;
    let pooled = format!("{name}.pooled");
    w.nodes.push(Node::new("GlobalAveragePool", name, &[&x], &[&pooled]));
    w.nodes.push(Node::new("Flatten", &format!("{name}.flatten"), &[&pooled], &[&out.name]).int_attribute("axis", 1));
    (out.name, false)
}
