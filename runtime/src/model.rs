//! The model trait every generated network implements, the parameter layout it
//! describes, and the reusable workspace its batch passes run in.
//!
//! Invariant: a model's parameters live in one flat `[f32]` buffer described by
//! [`Model::tensors`]; gradients use the same layout, so optimizers, clipping,
//! penalties and weight files work on any model without knowing its layers.

use crate::init::{Fill as _, Init};
use crate::loss::Loss;
pub use nnspec_core::plan::Role;
pub use nnspec_core::Node;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::borrow::Cow;
use std::ops::{ControlFlow, Range};

/// One parameter tensor in a model's flat buffer, made from the plan's
/// [`ParamTensor`](nnspec_core::plan::ParamTensor) by [`TensorInfo::of`].
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    /// `node.weight` or `node.bias`.
    pub name: Cow<'static, str>,
    /// `[inputs, outputs]` for a dense weight, `[outputs]` for its bias, as the op declares it.
    pub shape: Cow<'static, [usize]>,
    /// First element in the flat buffer.
    pub offset: usize,
    /// The node it belongs to (its index in [`Model::nodes`]).
    pub node: usize,
    /// What it is to its node (`None` for a buffer a weight file stores beside the parameters).
    pub role: Option<Role>,
    /// How to initialise it.
    pub init: Init,
    /// Fan-in and fan-out of its layer (for Xavier and He).
    pub fans: (usize, usize),
    /// L1 penalty coefficient (`coef·Σ|p|` added to the loss).
    pub l1: f32,
    /// L2 penalty coefficient (`½·coef·Σp²` added to the loss).
    pub l2: f32,
}

impl TensorInfo {
    /// The model-side description of one of a plan's parameter tensors.
    pub fn of(tensor: &nnspec_core::plan::ParamTensor) -> TensorInfo {
        TensorInfo {
            name: Cow::Owned(tensor.name.clone()),
            shape: Cow::Owned(tensor.shape.clone()),
            offset: tensor.range.start,
            node: tensor.node,
            role: Some(tensor.role),
            init: tensor.init,
            fans: tensor.fans,
            l1: tensor.penalties.0,
            l2: tensor.penalties.1,
        }
    }

    /// True for a weight (a dense layer's or a convolution's), not a bias, γ or β.
    pub fn is_weight(&self) -> bool {
        self.role == Some(Role::Weight)
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tensor's range in the flat buffer.
    pub fn range(&self) -> core::ops::Range<usize> {
        flat_range(self.offset, &self.shape)
    }
}

/// The elements of a tensor of `shape` starting at `offset` in a flat buffer.
fn flat_range(offset: usize, shape: &[usize]) -> Range<usize> {
    offset..offset + shape.iter().product::<usize>()
}

/// One tensor of a model's buffers: state that training updates without an
/// optimizer (a batch normalisation's running statistics, a standardisation's
/// statistics of the training rows), in one flat `[f32]` buffer described by
/// [`Model::buffer_tensors`].
#[derive(Debug, Clone, PartialEq)]
pub struct BufferInfo {
    /// `node.running_mean`, `node.running_var`, `node.num_batches_tracked`;
    /// `node.mean`, `node.std`, `node.count`.
    pub name: Cow<'static, str>,
    /// `[channels]` or `[features]`, or `[]` for a counter.
    pub shape: Cow<'static, [usize]>,
    /// First element in the flat buffer.
    pub offset: usize,
    /// Its value in a new network.
    pub initial: f32,
}

impl BufferInfo {
    /// The tensor's range in the flat buffer (one element for a scalar).
    pub fn range(&self) -> core::ops::Range<usize> {
        flat_range(self.offset, &self.shape)
    }
}

/// A network the optimizers and the trainer can work on.
///
/// Generated networks implement it; so does [`crate::Interpreter`], the interpreter.
/// It is `Send + Sync` so the trainer can split a large batch across threads.
pub trait Model: Send + Sync {
    /// The network's name.
    fn name(&self) -> &str;
    /// Input features per sample.
    fn input_size(&self) -> usize;
    /// Outputs per sample.
    fn output_size(&self) -> usize;
    /// The loss it is trained with.
    fn loss_kind(&self) -> Loss;
    /// The graph: the input, then every node after the nodes it reads; the last is the output.
    fn nodes(&self) -> &[Node];
    /// The parameter tensors in buffer order.
    fn tensors(&self) -> &[TensorInfo];
    /// The flat parameter buffer.
    fn params(&self) -> &[f32];
    /// The flat parameter buffer, mutably.
    fn params_mut(&mut self) -> &mut [f32];
    /// Outputs for a batch `x` (`[batch][input]`) into `out` (`[batch][output]`), no dropout.
    fn forward(&self, x: &[f32], out: &mut [f32], workspace: &mut Workspace);
    /// The loss on a batch and, if `grad` is given, its gradient (same layout as the
    /// parameters, overwritten). `training` turns dropout on. No penalty is included.
    fn loss_and_grad(
        &self,
        x: &[f32],
        targets: &[f32],
        grad: Option<&mut [f32]>,
        workspace: &mut Workspace,
        training: bool,
    ) -> f32;

