//! A GRU or LSTM layer, [`Op::Recurrent`](crate::graph::Op::Recurrent).

use super::*;
use crate::recurrent::{RecurrentGeometry, MAX_GATE_ROWS};

/// One input of `[T][F]` values, the output the geometry's, and gate rows within the kernel's bound.
pub(super) fn fits(g: &RecurrentGeometry, node: &Node, nodes: &[Node]) -> bool {
    g.steps > 0
        && g.features > 0
        && g.hidden > 0
        && g.gates() * g.hidden <= MAX_GATE_ROWS
        && (!g.channels_first || g.features <= MAX_GATE_ROWS)
        && single(node, nodes).is_some_and(|input| input.width == g.input_len())
        && node.width == g.output_len()
}

/// Per direction, PyTorch's four tensors in PyTorch's order and layout:
/// `weight_ih` `[G·H][F]`, `weight_hh` `[G·H][H]`, `bias_ih`, `bias_hh`
/// `[G·H]`; all U(±1/√H) by default (PyTorch's), penalties on the weights.
pub(super) fn tensors(g: &RecurrentGeometry, settings: ParamSettings) -> Vec<TensorSpec> {
    let rows = g.gates() * g.hidden;
    // PyTorch's bound 1/√H is the default initializer's 1/√fan_in with fan_in = H.
    let fans = (g.hidden, rows);
    let weight = settings.init.unwrap_or(Init::TorchDefault);
    let bias = settings.bias_init.unwrap_or(Init::TorchDefault);
    let penalties = (settings.l1, settings.l2);
    let mut tensors = Vec::new();
    for reverse in [false, true].into_iter().take(g.directions()) {
        let weights = [(Role::InputWeight { reverse }, g.features), (Role::StateWeight { reverse }, g.hidden)];
        for (role, columns) in weights {
            tensors.push(TensorSpec { role, shape: alloc::vec![rows, columns], init: weight, fans, penalties });
        }
        for role in [Role::InputBias { reverse }, Role::StateBias { reverse }] {
            tensors.push(TensorSpec { role, shape: alloc::vec![rows], init: bias, fans, penalties: (0.0, 0.0) });
        }
    }
    tensors
}

/// Two per multiply-add of the input and state products.
pub(super) fn flops(g: &RecurrentGeometry) -> usize {
    2 * g.multiply_adds()
}

pub(super) fn forward(cx: &mut Lowering<'_>, geometry: RecurrentGeometry, input: Source) -> Source {
    let params = cx.net.param_range(cx.index);
    let output = cx.take(cx.node().width, "out");
    let cache = cx.take(geometry.cache_len(), "cache");
    cx.steps.push(Step::Recurrent { input, params, output, cache, geometry });
    cx.state.caches[cx.index] = Some(cache);
    Source::Buf(output)
}

pub(super) fn backward(cx: &mut Lowering<'_>, geometry: RecurrentGeometry, grad: Buf) {
    let params = cx.net.param_range(cx.index);
    let cache = cx.state.caches[cx.index].expect("a recurrent node keeps its cache");
    let input = cx.node().inputs[0];
    let (dx, accumulate) = cx.input_gradient(input);
    let source = cx.state.values[input];
    cx.steps.push(Step::RecurrentBackward { input: source, params, cache, dout: grad, dx, geometry });
    cx.accumulate(dx, accumulate);
}
