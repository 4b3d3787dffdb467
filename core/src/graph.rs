//! A network as a graph of named nodes, in an order where every node comes
//! after the nodes it reads (the order of the spec's statements).
//!
//! Node 0 is the input; the last node is the output the loss reads. A node's
//! value is `[batch][width]`, row-major. The dense layers' sizes, activations
//! and biases are kept in a separate list that [`Op::Dense`] indexes, because
//! the parameter layout follows that list.

use alloc::borrow::Cow;

/// What a node computes.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Op {
    /// The network's input.
    Input,
    /// Dense layer number `n` of the network's layer list (its activation included).
    Dense(usize),
    /// Inverted dropout with this drop probability while training; the identity otherwise.
    Dropout(f32),
    /// The element-wise sum of its inputs, which all have its width.
    Add,
    /// Its inputs side by side along the feature axis (`torch.cat(…, dim=1)`).
    Concat,
    /// An activation on its own, element by element (or row by row for softmax).
    Activation(crate::Activation),
    /// Layer normalisation over the features of each sample: `γ·(x − μ)/√(σ² + eps) + β`
    /// with the biased variance; parameters `weight` (γ) and `bias` (β).
    LayerNorm {
        /// Added to the variance inside the square root.
        eps: f32,
    },
}

impl Op {
    /// The statement that writes it in a spec.
    pub fn name(self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Dense(_) => "dense",
            Op::Dropout(_) => "dropout",
            Op::Add => "add",
            Op::Concat => "concat",
            Op::Activation(activation) => activation.name(),
            Op::LayerNorm { .. } => "layer_norm",
        }
    }
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Node {
    /// Its name (a layer's name for a dense node).
    pub name: Cow<'static, str>,
    /// What it computes.
    pub op: Op,
    /// The nodes it reads, by index; all come before it.
    pub inputs: Cow<'static, [usize]>,
    /// Values per sample of its output.
    pub width: usize,
}

impl Node {
    /// A node reading `inputs`.
    pub fn new(name: impl Into<Cow<'static, str>>, op: Op, inputs: &[usize], width: usize) -> Node {
        Node { name: name.into(), op, inputs: Cow::Owned(inputs.to_vec()), width }
    }
}

/// The graph of a chain: the input, then each layer (of these widths), each
/// followed by a dropout node where `dropout` gives a probability.
pub fn chain(input: usize, layers: &[(Cow<'static, str>, usize, Option<f32>)]) -> alloc::vec::Vec<Node> {
    let mut nodes = alloc::vec![Node::new("input", Op::Input, &[], input)];
    for (index, (name, units, dropout)) in layers.iter().enumerate() {
        let previous = nodes.len() - 1;
        nodes.push(Node::new(name.clone(), Op::Dense(index), &[previous], *units));
        if let Some(p) = dropout {
            let previous = nodes.len() - 1;
            nodes.push(Node::new(alloc::format!("{name}.dropout"), Op::Dropout(*p), &[previous], *units));
        }
    }
    nodes
}
