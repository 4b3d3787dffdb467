//! [`Interpreter`]: an interpreter for any dense network described at run time.
//!
//! It runs a [`Plan`]: the same kernel calls, in the same order and on the
//! same workspace layout, that `nnspec-codegen` emits for generated code, so
//! the two give the same numbers by construction; generated code is faster
//! because every size is a constant. The CLI trains `.nn` files with it, and
//! tests use it as an oracle.

use crate::kernels::{accumulate, apply_dropout, dense_backward, dense_forward, place_columns, take_columns};
use crate::loss::Loss;
use crate::model::{view, BufferInfo, MaskFiller, Model, TensorInfo, Workspace};
use crate::Activation;
use nnspec_core::conv::{conv_backward, conv_forward, pool_backward, pool_forward};
use nnspec_core::graph::Node;
use nnspec_core::norm::{
    batch_norm_backward, batch_norm_forward, batch_norm_update, layer_norm_backward, layer_norm_forward, standardize,
    standardize_fit,
};
use nnspec_core::plan::{Buf, Plan, Source, Step};
use nnspec_core::recurrent::{cell_extent, recurrent_backward, recurrent_forward};
use std::borrow::Cow;
use std::ops::Range;

/// A dense network whose shape is known only at run time.
#[derive(Debug, Clone)]
pub struct Interpreter {
    plan: Plan,
    tensors: Vec<TensorInfo>,
    params: Vec<f32>,
    buffer_tensors: Vec<BufferInfo>,
    buffers: Vec<f32>,
}
impl Interpreter {
    /// A chain: `input` features, then dense layers (name, units, activation),
    /// each reading the one before it, with their ops' default initializers.
    /// Parameters start at zero; call [`Model::init_params`] to initialise them.
    pub fn new(name: impl Into<String>, input: usize, layers: &[(&str, usize, Activation)], loss: Loss) -> Interpreter {
        let name: String = name.into();
        Interpreter::from_plan(Plan::chain(name, input, layers, loss))
    }

    /// A graph of nodes that describe themselves (see [`nnspec_core::graph`]).
    /// Parameters start at zero.
    pub fn graph(name: impl Into<String>, nodes: Vec<Node>, loss: Loss) -> Result<Interpreter, crate::Error> {
        let name: String = name.into();
        let plan = Plan::graph(name.clone(), nodes, loss)
            .map_err(|message| crate::Error::Shape(format!("network `{name}`: {message}")))?;
        Ok(Interpreter::from_plan(plan))
    }

    fn from_plan(plan: Plan) -> Interpreter {
        let tensors = plan.tensors.iter().map(TensorInfo::of).collect();
        let params = vec![0.0; plan.param_count];
        let buffer_tensors = plan
            .buffers
            .iter()
            .map(|tensor| BufferInfo {
                name: Cow::Owned(tensor.name.clone()),
                shape: Cow::Owned(tensor.shape.clone()),
                offset: tensor.range.start,
                initial: tensor.initial,
            })
            .collect();
        let buffers = plan.initial_buffers();
        Interpreter { plan, tensors, params, buffer_tensors, buffers }
    }

    /// The plan this interpreter runs.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Builds the network from flat parameters (checked against the layout).
    pub fn with_params(mut self, params: &[f32]) -> Result<Interpreter, crate::Error> {
        if params.len() != self.params.len() {
            return Err(crate::Error::Shape(format!(
                "{} parameters given, `{}` has {}",
                params.len(),
                self.plan.name,
                self.params.len()
            )));
        }
        self.params.copy_from_slice(params);
        Ok(self)
    }

