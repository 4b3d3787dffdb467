//! Reshapes, squeezes, concatenations and transposes: the layout moves
//! between statements.

use super::*;

impl<'g> Converter<'g> {
    /// `x` with ONNX shape `target`: an alias, a `flatten` statement, or the input's shape.
    pub(super) fn reshaped(&mut self, node: &Node, x: Flow, target: Vec<usize>) -> Result<Flow, Problem> {
        let nn = self.statements[x.stmt].shape.clone();
        if target == x.shape || target == nn || (target.len() == 1 && nn.len() == 1) {
            return Ok(Flow { stmt: x.stmt, shape: target, own: false });
        }
        if target.len() == 1 {
            let total = target[0];
            return Ok(self.push_onnx(node, Op::Flatten, vec![x.stmt], vec![total], target));
        }
        // Giving the input (or its standardisation) a shape: nnspec's input declares it.
        let readers = |s: usize| self.statements.iter().filter(|st| st.inputs.contains(&s)).count();
        let standardized = matches!(self.statements[x.stmt].op, Op::Standardize { .. })
            && self.statements[x.stmt].inputs == [0]
            && readers(0) == 1;
        if x.shape.len() == 1 && (x.stmt == 0 || standardized) && readers(x.stmt) == 0 {
            self.statements[0].shape = target.clone();
            self.statements[x.stmt].shape = target.clone();
            return Ok(Flow { stmt: x.stmt, shape: target, own: false });
        }
        Err(problem(
            node,
            format!(
                "reshapes a value of shape {:?} to {:?}; nnspec reshapes only to flatten a sample or to give the input its shape",
                x.shape, target
            ),
        ))
    }

    pub(super) fn reshape(&mut self, node: &Node) -> Result<(), Problem> {
        let dims: Vec<Dim> = match self.input(node, 1) {
            Some(Value::Shape(dims)) => dims.clone(),
            Some(Value::Const(t)) if t.ints().is_some() => {
                t.ints().unwrap_or(&[]).iter().map(|&v| Dim::Known(v)).collect()
            }
            _ => return Err(problem(node, "reshapes to a shape nnspec cannot compute")),
        };
        if let Some(Value::Recurrent { stmt, sequence, axes }) = self.input(node, 0).cloned() {
            let value = self.recurrent_reshape(node, stmt, sequence, axes, &dims)?;
            self.set(node, value);
            return Ok(());
        }
        let x = self.flow(node, 0)?;
        let target = self.per_sample(node, &dims, &x.shape)?;
        let flow = self.reshaped(node, x, target)?;
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    /// The per-sample shape a `Reshape` target gives a value of per-sample shape `from`.
    pub(super) fn per_sample(&self, node: &Node, dims: &[Dim], from: &[usize]) -> Result<Vec<usize>, Problem> {
        let total: usize = from.iter().product();
        let allow_zero = int_attr(node, "allowzero", 0) != 0;
        let Some((first, rest)) = dims.split_first() else {
            return Err(problem(node, "reshapes to a scalar"));
        };
        let batch_first = match first {
            Dim::Batch => true,
            Dim::Known(0) => !allow_zero,
            Dim::Known(n) => Some(*n) == self.fixed_batch,
            _ => false,
        };
        let mut shape = Vec::new();
        let mut infer = None;
        for (i, dim) in rest.iter().enumerate() {
            match dim {
                Dim::Known(-1) if infer.is_none() => {
                    infer = Some(i);
                    shape.push(1);
                }
                Dim::Known(0) if !allow_zero => {
                    shape.push(*from.get(i).ok_or_else(|| problem(node, "copies an axis the value lacks"))?)
                }
                Dim::Known(n) if *n > 0 => shape.push(*n as usize),
                _ => return Err(problem(node, format!("reshapes to {dims:?}, which nnspec cannot follow"))),
            }
        }
        let too_large =
            || problem(node, format!("reshapes to {dims:?}, more than nnspec's {MAX_VALUES} values per sample"));
        let known = volume(&shape).ok_or_else(too_large)?;
        if let Some(i) = infer {
            if known == 0 || total % known != 0 {
                return Err(problem(node, format!("reshapes {total} values per sample to {dims:?}")));
            }
            shape[i] = total / known;
        }
        let batch_first = batch_first || (matches!(first, Dim::Known(-1)) && infer.is_none());
        if !batch_first || volume(&shape) != Some(total) || shape.is_empty() {
            return Err(problem(
                node,
                format!("reshapes a batch of samples of shape {from:?} to {dims:?}, which mixes samples or changes their size"),
            ));
        }
        Ok(shape)
    }

    pub(super) fn squeeze(&mut self, node: &Node) -> Result<(), Problem> {
        let axes = match (ints_attr(node, "axes"), self.constant(node, 1)) {
            (Some(axes), _) => Some(axes),
            (None, Some(t)) => t.ints().map(<[i64]>::to_vec),
            (None, None) => None,
        };
        match self.input(node, 0).cloned() {
            Some(Value::Recurrent { stmt, sequence, axes: mut layout }) => {
                let rank = layout.len() as i64;
                let squeezed: Vec<usize> = match axes {
                    Some(axes) => axes.iter().map(|&a| (if a < 0 { a + rank } else { a }) as usize).collect(),
                    None => (0..layout.len()).filter(|&a| layout[a].1 == 1 && layout[a].0 != Axis::Batch).collect(),
                };
                for &a in squeezed.iter().rev() {
                    match layout.get(a) {
                        Some((Axis::Direction, 1)) => {
                            layout.remove(a);
                        }
                        _ => {
                            return Err(problem(
                                node,
                                "squeezes an axis of a recurrent output other than a single direction",
                            ))
                        }
                    }
                }
                self.set(node, Value::Recurrent { stmt, sequence, axes: layout });
                Ok(())
            }
            _ => {
                let x = self.flow(node, 0)?;
                let rank = x.shape.len() as i64 + 1;
                let axes: Vec<i64> = match axes {
                    Some(axes) => axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect(),
                    None => (1..rank).filter(|&a| x.shape[a as usize - 1] == 1).collect(),
                };
                if axes.iter().any(|&a| a < 1 || a >= rank || x.shape[a as usize - 1] != 1) {
                    return Err(problem(node, format!("squeezes axes {axes:?} of a value of shape {:?}", x.shape)));
                }
                let target: Vec<usize> = x
                    .shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !axes.contains(&(*i as i64 + 1)))
                    .map(|(_, &d)| d)
                    .collect();
                let target = if target.is_empty() { vec![1] } else { target };
                let flow = self.reshaped(node, x, target)?;
                self.set(node, Value::Flow(flow));
                Ok(())
            }
        }
    }

