//! Lowering a graph: the rules it must follow, the forward steps and the
//! backward steps with their gradient buffers.

use super::*;
use crate::conv::output_size;

/// The structural rules every back end relies on; the compiler reports each
/// of them with a span before a graph gets here.
pub(super) fn validate(nodes: &[Node], layers: &[LayerInfo]) -> Result<(), String> {
    if nodes.first().map(|n| n.op) != Some(Op::Input) || nodes.iter().skip(1).any(|n| n.op == Op::Input) {
        return Err("the first node, and only it, is the input".into());
    }
    let mut used = alloc::vec![0usize; layers.len()];
    let mut read = alloc::vec![false; nodes.len()];
    for (index, node) in nodes.iter().enumerate().skip(1) {
        let name = &node.name;
        if node.inputs.iter().any(|&i| i >= index) {
            return Err(alloc::format!("`{name}` reads a node that does not come before it"));
        }
        for &i in node.inputs.iter() {
            read[i] = true;
        }
        let widths = node.inputs.iter().map(|&i| nodes[i].width);
        let one = node.inputs.len() == 1;
        let ok = match node.op {
            Op::Input => false,
            Op::Dense(layer) => {
                if layer >= layers.len() || layers[layer].units != node.width {
                    return Err(alloc::format!("`{name}` names no dense layer of its width"));
                }
                used[layer] += 1;
                one
            }
            Op::Dropout(p) => {
                let input = node.inputs.first().map(|&i| nodes[i].op);
                one && (0.0..1.0).contains(&p)
                    && !matches!(input, Some(Op::Input | Op::Dropout(_)))
                    && nodes[node.inputs[0]].width == node.width
            }
            Op::Add => !node.inputs.is_empty() && widths.clone().all(|w| w == node.width),
            Op::Activation(_) | Op::LayerNorm { .. } | Op::Flatten => one && nodes[node.inputs[0]].width == node.width,
            Op::Standardize => node.inputs.as_ref() == [0] && nodes[0].width == node.width,
            Op::BatchNorm { channels, eps, momentum } => {
                one && channels > 0
                    && node.width % channels == 0
                    && nodes[node.inputs[0]].width == node.width
                    && eps >= 0.0
                    && (0.0..=1.0).contains(&momentum)
            }
            Op::Conv { geometry: g, .. } => {
                let axis =
                    |a: usize, input: usize| output_size(input, g.kernel[a], g.stride[a], g.padding[a], g.dilation[a]);
                one && g.groups > 0
                    && g.in_channels % g.groups == 0
                    && g.out_channels % g.groups == 0
                    && axis(0, g.in_h) == Some(g.out_h)
                    && axis(1, g.in_w) == Some(g.out_w)
                    && nodes[node.inputs[0]].width == g.input_len()
                    && node.width == g.output_len()
            }
            Op::Pool { geometry: g, .. } | Op::GlobalAvgPool(g) => {
                // Every window lies inside the input.
                let axis = |a: usize, input: usize| output_size(input, g.kernel[a], g.stride[a], 0, 1);
                one && axis(0, g.in_h) == Some(g.out_h)
                    && axis(1, g.in_w) == Some(g.out_w)
                    && nodes[node.inputs[0]].width == g.input_len()
                    && node.width == g.output_len()
            }
            Op::Concat => !node.inputs.is_empty() && widths.sum::<usize>() == node.width,
        };
        if !ok {
            return Err(alloc::format!("`{name}` ({}) has inputs that do not fit it", node.op.name()));
        }
    }
    if used.iter().any(|&n| n != 1) {
        return Err("every dense layer belongs to exactly one node".into());
    }
    if let Some(unread) = (0..nodes.len().saturating_sub(1)).find(|&i| !read[i] && i > 0) {
        return Err(alloc::format!("nothing reads `{}`", nodes[unread].name));
    }
    Ok(())
}

/// Where the forward pass left each node's value.
pub(super) struct Forward {
    /// What each node's consumers read.
    pub(super) values: Vec<Source>,
    /// The `z` and `a` of each dense or activation node.
    pub(super) dense: Vec<Option<(Buf, Buf)>>,
    /// The mask and keep probability of each dropout node that runs.
    pub(super) masks: Vec<Option<(Buf, f32)>>,
    /// The normalised values and the statistics of each layer or batch norm.
    pub(super) norms: Vec<Option<(Buf, Buf)>>,
    /// The chosen indices of each max pool.
    pub(super) argmax: Vec<Option<Buf>>,
}

/// The ranges of a convolution's weight and bias.
fn weight_bias(tensors: &[ParamTensor], node: usize) -> (Range<usize>, Option<Range<usize>>) {
    let find = |role| tensors.iter().find(|t| t.node == node && t.role == role).map(|t| t.range.clone());
    (find(Role::Weight).unwrap_or(0..0), find(Role::Bias))
}