    /// The smallest and largest value of every node's output (and of each
    /// dense or activation node's pre-activation) over the rows of `x`, in
    /// inference mode: what int8 quantisation calibrates on.
    pub fn ranges(&self, x: &[f32]) -> nnspec_core::quant::Ranges {
        const ROWS: usize = 256;
        let count = self.plan.nodes.len();
        let empty = (f32::INFINITY, f32::NEG_INFINITY);
        let mut outputs = vec![empty; count];
        let mut pre_activations: Vec<_> = self.plan.pre_activations.iter().map(|z| z.map(|_| empty)).collect();
        let widen = |range: &mut (f32, f32), values: &[f32]| {
            for &v in values.iter().filter(|v| v.is_finite()) {
                *range = (range.0.min(v), range.1.max(v));
            }
        };
        let width = self.plan.nodes.last().map_or(0, |n| n.width);
        let mut outputs_by_unit = vec![empty; width];
        let mut cells = vec![0.0f32; count];
        let mut workspace = Workspace::default();
        for chunk in x.chunks(ROWS * self.plan.input.max(1)) {
            let batch = chunk.len() / self.plan.input.max(1);
            let offsets = self.plan.offsets(batch);
            let pass =
                Pass { offsets: &offsets, batch, x: chunk, training: false, indices: false, buffers: &self.buffers };
            let (buffer, mut masks) = workspace.buffer(offsets[offsets.len() - 1]);
            for step in &self.plan.forward {
                pass.run(step, &self.params, buffer, &mut masks, &mut []);
            }
            for (node, source) in self.plan.values.iter().enumerate() {
                let values = match source.buf(false) {
                    Some(buf) => &buffer[pass.range(buf)],
                    None => chunk,
                };
                widen(&mut outputs[node], values);
                if node + 1 == count && width > 0 {
                    // Rows of the output, `[batch][width]`.
                    for row in values.chunks_exact(width) {
                        for (range, &v) in outputs_by_unit.iter_mut().zip(row) {
                            widen(range, &[v]);
                        }
                    }
                }
            }
            for (range, z) in pre_activations.iter_mut().zip(&self.plan.pre_activations) {
                if let (Some(range), Some(z)) = (range.as_mut(), z) {
                    widen(range, &buffer[pass.range(*z)]);
                }
            }
            // An LSTM's cell states, from the cache its forward step keeps.
            for step in &self.plan.forward {
                if let Step::Recurrent { output, cache, geometry, .. } = step {
                    let node = self.plan.values.iter().position(|v| v.buf(false) == Some(*output));
                    if let Some(extent) = node.and_then(|node| cells.get_mut(node)) {
                        *extent = extent.max(cell_extent(&buffer[pass.range(*cache)], geometry));
                    }
                }
            }
        }
        let settle = |(min, max): (f32, f32)| if min <= max { (min, max) } else { (0.0, 0.0) };
        nnspec_core::quant::Ranges {
            outputs: outputs.into_iter().map(settle).collect(),
            pre_activations: pre_activations.into_iter().map(|r| r.map(settle)).collect(),
            outputs_by_unit: outputs_by_unit.into_iter().map(settle).collect(),
            cells,
        }
    }
}

/// Runs `$body` with `$o` bound to a layer's output width, as a constant
/// where it is small: the dense kernels' innermost loops run along a row of
/// outputs, and with a constant length they unroll as they do in generated
/// code, where every width is a literal (W2 through the interpreter: 2.5×
/// the generated code without this, 1.3× with it; docs/performance.md).
/// Wider layers take the general instance: their rows are long enough, or
/// they go through GEMM.
macro_rules! with_output_width {
    ($outputs:expr, |$o:ident| $body:expr) => {
        match $outputs {
            1 => with_output_width!(@ 1, $o, $body),
            2 => with_output_width!(@ 2, $o, $body),
            3 => with_output_width!(@ 3, $o, $body),
            4 => with_output_width!(@ 4, $o, $body),
            8 => with_output_width!(@ 8, $o, $body),
            16 => with_output_width!(@ 16, $o, $body),
            $o => $body,
        }
    };
    (@ $width:literal, $o:ident, $body:expr) => {{
        let $o = $width;
        $body
    }};
}

