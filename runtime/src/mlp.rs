//! [`Mlp`]: an interpreter for any dense network described at run time.
//!
//! It runs the same kernels, in the same order and on the same workspace
//! layout, as the code `nnspec-codegen` generates, so the two give the same
//! numbers (a test checks it); generated code is faster because every size is a
//! constant. The CLI trains `.nn` files with it, and tests use it as an oracle.
//!
//! Workspace layout for a batch of `B` rows, per layer `l` in order: `z_l`,
//! `a_l` (`B × units` each), and while training with dropout `mask_l`, `h_l`
//! (the dropped-out output the next layer reads); then two gradient buffers of
//! `B × widest` that backward passes ping-pong between.

use crate::init::Init;
use crate::kernels::{apply_dropout, dense_backward, dense_forward};
use crate::loss::Loss;
use crate::model::{view, LayerInfo, Model, TensorInfo, Workspace};
use std::borrow::Cow;
use std::ops::Range;

/// A dense network whose shape is known only at run time.
#[derive(Debug, Clone)]
pub struct Mlp {
    name: String,
    input: usize,
    layers: Vec<LayerInfo>,
    tensors: Vec<TensorInfo>,
    /// Per layer: the weight range and the bias range in the flat buffer.
    ranges: Vec<(Range<usize>, Option<Range<usize>>)>,
    loss: Loss,
    params: Vec<f32>,
}

/// Per-layer initialisation and penalties for [`Mlp::new`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerInit {
    /// Weight initializer.
    pub weight: Init,
    /// Bias initializer.
    pub bias: Init,
    /// L1 coefficient on the weights.
    pub l1: f32,
    /// L2 coefficient on the weights.
    pub l2: f32,
}

impl Default for LayerInit {
    fn default() -> LayerInit {
        LayerInit { weight: Init::XavierUniform, bias: Init::Zeros, l1: 0.0, l2: 0.0 }
    }
}

/// Where one layer's buffers live in the workspace.
#[derive(Debug, Clone)]
struct Slots {
    z: Range<usize>,
    a: Range<usize>,
    /// Mask and dropped-out output, when dropout is active.
    dropout: Option<(Range<usize>, Range<usize>, f32)>,
}

impl Slots {
    fn output(&self) -> Range<usize> {
        self.dropout.as_ref().map_or(self.a.clone(), |(_, h, _)| h.clone())
    }
}

impl Mlp {
    /// A network with `input` features and these layers (their `inputs` are
    /// filled in from the chain). Parameters start at zero; call
    /// [`Model::init_params`] to initialise them.
    pub fn new(name: impl Into<String>, input: usize, layers: Vec<(LayerInfo, LayerInit)>, loss: Loss) -> Mlp {
        let mut tensors = Vec::new();
        let mut ranges = Vec::new();
        let mut offset = 0;
        let mut infos = Vec::new();
        let mut inputs = input;
        for (mut layer, init) in layers {
            layer.inputs = inputs;
            inputs = layer.units;
            let fans = (layer.inputs, layer.units);
            let weight = offset..offset + layer.inputs * layer.units;
            tensors.push(TensorInfo {
                name: Cow::Owned(format!("{}.weight", layer.name)),
                shape: Cow::Owned(vec![layer.inputs, layer.units]),
                offset,
                is_weight: true,
                init: init.weight,
                fans,
                l1: init.l1,
                l2: init.l2,
            });
            offset = weight.end;
            let bias = layer.bias.then(|| offset..offset + layer.units);
            if let Some(bias) = &bias {
                tensors.push(TensorInfo {
                    name: Cow::Owned(format!("{}.bias", layer.name)),
                    shape: Cow::Owned(vec![layer.units]),
                    offset,
                    is_weight: false,
                    init: init.bias,
                    fans,
                    l1: 0.0,
                    l2: 0.0,
                });
                offset = bias.end;
            }
            ranges.push((weight, bias));
            infos.push(layer);
        }
        Mlp { name: name.into(), input, layers: infos, tensors, ranges, loss, params: vec![0.0; offset] }
    }

    fn plan(&self, batch: usize, training: bool) -> (Vec<Slots>, [Range<usize>; 2], usize) {
        let mut cursor = 0;
        let mut take = |n: usize| {
            cursor += n;
            cursor - n..cursor
        };
        let last = self.layers.len().saturating_sub(1);
        let slots: Vec<Slots> = self
            .layers
            .iter()
            .enumerate()
            .map(|(index, layer)| {
                let n = batch * layer.units;
                let (z, a) = (take(n), take(n));
                let dropout =
                    layer.dropout.filter(|p| training && index != last && *p > 0.0).map(|p| (take(n), take(n), p));
                Slots { z, a, dropout }
            })
            .collect();
        let widest = self.layers.iter().map(|l| l.units).max().unwrap_or(0) * batch;
        let gradients = [take(widest), take(widest)];
        (slots, gradients, cursor)
    }