/// The ranges of a normalisation node's γ and β.
fn scale_shift(tensors: &[ParamTensor], node: usize) -> (Range<usize>, Range<usize>) {
    let find = |role| tensors.iter().find(|t| t.node == node && t.role == role).map_or(0..0, |t| t.range.clone());
    (find(Role::Scale), find(Role::Shift))
}

impl Forward {
    /// The node whose values the loss reads: the output, through dropout that
    /// does not run there.
    pub(super) fn head_node(&self, nodes: &[Node]) -> usize {
        let mut node = nodes.len() - 1;
        while matches!(nodes[node].op, Op::Dropout(_)) && self.masks[node].is_none() {
            node = nodes[node].inputs[0];
        }
        node
    }
}

/// What lowering reads: the graph, its dense layers and the parameter layout.
#[derive(Clone, Copy)]
pub(super) struct Parts<'g> {
    pub(super) nodes: &'g [Node],
    pub(super) layers: &'g [LayerInfo],
    pub(super) params: &'g [LayerParams],
    pub(super) tensors: &'g [ParamTensor],
    pub(super) buffers: &'g [BufferTensor],
}

pub(super) struct Lowering {
    pub(super) slots: Vec<usize>,
    pub(super) steps: Vec<Step>,
}

impl Lowering {
    pub(super) fn take(&mut self, width: usize) -> Buf {
        self.slots.push(width);
        Buf { slot: self.slots.len() - 1, width }
    }

    pub(super) fn forward(&mut self, net: &Parts<'_>) -> Forward {
        let Parts { nodes, layers, params, tensors, buffers } = *net;
        let count = nodes.len();
        let mut forward = Forward {
            values: alloc::vec![Source::Input; count],
            dense: alloc::vec![None; count],
            masks: alloc::vec![None; count],
            norms: alloc::vec![None; count],
            argmax: alloc::vec![None; count],
        };
        let mut mask_index = 0;
        for (index, node) in nodes.iter().enumerate().skip(1) {
            let inputs: Vec<Source> = node.inputs.iter().map(|&i| forward.values[i]).collect();
            forward.values[index] = match node.op {
                Op::Input => Source::Input,
                Op::Dense(layer) => {
                    let info = &layers[layer];
                    let (z, a) = (self.take(info.units), self.take(info.units));
                    self.steps.push(Step::Dense {
                        input: inputs[0],
                        weight: params[layer].weight.clone(),
                        bias: params[layer].bias.clone(),
                        output: z,
                        inputs: info.inputs,
                        outputs: info.units,
                    });
                    self.steps.push(Step::Activation { activation: info.activation, z, a });
                    forward.dense[index] = Some((z, a));
                    Source::Buf(a)
                }
                // Dropout on the output would zero predictions at random; it runs nowhere.
                Op::Dropout(p) if p > 0.0 && index + 1 < count => {
                    let (Some(input), Some(inference)) = (inputs[0].buf(true), inputs[0].buf(false)) else {
                        return forward;
                    };
                    let (mask, h) = (self.take(node.width), self.take(node.width));
                    let keep = 1.0 - p;
                    self.steps.push(Step::Dropout { index: mask_index, input, mask, output: h, p, keep });
                    mask_index += 1;
                    forward.masks[index] = Some((mask, keep));
                    Source::Dropout { training: h, inference }
                }
                Op::Dropout(_) => inputs[0],
                Op::Activation(activation) => {
                    let z = match inputs[0] {
                        Source::Buf(buf) => buf,
                        source => {
                            let copy = self.take(node.width);
                            self.steps.push(Step::Copy { from: source, to: copy });
                            copy
                        }
                    };
                    let a = self.take(node.width);
                    self.steps.push(Step::Activation { activation, z, a });
                    forward.dense[index] = Some((z, a));
                    Source::Buf(a)
                }
                Op::LayerNorm { eps } => {
                    let (scale, shift) = scale_shift(tensors, index);
                    let (output, xhat, rstd) = (self.take(node.width), self.take(node.width), self.take(1));
                    self.steps.push(Step::LayerNorm { input: inputs[0], scale, shift, output, xhat, rstd, eps });
                    forward.norms[index] = Some((xhat, rstd));
                    Source::Buf(output)
                }
                Op::BatchNorm { channels, eps, momentum } => {
                    let (scale, shift) = scale_shift(tensors, index);
                    let owned: Vec<&BufferTensor> = buffers.iter().filter(|b| b.node == index).collect();
                    let buffers = owned.first().map_or(0, |b| b.range.start)..owned.last().map_or(0, |b| b.range.end);
                    let (output, xhat, stats) = (self.take(node.width), self.take(node.width), self.take(3 * channels));
                    let spatial = node.width / channels;
                    self.steps.push(Step::BatchNorm {
                        input: inputs[0],
                        scale,
                        shift,
                        buffers,
                        output,
                        xhat,
                        stats,
                        channels,
                        spatial,
                        eps,
                        momentum,
                    });
                    forward.norms[index] = Some((xhat, stats));
                    Source::Buf(output)
                }
                Op::Standardize => {
                    let owned: Vec<&BufferTensor> = buffers.iter().filter(|b| b.node == index).collect();
                    let buffers = owned.first().map_or(0, |b| b.range.start)..owned.last().map_or(0, |b| b.range.end);
                    let output = self.take(node.width);
                    self.steps.push(Step::Standardize { input: inputs[0], buffers, output, width: node.width });
                    Source::Buf(output)
                }
                Op::Conv { geometry, .. } => {
                    let (weight, bias) = weight_bias(tensors, index);
                    let output = self.take(node.width);
                    self.steps.push(Step::Conv { input: inputs[0], weight, bias, output, geometry });
                    Source::Buf(output)
                }
                Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => {
                    let output = self.take(node.width);
                    let argmax = geometry.max.then(|| self.take(node.width));
                    self.steps.push(Step::Pool { input: inputs[0], output, argmax, geometry });
                    forward.argmax[index] = argmax;
                    Source::Buf(output)
                }
                Op::Flatten => inputs[0],
                Op::Add => {
                    let out = self.take(node.width);
                    self.steps.push(Step::Copy { from: inputs[0], to: out });
                    for &from in &inputs[1..] {
                        self.steps.push(Step::Accumulate { from, into: out });
                    }
                    Source::Buf(out)
                }
                Op::Concat => {
                    let out = self.take(node.width);
                    let mut offset = 0;
                    for (&from, &i) in inputs.iter().zip(node.inputs.iter()) {
                        let width = nodes[i].width;
                        self.steps.push(Step::PlaceColumns { from, width, to: out, offset });
                        offset += width;
                    }
                    Source::Buf(out)
                }
            };
        }
        forward
    }