/// Runs `$body` with `$i` and `$o` bound to a dense layer's input and output
/// widths, both as constants where both are at most 4: a row of so few
/// inputs is a loop of a few steps around each output row, which unrolls
/// only with a constant trip count (W2's 2 → 4 and 4 → 1 layers). Other
/// layers take [`with_output_width`]'s instances.
macro_rules! with_widths {
    ($inputs:expr, $outputs:expr, |$i:ident, $o:ident| $body:expr) => {
        match ($inputs, $outputs) {
            (1, 1) => with_widths!(@ 1, 1, $i, $o, $body),
            (1, 2) => with_widths!(@ 1, 2, $i, $o, $body),
            (1, 3) => with_widths!(@ 1, 3, $i, $o, $body),
            (1, 4) => with_widths!(@ 1, 4, $i, $o, $body),
            (2, 1) => with_widths!(@ 2, 1, $i, $o, $body),
            (2, 2) => with_widths!(@ 2, 2, $i, $o, $body),
            (2, 3) => with_widths!(@ 2, 3, $i, $o, $body),
            (2, 4) => with_widths!(@ 2, 4, $i, $o, $body),
            (3, 1) => with_widths!(@ 3, 1, $i, $o, $body),
            (3, 2) => with_widths!(@ 3, 2, $i, $o, $body),
            (3, 3) => with_widths!(@ 3, 3, $i, $o, $body),
            (3, 4) => with_widths!(@ 3, 4, $i, $o, $body),
            (4, 1) => with_widths!(@ 4, 1, $i, $o, $body),
            (4, 2) => with_widths!(@ 4, 2, $i, $o, $body),
            (4, 3) => with_widths!(@ 4, 3, $i, $o, $body),
            (4, 4) => with_widths!(@ 4, 4, $i, $o, $body),
            ($i, $o) => with_output_width!($o, |$o| $body),
        }
    };
    (@ $inputs:literal, $outputs:literal, $i:ident, $o:ident, $body:expr) => {{
        let ($i, $o) = ($inputs, $outputs);
        $body
    }};
}

/// One pass's view of the workspace: slot offsets for its batch, the input
/// rows, the mode and the network's buffers.
struct Pass<'a> {
    offsets: &'a [usize],
    batch: usize,
    x: &'a [f32],
    training: bool,
    /// Whether backpropagation follows, which reads the max pools' indices.
    indices: bool,
    buffers: &'a [f32],
}

