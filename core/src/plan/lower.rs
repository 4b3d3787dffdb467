//! Lowering a graph: the structural rules it must follow, the walks that
//! produce the forward and backward steps (each node's own steps come from
//! its op's module in `ops/`), and the gradient buffers the ops share.

use super::*;

/// The structural rules every back end relies on; the compiler reports each
/// of them with a span before a graph gets here.
pub(super) fn validate(nodes: &[Node]) -> Result<(), String> {
    if nodes.first().map(|n| n.op) != Some(Op::Input) || nodes.iter().skip(1).any(|n| n.op == Op::Input) {
        return Err("the first node, and only it, is the input".into());
    }
    let mut read = alloc::vec![false; nodes.len()];
    for (index, node) in nodes.iter().enumerate().skip(1) {
        let name = &node.name;
        if node.inputs.iter().any(|&i| i >= index) {
            return Err(alloc::format!("`{name}` reads a node that does not come before it"));
        }
        for &i in node.inputs.iter() {
            read[i] = true;
        }
        if !ops::fits(node, nodes) {
            return Err(alloc::format!("`{name}` ({}) has inputs that do not fit it", node.op.name()));
        }
    }
    if let Some(unread) = (0..nodes.len().saturating_sub(1)).find(|&i| !read[i] && i > 0) {
        return Err(alloc::format!("nothing reads `{}`", nodes[unread].name));
    }
    Ok(())
}

/// Where the forward pass left each node's value, and what the backward
/// pass needs from it.
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
    /// The gates and states each recurrent node keeps for its backward step.
    pub(super) caches: Vec<Option<Buf>>,
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

/// What lowering reads: the graph and the parameter layout.
#[derive(Clone, Copy)]
pub(super) struct Parts<'g> {
    pub(super) nodes: &'g [Node],
    pub(super) tensors: &'g [ParamTensor],
    pub(super) buffers: &'g [BufferTensor],
}

impl Parts<'_> {
    /// Where node `node`'s parameter tensor of this role lies.
    pub(super) fn range(&self, node: usize, role: Role) -> Option<Range<usize>> {
        self.tensors.iter().find(|t| t.node == node && t.role == role).map(|t| t.range.clone())
    }

    /// The range of all of node `node`'s parameter tensors (they are contiguous).
    pub(super) fn param_range(&self, node: usize) -> Range<usize> {
        let mut owned = self.tensors.iter().filter(|t| t.node == node);
        let first = owned.next();
        let start = first.map_or(0, |t| t.range.start);
        let end = owned.next_back().or(first).map_or(start, |t| t.range.end);
        start..end
    }

    /// The range of all of node `node`'s buffer tensors (they are contiguous).
    pub(super) fn buffer_range(&self, node: usize) -> Range<usize> {
        let mut owned = self.buffers.iter().filter(|b| b.node == node);
        let first = owned.next();
        let start = first.map_or(0, |b| b.range.start);
        let end = owned.next_back().or(first).map_or(start, |b| b.range.end);
        start..end
    }
}

/// The backward pass's bookkeeping: each node's gradient buffer once it has one.
pub(super) struct Gradients {
    /// The gradient buffer of each node, once its first contribution is lowered.
    pub(super) of: Vec<Option<Buf>>,
    /// How many nodes read each node.
    readers: Vec<usize>,
    /// The node the loss reads, whose gradient is with respect to its pre-activation.
    pub(super) head: usize,
}

/// A graph being lowered: what it reads, the slots and steps made so far, what
/// the forward pass left for the backward pass, and the node at hand.
pub(super) struct Lowering<'g> {
    pub(super) net: Parts<'g>,
    pub(super) slots: Vec<usize>,
    /// What each slot holds: `{node}_{role}`.
    pub(super) names: Vec<String>,
    pub(super) steps: Vec<Step>,
    pub(super) state: Forward,
    pub(super) grads: Gradients,
    /// The node being lowered.
    pub(super) index: usize,
}