    /// Forward pass into the workspace; returns the slot plan and the scratch buffer.
    fn forward_pass<'w>(
        &self,
        x: &[f32],
        workspace: &'w mut Workspace,
        training: bool,
    ) -> (Vec<Slots>, [Range<usize>; 2], &'w mut [f32]) {
        let batch = x.len() / self.input.max(1);
        let (slots, gradients, total) = self.plan(batch, training);
        let (buffer, mut masks) = workspace.buffer(total);
        let mut dropout_index = 0;
        for (index, (layer, slot)) in self.layers.iter().zip(&slots).enumerate() {
            let (weight, bias) = &self.ranges[index];
            let w = &self.params[weight.clone()];
            let b = bias.clone().map(|b| &self.params[b]);
            if index == 0 {
                dense_forward(x, w, b, &mut buffer[slot.z.clone()], batch, layer.inputs, layer.units);
            } else {
                let ([input], z) = view(buffer, slot.z.clone(), [slots[index - 1].output()]);
                dense_forward(input, w, b, z, batch, layer.inputs, layer.units);
            }
            let ([z], a) = view(buffer, slot.a.clone(), [slot.z.clone()]);
            layer.activation.forward(z, a, layer.units);
            if let Some((mask, h, p)) = &slot.dropout {
                masks.fill(dropout_index, &mut buffer[mask.clone()], *p);
                dropout_index += 1;
                let ([a, m], h) = view(buffer, h.clone(), [slot.a.clone(), mask.clone()]);
                h.copy_from_slice(a);
                apply_dropout(h, m, 1.0 - p);
            }
        }
        (slots, gradients, buffer)
    }

    /// Builds the network from flat parameters (checked against the layout).
    pub fn with_params(mut self, params: &[f32]) -> Result<Mlp, crate::Error> {
        if params.len() != self.params.len() {
            return Err(crate::Error::Shape(format!(
                "{} parameters given, `{}` has {}",
                params.len(),
                self.name,
                self.params.len()
            )));
        }
        self.params.copy_from_slice(params);
        Ok(self)
    }
}

impl Model for Mlp {
    fn name(&self) -> &str {
        &self.name
    }

    fn input_size(&self) -> usize {
        self.input
    }

    fn output_size(&self) -> usize {
        self.layers.last().map_or(self.input, |l| l.units)
    }

    fn loss_kind(&self) -> Loss {
        self.loss
    }

    fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    fn params(&self) -> &[f32] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    fn forward(&self, x: &[f32], out: &mut [f32], workspace: &mut Workspace) {
        let (slots, _, buffer) = self.forward_pass(x, workspace, false);
        if let Some(last) = slots.last() {
            out.copy_from_slice(&buffer[last.a.clone()]);
        }
    }

    fn loss_and_grad(
        &self,
        x: &[f32],
        targets: &[f32],
        grad: Option<&mut [f32]>,
        workspace: &mut Workspace,
        training: bool,
    ) -> f32 {
        let batch = x.len() / self.input.max(1);
        let (slots, gradients, buffer) = self.forward_pass(x, workspace, training);
        let Some(last) = self.layers.last() else {
            return 0.0;
        };
        let last_slot = &slots[slots.len() - 1];
        let [mut current, mut next] = gradients;
        let out_len = batch * last.units;
        let Some(grad) = grad else {
            let ([z, a], _) = view(buffer, current.start..current.start, [last_slot.z.clone(), last_slot.a.clone()]);
            return self.loss.evaluate(last.activation, z, a, targets, last.units, None);
        };
        let ([z, a], dz) =
            view(buffer, current.start..current.start + out_len, [last_slot.z.clone(), last_slot.a.clone()]);
        let value = self.loss.evaluate(last.activation, z, a, targets, last.units, Some(dz));
        for index in (0..self.layers.len()).rev() {
            let layer = &self.layers[index];
            let (weight, bias) = &self.ranges[index];
            let w = &self.params[weight.clone()];
            let (before, after) = grad.split_at_mut(weight.end);
            let dw = &mut before[weight.clone()];
            let db = bias.as_ref().map(|b| &mut after[b.start - weight.end..b.end - weight.end]);
            let dz_range = current.start..current.start + batch * layer.units;
            if index == 0 {
                dense_backward(x, w, &buffer[dz_range], dw, db, None, batch, layer.inputs, layer.units);
                break;
            }
            let previous = &slots[index - 1];
            let previous_layer = &self.layers[index - 1];
            let dx_range = next.start..next.start + batch * layer.inputs;
            let ([input, dz], dx) = view(buffer, dx_range.clone(), [previous.output(), dz_range]);
            dense_backward(input, w, dz, dw, db, Some(dx), batch, layer.inputs, layer.units);
            if let Some((mask, _, p)) = &previous.dropout {
                let ([m], dx) = view(buffer, dx_range.clone(), [mask.clone()]);
                apply_dropout(dx, m, 1.0 - p);
            }
            let ([z, a], dx) = view(buffer, dx_range, [previous.z.clone(), previous.a.clone()]);
            previous_layer.activation.backward(z, a, dx, previous_layer.units);
            core::mem::swap(&mut current, &mut next);
        }
        value
    }
}
