//! One module per op kind: its shape rule, its parameter and buffer tensors,
//! and the kernel calls it adds to the forward and backward passes.
//!
//! `lower.rs` walks the graph (the node order forward, its reverse backward)
//! and owns the gradient plumbing every op shares (a gradient buffer per
//! node, written by its first contribution and accumulated into by the
//! others); the functions below are the only places that match on [`Op`],
//! one arm per op kind, each a call into that kind's module.

use super::lower::Lowering;
use super::{Buf, Role, Source, Step, TensorSpec};
use crate::graph::{Node, Op, ParamSettings};
use crate::vocabulary::Init;
use crate::Activation;
use alloc::vec::Vec;

mod activation;
mod conv;
mod dense;
mod dropout;
mod join;
mod norm;
mod pool;
mod recurrent;

/// The node's only input, if it has exactly one.
fn single<'n>(node: &Node, nodes: &'n [Node]) -> Option<&'n Node> {
    match *node.inputs {
        [input] => Some(&nodes[input]),
        _ => None,
    }
}

/// Whether the node's inputs fit its op (a dense node's layer is checked by the caller).
pub(super) fn fits(node: &Node, nodes: &[Node]) -> bool {
    match node.op {
        Op::Input => false,
        Op::Dense { .. } => single(node, nodes).is_some(),
        Op::Dropout(p) => dropout::fits(p, node, nodes),
        Op::Add => join::add_fits(node, nodes),
        Op::Concat => join::concat_fits(node, nodes),
        Op::Activation(_) | Op::LayerNorm { .. } | Op::Flatten => {
            single(node, nodes).is_some_and(|input| input.width == node.width)
        }
        Op::Standardize => norm::standardize_fits(node, nodes),
        Op::BatchNorm { channels, eps, momentum } => norm::batch_norm_fits(channels, eps, momentum, node, nodes),
        Op::Conv { geometry, .. } => conv::fits(&geometry, node, nodes),
        Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => pool::fits(&geometry, node, nodes),
        Op::Recurrent(geometry) => recurrent::fits(&geometry, node, nodes),
    }
}

/// The node's parameter tensors, in buffer order, with their initializers,
/// fans and penalties (the node's settings over its op's defaults).
pub(super) fn tensors(node: &Node, nodes: &[Node]) -> Vec<TensorSpec> {
    match node.op {
        Op::Dense { bias, .. } => dense::tensors(bias, node, nodes),
        Op::LayerNorm { .. } => norm::scale_shift(node.width, node),
        Op::BatchNorm { channels, .. } => norm::scale_shift(channels, node),
        Op::Conv { geometry, bias, one_d } => conv::tensors(&geometry, bias, one_d, node.params),
        Op::Recurrent(geometry) => recurrent::tensors(&geometry, node.params),
        Op::Input
        | Op::Dropout(_)
        | Op::Add
        | Op::Concat
        | Op::Activation(_)
        | Op::Standardize
        | Op::Pool { .. }
        | Op::GlobalAvgPool(_)
        | Op::Flatten => Vec::new(),
    }
}

/// Floating-point operations per sample of the node's forward pass (2 per
/// multiply-add; element-wise activations and moves count 0).
pub(super) fn flops(node: &Node, nodes: &[Node]) -> usize {
    match node.op {
        Op::Dense { bias, .. } => dense::flops(bias, node, nodes),
        Op::Add => join::add_flops(node),
        Op::LayerNorm { .. } => norm::layer_norm_flops(node.width),
        Op::Standardize => norm::standardize_flops(node.width),
        Op::BatchNorm { .. } => norm::batch_norm_flops(node.width),
        Op::Conv { geometry, bias, .. } => conv::flops(&geometry, bias),
        Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => pool::flops(&geometry),
        Op::Recurrent(geometry) => recurrent::flops(&geometry),
        Op::Input | Op::Dropout(_) | Op::Concat | Op::Activation(_) | Op::Flatten => 0,
    }
}

/// The node's buffer tensors: name suffix, shape and initial value.
pub(super) fn buffers(node: &Node) -> Vec<(&'static str, Vec<usize>, f32)> {
    match node.op {
        Op::BatchNorm { channels, .. } => norm::batch_norm_buffers(channels),
        Op::Standardize => norm::standardize_buffers(node.width),
        Op::Input
        | Op::Dense { .. }
        | Op::Dropout(_)
        | Op::Add
        | Op::Concat
        | Op::Activation(_)
        | Op::LayerNorm { .. }
        | Op::Conv { .. }
        | Op::Recurrent(_)
        | Op::Pool { .. }
        | Op::GlobalAvgPool(_)
        | Op::Flatten => Vec::new(),
    }
}

/// Adds the current node's forward steps, given where its inputs' values
/// lie; returns where its consumers read its value.
pub(super) fn forward(cx: &mut Lowering<'_>, inputs: &[Source]) -> Source {
    let node = cx.node();
    match node.op {
        Op::Input => Source::Input,
        Op::Dense { activation, .. } => dense::forward(cx, activation, inputs[0]),
        Op::Dropout(p) => dropout::forward(cx, p, inputs[0]),
        Op::Activation(activation) => activation::forward(cx, activation, inputs[0]),
        Op::LayerNorm { eps } => norm::layer_norm_forward(cx, eps, inputs[0]),
        Op::BatchNorm { channels, eps, momentum } => norm::batch_norm_forward(cx, (channels, eps, momentum), inputs[0]),
        Op::Standardize => norm::standardize_forward(cx, inputs[0]),
        Op::Conv { geometry, .. } => conv::forward(cx, geometry, inputs[0]),
        Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => pool::forward(cx, geometry, inputs[0]),
        Op::Recurrent(geometry) => recurrent::forward(cx, geometry, inputs[0]),
        Op::Flatten => inputs[0],
        Op::Add => join::add_forward(cx, inputs),
        Op::Concat => join::concat_forward(cx, inputs),
    }
}

/// Adds the current node's backward steps, given `grad`, the gradient with
/// respect to its value (with respect to its pre-activation for the head).
pub(super) fn backward(cx: &mut Lowering<'_>, grad: Buf) {
    let node = cx.node();
    match node.op {
        // Standardisation reads the network's input, which needs no gradient.
        Op::Input | Op::Standardize => {}
        Op::Dense { activation, .. } => dense::backward(cx, activation, grad),
        Op::Dropout(_) => dropout::backward(cx, grad),
        Op::Activation(activation) => activation::backward(cx, activation, grad),
        Op::Conv { geometry, .. } => conv::backward(cx, geometry, grad),
        Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => pool::backward(cx, geometry, grad),
        Op::Recurrent(geometry) => recurrent::backward(cx, geometry, grad),
        Op::Flatten => cx.pass_through(node.inputs[0], grad),
        Op::LayerNorm { .. } => norm::layer_norm_backward(cx, grad),
        Op::BatchNorm { channels, .. } => norm::batch_norm_backward(cx, channels, grad),
        Op::Add => join::add_backward(cx, grad),
        Op::Concat => join::concat_backward(cx, grad),
    }
}