    pub(super) fn concat(&mut self, node: &Node) -> Result<(), Problem> {
        let mut flows = Vec::new();
        for index in 0..node.inputs.len() {
            flows.push(self.flow(node, index)?);
        }
        let first = flows[0].shape.clone();
        let rank = first.len() as i64 + 1;
        let axis = int_attr(node, "axis", 1);
        let axis = if axis < 0 { axis + rank } else { axis };
        if axis != 1 {
            return Err(problem(
                node,
                format!("concatenates along axis {axis}; nnspec concatenates features or channels (axis 1)"),
            ));
        }
        if flows.iter().any(|f| f.shape.len() != first.len() || f.shape[1..] != first[1..]) {
            let shapes: Vec<_> = flows.iter().map(|f| f.shape.clone()).collect();
            return Err(problem(node, format!("concatenates values of shapes {shapes:?}")));
        }
        let mut shape = first.clone();
        shape[0] = flows.iter().map(|f| f.shape[0]).sum();
        if volume(&shape).is_none() {
            return Err(problem(
                node,
                format!("concatenates to a value of shape {shape:?}, more than nnspec's {MAX_VALUES} values"),
            ));
        }
        let nn_flat = flows.iter().all(|f| self.statements[f.stmt].shape.len() == 1);
        let nn_shape = if nn_flat { vec![shape.iter().product()] } else { shape.clone() };
        let flow = self.push_onnx(node, Op::Concat, flows.iter().map(|f| f.stmt).collect(), nn_shape, shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    pub(super) fn transpose(&mut self, node: &Node) -> Result<(), Problem> {
        let perm = ints_attr(node, "perm").unwrap_or_default();
        let channel_first = |x: &Flow| x.shape.len() == 2 && channel_first(&self.statements, x.stmt);
        let swapped = |x: Flow| Flow { shape: vec![x.shape[1], x.shape[0]], own: false, ..x };
        match self.input(node, 0).cloned() {
            // A convolution's [N, C, L] read as L steps of C features, as nnspec reads it.
            Some(Value::Flow(x)) if channel_first(&x) && perm == [2, 0, 1] => {
                self.set(node, Value::TimeFirst(swapped(x)));
                Ok(())
            }
            Some(Value::Flow(x)) if channel_first(&x) && perm == [0, 2, 1] => {
                self.set(node, Value::Transposed(swapped(x)));
                Ok(())
            }
            Some(Value::Transposed(x)) if perm == [1, 0, 2] => {
                self.set(node, Value::TimeFirst(x));
                Ok(())
            }
            Some(Value::Flow(x)) if x.shape.len() == 2 && !channel_first(&x) && perm == [1, 0, 2] => {
                self.set(node, Value::TimeFirst(x));
                Ok(())
            }
            Some(Value::TimeFirst(x)) if perm == [1, 0, 2] => {
                self.set(node, Value::Flow(Flow { own: false, ..x }));
                Ok(())
            }
            Some(Value::Recurrent { stmt, sequence, axes }) if perm.len() == axes.len() => {
                let mut moved = Vec::new();
                for &p in &perm {
                    moved.push(*axes.get(p as usize).ok_or_else(|| problem(node, format!("has perm {perm:?}")))?);
                }
                let value = self.recurrent_value(stmt, sequence, moved);
                self.set(node, value);
                Ok(())
            }
            _ => Err(problem(
                node,
                format!("transposes with perm {perm:?}; nnspec follows a transpose only into and out of a recurrent layer's time-first layout"),
            )),
        }
    }
}