    /// The backward pass from the head's gradient: every node's gradient gets
    /// its own buffer (shared with the node it passes it to unchanged when that
    /// node has no other reader), written by its first contribution in reverse
    /// order and accumulated into by the others.
    pub(super) fn backward(&mut self, net: &Parts<'_>, forward: &Forward, head_node: usize, head_grad: Buf) {
        let Parts { nodes, layers, params, tensors, .. } = *net;
        let mut readers = alloc::vec![0usize; nodes.len()];
        for node in nodes {
            for &i in node.inputs.iter() {
                readers[i] += 1;
            }
        }
        let mut grads: Vec<Option<Buf>> = alloc::vec![None; nodes.len()];
        grads[head_node] = Some(head_grad);
        for index in (1..=head_node).rev() {
            let Some(grad) = grads[index] else { continue };
            let node = &nodes[index];
            match node.op {
                Op::Input => {}
                Op::Dense(layer) => {
                    let (z, a) = forward.dense[index].expect("a dense node has its buffers");
                    if index != head_node {
                        let activation = layers[layer].activation;
                        self.steps.push(Step::ActivationBackward { activation, z, a, grad });
                    }
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    self.steps.push(Step::DenseBackward {
                        input: forward.values[input],
                        weight: params[layer].weight.clone(),
                        bias: params[layer].bias.clone(),
                        dz: grad,
                        dx,
                        inputs: layers[layer].inputs,
                        outputs: layers[layer].units,
                    });
                    self.accumulate(dx, accumulate);
                }
                Op::Dropout(_) => {
                    if let Some((mask, keep)) = forward.masks[index] {
                        self.steps.push(Step::DropoutBackward { mask, grad, keep });
                    }
                    self.pass_through(&mut grads, nodes, &readers, node.inputs[0], grad);
                }
                Op::Activation(activation) => {
                    let (z, a) = forward.dense[index].expect("an activation node has its buffers");
                    if index != head_node {
                        self.steps.push(Step::ActivationBackward { activation, z, a, grad });
                    }
                    self.pass_through(&mut grads, nodes, &readers, node.inputs[0], grad);
                }
                Op::Conv { geometry, .. } => {
                    let (weight, bias) = weight_bias(tensors, index);
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    let source = forward.values[input];
                    self.steps.push(Step::ConvBackward { input: source, weight, bias, dz: grad, dx, geometry });
                    self.accumulate(dx, accumulate);
                }
                Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) => {
                    let input = node.inputs[0];
                    if !matches!(nodes[input].op, Op::Input) {
                        let (dx, accumulate) = self.contribution(&mut grads, nodes, input);
                        let argmax = forward.argmax[index];
                        self.steps.push(Step::PoolBackward { grad, argmax, dx, geometry });
                        if let Some(into) = accumulate {
                            self.steps.push(Step::Accumulate { from: Source::Buf(dx), into });
                        }
                    }
                }
                // It reads the network's input, which needs no gradient.
                Op::Standardize => {}
                Op::Flatten => self.pass_through(&mut grads, nodes, &readers, node.inputs[0], grad),
                Op::LayerNorm { .. } => {
                    let (scale, shift) = scale_shift(tensors, index);
                    let (xhat, rstd) = forward.norms[index].expect("a layer norm has its buffers");
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    self.steps.push(Step::LayerNormBackward { grad, scale, shift, xhat, rstd, dx });
                    self.accumulate(dx, accumulate);
                }
                Op::BatchNorm { channels, .. } => {
                    let (scale, shift) = scale_shift(tensors, index);
                    let (xhat, stats) = forward.norms[index].expect("a batch norm has its buffers");
                    let input = node.inputs[0];
                    let (dx, accumulate) = self.input_gradient(&mut grads, nodes, input);
                    let spatial = node.width / channels;
                    let step = Step::BatchNormBackward { grad, scale, shift, xhat, stats, dx, channels, spatial };
                    self.steps.push(step);
                    self.accumulate(dx, accumulate);
                }
                Op::Add => {
                    for &input in node.inputs.iter() {
                        if matches!(nodes[input].op, Op::Input) {
                            continue;
                        }
                        match grads[input] {
                            None => {
                                let to = self.contribution(&mut grads, nodes, input).0;
                                self.steps.push(Step::Copy { from: Source::Buf(grad), to });
                            }
                            Some(into) => self.steps.push(Step::Accumulate { from: Source::Buf(grad), into }),
                        }
                    }
                }
                Op::Concat => {
                    let mut offset = 0;
                    for &input in node.inputs.iter() {
                        if !matches!(nodes[input].op, Op::Input) {
                            let accumulate = grads[input].is_some();
                            let to = match grads[input] {
                                Some(to) => to,
                                None => self.contribution(&mut grads, nodes, input).0,
                            };
                            self.steps.push(Step::TakeColumns { from: grad, to, offset, accumulate });
                        }
                        offset += nodes[input].width;
                    }
                }
            }
        }
    }

    /// Where a kernel writes its gradient with respect to `input` (none for the
    /// network's input), and the buffer to add it to afterwards if that is
    /// not its first contribution.
    fn input_gradient(
        &mut self,
        grads: &mut [Option<Buf>],
        nodes: &[Node],
        input: usize,
    ) -> (Option<Buf>, Option<Buf>) {
        match nodes[input].op {
            Op::Input => (None, None),
            _ => {
                let (buf, accumulate) = self.contribution(grads, nodes, input);
                (Some(buf), accumulate)
            }
        }
    }

    /// Adds a contribution written to a scratch buffer into the gradient it belongs to.
    fn accumulate(&mut self, written: Option<Buf>, into: Option<Buf>) {
        if let (Some(from), Some(into)) = (written, into) {
            self.steps.push(Step::Accumulate { from: Source::Buf(from), into });
        }
    }

    /// Hands `grad`, already the gradient with respect to `input`'s value, on
    /// to `input`: as its gradient buffer when nothing else reads it, else
    /// copied or added into that buffer.
    fn pass_through(&mut self, grads: &mut [Option<Buf>], nodes: &[Node], readers: &[usize], input: usize, grad: Buf) {
        if matches!(nodes[input].op, Op::Input) {
            return;
        }
        match grads[input] {
            None if readers[input] == 1 => grads[input] = Some(grad),
            None => {
                let to = self.contribution(grads, nodes, input).0;
                self.steps.push(Step::Copy { from: Source::Buf(grad), to });
            }
            Some(into) => self.steps.push(Step::Accumulate { from: Source::Buf(grad), into }),
        }
    }

    /// Where a kernel that overwrites its output puts a contribution to the
    /// gradient of `node`: its gradient buffer for the first contribution, else
    /// a scratch buffer to accumulate from (returned second).
    fn contribution(&mut self, grads: &mut [Option<Buf>], nodes: &[Node], node: usize) -> (Buf, Option<Buf>) {
        match grads[node] {
            None => {
                let buf = self.take(nodes[node].width);
                grads[node] = Some(buf);
                (buf, None)
            }
            Some(into) => (self.take(nodes[node].width), Some(into)),
        }
    }
}
