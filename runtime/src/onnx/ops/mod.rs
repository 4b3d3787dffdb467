//! One module per op kind: the ONNX nodes of each graph node at inference.
//! [`write`] is the only place the export matches on [`Op`].

use super::{int64_tensor, tensor, Message, Node, Out, Writer};
use nnspec_core::graph::{Node as GraphNode, Op};
use nnspec_core::plan::Role;

pub(super) mod activation;
mod conv;
mod dense;
mod join;
mod norm;
mod pool;
mod recurrent;

/// Writes graph node `node`'s ONNX nodes; the name of its value and whether
/// that value is shaped `[N, C, (H,) W]` (else flat `[N, F]`).
pub(super) fn write(w: &mut Writer<'_>, node: &GraphNode, out: Out) -> (String, bool) {
    match node.op {
        Op::Input => (w.values.names[0].clone(), false),
        Op::Dense { activation, .. } => dense::write(w, node, activation, out),
        Op::Dropout(_) | Op::Flatten => pass_through(w, node, out),
        Op::Add => join::add(w, node, out),
        Op::Concat => join::concat(w, node, out),
        Op::Activation(f) => activation::write(w, node, f, out),
        Op::LayerNorm { eps } => norm::layer_norm(w, node, eps, out),
        Op::Standardize => norm::standardize(w, node, out),
        Op::BatchNorm { eps, .. } => norm::batch_norm(w, node, eps, out),
        Op::Conv { geometry, one_d, .. } => conv::write(w, node, &geometry, one_d, out),
        Op::Pool { geometry, one_d } => pool::write(w, node, &geometry, one_d, out),
        Op::GlobalAvgPool(_) => pool::global_average(w, node, out),
        Op::Recurrent(geometry) => recurrent::write(w, node, &geometry, out),
    }
}

/// Inverted dropout is the identity at inference, and flattening moves no
/// value: the input's value, under the output's name if it is the last node.
/// A flatten hands on the flat form.
fn pass_through(w: &mut Writer<'_>, node: &GraphNode, out: Out) -> (String, bool) {
    let input = node.inputs[0];
    let (x, shaped) = match node.op {
        Op::Flatten => (w.input(input, false), false),
        _ => (w.values.names[input].clone(), w.values.shaped[input]),
    };
    if out.last {
        w.nodes.push(Node::new("Identity", &node.name, &[&x], &[&out.name]));
        (out.name, shaped)
    } else {
        (x, shaped)
    }
}

/// `[k]` for a 1-D op, `[kh, kw]` for a 2-D one.
fn axes(pair: [usize; 2], one_d: bool) -> Vec<usize> {
    if one_d {
        vec![pair[1]]
    } else {
        pair.to_vec()
    }
}

/// The name a shaped node writes: not `output` itself, which is flat (the
/// export flattens it after).
fn shaped_out(node: &GraphNode, out: Out) -> String {
    if out.last {
        format!("{}.out", node.name)
    } else {
        out.name
    }
}