impl Pass<'_> {
    fn range(&self, buf: Buf) -> Range<usize> {
        let start = self.offsets[buf.slot];
        start..start + self.batch * buf.width
    }

    /// Calls `f` with the rows `source` names (the pass's input or a workspace
    /// buffer) and the rows of `out` to write.
    fn map_rows(&self, buffer: &mut [f32], source: Source, out: Buf, f: impl FnOnce(&[f32], &mut [f32])) {
        match source.buf(self.training) {
            Some(buf) => {
                let ([input], out) = view(buffer, self.range(out), [self.range(buf)]);
                f(input, out);
            }
            None => f(self.x, &mut buffer[self.range(out)]),
        }
    }

    /// Calls `f` with the rows a layer read, the gradient of its output and,
    /// if asked, the rows of the gradient with respect to its input to write.
    fn backward_rows(
        &self,
        buffer: &mut [f32],
        source: Source,
        dz: Buf,
        dx: Option<Buf>,
        f: impl FnOnce(&[f32], &[f32], Option<&mut [f32]>),
    ) {
        let source = source.buf(self.training).map(|buf| self.range(buf));
        match dx {
            Some(dx) => {
                let from_input = source.is_none();
                let ([input, dz], dx) = view(buffer, self.range(dx), [source.unwrap_or(0..0), self.range(dz)]);
                f(if from_input { self.x } else { input }, dz, Some(dx));
            }
            None => f(source.map_or(self.x, |range| &buffer[range]), &buffer[self.range(dz)], None),
        }
    }

    /// Runs one step. `grad` is the parameter gradient (backward steps only).
    fn run(&self, step: &Step, params: &[f32], buffer: &mut [f32], masks: &mut MaskFiller<'_>, grad: &mut [f32]) {
        let batch = self.batch;
        match step {
            Step::Dense { input, weight, bias, output, inputs, outputs } => {
                let (w, b) = (&params[weight.clone()], bias.clone().map(|b| &params[b]));
                self.map_rows(buffer, *input, *output, |x, z| {
                    with_widths!(*inputs, *outputs, |i, o| dense_forward(x, w, b, z, batch, i, o))
                });
            }
            Step::Activation { activation, z, a: out } => {
                let ([z], a) = view(buffer, self.range(*out), [self.range(*z)]);
                activation.forward(z, a, out.width);
            }
            Step::Dropout { index, input, mask, output, p, keep } => {
                if self.training {
                    masks.fill(*index, &mut buffer[self.range(*mask)], *p);
                    let ([a, m], h) = view(buffer, self.range(*output), [self.range(*input), self.range(*mask)]);
                    h.copy_from_slice(a);
                    apply_dropout(h, m, *keep);
                }
            }
            Step::DenseBackward { input, weight, bias, dz, dx, inputs, outputs } => {
                let w = &params[weight.clone()];
                let (dw, db) = weight_gradients(grad, weight, bias);
                self.backward_rows(buffer, *input, *dz, *dx, |x, dz, dx| {
                    with_widths!(*inputs, *outputs, |i, o| dense_backward(x, w, dz, dw, db, dx, batch, i, o))
                });
            }
            Step::Conv { input, weight, bias, output, geometry } => {
                let (w, b) = (&params[weight.clone()], bias.clone().map(|b| &params[b]));
                self.map_rows(buffer, *input, *output, |x, z| conv_forward(x, w, b, z, batch, geometry));
            }
            Step::ConvBackward { input, weight, bias, dz, dx, geometry } => {
                let w = &params[weight.clone()];
                let (dw, db) = weight_gradients(grad, weight, bias);
                self.backward_rows(buffer, *input, *dz, *dx, |x, dz, dx| {
                    conv_backward(x, w, dz, dw, db, dx, batch, geometry)
                });
            }
            Step::Pool { input, output, argmax, geometry } => {
                let source = input.buf(self.training).map(|buf| self.range(buf));
                // Only backpropagation reads the indices: inference writes none.
                match argmax.filter(|_| self.indices) {
                    Some(argmax) => {
                        let (outputs, reads) = split_outputs(buffer, [self.range(*output), self.range(argmax)]);
                        let [y, indices] = outputs;
                        let x = source.map_or(self.x, |range| &reads[range]);
                        pool_forward(x, y, Some(indices), batch, geometry);
                    }
                    None => self.map_rows(buffer, *input, *output, |x, y| pool_forward(x, y, None, batch, geometry)),
                }
            }
            Step::Recurrent { input, params: p, output, cache, geometry } => {
                let w = &params[p.clone()];
                let source = input.buf(self.training).map(|buf| self.range(buf));
                // The output and the cache lie one after the other in the workspace.
                let (outputs, reads) = split_outputs(buffer, [self.range(*output), self.range(*cache)]);
                let [y, kept] = outputs;
                let x = source.map_or(self.x, |range| &reads[range]);
                recurrent_forward(x, w, y, Some(kept), batch, geometry);
            }
            Step::RecurrentBackward { input, params: p, cache, dout, dx, geometry } => {
                let w = &params[p.clone()];
                let dw = &mut grad[p.clone()];
                let source = input.buf(self.training).map(|buf| self.range(buf));
                let (kept, dout) = (self.range(*cache), self.range(*dout));
                match dx {
                    Some(dx) => {
                        let from_input = source.is_none();
                        let reads = [source.unwrap_or(0..0), kept, dout];
                        let ([input, kept, dout], dx) = view(buffer, self.range(*dx), reads);
                        let x = if from_input { self.x } else { input };
                        recurrent_backward(x, w, kept, dout, dw, Some(dx), batch, geometry);
                    }
                    None => {
                        let x = source.map_or(self.x, |range| &buffer[range]);
                        recurrent_backward(x, w, &buffer[kept], &buffer[dout], dw, None, batch, geometry);
                    }
                }
            }
            Step::PoolBackward { grad: g, argmax, dx, geometry } => {
                let argmax = argmax.map_or(0..0, |buf| self.range(buf));
                let ([g, indices], dx) = view(buffer, self.range(*dx), [self.range(*g), argmax]);
                pool_backward(g, indices, dx, batch, geometry);
            }
            Step::LayerNorm { input, scale, shift, output, xhat, rstd, eps } => {
                let (gamma, beta) = (&params[scale.clone()], &params[shift.clone()]);
                let width = output.width;
                let source = input.buf(self.training).map(|buf| self.range(buf));
                // The three outputs lie one after another in the workspace.
                let (outputs, reads) =
                    split_outputs(buffer, [self.range(*output), self.range(*xhat), self.range(*rstd)]);
                let [y, xh, r] = outputs;
                let x = source.map_or(self.x, |range| &reads[range]);
                layer_norm_forward(x, gamma, beta, y, xh, r, width, *eps);
            }
            Step::LayerNormBackward { grad: g, scale, shift, xhat, rstd, dx } => {
                let gamma = &params[scale.clone()];
                let (before, after) = grad.split_at_mut(shift.start);
                let (dgamma, dbeta) = (&mut before[scale.clone()], &mut after[..shift.len()]);
                let width = g.width;
                match dx {
                    Some(dx) => {
                        let ([g, xh, r], dx) =
                            view(buffer, self.range(*dx), [self.range(*g), self.range(*xhat), self.range(*rstd)]);
                        layer_norm_backward(g, gamma, xh, r, dgamma, dbeta, Some(dx), width);
                    }
                    None => {
                        let (g, xh, r) =
                            (&buffer[self.range(*g)], &buffer[self.range(*xhat)], &buffer[self.range(*rstd)]);
                        layer_norm_backward(g, gamma, xh, r, dgamma, dbeta, None, width);
                    }
                }
            }
            Step::BatchNorm { input, scale, shift, buffers, output, xhat, stats, channels, spatial, eps, .. } => {
                let (gamma, beta, running) =
                    (&params[scale.clone()], &params[shift.clone()], &self.buffers[buffers.clone()]);
                let source = input.buf(self.training).map(|buf| self.range(buf));
                let (outputs, reads) =
                    split_outputs(buffer, [self.range(*output), self.range(*xhat), self.range(*stats)]);
                let [y, xh, st] = outputs;
                let x = source.map_or(self.x, |range| &reads[range]);
                batch_norm_forward(x, gamma, beta, running, y, xh, st, batch, *channels, *spatial, *eps, self.training);
            }
            Step::BatchNormBackward { grad: g, scale, shift, xhat, stats, dx, channels, spatial } => {
                let gamma = &params[scale.clone()];
                let (before, after) = grad.split_at_mut(shift.start);
                let (dgamma, dbeta) = (&mut before[scale.clone()], &mut after[..shift.len()]);
                let (channels, spatial, training) = (*channels, *spatial, self.training);
                match dx {
                    Some(dx) => {
                        let ([g, xh, st], dx) =
                            view(buffer, self.range(*dx), [self.range(*g), self.range(*xhat), self.range(*stats)]);
                        batch_norm_backward(g, gamma, xh, st, dgamma, dbeta, Some(dx), channels, spatial, training);
                    }
                    None => {
                        let (g, xh, st) =
                            (&buffer[self.range(*g)], &buffer[self.range(*xhat)], &buffer[self.range(*stats)]);
                        batch_norm_backward(g, gamma, xh, st, dgamma, dbeta, None, channels, spatial, training);
                    }
                }
            }
            Step::Standardize { input, buffers, output, width } => {
                let statistics = &self.buffers[buffers.clone()];
                self.map_rows(buffer, *input, *output, |x, y| standardize(x, statistics, y, *width));
            }
            Step::Copy { from, to } => self.map_rows(buffer, *from, *to, |from, to| to.copy_from_slice(from)),
            Step::Accumulate { from, into } => self.map_rows(buffer, *from, *into, accumulate),
            Step::PlaceColumns { from, width, to, offset } => self
                .map_rows(buffer, *from, *to, |from, rows| place_columns(from, rows, batch, *width, to.width, *offset)),
            Step::TakeColumns { from, to, offset, accumulate } => {
                let ([from_rows], to_rows) = view(buffer, self.range(*to), [self.range(*from)]);
                take_columns(from_rows, to_rows, batch, to.width, from.width, *offset, *accumulate);
            }
            Step::DropoutBackward { mask, grad, keep } => {
                if self.training {
                    let ([m], g) = view(buffer, self.range(*grad), [self.range(*mask)]);
                    apply_dropout(g, m, *keep);
                }
            }
            Step::ActivationBackward { activation, z, a, grad } => {
                let ([z, a], g) = view(buffer, self.range(*grad), [self.range(*z), self.range(*a)]);
                activation.backward(z, a, g, grad.width);
            }
        }
    }
}

