//! `GRU` and `LSTM`, their zero states, the `Transpose`/`Reshape` around
//! them and the `Gather` of a last step.

use super::*;

impl<'g> Converter<'g> {
    /// A recurrent output in `axes` order: a flow once it is batch first, as nnspec writes it.
    pub(super) fn recurrent_value(&self, stmt: usize, sequence: bool, axes: Vec<(Axis, usize)>) -> Value {
        let kinds: Vec<Axis> = axes.iter().map(|a| a.0).collect();
        let batch_first = if sequence {
            matches!(
                kinds.as_slice(),
                [Axis::Batch, Axis::Time, Axis::Hidden] | [Axis::Batch, Axis::Time, Axis::Direction, Axis::Hidden]
            )
        } else {
            matches!(kinds.as_slice(), [Axis::Batch, Axis::Hidden] | [Axis::Batch, Axis::Direction, Axis::Hidden])
        };
        if batch_first {
            Value::Flow(Flow { stmt, shape: axes[1..].iter().map(|a| a.1).collect(), own: true })
        } else {
            Value::Recurrent { stmt, sequence, axes }
        }
    }

    /// A `Reshape` of a recurrent output: the same bytes as a batch-first value when every axis before the batch has one entry.
    pub(super) fn recurrent_reshape(
        &mut self,
        node: &Node,
        stmt: usize,
        sequence: bool,
        axes: Vec<(Axis, usize)>,
        dims: &[Dim],
    ) -> Result<Value, Problem> {
        let Some(at) = axes.iter().position(|a| a.0 == Axis::Batch) else {
            return Err(problem(node, "reshapes a recurrent output whose batch axis was taken away"));
        };
        // [.., D, H] → [.., D·H] with every other axis kept: PyTorch's merge of the two directions.
        let n = axes.len();
        if n >= 3 && dims.len() == n - 1 && axes[n - 2].0 == Axis::Direction && axes[n - 1].0 == Axis::Hidden {
            let kept = axes[..n - 2].iter().zip(dims).all(|(&(axis, size), dim)| match (axis, dim) {
                (Axis::Batch, Dim::Batch | Dim::Known(0)) => true,
                (Axis::Batch, Dim::Known(k)) => Some(*k) == self.fixed_batch,
                (_, Dim::Known(k)) => *k == 0 || *k == size as i64,
                _ => false,
            });
            let merged = axes[n - 2].1.saturating_mul(axes[n - 1].1);
            if kept && (dims[n - 2] == Dim::Known(-1) || dims[n - 2] == Dim::Known(merged as i64)) {
                let mut merged_axes = axes[..n - 2].to_vec();
                merged_axes.push((Axis::Hidden, merged));
                return Ok(self.recurrent_value(stmt, sequence, merged_axes));
            }
        }
        if axes[..at].iter().any(|a| a.1 != 1) {
            let kinds: Vec<Axis> = axes.iter().map(|a| a.0).collect();
            return Err(problem(
                node,
                format!("reshapes a recurrent output laid out as {kinds:?}, which mixes samples"),
            ));
        }
        let _ = sequence;
        let order: Vec<Axis> = axes[at + 1..].iter().map(|a| a.0).collect();
        let expected: &[Axis] = &[Axis::Time, Axis::Direction, Axis::Hidden];
        let mut kept = expected.iter().filter(|k| order.contains(k));
        if !order.iter().all(|k| Some(k) == kept.next()) {
            return Err(problem(node, format!("reshapes a recurrent output laid out as {order:?} after the batch")));
        }
        let shape: Vec<usize> = axes[at + 1..].iter().map(|a| a.1).collect();
        let nn = self.statements[stmt].shape.clone();
        let flow = Flow { stmt, shape: if shape.is_empty() { nn } else { shape }, own: true };
        let target = self.per_sample(node, dims, &flow.shape)?;
        Ok(Value::Flow(self.reshaped(node, flow, target)?))
    }

    pub(super) fn gather(&mut self, node: &Node) -> Result<(), Problem> {
        let index = self.constant(node, 1).and_then(|t| {
            if t.dims.is_empty() {
                t.ints().and_then(|v| v.first().copied())
            } else {
                None
            }
        });
        let axis = int_attr(node, "axis", 0);
        match (self.input(node, 0).cloned(), index) {
            (Some(Value::Recurrent { stmt, sequence, mut axes }), Some(index)) => {
                let rank = axes.len() as i64;
                let axis = if axis < 0 { axis + rank } else { axis } as usize;
                match axes.get(axis) {
                    Some(&(Axis::Direction, 1)) if index == 0 || index == -1 => {
                        axes.remove(axis);
                        let value = self.recurrent_value(stmt, sequence, axes);
                        self.set(node, value);
                        Ok(())
                    }
                    _ => Err(problem(node, "selects from a recurrent output other than its single direction")),
                }
            }
            _ => Err(problem(node, "gathers from the network's values; nnspec gathers only in shape arithmetic")),
        }
    }

