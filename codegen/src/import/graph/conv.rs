//! Convolutions, normalisations and pools.

use super::*;

impl<'g> Converter<'g> {
    pub(super) fn conv(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let Some(w) = self.constant(node, 1).cloned() else {
            return Err(problem(node, "has computed weights; a convolution's weights are constants"));
        };
        let spatial = x.shape.len().saturating_sub(1);
        if !(1..=2).contains(&spatial) || w.dims.len() != spatial + 2 {
            return Err(problem(
                node,
                format!(
                    "convolves a value of shape {:?} with weights {:?}; nnspec has conv1d and conv2d",
                    x.shape, w.dims
                ),
            ));
        }
        let groups = int_attr(node, "group", 1);
        let channels = x.shape[0];
        if groups < 1 || channels % groups as usize != 0 || w.dims[1] * groups as usize != channels {
            return Err(problem(
                node,
                format!("has {groups} groups, weights {:?} and {channels} input channels", w.dims),
            ));
        }
        let out = w.dims[0];
        let kernel: Vec<usize> = w.dims[2..].to_vec();
        if out == 0 || kernel.contains(&0) {
            return Err(problem(node, format!("has weights of shape {:?}, with an empty axis", w.dims)));
        }
        let axes = |name: &str, default: usize| -> Result<Vec<usize>, Problem> {
            match ints_attr(node, name) {
                None => Ok(vec![default; spatial]),
                Some(v) if v.len() == spatial && v.iter().all(|&s| s >= 1) => {
                    Ok(v.iter().map(|&s| s as usize).collect())
                }
                Some(v) => Err(problem(node, format!("has {name} {v:?} for {spatial} spatial axes"))),
            }
        };
        let (stride, dilation) = (axes("strides", 1)?, axes("dilations", 1)?);
        if let Some(k) = ints_attr(node, "kernel_shape") {
            if k.iter().map(|&v| v as usize).ne(kernel.iter().copied()) {
                return Err(problem(node, format!("has kernel_shape {k:?} and weights {:?}", w.dims)));
            }
        }
        let padding = self.padding(node, spatial, &kernel, &stride, &dilation, &x.shape[1..])?;
        let mut size = Vec::new();
        for a in 0..spatial {
            let reach = dilation[a].saturating_mul(kernel[a] - 1).saturating_add(1);
            let padded = x.shape[1 + a].saturating_add(padding[a].saturating_mul(2));
            if padded < reach {
                return Err(problem(node, format!("has a kernel wider than its padded input on axis {}", a + 2)));
            }
            size.push((padded - reach) / stride[a] + 1);
        }
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            None => None,
            Some(_) => match self.constant(node, 2) {
                Some(b) if b.len() == out => Some(b.floats()),
                _ => return Err(problem(node, format!("has a bias that is not {out} constants"))),
            },
        };
        let shape: Vec<usize> = std::iter::once(out).chain(size).collect();
        if volume(&shape).is_none() {
            return Err(problem(node, format!("has padding {padding:?}, which makes outputs of shape {shape:?}")));
        }
        let op = Op::Conv { kernel, stride, padding, dilation, groups: groups as usize, out, weight: w.floats(), bias };
        let flow = self.push(node, op, vec![x.stmt], shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    /// Symmetric padding per spatial axis, from `pads` or `auto_pad`.
    pub(super) fn padding(
        &self,
        node: &Node,
        spatial: usize,
        kernel: &[usize],
        stride: &[usize],
        dilation: &[usize],
        sizes: &[usize],
    ) -> Result<Vec<usize>, Problem> {
        let auto = text_attr(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        match auto.as_str() {
            "NOTSET" => {
                let pads = ints_attr(node, "pads").unwrap_or_else(|| vec![0; 2 * spatial]);
                if pads.len() != 2 * spatial || pads.iter().any(|&p| p < 0) {
                    return Err(problem(node, format!("has pads {pads:?} for {spatial} spatial axes")));
                }
                if (0..spatial).any(|a| pads[a] != pads[a + spatial]) {
                    return Err(problem(
                        node,
                        format!("has pads {pads:?}, more on one side than the other; nnspec pads both sides alike (as PyTorch)"),
                    ));
                }
                Ok(pads[..spatial].iter().map(|&p| p as usize).collect())
            }
            "VALID" => Ok(vec![0; spatial]),
            "SAME_UPPER" | "SAME_LOWER" => {
                let mut padding = Vec::new();
                for a in 0..spatial {
                    let out = sizes[a].div_ceil(stride[a]);
                    let reach = dilation[a].saturating_mul(kernel[a] - 1).saturating_add(1);
                    let total = (out - 1).saturating_mul(stride[a]).saturating_add(reach).saturating_sub(sizes[a]);
                    if total % 2 != 0 {
                        return Err(problem(
                            node,
                            format!(
                                "has auto_pad = {auto}, which pads axis {} unevenly; nnspec pads both sides alike",
                                a + 2
                            ),
                        ));
                    }
                    padding.push(total / 2);
                }
                Ok(padding)
            }
            other => Err(problem(node, format!("has auto_pad = {other}"))),
        }
    }

    pub(super) fn batch_norm(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        if int_attr(node, "training_mode", 0) != 0 || node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(problem(node, "is in training mode; nnspec imports inference graphs (export in eval mode)"));
        }
        if int_attr(node, "spatial", 1) != 1 {
            return Err(problem(
                node,
                "has spatial = 0 (statistics per position); nnspec's batch_norm keeps them per channel",
            ));
        }
        let channels = x.shape[0];
        let mut parts = Vec::new();
        for (index, what) in [(1, "scale"), (2, "shift"), (3, "running mean"), (4, "running variance")] {
            match self.constant(node, index) {
                Some(t) if t.len() == channels => parts.push(t.floats()),
                _ => return Err(problem(node, format!("has a {what} that is not {channels} constants"))),
            }
        }
        let eps = float_attr(node, "epsilon", 1e-5);
        let momentum = 1.0 - float_attr(node, "momentum", 0.9);
        let var = parts.pop().expect("four parts");
        let mean = parts.pop().expect("three parts");
        let bias = parts.pop().expect("two parts");
        let weight = parts.pop().expect("one part");
        let shape = self.statements[x.stmt].shape.clone();
        let op = Op::BatchNorm { eps, momentum, weight, bias, mean, var };
        let flow = self.push_onnx(node, op, vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    pub(super) fn layer_norm(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let axis = int_attr(node, "axis", -1);
        let rank = x.shape.len() as i64 + 1;
        if x.shape.len() != 1 || !(axis == -1 || axis == rank - 1) {
            return Err(problem(
                node,
                format!(
                    "normalises from axis {axis} a value of shape {:?}; nnspec's layer_norm normalises a flat sample",
                    x.shape
                ),
            ));
        }
        let width = x.shape[0];
        let weight = match self.constant(node, 1) {
            Some(t) if t.len() == width => t.floats(),
            _ => return Err(problem(node, format!("has a scale that is not {width} constants"))),
        };
        let bias = match node.inputs.get(2).filter(|n| !n.is_empty()) {
            None => vec![0.0; width],
            Some(_) => match self.constant(node, 2) {
                Some(t) if t.len() == width => t.floats(),
                _ => return Err(problem(node, format!("has a shift that is not {width} constants"))),
            },
        };
        let eps = float_attr(node, "epsilon", 1e-5);
        let shape = self.statements[x.stmt].shape.clone();
        let flow = self.push_onnx(node, Op::LayerNorm { eps, weight, bias }, vec![x.stmt], shape, x.shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    pub(super) fn pool(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let spatial = x.shape.len().saturating_sub(1);
        if !(1..=2).contains(&spatial) {
            return Err(problem(node, format!("pools a value of shape {:?}; nnspec pools 1-D and 2-D", x.shape)));
        }
        let kernel: Vec<usize> = match ints_attr(node, "kernel_shape") {
            Some(k) if k.len() == spatial && k.iter().all(|&v| v >= 1) => k.iter().map(|&v| v as usize).collect(),
            other => return Err(problem(node, format!("has kernel_shape {other:?} for {spatial} spatial axes"))),
        };
        let stride: Vec<usize> = match ints_attr(node, "strides") {
            None => vec![1; spatial],
            Some(s) if s.len() == spatial && s.iter().all(|&v| v >= 1) => s.iter().map(|&v| v as usize).collect(),
            Some(s) => return Err(problem(node, format!("has strides {s:?}"))),
        };
        if ints_attr(node, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
            return Err(problem(node, "has dilations; nnspec's pools read adjacent values"));
        }
        let auto = text_attr(node, "auto_pad").unwrap_or_else(|| "NOTSET".into());
        if ints_attr(node, "pads").is_some_and(|p| p.iter().any(|&v| v != 0)) || !(auto == "NOTSET" || auto == "VALID")
        {
            return Err(problem(
                node,
                "pads its input; nnspec's pools take no padding (every window inside the input)",
            ));
        }
        let mut size = Vec::new();
        for a in 0..spatial {
            if x.shape[1 + a] < kernel[a] {
                return Err(problem(node, format!("has a window wider than its input on axis {}", a + 2)));
            }
            let span = x.shape[1 + a] - kernel[a];
            if int_attr(node, "ceil_mode", 0) != 0 && span % stride[a] != 0 {
                return Err(problem(
                    node,
                    "has ceil_mode = 1 with a partial last window; nnspec's pools keep whole windows (ceil_mode = 0)",
                ));
            }
            size.push(span / stride[a] + 1);
        }
        if node.outputs.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(problem(node, "writes the indices of the maxima, which nnspec does not compute"));
        }
        let shape: Vec<usize> = std::iter::once(x.shape[0]).chain(size).collect();
        let op = Op::Pool { max: node.op == "MaxPool", kernel, stride };
        let flow = self.push(node, op, vec![x.stmt], shape);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    pub(super) fn global_pool(&mut self, node: &Node, x: Flow, keep: bool) -> Result<(), Problem> {
        if x.shape.len() < 2 {
            return Err(problem(node, format!("averages a value of shape {:?}, which has no positions", x.shape)));
        }
        let channels = x.shape[0];
        let onnx = if keep {
            std::iter::once(channels).chain(x.shape[1..].iter().map(|_| 1)).collect()
        } else {
            vec![channels]
        };
        let flow = self.push_onnx(node, Op::GlobalAvgPool, vec![x.stmt], vec![channels], onnx);
        self.set(node, Value::Flow(flow));
        Ok(())
    }

    pub(super) fn reduce_mean(&mut self, node: &Node) -> Result<(), Problem> {
        let x = self.flow(node, 0)?;
        let axes = match (ints_attr(node, "axes"), self.constant(node, 1)) {
            (Some(axes), _) => axes,
            (None, Some(t)) => t.ints().map(<[i64]>::to_vec).unwrap_or_default(),
            (None, None) => Vec::new(),
        };
        let rank = x.shape.len() as i64 + 1;
        let mut axes: Vec<i64> = axes.into_iter().map(|a| if a < 0 { a + rank } else { a }).collect();
        axes.sort_unstable();
        if x.shape.len() < 2 || axes != (2..rank).collect::<Vec<_>>() {
            return Err(problem(
                node,
                format!("averages axes {axes:?} of a value of shape {:?}; nnspec averages every position of each channel (global_avg_pool)", x.shape),
            ));
        }
        self.global_pool(node, x, int_attr(node, "keepdims", 1) != 0)
    }
}