impl<'g> Lowering<'g> {
    pub(super) fn new(net: Parts<'g>) -> Lowering<'g> {
        let count = net.nodes.len();
        let mut readers = alloc::vec![0usize; count];
        for node in net.nodes {
            for &i in node.inputs.iter() {
                readers[i] += 1;
            }
        }
        Lowering {
            net,
            slots: Vec::new(),
            names: Vec::new(),
            steps: Vec::new(),
            state: Forward {
                values: alloc::vec![Source::Input; count],
                dense: alloc::vec![None; count],
                masks: alloc::vec![None; count],
                norms: alloc::vec![None; count],
                argmax: alloc::vec![None; count],
                caches: alloc::vec![None; count],
            },
            grads: Gradients { of: alloc::vec![None; count], readers, head: 0 },
            index: 0,
        }
    }

    /// The node being lowered.
    pub(super) fn node(&self) -> &'g Node {
        &self.net.nodes[self.index]
    }

    /// A new slot of `width` values per row for the current node's `role` (`z`, `out`, `mask`…).
    pub(super) fn take(&mut self, width: usize, role: &str) -> Buf {
        let name = alloc::format!("{}_{role}", self.node().name);
        self.take_named(width, name)
    }

    /// A new slot of `width` values per row named `name`.
    pub(super) fn take_named(&mut self, width: usize, name: String) -> Buf {
        self.slots.push(width);
        self.names.push(name);
        Buf { slot: self.slots.len() - 1, width }
    }

    /// The forward steps, node by node.
    pub(super) fn forward(&mut self) {
        for index in 1..self.net.nodes.len() {
            self.index = index;
            let inputs: Vec<Source> = self.node().inputs.iter().map(|&i| self.state.values[i]).collect();
            self.state.values[index] = ops::forward(self, &inputs);
        }
    }

    /// The backward pass from the head's gradient: every node's gradient gets
    /// its own buffer (shared with the node it passes it to unchanged when that
    /// node has no other reader), written by its first contribution in reverse
    /// order and accumulated into by the others.
    pub(super) fn backward(&mut self, head: usize, head_grad: Buf) {
        self.grads.head = head;
        self.grads.of[head] = Some(head_grad);
        for index in (1..=head).rev() {
            if let Some(grad) = self.grads.of[index] {
                self.index = index;
                ops::backward(self, grad);
            }
        }
    }

    /// Where a kernel writes its gradient with respect to `input` (none for the
    /// network's input), and the buffer to add it to afterwards if that is
    /// not its first contribution.
    pub(super) fn input_gradient(&mut self, input: usize) -> (Option<Buf>, Option<Buf>) {
        match self.net.nodes[input].op {
            Op::Input => (None, None),
            _ => {
                let (buf, accumulate) = self.contribution(input);
                (Some(buf), accumulate)
            }
        }
    }

    /// Adds a contribution written to a scratch buffer into the gradient it belongs to.
    pub(super) fn accumulate(&mut self, written: Option<Buf>, into: Option<Buf>) {
        if let (Some(from), Some(into)) = (written, into) {
            self.steps.push(Step::Accumulate { from: Source::Buf(from), into });
        }
    }

    /// Hands `grad`, already the gradient with respect to `input`'s value, on
    /// to `input`: as its gradient buffer when nothing else reads it, else
    /// copied or added into that buffer.
    pub(super) fn pass_through(&mut self, input: usize, grad: Buf) {
        if matches!(self.net.nodes[input].op, Op::Input) {
            return;
        }
        match self.grads.of[input] {
            None if self.grads.readers[input] == 1 => self.grads.of[input] = Some(grad),
            None => {
                let to = self.contribution(input).0;
                self.steps.push(Step::Copy { from: Source::Buf(grad), to });
            }
            Some(into) => self.steps.push(Step::Accumulate { from: Source::Buf(grad), into }),
        }
    }

    /// Where a kernel that overwrites its output puts a contribution to the
    /// gradient of `node`: its gradient buffer for the first contribution, else
    /// a scratch buffer to accumulate from (returned second).
    pub(super) fn contribution(&mut self, node: usize) -> (Buf, Option<Buf>) {
        let (name, width) = (&self.net.nodes[node].name, self.net.nodes[node].width);
        match self.grads.of[node] {
            None => {
                let buf = self.take_named(width, alloc::format!("{name}_grad"));
                self.grads.of[node] = Some(buf);
                (buf, None)
            }
            Some(into) => (self.take_named(width, alloc::format!("{name}_grad_part")), Some(into)),
        }
    }
}
