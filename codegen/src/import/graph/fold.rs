//! Constant folding: nodes whose inputs are all constant, and the shape
//! arithmetic exporters write (`Shape`, `Gather`, `Concat`, `Unsqueeze`…), computed
//! at import.

use super::*;

impl<'g> Converter<'g> {
    pub(super) fn inputs_of(&self, node: &Node) -> Vec<Option<Tensor>> {
        node.inputs
            .iter()
            .map(|n| match self.get(n) {
                Some(Value::Const(t)) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    pub(super) fn all_constant(&self, node: &Node) -> bool {
        !node.inputs.is_empty()
            && node.inputs.iter().all(|n| n.is_empty() || matches!(self.get(n), Some(Value::Const(_))))
    }

    /// Whether `node` computes on shapes (and constants) only.
    pub(super) fn shape_arithmetic(&self, node: &Node) -> bool {
        let mut any_shape = false;
        for name in node.inputs.iter().filter(|n| !n.is_empty()) {
            match self.get(name) {
                Some(Value::Shape(_) | Value::Zeros) => any_shape = true,
                Some(Value::Const(_)) => {}
                _ => return false,
            }
        }
        any_shape
    }

    pub(super) fn shape(&mut self, node: &Node) -> Result<(), Problem> {
        let dims: Vec<Dim> = match self.input(node, 0) {
            Some(Value::Flow(flow)) => {
                std::iter::once(Dim::Batch).chain(flow.shape.iter().map(|&d| Dim::Known(d as i64))).collect()
            }
            Some(Value::Transposed(flow)) => {
                std::iter::once(Dim::Batch).chain(flow.shape.iter().map(|&d| Dim::Known(d as i64))).collect()
            }
            Some(Value::TimeFirst(flow)) => {
                let mut dims = vec![Dim::Known(flow.shape[0] as i64), Dim::Batch];
                dims.extend(flow.shape[1..].iter().map(|&d| Dim::Known(d as i64)));
                dims
            }
            Some(Value::Recurrent { axes, .. }) => axes
                .iter()
                .map(|&(axis, size)| if axis == Axis::Batch { Dim::Batch } else { Dim::Known(size as i64) })
                .collect(),
            Some(Value::Const(t)) => t.dims.iter().map(|&d| Dim::Known(d as i64)).collect(),
            _ => return Err(problem(node, "takes the shape of a value whose shape is not known")),
        };
        let rank = dims.len() as i64;
        let clamp = |v: i64| if v < 0 { (v + rank).max(0) } else { v.min(rank) } as usize;
        let start = clamp(int_attr(node, "start", 0));
        let end = clamp(int_attr(node, "end", rank));
        let value = dims.get(start..end.max(start)).unwrap_or(&[]).to_vec();
        self.set(node, Value::Shape(value));
        Ok(())
    }

    /// Folds shape arithmetic in which the batch size appears.
    pub(super) fn fold_shape(&mut self, node: &Node) -> Result<Value, Problem> {
        let as_dims = |value: Option<&Value>| -> Option<Vec<Dim>> {
            match value? {
                Value::Shape(dims) => Some(dims.clone()),
                Value::Const(t) => t.ints().map(|v| v.iter().map(|&x| Dim::Known(x)).collect()),
                _ => None,
            }
        };
        let op = node.op.as_str();
        let unsupported_here = || problem(node, "computes a shape nnspec cannot follow");
        if matches!(self.input(node, 0), Some(Value::Zeros))
            && matches!(op, "Slice" | "Gather" | "Unsqueeze" | "Squeeze" | "Cast" | "Expand")
        {
            return Ok(Value::Zeros);
        }
        let value = match op {
            "ConstantOfShape" | "Expand" => Value::Zeros,
            "Cast" => self.input(node, 0).cloned().ok_or_else(unsupported_here)?,
            // A shape vector reshaped to one axis (or to a scalar, when it has one entry) keeps its entries.
            "Reshape" => match self.input(node, 0) {
                Some(Value::Shape(dims)) if dims.len() <= 1 || self.constant(node, 1).is_some_and(|t| t.len() == 1) => {
                    Value::Shape(dims.clone())
                }
                _ => return Err(unsupported_here()),
            },
            "Unsqueeze" => self.input(node, 0).cloned().ok_or_else(unsupported_here)?,
            "Squeeze" => self.input(node, 0).cloned().ok_or_else(unsupported_here)?,
            "Gather" => {
                let dims = as_dims(self.input(node, 0)).ok_or_else(unsupported_here)?;
                let indices =
                    self.constant(node, 1).and_then(|t| t.ints().map(<[i64]>::to_vec)).ok_or_else(unsupported_here)?;
                let mut picked = Vec::new();
                for index in indices {
                    let at = if index < 0 { index + dims.len() as i64 } else { index };
                    picked.push(
                        *dims.get(usize::try_from(at).map_err(|_| unsupported_here())?).ok_or_else(unsupported_here)?,
                    );
                }
                Value::Shape(picked)
            }
            "Concat" => {
                let mut all = Vec::new();
                for index in 0..node.inputs.len() {
                    all.extend(as_dims(self.input(node, index)).ok_or_else(unsupported_here)?);
                }
                Value::Shape(all)
            }
            "Slice" => {
                let dims = as_dims(self.input(node, 0)).ok_or_else(unsupported_here)?;
                let first = |i: usize| self.constant(node, i).and_then(|t| t.ints().and_then(|v| v.first().copied()));
                let len = dims.len() as i64;
                let clamp = |v: i64| if v < 0 { (v + len).max(0) } else { v.min(len) } as usize;
                let (start, end) = (first(1).unwrap_or(0), first(2).unwrap_or(len));
                if first(4).is_some_and(|s| s != 1) {
                    return Err(unsupported_here());
                }
                let (start, end) = (clamp(start), clamp(end));
                Value::Shape(dims.get(start..end.max(start)).unwrap_or(&[]).to_vec())
            }
            "Add" | "Sub" | "Mul" | "Div" => {
                let (a, b) = (
                    as_dims(self.input(node, 0)).ok_or_else(unsupported_here)?,
                    as_dims(self.input(node, 1)).ok_or_else(unsupported_here)?,
                );
                let len = a.len().max(b.len());
                if (a.len() != len && a.len() != 1) || (b.len() != len && b.len() != 1) {
                    return Err(unsupported_here());
                }
                let at = |d: &[Dim], i: usize| if d.len() == 1 { d[0] } else { d[i] };
                Value::Shape(
                    (0..len)
                        .map(|i| match (at(&a, i), at(&b, i)) {
                            (Dim::Known(x), Dim::Known(y)) => match op {
                                "Add" => Dim::Known(x.wrapping_add(y)),
                                "Sub" => Dim::Known(x.wrapping_sub(y)),
                                "Mul" => Dim::Known(x.wrapping_mul(y)),
                                _ if y != 0 => Dim::Known(x.wrapping_div(y)),
                                _ => Dim::Unknown,
                            },
                            (Dim::Batch, Dim::Known(1)) if op == "Mul" || op == "Div" => Dim::Batch,
                            (Dim::Known(1), Dim::Batch) if op == "Mul" => Dim::Batch,
                            (Dim::Batch, Dim::Known(0)) if op == "Add" || op == "Sub" => Dim::Batch,
                            _ => Dim::Unknown,
                        })
                        .collect(),
                )
            }
            _ => return Err(unsupported_here()),
        };
        Ok(value)
    }
}

pub(super) fn constant_attribute(node: &Node) -> Result<Tensor, Problem> {
    let tensor = |dims: Vec<usize>, data: Data| Tensor { name: String::new(), dims, data, external: None };
    match node.attributes.first() {
        Some((name, Attribute::Tensor(t))) if name == "value" && t.external.is_none() => Ok(t.clone()),
        Some((name, Attribute::Float(v))) if name == "value_float" => Ok(tensor(Vec::new(), Data::Float(vec![*v]))),
        Some((name, Attribute::Int(v))) if name == "value_int" => Ok(tensor(Vec::new(), Data::Int(vec![*v]))),
        Some((name, Attribute::Floats(v))) if name == "value_floats" => {
            Ok(tensor(vec![v.len()], Data::Float(v.clone())))
        }
        Some((name, Attribute::Ints(v))) if name == "value_ints" => Ok(tensor(vec![v.len()], Data::Int(v.clone()))),
        _ => Err(problem(node, "holds a constant of a kind nnspec does not read (sparse or string)")),
    }
}

/// Evaluates a node whose inputs are all constants (small shape arithmetic and the constants of patterns).
pub(super) fn fold(node: &Node, inputs: &[Option<Tensor>]) -> Result<Value, Problem> {
    let cannot = || problem(node, "computes constants in a way nnspec does not evaluate");
    let get = |i: usize| inputs.get(i).and_then(Option::as_ref);
    let x = get(0).ok_or_else(cannot)?;
    let tensor =
        |dims: Vec<usize>, data: Data| Value::Const(Tensor { name: String::new(), dims, data, external: None });
    const LIMIT: usize = 1 << 20;
    let value = match node.op.as_str() {
        "Cast" => match int_attr(node, "to", 1) {
            1 | 10 | 11 | 16 => tensor(x.dims.clone(), Data::Float(x.floats())),
            6 | 7 | 9 | 2 | 3 | 12 | 13 => {
                let ints = match &x.data {
                    Data::Int(v) => v.clone(),
                    Data::Float(v) => v.iter().map(|&f| f as i64).collect(),
                };
                tensor(x.dims.clone(), Data::Int(ints))
            }
            _ => return Err(cannot()),
        },
        "Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => {
            let dims = match node.op.as_str() {
                "Flatten" => {
                    let axis = int_attr(node, "axis", 1).clamp(0, x.dims.len() as i64) as usize;
                    vec![x.dims[..axis].iter().product(), x.dims[axis..].iter().product()]
                }
                "Reshape" => {
                    let target = get(1).and_then(|t| t.ints()).ok_or_else(cannot)?;
                    let mut dims: Vec<usize> = Vec::new();
                    let mut infer = None;
                    for (i, &d) in target.iter().enumerate() {
                        match d {
                            -1 => {
                                infer = Some(i);
                                dims.push(1);
                            }
                            0 => dims.push(*x.dims.get(i).ok_or_else(cannot)?),
                            d if d > 0 => dims.push(d as usize),
                            _ => return Err(cannot()),
                        }
                    }
                    if let Some(i) = infer {
                        let known = volume(&dims).ok_or_else(cannot)?;
                        if known == 0 {
                            return Err(cannot());
                        }
                        dims[i] = x.len() / known;
                    }
                    dims
                }
                _ => {
                    let axes = ints_attr(node, "axes").or_else(|| get(1).and_then(|t| t.ints().map(<[i64]>::to_vec)));
                    let mut dims = x.dims.clone();
                    if node.op == "Unsqueeze" {
                        let axes = axes.ok_or_else(cannot)?;
                        let rank = (dims.len() + axes.len()) as i64;
                        let mut axes: Vec<usize> =
                            axes.iter().map(|&a| (if a < 0 { a + rank } else { a }).clamp(0, rank) as usize).collect();
                        axes.sort_unstable();
                        for a in axes {
                            dims.insert(a.min(dims.len()), 1);
                        }
                    } else {
                        dims.retain(|&d| d != 1);
                    }
                    dims
                }
            };
            if volume(&dims) != Some(x.len()) {
                return Err(cannot());
            }
            tensor(dims, x.data.clone())
        }
        "Gather" => {
            let indices = get(1).and_then(|t| t.ints()).ok_or_else(cannot)?;
            if x.dims.len() != 1 || int_attr(node, "axis", 0) != 0 {
                return Err(cannot());
            }
            let n = x.len() as i64;
            let mut picked = Vec::new();
            for &i in indices {
                let at = if i < 0 { i + n } else { i };
                if !(0..n).contains(&at) {
                    return Err(cannot());
                }
                picked.push(at as usize);
            }
            let dims = get(1).map(|t| t.dims.clone()).unwrap_or_default();
            match &x.data {
                Data::Int(v) => tensor(dims, Data::Int(picked.iter().map(|&i| v[i]).collect())),
                Data::Float(v) => tensor(dims, Data::Float(picked.iter().map(|&i| v[i]).collect())),
            }
        }
        "Concat" => {
            let mut ints = Vec::new();
            for t in inputs.iter().flatten() {
                if t.dims.len() > 1 {
                    return Err(cannot());
                }
                ints.extend(t.ints().ok_or_else(cannot)?);
            }
            tensor(vec![ints.len()], Data::Int(ints))
        }
        "Slice" => {
            let first = |i: usize| get(i).and_then(|t| t.ints().and_then(|v| v.first().copied()));
            if x.dims.len() != 1 || first(4).is_some_and(|s| s != 1) {
                return Err(cannot());
            }
            let n = x.len() as i64;
            let clamp = |v: i64| if v < 0 { (v + n).max(0) } else { v.min(n) } as usize;
            let (start, end) = (clamp(first(1).unwrap_or(0)), clamp(first(2).unwrap_or(n)));
            let end = end.max(start);
            match &x.data {
                Data::Int(v) => tensor(vec![end - start], Data::Int(v[start..end].to_vec())),
                Data::Float(v) => tensor(vec![end - start], Data::Float(v[start..end].to_vec())),
            }
        }
        "ConstantOfShape" => {
            let dims: Vec<usize> = x.ints().ok_or_else(cannot)?.iter().map(|&d| d.max(0) as usize).collect();
            let count =
                dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).filter(|&c| c <= LIMIT).ok_or_else(cannot)?;
            let fill = match node.attribute("value") {
                Some(Attribute::Tensor(t)) => t.floats().first().copied().unwrap_or(0.0),
                _ => 0.0,
            };
            tensor(dims, Data::Float(vec![fill; count]))
        }
        "Expand" => {
            let value = x.floats();
            if value.iter().all(|v| *v == 0.0) {
                let dims: Vec<usize> =
                    get(1).and_then(|t| t.ints()).ok_or_else(cannot)?.iter().map(|&d| d.max(0) as usize).collect();
                let count = dims
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .filter(|&c| c <= LIMIT)
                    .ok_or_else(cannot)?;
                tensor(dims, Data::Float(vec![0.0; count]))
            } else {
                return Err(cannot());
            }
        }
        "Sqrt" | "Neg" | "Erf" => {
            let f = |v: f32| match node.op.as_str() {
                "Sqrt" => v.sqrt(),
                "Neg" => -v,
                _ => libm_erf(v),
            };
            match &x.data {
                Data::Int(v) if node.op == "Neg" => tensor(x.dims.clone(), Data::Int(v.iter().map(|a| -a).collect())),
                _ => tensor(x.dims.clone(), Data::Float(x.floats().into_iter().map(f).collect())),
            }
        }
        "Add" | "Sub" | "Mul" | "Div" | "GreaterOrEqual" => {
            let y = get(1).ok_or_else(cannot)?;
            let (n, m) = (x.len(), y.len());
            if n != m && n != 1 && m != 1 {
                return Err(cannot());
            }
            let (len, dims) = if n >= m { (n, x.dims.clone()) } else { (m, y.dims.clone()) };
            let op = node.op.as_str();
            match (&x.data, &y.data) {
                (Data::Int(a), Data::Int(b)) if op != "GreaterOrEqual" => {
                    let at = |v: &[i64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                    let mut out = Vec::with_capacity(len);
                    for i in 0..len {
                        let (p, q) = (at(a, i), at(b, i));
                        out.push(match op {
                            "Add" => p.wrapping_add(q),
                            "Sub" => p.wrapping_sub(q),
                            "Mul" => p.wrapping_mul(q),
                            _ if q != 0 => p.wrapping_div(q),
                            _ => return Err(cannot()),
                        });
                    }
                    tensor(dims, Data::Int(out))
                }
                _ => {
                    let (a, b) = (x.floats(), y.floats());
                    let at = |v: &[f32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                    let out = (0..len)
                        .map(|i| {
                            let (p, q) = (at(&a, i), at(&b, i));
                            match op {
                                "Add" => p + q,
                                "Sub" => p - q,
                                "Mul" => p * q,
                                "Div" => p / q,
                                _ => f32::from(u8::from(p >= q)),
                            }
                        })
                        .collect();
                    tensor(dims, Data::Float(out))
                }
            }
        }
        "Transpose" => {
            let rank = x.dims.len();
            let perm: Vec<usize> = match ints_attr(node, "perm") {
                Some(p) => p.iter().map(|&a| usize::try_from(a).unwrap_or(usize::MAX)).collect(),
                None => (0..rank).rev().collect(),
            };
            let mut sorted = perm.clone();
            sorted.sort_unstable();
            if sorted != (0..rank).collect::<Vec<_>>() {
                return Err(cannot());
            }
            let dims: Vec<usize> = perm.iter().map(|&a| x.dims[a]).collect();
            // Row-major strides of the input, read in the output's order.
            let mut strides = vec![1usize; rank];
            for a in (0..rank.saturating_sub(1)).rev() {
                strides[a] = strides[a + 1] * x.dims[a + 1];
            }
            let mut index = vec![0usize; rank];
            let mut order = Vec::with_capacity(x.len());
            for _ in 0..x.len() {
                order.push(index.iter().zip(&perm).map(|(&i, &a)| i * strides[a]).sum::<usize>());
                for a in (0..rank).rev() {
                    index[a] += 1;
                    if index[a] < dims[a] {
                        break;
                    }
                    index[a] = 0;
                }
            }
            match &x.data {
                Data::Int(v) => tensor(dims, Data::Int(order.iter().map(|&i| v[i]).collect())),
                Data::Float(v) => tensor(dims, Data::Float(order.iter().map(|&i| v[i]).collect())),
            }
        }
        _ => return Err(cannot()),
    };
    Ok(value)
}

/// erf for constant folding (single precision is enough for the constants of a pattern).
pub(super) fn libm_erf(x: f32) -> f32 {
    // Abramowitz and Stegun 7.1.26, |error| < 1.5e-7.
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_72) * t + 0.254_829_6)
            * t
            * (-x * x).exp();
    y.copysign(x)
}