/// A layer's weight and bias gradients in the parameter-gradient buffer.
fn weight_gradients<'g>(
    grad: &'g mut [f32],
    weight: &Range<usize>,
    bias: &Option<Range<usize>>,
) -> (&'g mut [f32], Option<&'g mut [f32]>) {
    let (before, after) = grad.split_at_mut(weight.end);
    let db = bias.as_ref().map(|b| &mut after[b.start - weight.end..b.end - weight.end]);
    (&mut before[weight.clone()], db)
}

/// Consecutive workspace ranges written at once (a layer norm's output,
/// normalised values and reciprocal deviations; a max pool's output and
/// indices), and the rest of the buffer to read.
fn split_outputs<const N: usize>(buffer: &mut [f32], ranges: [Range<usize>; N]) -> ([&mut [f32]; N], Reads<'_>) {
    let (start, end) = (ranges[0].start, ranges[N - 1].end);
    let (left, rest) = buffer.split_at_mut(start);
    let (written, right) = rest.split_at_mut(end - start);
    let mut rest = written;
    let outputs = core::array::from_fn(|i| {
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(ranges[i].len());
        rest = tail;
        head
    });
    (outputs, Reads { left, right, gap: end })
}

/// The parts of the workspace around a written span, indexed as the whole buffer.
struct Reads<'a> {
    left: &'a [f32],
    right: &'a [f32],
    gap: usize,
}