    pub(super) fn recurrent(&mut self, node: &Node) -> Result<(), Problem> {
        let lstm = node.op == "LSTM";
        let x = match self.input(node, 0).cloned() {
            Some(Value::TimeFirst(x)) if int_attr(node, "layout", 0) == 0 => x,
            Some(Value::Transposed(x)) if int_attr(node, "layout", 0) == 1 => x,
            Some(Value::Flow(x))
                if int_attr(node, "layout", 0) == 1 && x.shape.len() == 2 && !channel_first(&self.statements, x.stmt) =>
            {
                x
            }
            _ => {
                return Err(problem(
                    node,
                    "reads a sequence nnspec cannot lay out (a recurrent statement reads [T, F] samples, time first within each)",
                ))
            }
        };
        if !matches!(self.statements[x.stmt].shape.as_slice(), [_, _]) {
            return Err(problem(node, "reads a value that is not a [T, F] sequence"));
        }
        let (steps, features) = (x.shape[0], x.shape[1]);
        let hidden = int_attr(node, "hidden_size", 0);
        let direction = text_attr(node, "direction").unwrap_or_else(|| "forward".into());
        let bidirectional = match direction.as_str() {
            "forward" => false,
            "bidirectional" => true,
            other => {
                return Err(problem(node, format!("runs in direction `{other}`; nnspec runs forward or bidirectional")))
            }
        };
        if !(1..=1 << 20).contains(&hidden) {
            return Err(problem(node, format!("has hidden_size {hidden}")));
        }
        let hidden = hidden as usize;
        if !lstm && int_attr(node, "linear_before_reset", 0) != 1 {
            return Err(problem(
                node,
                "has linear_before_reset = 0; nnspec's GRU is PyTorch's, which applies the reset gate after the hidden layer's product (linear_before_reset = 1)",
            ));
        }
        for attribute in ["activations", "activation_alpha", "activation_beta", "clip"] {
            if node.attribute(attribute).is_some() {
                return Err(problem(node, format!("sets `{attribute}`; nnspec's gates are PyTorch's")));
            }
        }
        if lstm && int_attr(node, "input_forget", 0) != 0 {
            return Err(problem(node, "couples the input and forget gates (input_forget = 1)"));
        }
        if node.inputs.get(4).is_some_and(|n| !n.is_empty()) {
            return Err(problem(node, "has sequence lengths; nnspec's sequences all have T steps"));
        }
        for (index, what) in [(5, "initial hidden state"), (6, "initial cell state")] {
            match self.input(node, index) {
                None | Some(Value::Zeros) => {}
                Some(Value::Const(t)) if t.floats().iter().all(|v| *v == 0.0) => {}
                _ => {
                    return Err(problem(node, format!("has an {what} that is not zero; nnspec's state starts at zero")))
                }
            }
        }
        if lstm && node.inputs.get(7).is_some_and(|n| !n.is_empty()) {
            return Err(problem(node, "has peepholes, which PyTorch's LSTM (and nnspec's) has not"));
        }
        let directions = if bidirectional { 2 } else { 1 };
        let gates = if lstm { 4 } else { 3 };
        let rows = gates * hidden;
        let weight = |index: usize, cols: usize, what: &str| -> Result<Vec<f32>, Problem> {
            match self.constant(node, index) {
                Some(t) if t.dims == [directions, rows, cols] => Ok(t.floats()),
                _ => Err(problem(
                    node,
                    format!("has {what} that are not constants of shape [{directions}, {rows}, {cols}]"),
                )),
            }
        };
        let w = weight(1, features, "input weights")?;
        let r = weight(2, hidden, "recurrent weights")?;
        let b = match node.inputs.get(3).filter(|n| !n.is_empty()) {
            None => vec![0.0; directions * 2 * rows],
            Some(_) => match self.constant(node, 3) {
                Some(t) if t.dims == [directions, 2 * rows] => t.floats(),
                _ => {
                    return Err(problem(
                        node,
                        format!("has biases that are not constants of shape [{directions}, {}]", 2 * rows),
                    ))
                }
            },
        };
        // ONNX's gate blocks (GRU z, r, h; LSTM i, o, f, c) into PyTorch's (r, z, n; i, f, g, o).
        let from: &[usize] = if lstm { &[0, 2, 3, 1] } else { &[1, 0, 2] };
        let reorder = |values: &[f32], cols: usize| -> Vec<f32> {
            let mut out = Vec::with_capacity(values.len());
            for &block in from {
                out.extend_from_slice(&values[block * hidden * cols..(block + 1) * hidden * cols]);
            }
            out
        };
        let mut tensors = Vec::new();
        for d in 0..directions {
            let tail = if d == 1 { "_reverse" } else { "" };
            let wd = &w[d * rows * features..(d + 1) * rows * features];
            let rd = &r[d * rows * hidden..(d + 1) * rows * hidden];
            let bd = &b[d * 2 * rows..(d + 1) * 2 * rows];
            tensors.push((format!("weight_ih_l0{tail}"), reorder(wd, features)));
            tensors.push((format!("weight_hh_l0{tail}"), reorder(rd, hidden)));
            tensors.push((format!("bias_ih_l0{tail}"), reorder(&bd[..rows], 1)));
            tensors.push((format!("bias_hh_l0{tail}"), reorder(&bd[rows..], 1)));
        }
        let (y, y_h) = (node.outputs.first().filter(|n| !n.is_empty()), node.outputs.get(1).filter(|n| !n.is_empty()));
        if node.outputs.get(2).is_some_and(|n| !n.is_empty() && self.uses.get(n.as_str()).copied().unwrap_or(0) > 0) {
            return Err(problem(node, "has its last cell state read; nnspec's LSTM gives its hidden state"));
        }
        let read = |name: Option<&String>| name.is_some_and(|n| self.uses.get(n.as_str()).copied().unwrap_or(0) > 0);
        let sequence =
            match (read(y), read(y_h)) {
                (true, false) => true,
                (false, true) => false,
                (false, false) => return Err(problem(node, "has no output that is read")),
                (true, true) => return Err(problem(
                    node,
                    "has both its sequence and its last state read; an nnspec recurrent statement writes one of them",
                )),
            };
        let op = Op::Recurrent(Recurrent { lstm, hidden, bidirectional, sequence, tensors });
        let shape = if sequence { vec![steps, directions * hidden] } else { vec![directions * hidden] };
        let name = self.name_of(node, &op);
        self.statements.push(Statement { name, op, inputs: vec![x.stmt], shape });
        let stmt = self.statements.len() - 1;
        let axes = if sequence {
            vec![(Axis::Time, steps), (Axis::Direction, directions), (Axis::Batch, 0), (Axis::Hidden, hidden)]
        } else {
            vec![(Axis::Direction, directions), (Axis::Batch, 0), (Axis::Hidden, hidden)]
        };
        let value = if int_attr(node, "layout", 0) == 1 {
            // Batch first: Y is [N, T, D, H], Y_h [N, D, H].
            let mut moved = axes.clone();
            let at = moved.iter().position(|a| a.0 == Axis::Batch).expect("a batch axis");
            let batch = moved.remove(at);
            moved.insert(0, batch);
            self.recurrent_value(stmt, sequence, moved)
        } else {
            Value::Recurrent { stmt, sequence, axes }
        };
        let output = if sequence { y } else { y_h }.expect("the read output exists").clone();
        self.values.insert(output, value);
        let others: Vec<String> =
            node.outputs.iter().filter(|n| !n.is_empty() && !self.values.contains_key(*n)).cloned().collect();
        for other in others {
            self.values.insert(other, Value::Failed);
        }
        Ok(())
    }
}

/// Whether statement `index`'s `[C, L]` value is channel-first (a
/// convolution's or pool's, through statements that keep the layout): the
/// rule nnspec's checker reads a recurrent layer's input by.
pub(super) fn channel_first(statements: &[Statement], index: usize) -> bool {
    match &statements[index].op {
        Op::Conv { .. } | Op::Pool { .. } => true,
        Op::Activation(_) | Op::LayerNorm { .. } | Op::BatchNorm { .. } => {
            channel_first(statements, statements[index].inputs[0])
        }
        Op::Add | Op::Concat => statements[index].inputs.iter().any(|&i| channel_first(statements, i)),
        _ => false,
    }
}
