//! A convolution: one `Conv` node with its weight and bias as initializers.

use super::*;
use nnspec_core::conv::ConvGeometry;

pub(super) fn write(w: &mut Writer<'_>, node: &GraphNode, g: &ConvGeometry, one_d: bool, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], true);
    let name = node.name.as_ref();
    let mut operands = vec![x, w.param(out.node, Role::Weight).expect("a convolution has its weights")];
    operands.extend(w.param(out.node, Role::Bias));
    let refs: Vec<&str> = operands.iter().map(String::as_str).collect();
    let pads = if one_d {
        vec![g.padding[1], g.padding[1]]
    } else {
        vec![g.padding[0], g.padding[1], g.padding[0], g.padding[1]]
    };
    let written = shaped_out(node, out);
    w.nodes.push(
        Node::new("Conv", name, &refs, &[&written])
            .ints_attribute("kernel_shape", &axes(g.kernel, one_d))
            .ints_attribute("strides", &axes(g.stride, one_d))
            .ints_attribute("pads", &pads)
            .ints_attribute("dilations", &axes(g.dilation, one_d))
            .int_attribute("group", g.groups as i64),
    );
    (written, true)
}