impl core::ops::Index<Range<usize>> for Reads<'_> {
    type Output = [f32];

    fn index(&self, range: Range<usize>) -> &[f32] {
        if range.end <= self.left.len() {
            &self.left[range]
        } else {
            &self.right[range.start - self.gap..range.end - self.gap]
        }
    }
}

impl Model for Interpreter {
    fn name(&self) -> &str {
        &self.plan.name
    }

    fn input_size(&self) -> usize {
        self.plan.input
    }

    fn output_size(&self) -> usize {
        self.plan.output_size()
    }

    fn loss_kind(&self) -> Loss {
        self.plan.loss
    }

    fn nodes(&self) -> &[Node] {
        &self.plan.nodes
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

    fn buffers(&self) -> &[f32] {
        &self.buffers
    }

    fn buffers_mut(&mut self) -> &mut [f32] {
        &mut self.buffers
    }

    fn buffer_tensors(&self) -> &[BufferInfo] {
        &self.buffer_tensors
    }

    fn update_buffers(&mut self, workspace: &mut Workspace, rows: usize) {
        // Called after every training batch: nothing to compute (or allocate) without a batch norm.
        if !self.plan.batch_statistics() {
            return;
        }
        let offsets = self.plan.offsets(rows);
        let (scratch, _) = workspace.buffer(offsets[offsets.len() - 1]);
        for step in &self.plan.forward {
            if let Step::BatchNorm { buffers, stats, channels, spatial, momentum, .. } = step {
                let stats = &scratch[offsets[stats.slot]..offsets[stats.slot] + 3 * channels];
                batch_norm_update(&mut self.buffers[buffers.clone()], stats, *channels, rows * spatial, *momentum);
            }
        }
    }

    fn min_training_rows(&self) -> usize {
        self.plan.min_training_rows()
    }

    fn batch_statistics(&self) -> bool {
        self.plan.batch_statistics()
    }

    fn adapt(&mut self, x: &[f32], rows: usize) {
        for step in &self.plan.forward {
            if let Step::Standardize { buffers, width, .. } = step {
                let statistics = &mut self.buffers[buffers.clone()];
                if statistics[2 * width] == 0.0 {
                    standardize_fit(x, statistics, rows, *width);
                }
            }
        }
    }

    fn forward(&self, x: &[f32], out: &mut [f32], workspace: &mut Workspace) {
        let batch = x.len() / self.plan.input.max(1);
        let offsets = self.plan.offsets(batch);
        let pass = Pass { offsets: &offsets, batch, x, training: false, indices: false, buffers: &self.buffers };
        let (buffer, mut masks) = workspace.buffer(offsets[offsets.len() - 1]);
        for step in &self.plan.forward {
            pass.run(step, &self.params, buffer, &mut masks, &mut []);
        }
        match self.plan.head {
            Some(head) => out.copy_from_slice(&buffer[pass.range(head.a)]),
            None => out.copy_from_slice(x),
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
        let batch = x.len() / self.plan.input.max(1);
        let offsets = self.plan.offsets(batch);
        let pass = Pass { offsets: &offsets, batch, x, training, indices: true, buffers: &self.buffers };
        let (buffer, mut masks) = workspace.buffer(offsets[offsets.len() - 1]);
        for step in &self.plan.forward {
            pass.run(step, &self.params, buffer, &mut masks, &mut []);
        }
        let Some(head) = self.plan.head else {
            return 0.0;
        };
        let width = head.z.width;
        let Some(grad) = grad else {
            let (z, a) = (&buffer[pass.range(head.z)], &buffer[pass.range(head.a)]);
            return self.plan.loss.evaluate(head.activation, z, a, targets, width, None);
        };
        let ([z, a], dz) = view(buffer, pass.range(head.grad), [pass.range(head.z), pass.range(head.a)]);
        let value = self.plan.loss.evaluate(head.activation, z, a, targets, width, Some(dz));
        for step in &self.plan.backward {
            pass.run(step, &self.params, buffer, &mut masks, grad);
        }
        value
    }
}