    /// Number of parameters.
    fn param_count(&self) -> usize {
        self.params().len()
    }

    /// The flat buffer of state that is not trained by the optimizer (the
    /// running statistics of batch normalisations); empty for most networks.
    fn buffers(&self) -> &[f32] {
        &[]
    }

    /// The buffers, mutably.
    fn buffers_mut(&mut self) -> &mut [f32] {
        &mut []
    }

    /// The buffer tensors in buffer order.
    fn buffer_tensors(&self) -> &[BufferInfo] {
        &[]
    }

    /// Folds the batch statistics of the last training-mode
    /// [`Model::loss_and_grad`] on `rows` rows in `workspace` into the running
    /// statistics, as a training-mode forward does in PyTorch. Call it right
    /// after that pass, with the same workspace; the trainer does.
    fn update_buffers(&mut self, workspace: &mut Workspace, rows: usize) {
        let _ = (workspace, rows);
    }

    /// Sets the statistics of every `standardize` node that has none yet (its
    /// `count` is 0) from the `rows` input samples in `x`: per feature the
    /// mean and population standard deviation. The trainer calls it with the
    /// training rows before the first epoch; statistics already set (by an
    /// earlier training or a weights file) are kept.
    fn adapt(&mut self, x: &[f32], rows: usize) {
        let _ = (x, rows);
    }

    /// Whether a training pass takes statistics over its whole batch (a batch
    /// normalisation does), so that the batch cannot be split across threads.
    fn batch_statistics(&self) -> bool {
        false
    }

    /// The fewest rows a training batch may have (2 when a batch
    /// normalisation over features would otherwise divide by zero).
    fn min_training_rows(&self) -> usize {
        1
    }

    /// Plain gradient descent on one fixed batch, `steps` times in one call:
    /// after each pass `p ← p − lr·(g + weight_decay·p)`, exactly as
    /// [`crate::Sgd`] without momentum computes it (through
    /// [`crate::optim::sgd_update`]). `after_step(loss, grad, params)` runs after
    /// each update; `Break` ends the run there.
    ///
    /// A step whose loss, gradient or updated parameters are not finite ends
    /// the run with [`Descent::Diverged`], the parameters as they were before
    /// it. `None` means the model has no such pass for this batch, and the
    /// trainer takes its steps one by one instead. Generated networks that
    /// train on a whole small data set of the size their spec states
    /// (`batch = full, samples = N`) have one: their parameters, gradient and
    /// values stay on the stack from the first step to the last, with no call
    /// between the pass and the update.
    #[allow(clippy::too_many_arguments)]
    fn descend(
        &mut self,
        x: &[f32],
        targets: &[f32],
        lr: f32,
        weight_decay: f32,
        steps: usize,
        workspace: &mut Workspace,
        after_step: &mut AfterStep<'_>,
    ) -> Option<Descent> {
        let _ = (x, targets, lr, weight_decay, steps, workspace, after_step);
        None
    }

    /// Initialises every tensor with its initializer, from `seed`, and
    /// resets the buffers to their initial values.
    fn init_params(&mut self, seed: u64) {
        let buffers = self.buffer_tensors().to_vec();
        for tensor in &buffers {
            self.buffers_mut()[tensor.range()].fill(tensor.initial);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let tensors = self.tensors().to_vec();
        let params = self.params_mut();
        for tensor in &tensors {
            tensor.init.fill(&mut params[tensor.range()], tensor.fans.0, tensor.fans.1, &mut rng);
        }
    }
}

/// What [`Model::descend`] calls after each step, with the step's loss, its
/// gradient and the parameters after it; `Break` ends the run.
pub type AfterStep<'a> = dyn FnMut(f32, &[f32], &[f32]) -> ControlFlow<()> + 'a;

/// How a [`Model::descend`] run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Descent {
    /// Every step ran, or `after_step` ended the run.
    Ran,
    /// Step `step` (counted from 0) produced a value that is not finite; the
    /// parameters are those from before it.
    Diverged {
        /// The step, counted from 0.
        step: usize,
        /// What was not finite.
        cause: Divergence,
    },
}

/// What a diverged [`Model::descend`] step produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Divergence {
    /// The loss.
    Loss,
    /// The gradient (given, so that the tensor can be named).
    Gradient(Vec<f32>),
    /// The parameters after the update (given, so that the tensor can be
    /// named; the model holds those from before it).
    Params(Vec<f32>),
}

/// Where the dropout masks of a training pass come from.
#[derive(Debug, Clone)]
enum MaskSource {
    Random,
    Fixed(Vec<Vec<f32>>),
}

/// Scratch memory for batch passes, reused across calls: after the first batch
/// of a given size, forward and backward passes allocate nothing.
#[derive(Debug, Clone)]
pub struct Workspace {
    buffer: Vec<f32>,
    rng: ChaCha8Rng,
    masks: MaskSource,
}

impl Default for Workspace {
    fn default() -> Workspace {
        Workspace::new(0)
    }
}

