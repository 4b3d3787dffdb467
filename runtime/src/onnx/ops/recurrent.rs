//! A GRU or LSTM layer: ONNX's `GRU` (`linear_before_reset = 1`, PyTorch's
//! placement of the reset gate) or `LSTM`, time first, with the weights'
//! gate blocks in ONNX's order (GRU z, r, h; LSTM i, o, f, c) and
//! `Transpose`/`Reshape` around it for nnspec's batch-first rows.

use super::*;
use nnspec_core::recurrent::{Cell, RecurrentGeometry};

pub(super) fn write(w: &mut Writer<'_>, node: &GraphNode, g: &RecurrentGeometry, out: Out) -> (String, bool) {
    let x = w.input(node.inputs[0], true);
    let name = node.name.as_ref();
    let (h, rows, dirs) = (g.hidden, g.gates() * g.hidden, g.directions());
    // Where PyTorch's gate block k goes in ONNX's order.
    let order: &[usize] = match g.cell {
        Cell::Gru => &[1, 0, 2],
        Cell::Lstm => &[0, 2, 3, 1],
    };
    let reorder = |values: &[f32], cols: usize| -> Vec<f32> {
        let mut onnx = vec![0.0; values.len()];
        for (block, &to) in order.iter().enumerate() {
            let (from, to) = (block * h * cols, to * h * cols);
            onnx[to..to + h * cols].copy_from_slice(&values[from..from + h * cols]);
        }
        onnx
    };
    let tensor_values = |w: &Writer<'_>, role: Role| -> Vec<f32> {
        w.param_values(out.node, role).expect("a recurrent node has its tensors").1.to_vec()
    };
    let (mut weights, mut recurrence, mut biases) = (Vec::new(), Vec::new(), Vec::new());
    for reverse in [false, true].into_iter().take(dirs) {
        weights.extend(reorder(&tensor_values(w, Role::InputWeight { reverse }), g.features));
        recurrence.extend(reorder(&tensor_values(w, Role::StateWeight { reverse }), h));
        biases.extend(reorder(&tensor_values(w, Role::InputBias { reverse }), 1));
        biases.extend(reorder(&tensor_values(w, Role::StateBias { reverse }), 1));
    }
    let weight = w.initializer(format!("{name}.W"), &[dirs, rows, g.features], &weights);
    let recurrent = w.initializer(format!("{name}.R"), &[dirs, rows, h], &recurrence);
    let bias = w.initializer(format!("{name}.B"), &[dirs, 2 * rows], &biases);
    // [N, T, F] → [T, N, F]; a convolution's [N, C, L] → [L, N, C].
    let time_first = format!("{name}.x");
    let perm: &[usize] = if g.channels_first { &[2, 0, 1] } else { &[1, 0, 2] };
    w.nodes.push(Node::new("Transpose", &time_first, &[&x], &[&time_first]).ints_attribute("perm", perm));
    let (y, y_h) = (format!("{name}.Y"), format!("{name}.Y_h"));
    let op = match g.cell {
        Cell::Gru => "GRU",
        Cell::Lstm => "LSTM",
    };
    let mut cell = Node::new(op, name, &[&time_first, &weight, &recurrent, &bias], &[&y, &y_h])
        .int_attribute("hidden_size", h as i64)
        .string_attribute("direction", if g.bidirectional { "bidirectional" } else { "forward" });
    if g.cell == Cell::Gru {
        cell = cell.int_attribute("linear_before_reset", 1);
    }
    w.nodes.push(cell);
    let written = if out.last { out.name.clone() } else { format!("{name}.out") };
    if g.sequence {
        // Y [T, D, N, H] → [N, T, D, H] → [N, T, D·H], the node's shaped value.
        let moved = format!("{name}.Y.batch_first");
        w.nodes.push(Node::new("Transpose", &moved, &[&y], &[&moved]).ints_attribute("perm", &[2, 0, 1, 3]));
        let target = format!("{name}.Y.shape");
        w.initializers.push(int64_tensor(&target, &[0, g.steps as i64, (dirs * h) as i64]));
        let shaped = shaped_out(node, out);
        w.nodes.push(Node::new("Reshape", &shaped, &[&moved, &target], &[&shaped]));
        (shaped, true)
    } else {
        // Y_h [D, N, H] → [N, D, H] → [N, D·H], flat.
        let moved = format!("{name}.Y_h.batch_first");
        w.nodes.push(Node::new("Transpose", &moved, &[&y_h], &[&moved]).ints_attribute("perm", &[1, 0, 2]));
        w.nodes.push(Node::new("Flatten", &written, &[&moved], &[&written]).int_attribute("axis", 1));
        (written, false)
    }
}
