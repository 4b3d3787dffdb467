//! Dense layers (`Gemm`, `MatMul` with an added bias), element-wise
//! arithmetic and the patterns it forms (a standardisation), activations.

use super::*;

impl<'g> Converter<'g> {
    /// Folds `activation` into the dense layer `x` comes from, or adds an activation statement.
    pub(super) fn activation(&mut self, node: &Node, x: Flow, name: String) -> Result<(), Problem> {
        if x.own && self.read_once(&node.inputs[0]) {
            if let Op::Dense { activation: activation @ None, .. } = &mut self.statements[x.stmt].op {
                *activation = Some(name);
                self.set(node, Value::Flow(Flow { own: false, ..x }));
                return Ok(());
            }
        }
        let shape = self.statements[x.stmt].shape.clone();
        let flow = self.push_onnx(node, Op::Activation(name), vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    pub(super) fn dense(&mut self, node: &Node, x: Flow, weight: Vec<f32>, units: usize, bias: Option<Vec<f32>>) {
        let flow = self.push(node, Op::Dense { units, weight, bias, activation: None }, vec![x.stmt], vec![units]);
        self.set(node, Value::Flow(flow));
    }

    pub(super) fn gemm(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        if int_attr(node, "transA", 0) != 0 {
            return Err(problem(node, "has transA = 1; a dense layer reads the samples as rows"));
        }
        let Some(b) = self.constant(node, 1).cloned() else {
            return Err(problem(node, "multiplies by a computed matrix; a dense layer's weight is a constant"));
        };
        let width: usize = x.shape.iter().product();
        if x.shape.len() != 1 || b.dims.len() != 2 {
            return Err(problem(node, format!("multiplies a value of shape {:?} by a {:?} matrix", x.shape, b.dims)));
        }
        let trans_b = int_attr(node, "transB", 0) != 0;
        let (rows, cols) = (b.dims[0], b.dims[1]);
        let (inputs, units) = if trans_b { (cols, rows) } else { (rows, cols) };
        if inputs != width {
            return Err(problem(node, format!("multiplies {width} features by a {:?} matrix", b.dims)));
        }
        let alpha = float_attr(node, "alpha", 1.0);
        let values = b.floats();
        let mut weight = vec![0.0; inputs * units];
        for i in 0..inputs {
            for o in 0..units {
                let v = if trans_b { values[o * cols + i] } else { values[i * cols + o] };
                weight[i * units + o] = alpha * v;
            }
        }
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            None => None,
            Some(_) => {
                let Some(c) = self.constant(node, 2) else {
                    return Err(problem(node, "adds a computed value as its bias; a dense layer's bias is a constant"));
                };
                let beta = float_attr(node, "beta", 1.0);
                let values = per_feature(c, units)
                    .ok_or_else(|| problem(node, format!("has a bias of shape {:?} for {units} units", c.dims)))?;
                Some(values.into_iter().map(|v| beta * v).collect())
            }
        };
        self.dense(node, x, weight, units, bias);
        Ok(())
    }

    pub(super) fn matmul(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let Some(b) = self.constant(node, 1).cloned() else {
            return Err(problem(node, "multiplies by a computed matrix; a dense layer's weight is a constant"));
        };
        if x.shape.len() != 1 || b.dims.len() != 2 || b.dims[0] != x.shape[0] {
            return Err(problem(
                node,
                format!(
                    "multiplies a value of shape {:?} by a {:?} matrix; a dense layer takes a flat value",
                    x.shape, b.dims
                ),
            ));
        }
        let units = b.dims[1];
        self.dense(node, x, b.floats(), units, None);
        Ok(())
    }

    pub(super) fn add(&mut self, node: &Node) -> Result<(), Problem> {
        let (a, b) = (self.input(node, 0).cloned(), self.input(node, 1).cloned());
        match (a, b) {
            (Some(Value::Flow(a)), Some(Value::Flow(b))) => {
                let shape = self.statements[a.stmt].shape.clone();
                if a.shape != b.shape {
                    return Err(problem(
                        node,
                        format!(
                            "adds values of shapes {:?} and {:?}; nnspec's add takes equal shapes",
                            a.shape, b.shape
                        ),
                    ));
                }
                let flow = self.push_onnx(node, Op::Add, vec![a.stmt, b.stmt], shape, a.shape);
                self.set(node, Value::Flow(flow));
            }
            (Some(Value::Flow(x)), Some(Value::Const(c))) | (Some(Value::Const(c)), Some(Value::Flow(x))) => {
                let flow_name = if matches!(self.input(node, 0), Some(Value::Flow(_))) { 0 } else { 1 };
                let once = self.read_once(&node.inputs[flow_name]);
                if let Op::Dense { bias: bias @ None, activation: None, units, .. } = &mut self.statements[x.stmt].op {
                    if x.own && once {
                        *bias = Some(per_feature(&c, *units).ok_or_else(|| {
                            problem(node, format!("adds a constant of shape {:?} to {units} units", c.dims))
                        })?);
                        self.set(node, Value::Flow(x));
                        return Ok(());
                    }
                }
                return Err(problem(
                    node,
                    "adds a constant to a computed value; nnspec adds constants only as a dense layer's bias",
                ));
            }
            (Some(Value::Partial(Partial::Erf(x), origin)), Some(Value::Const(c)))
            | (Some(Value::Const(c)), Some(Value::Partial(Partial::Erf(x), origin)))
                if all_near(&c.floats(), 1.0, 1e-6) =>
            {
                self.set(node, Value::Partial(Partial::ErfPlusOne(x), origin));
            }
            _ => return Err(problem(node, "adds values nnspec cannot add")),
        }
        Ok(())
    }

    /// `Sub`, `Mul` and `Div` that are part of a standardisation or GELU.
    pub(super) fn arithmetic(&mut self, node: &Node) -> Result<(), Problem> {
        let op = node.op.as_str();
        let origin = Origin { op: node.op.clone(), node: node.name.clone() };
        let (a, b) = (self.input(node, 0).cloned(), self.input(node, 1).cloned());
        let constant = |c: &Tensor, x: &Flow| per_feature(c, x.shape.iter().product());
        let value = match (op, a, b) {
            ("Sub", Some(Value::Flow(x)), Some(Value::Const(c))) => match constant(&c, &x) {
                Some(mean) => Value::Partial(Partial::Centred(x, mean), origin),
                None => return Err(problem(node, format!("subtracts a constant of shape {:?}", c.dims))),
            },
            ("Div", Some(Value::Partial(Partial::Centred(x, mean), _)), Some(Value::Const(c))) => {
                let std = constant(&c, &x).ok_or_else(|| problem(node, format!("divides by a constant of shape {:?}", c.dims)))?;
                return self.standardize(node, x, mean, std);
            }
            ("Mul", Some(Value::Partial(Partial::Centred(x, mean), _)), Some(Value::Const(c)))
            | ("Mul", Some(Value::Const(c)), Some(Value::Partial(Partial::Centred(x, mean), _))) => {
                let factor = constant(&c, &x).ok_or_else(|| problem(node, format!("multiplies by a constant of shape {:?}", c.dims)))?;
                return self.standardize(node, x, mean, factor.iter().map(|f| 1.0 / f).collect());
            }
            ("Div", Some(Value::Flow(x)), Some(Value::Const(c))) => match constant(&c, &x) {
                Some(divisor) => Value::Partial(Partial::Scaled(x, divisor.iter().map(|d| 1.0 / d).collect()), origin),
                None => return Err(problem(node, format!("divides by a constant of shape {:?}", c.dims))),
            },
            ("Mul", Some(Value::Flow(x)), Some(Value::Const(c))) | ("Mul", Some(Value::Const(c)), Some(Value::Flow(x))) => {
                match constant(&c, &x) {
                    Some(factor) => Value::Partial(Partial::Scaled(x, factor), origin),
                    None => return Err(problem(node, format!("multiplies by a constant of shape {:?}", c.dims))),
                }
            }
            ("Mul", Some(Value::Flow(x)), Some(Value::Partial(Partial::ErfPlusOne(y), o)))
            | ("Mul", Some(Value::Partial(Partial::ErfPlusOne(y), o)), Some(Value::Flow(x)))
                if x.stmt == y.stmt =>
            {
                Value::Partial(Partial::TwiceGelu(x), o)
            }
            ("Mul", Some(Value::Partial(Partial::Scaled(x, half), _)), Some(Value::Partial(Partial::ErfPlusOne(y), _)))
            | ("Mul", Some(Value::Partial(Partial::ErfPlusOne(y), _)), Some(Value::Partial(Partial::Scaled(x, half), _)))
                if x.stmt == y.stmt && all_near(&half, 0.5, 1e-6) =>
            {
                return self.activation(node, x, "gelu".into());
            }
            ("Mul", Some(Value::Partial(Partial::TwiceGelu(x), _)), Some(Value::Const(c)))
            | ("Mul", Some(Value::Const(c)), Some(Value::Partial(Partial::TwiceGelu(x), _)))
                if all_near(&c.floats(), 0.5, 1e-6) =>
            {
                return self.activation(node, x, "gelu".into());
            }
            ("Div", Some(Value::Partial(Partial::TwiceGelu(x), _)), Some(Value::Const(c))) if all_near(&c.floats(), 2.0, 1e-6) => {
                return self.activation(node, x, "gelu".into());
            }
            _ => {
                return Err(problem(
                    node,
                    "computes arithmetic nnspec has no statement for (it reads `Sub`/`Div` by constants only as the input's standardisation, and `Div`/`Erf`/`Add`/`Mul` only as GELU)",
                ))
            }
        };
        self.set(node, value);
        Ok(())
    }

    pub(super) fn standardize(&mut self, node: &Node, x: Flow, mean: Vec<f32>, std: Vec<f32>) -> Result<(), Problem> {
        if !matches!(self.statements[x.stmt].op, Op::Input) {
            return Err(problem(
                node,
                "standardises a computed value; nnspec's standardize reads the network's input (a constant `Sub`/`Div` elsewhere has no statement)",
            ));
        }
        if std.iter().any(|s| !(s.is_finite() && *s > 0.0)) || mean.iter().any(|m| !m.is_finite()) {
            return Err(problem(
                node,
                "divides by a value that is not positive and finite, which no standardisation does",
            ));
        }
        let shape = self.statements[x.stmt].shape.clone();
        let flow = self.push_onnx(node, Op::Standardize { mean, std }, vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }
}