impl Workspace {
    /// A workspace whose dropout masks are drawn from `seed`.
    pub fn new(seed: u64) -> Workspace {
        Workspace { buffer: Vec::new(), rng: ChaCha8Rng::seed_from_u64(seed), masks: MaskSource::Random }
    }

    /// Re-seeds the dropout random numbers.
    pub fn reseed(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Uses these 0/1 masks (one `[batch][units]` buffer per dropout layer, in
    /// layer order) instead of random ones: for tests against reference values.
    pub fn set_fixed_masks(&mut self, masks: Vec<Vec<f32>>) {
        self.masks = MaskSource::Fixed(masks);
    }

    /// Returns to random masks.
    pub fn clear_fixed_masks(&mut self) {
        self.masks = MaskSource::Random;
    }

    /// The scratch buffer, grown to at least `len` elements, and the mask filler.
    #[doc(hidden)]
    pub fn buffer(&mut self, len: usize) -> (&mut [f32], MaskFiller<'_>) {
        if self.buffer.len() < len {
            self.buffer.resize(len, 0.0);
        }
        (&mut self.buffer[..len], MaskFiller { rng: &mut self.rng, masks: &self.masks })
    }
}

/// The rows a workspace slot holds in one pass: what generated code binds to
/// the name of the value the slot holds (`hidden_z`, `out_grad`), where the
/// plan numbers it. `Copy`, so a pass names a slot as often as it reads it.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Its first value in the workspace.
    pub start: usize,
    /// One past its last value.
    pub end: usize,
}

impl Slot {
    /// The slots of `widths` values per row, one after another, for `batch`
    /// rows, and the workspace length they need.
    #[inline(always)]
    pub fn layout<const N: usize>(batch: usize, widths: [usize; N]) -> ([Slot; N], usize) {
        // A loop, not `widths.map(…)`: the compiler keeps `map` as a call,
        // which hides every slot's bounds from the pass that uses them.
        let mut slots = [Slot { start: 0, end: 0 }; N];
        let mut end = 0;
        for (slot, width) in slots.iter_mut().zip(widths) {
            *slot = Slot { start: end, end: end + batch * width };
            end = slot.end;
        }
        (slots, end)
    }

    /// Its first `len` values (a buffer narrower than its slot).
    #[inline(always)]
    pub fn first(self, len: usize) -> Slot {
        Slot { start: self.start, end: self.start + len }
    }

    /// From its start to the end of `last`: slots laid out one after another
    /// and written by one kernel.
    #[inline(always)]
    pub fn through(self, last: Slot) -> Slot {
        Slot { start: self.start, end: last.end }
    }
}

impl From<Slot> for Range<usize> {
    #[inline(always)]
    fn from(slot: Slot) -> Range<usize> {
        slot.start..slot.end
    }
}

impl std::ops::Index<Slot> for [f32] {
    type Output = [f32];

    #[inline(always)]
    fn index(&self, slot: Slot) -> &[f32] {
        &self[slot.start..slot.end]
    }
}

impl std::ops::IndexMut<Slot> for [f32] {
    #[inline(always)]
    fn index_mut(&mut self, slot: Slot) -> &mut [f32] {
        &mut self[slot.start..slot.end]
    }
}

/// Borrows `write` mutably and each of `reads` immutably from one buffer.
///
/// The ranges must not overlap `write` (they may overlap each other); generated
/// code and the interpreter lay their buffers out so they never do.
#[doc(hidden)]
#[inline(always)]
pub fn view<const N: usize, R: Into<Range<usize>>>(
    buffer: &mut [f32],
    write: R,
    reads: [R; N],
) -> ([&[f32]; N], &mut [f32]) {
    let write: Range<usize> = write.into();
    let (left, rest) = buffer.split_at_mut(write.start);
    let (middle, right) = rest.split_at_mut(write.end - write.start);
    let (left, right): (&[f32], &[f32]) = (left, right);
    // A loop, not `reads.map(…)`, which the compiler keeps as a call.
    let mut views: [&[f32]; N] = [&[]; N];
    for (view, range) in views.iter_mut().zip(reads) {
        let range: Range<usize> = range.into();
        *view = if range.end <= write.start {
            &left[range]
        } else {
            let start = range.start - write.end;
            &right[start..start + range.len()]
        };
    }
    (views, middle)
}

/// Fills dropout masks: random Bernoulli(1−p) draws, or the fixed masks set on the workspace.
#[doc(hidden)]
pub struct MaskFiller<'a> {
    rng: &'a mut ChaCha8Rng,
    masks: &'a MaskSource,
}

impl MaskFiller<'_> {
    /// Fills `mask` (0 or 1 per element) for dropout layer number `index` with drop probability `p`.
    pub fn fill(&mut self, index: usize, mask: &mut [f32], p: f32) {
        match self.masks {
            MaskSource::Fixed(masks) => {
                let source = masks.get(index).map_or(&[][..], |m| &m[..]);
                for (i, m) in mask.iter_mut().enumerate() {
                    *m = source.get(i).copied().unwrap_or(1.0);
                }
            }
            MaskSource::Random => {
                for m in mask.iter_mut() {
                    *m = if self.rng.random::<f32>() < p { 0.0 } else { 1.0 };
                }
            }
        }
    }
}
