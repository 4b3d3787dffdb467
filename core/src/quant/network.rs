//! A network quantised to int8: quantisation from f32 parameters and
//! calibration ranges, the integer forward pass that generated code mirrors
//! node for node, and the tensors of an int8 weight file.

use super::conv::conv;
use super::dense::dense;
use super::elementwise::{add_into, add_store, affine, relu, rescale, table};
use super::pool::{global_avg_pool, pool};
use super::recurrent::{recurrent, recurrent_step_sized, QRecurrent};
use super::{Output, Requant};
use crate::conv::{ConvGeometry, PoolGeometry};
use crate::graph::Op;
use crate::plan::Plan;
use crate::recurrent::RecurrentGeometry;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

pub use super::quantize::quantize;
pub use super::tensors::{QData, QTensor};

/// A tensor's quantisation: `real = scale · (q − zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantParams {
    /// The real step between two adjacent int8 values.
    pub scale: f32,
    /// The int8 value of real zero.
    pub zero_point: i32,
}

impl QuantParams {
    /// The asymmetric quantisation of `[min, max]` widened to include 0, so
    /// real zero is exact.
    pub fn from_range(min: f32, max: f32) -> QuantParams {
        let (min, max) = (min.min(0.0) as f64, max.max(0.0) as f64);
        if !(max - min).is_finite() || max - min <= f64::from(f32::MIN_POSITIVE) {
            return QuantParams { scale: 1.0, zero_point: 0 };
        }
        let scale = (max - min) / 255.0;
        let zero_point = libm::round(-128.0 - min / scale).clamp(-128.0, 127.0) as i32;
        QuantParams { scale: scale as f32, zero_point }
    }

    /// `x` as int8, rounded half away from zero and saturated ([`super::quantize_value`]).
    pub fn quantize(&self, x: f32) -> i8 {
        super::quantize_value(x, self.scale, self.zero_point)
    }

    /// The real value of `q`.
    pub fn dequantize(&self, q: i8) -> f32 {
        super::dequantize_value(q, self.scale, self.zero_point)
    }
}

impl Requant {
    /// The fixed-point form of a real multiplier; none when it is too large
    /// (2^30 or more) or not finite. Multipliers below 2^−31 become zero.
    pub fn from_real(real: f64) -> Option<Requant> {
        if !real.is_finite() {
            return None;
        }
        if real == 0.0 {
            return Some(Requant { multiplier: 0, shift: 0 });
        }
        let (fraction, mut exponent) = libm::frexp(real);
        let mut mantissa = libm::round(fraction * 2_147_483_648.0) as i64;
        if mantissa.abs() == 1 << 31 {
            mantissa /= 2;
            exponent += 1;
        }
        if exponent > 30 {
            return None;
        }
        if exponent < -31 {
            return Some(Requant { multiplier: 0, shift: 0 });
        }
        Some(Requant { multiplier: mantissa as i32, shift: exponent })
    }
}

/// What the output of the integer pass still needs in f32 (the row-wise
/// activation of the last node, which has no int8 form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Nothing: the dequantised output is the network's output.
    None,
    /// The integer pass ends at the logits; `predict` applies softmax.
    Softmax,
    /// The integer pass ends at the logits; `predict` applies log-softmax.
    LogSoftmax,
}

/// What an int8 node computes.
#[derive(Debug, Clone, PartialEq)]
pub enum QKind {
    /// The network's input, in its own quantisation.
    Input,
    /// Its input's values unchanged (dropout, flatten, a standardisation
    /// folded into the input's quantisation, a last softmax left to `predict`).
    Copy,
    /// A dense layer: weights `[outputs][inputs]`, the input's zero point
    /// folded into the bias; `table`, if any, maps the requantised
    /// pre-activation to the output (any activation other than ReLU, which
    /// `output.min` fuses, and the identity).
    Dense {
        /// int8 weights, row-major `[outputs][inputs]`.
        weight: Vec<i8>,
        /// Each output channel's weight scale.
        weight_scale: Vec<f32>,
        /// i32 biases in each channel's accumulator scale.
        bias: Vec<i32>,
        /// Each channel's requantisation.
        requant: Vec<Requant>,
        /// The store of the requantised values.
        output: Output,
        /// The pre-activation's quantisation and the activation's table.
        table: Option<(QuantParams, Vec<i8>)>,
    },
    /// A convolution (`[out][in/groups][kh][kw]` weights).
    Conv {
        /// Its sizes.
        geometry: ConvGeometry,
        /// int8 weights.
        weight: Vec<i8>,
        /// Each output channel's weight scale.
        weight_scale: Vec<f32>,
        /// i32 biases.
        bias: Vec<i32>,
        /// Each channel's requantisation.
        requant: Vec<Requant>,
        /// The store of the requantised values.
        output: Output,
    },
    /// A max or average pool (the input's quantisation).
    Pool(PoolGeometry),
    /// The mean of each channel (the input's quantisation).
    GlobalAvgPool,
    /// An activation as a 256-entry table.
    Table(Vec<i8>),
    /// ReLU in its input's quantisation, `max(x, zero_point)`: nothing is
    /// rounded, and after a layer that already clamps at its zero point (a
    /// ReLU fused into its requantisation) it changes nothing.
    Relu,
    /// A residual sum: each input's rescaling (after the [`ADD_SHIFT`](super::elementwise::ADD_SHIFT)
    /// headroom), then the sum's.
    Add {
        /// One per input.
        inputs: Vec<Requant>,
        /// From the sum to the output.
        output: Requant,
    },
    /// A concatenation: each input rescaled into the output's quantisation.
    Concat(Vec<Requant>),
    /// A GRU or LSTM (see [`super::recurrent`]).
    Recurrent(RecurrentParams),
    /// Per channel `y = a·x + b` (batch normalisation in inference, a
    /// standardisation not folded into the input's quantisation).
    Affine {
        /// `a · s_x / s_y` per channel.
        requant: Vec<Requant>,
        /// `b / s_y` per channel.
        offset: Vec<i32>,
        /// The store of the results (a fused ReLU's clamp).
        output: Output,
    },
}

/// The integer parameters of a recurrent layer, every direction's rows one
/// after the other (the forward direction's first).
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentParams {
    /// Its sizes.
    pub geometry: RecurrentGeometry,
    /// int8 input weights, `[D·G·H][F]`.
    pub weight_ih: Vec<i8>,
    /// int8 state weights, `[D·G·H][H]`.
    pub weight_hh: Vec<i8>,
    /// Each row's input weight scale.
    pub weight_ih_scale: Vec<f32>,
    /// Each row's state weight scale.
    pub weight_hh_scale: Vec<f32>,
    /// i32 input biases (the input's zero point folded in).
    pub bias_ih: Vec<i32>,
    /// i32 state biases.
    pub bias_hh: Vec<i32>,
    /// Per row, the input product into Q3.12.
    pub requant_ih: Vec<Requant>,
    /// Per row, the state product into Q3.12.
    pub requant_hh: Vec<Requant>,
    /// Fraction bits of an LSTM's int16 cell state (0 for a GRU).
    pub cell_bits: u32,
    /// From the Q0.15 state to the output's scale.
    pub output: Requant,
}

impl RecurrentParams {
    /// The kernel's view of these parameters.
    pub fn layer(&self) -> QRecurrent<'_> {
        QRecurrent {
            geometry: self.geometry,
            weight_ih: &self.weight_ih,
            weight_hh: &self.weight_hh,
            bias_ih: &self.bias_ih,
            bias_hh: &self.bias_hh,
            requant_ih: &self.requant_ih,
            requant_hh: &self.requant_hh,
            cell_bits: self.cell_bits,
            output: self.output,
        }
    }
}

/// One node of an int8 network (the nodes of the f32 graph, in its order).
#[derive(Debug, Clone, PartialEq)]
pub struct QNode {
    /// The node's name in the spec.
    pub name: String,
    /// The nodes it reads.
    pub inputs: Vec<usize>,
    /// Values per sample.
    pub width: usize,
    /// Its output's quantisation (with [`Self::unit_scales`], their largest scale).
    pub params: QuantParams,
    /// One scale per output value, sharing `params.zero_point`, where the
    /// node is quantised per output (the last dense layer of a regression
    /// network whose outputs differ in range); empty otherwise.
    pub unit_scales: Vec<f32>,
    /// What it computes.
    pub kind: QKind,
}

/// A network quantised to int8 (see [the module](super)).
#[derive(Debug, Clone, PartialEq)]
pub struct QNetwork {
    /// The network's name.
    pub name: String,
    /// Its nodes: node 0 is the input.
    pub nodes: Vec<QNode>,
    /// What the dequantised output still needs.
    pub finish: Finish,
    /// Per input feature `(mean, std)`: the standardisation the f32 network
    /// was trained behind, folded into the input's quantisation
    /// (`q = round((x − mean)/(std · scale)) + zero_point` per feature), so
    /// [`QNetwork::predict`] reads raw rows and the integer pass never sees it.
    pub input_standardization: Option<(Vec<f32>, Vec<f32>)>,
}

/// The range of values each node took on the calibration data.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranges {
    /// `(min, max)` of each node's output (node 0: the raw input).
    pub outputs: Vec<(f32, f32)>,
    /// `(min, max)` of each dense or activation node's pre-activation.
    pub pre_activations: Vec<Option<(f32, f32)>>,
    /// `(min, max)` of each value of the network's output (the last node's),
    /// for outputs quantised one by one; empty when not measured.
    pub outputs_by_unit: Vec<(f32, f32)>,
    /// The largest magnitude of each LSTM node's cell state (0 for other
    /// nodes); empty when not measured, and then an LSTM's cell state is
    /// given the range its steps bound it to (|c| ≤ T).
    pub cells: Vec<f32>,
}

impl Ranges {
    /// `[-1, 1]` everywhere: the ranges of a network's size figures, before any calibration.
    pub fn unit(plan: &Plan) -> Ranges {
        Ranges {
            outputs: vec![(-1.0, 1.0); plan.nodes.len()],
            pre_activations: plan.pre_activations.iter().map(|z| z.map(|_| (-1.0, 1.0))).collect(),
            outputs_by_unit: Vec::new(),
            cells: Vec::new(),
        }
    }
}

/// Why a network could not be quantised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuantError {
    /// An op without an int8 kernel.
    Unsupported {
        /// The node.
        node: String,
        /// Its statement.
        op: String,
    },
    /// A multiplier or an accumulator out of the integer range (a scale that
    /// calibration made absurd, or a layer too wide for an i32 sum).
    Range {
        /// The node.
        node: String,
        /// What overflowed.
        what: String,
    },
    /// The parameters, buffers, ranges or standardisation do not fit the network.
    Mismatch(String),
}

impl core::fmt::Display for QuantError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            QuantError::Unsupported { node, op } => {
                write!(f, "`{node}` is a `{op}`, which has no int8 kernel; int8 networks take dense, conv1d/2d, pools, global_avg_pool, flatten, dropout, add, concat, batch_norm, standardize, gru, lstm and element-wise activations")
            }
            QuantError::Range { node, what } => write!(f, "`{node}`: {what} does not fit in 32-bit integers"),
            QuantError::Mismatch(what) => f.write_str(what),
        }
    }
}

impl QNetwork {
    /// Input features per sample.
    pub fn input_size(&self) -> usize {
        self.nodes.first().map_or(0, |n| n.width)
    }

    /// Outputs per sample.
    pub fn output_size(&self) -> usize {
        self.nodes.last().map_or(0, |n| n.width)
    }

    /// The input's quantisation.
    pub fn input_params(&self) -> QuantParams {
        self.nodes.first().map_or(QuantParams { scale: 1.0, zero_point: 0 }, |n| n.params)
    }

    /// The output's quantisation (with per-output scales, their largest: see [`Self::output_scales`]).
    pub fn output_params(&self) -> QuantParams {
        self.nodes.last().map_or(QuantParams { scale: 1.0, zero_point: 0 }, |n| n.params)
    }

    /// The scale of each output value: the output's one scale for every
    /// value, or the last node's per-output scales.
    pub fn output_scales(&self) -> Vec<f32> {
        match self.nodes.last() {
            Some(node) if !node.unit_scales.is_empty() => node.unit_scales.clone(),
            Some(node) => vec![node.params.scale; node.width],
            None => Vec::new(),
        }
    }

    /// The integer forward pass of one sample: every node's int8 value
    /// (`values[k]` is node `k`'s), through the kernels generated code calls.
    ///
    /// # Panics
    ///
    /// If `x` holds fewer than [`Self::input_size`] values.
    pub fn run(&self, x: &[i8]) -> Vec<Vec<i8>> {
        self.run_from(x, Vec::with_capacity(self.nodes.len()))
    }

    /// [`Self::run`] from the first node `values` does not hold on.
    fn run_from(&self, x: &[i8], mut values: Vec<Vec<i8>>) -> Vec<Vec<i8>> {
        for node in &self.nodes[values.len().min(self.nodes.len())..] {
            let mut y = vec![0i8; node.width];
            let input = |k: usize| values[node.inputs[k]].as_slice();
            match &node.kind {
                QKind::Input => y.copy_from_slice(&x[..node.width]),
                QKind::Copy => y.copy_from_slice(&input(0)[..node.width]),
                QKind::Dense { weight, bias, requant, output, table: lookup, .. } => {
                    dense(input(0), weight, bias, requant, *output, &mut y);
                    if let Some((_, entries)) = lookup {
                        let pre = y.clone();
                        table(&pre, entries, &mut y);
                    }
                }
                QKind::Conv { geometry, weight, bias, requant, output, .. } => {
                    let zero = self.nodes[node.inputs[0]].params.zero_point;
                    let mut acc = vec![0i32; geometry.out_h * geometry.out_w];
                    conv(input(0), weight, bias, requant, zero, *output, geometry, &mut acc, &mut y);
                }
                QKind::Pool(geometry) => pool(input(0), &mut y, geometry),
                QKind::GlobalAvgPool => global_avg_pool(input(0), &mut y),
                QKind::Table(entries) => table(input(0), entries, &mut y),
                QKind::Relu => relu(input(0), self.nodes[node.inputs[0]].params.zero_point, &mut y),
                QKind::Add { inputs, output } => {
                    let mut acc = vec![0i32; node.width];
                    for (k, requant) in inputs.iter().enumerate() {
                        add_into(input(k), self.nodes[node.inputs[k]].params.zero_point, *requant, &mut acc);
                    }
                    add_store(&acc, *output, Output::new(node.params.zero_point), &mut y);
                }
                QKind::Concat(requant) => {
                    let mut start = 0;
                    for (k, requant) in requant.iter().enumerate() {
                        let source = &self.nodes[node.inputs[k]];
                        let end = start + source.width;
                        let output = Output::new(node.params.zero_point);
                        rescale(input(k), source.params.zero_point, *requant, output, &mut y[start..end]);
                        start = end;
                    }
                }
                QKind::Recurrent(layer) => {
                    recurrent(input(0), &layer.layer(), Output::new(node.params.zero_point), &mut y)
                }
                QKind::Affine { requant, offset, output } => {
                    let zero = node.inputs.first().map_or(0, |&i| self.nodes[i].params.zero_point);
                    affine(input(0), zero, requant, offset, *output, &mut y);
                }
            }
            values.push(y);
        }
        values
    }

    /// The nodes [`Self::step_q`] advances, when the network streams as its
    /// f32 form does ([`crate::recurrent::streaming_layers`]) and its input is
    /// not standardised (a standardisation is per position of the whole
    /// sequence). `None` for any other network.
    pub fn streaming_layers(&self) -> Option<Vec<usize>> {
        if self.input_standardization.is_some() {
            return None;
        }
        let geometry = |k: usize| match &self.nodes[k].kind {
            QKind::Recurrent(layer) => Some(layer.geometry),
            _ => None,
        };
        crate::recurrent::streaming_layers(self.nodes.len(), |k| &self.nodes[k].inputs, geometry)
    }

    /// Values of the state [`Self::step_q`] carries: each streaming layer's
    /// `h`, then `c` for an LSTM (0 when the network does not stream).
    pub fn state_len(&self) -> usize {
        let layers = self.streaming_layers().unwrap_or_default();
        layers
            .iter()
            .filter_map(|&k| match &self.nodes[k].kind {
                QKind::Recurrent(layer) => Some(crate::recurrent::state_len(&layer.geometry)),
                _ => None,
            })
            .sum()
    }

    /// Streaming int8 inference: advances every streaming layer by one time
    /// step `x_t` (one step's quantised features) and runs the rest of the
    /// network on the new state; `state` holds [`Self::state_len`] values,
    /// zero before the first step. Fed a sequence step by step, the output
    /// after the last step is [`Self::predict_q`]'s on the whole sequence.
    /// `None` when the network does not stream ([`Self::streaming_layers`]).
    ///
    /// # Panics
    ///
    /// If `state` or `x_t` is shorter than the network needs.
    pub fn step_q(&self, state: &mut [i16], x_t: &[i8]) -> Option<Vec<i8>> {
        let layers = self.streaming_layers()?;
        let mut values: Vec<Vec<i8>> = vec![Vec::new()];
        let mut offset = 0;
        for &k in &layers {
            let QKind::Recurrent(layer) = &self.nodes[k].kind else { return None };
            let len = crate::recurrent::state_len(&layer.geometry);
            let mut y = vec![0i8; layer.geometry.hidden];
            let read = if k == layers[0] { x_t } else { values[k - 1].as_slice() };
            let output = Output::new(self.nodes[k].params.zero_point);
            recurrent_step_sized::<{ crate::recurrent::MAX_GATE_ROWS }>(
                read,
                &layer.layer(),
                &mut state[offset..offset + len],
                output,
                &mut y,
            );
            values.push(y);
            offset += len;
        }
        self.run_from(x_t, values).pop()
    }

    /// One f32 sample (raw, before any standardisation) as the integer pass's input.
    pub fn quantize_input(&self, x: &[f32]) -> Vec<i8> {
        let input = self.input_params();
        match &self.input_standardization {
            Some((mean, std)) => {
                x.iter().zip(mean).zip(std).map(|((&v, &m), &s)| input.quantize((v - m) / s)).collect()
            }
            None => x.iter().map(|&v| input.quantize(v)).collect(),
        }
    }

    /// The int8 output of one quantised sample (panics as [`Self::run`] does).
    pub fn predict_q(&self, x: &[i8]) -> Vec<i8> {
        self.run(x).pop().unwrap_or_default()
    }

    /// The f32 output of one f32 sample: quantised, run in integers, dequantised
    /// (and the softmax of a classifier's logits applied). Panics as [`Self::run`] does.
    pub fn predict(&self, x: &[f32]) -> Vec<f32> {
        let q = self.quantize_input(x);
        let zero = self.output_params().zero_point;
        let scales = self.output_scales();
        let mut y: Vec<f32> =
            self.predict_q(&q).iter().zip(&scales).map(|(&v, &s)| super::dequantize_value(v, s, zero)).collect();
        match self.finish {
            Finish::None => {}
            Finish::Softmax => crate::activation::softmax_row_in_place(&mut y),
            Finish::LogSoftmax => crate::activation::log_softmax_row_in_place(&mut y),
        }
        y
    }

    /// Bytes of what integer inference reads besides its input: int8
    /// weights and tables, i32 biases, offsets and requantisations (a
    /// multiplier and a shift each).
    pub fn weight_bytes(&self) -> usize {
        self.nodes
            .iter()
            .map(|node| match &node.kind {
                QKind::Dense { weight, bias, requant, table, .. } => {
                    weight.len() + 4 * bias.len() + 8 * requant.len() + table.as_ref().map_or(0, |t| t.1.len())
                }
                QKind::Conv { weight, bias, requant, .. } => weight.len() + 4 * bias.len() + 8 * requant.len(),
                QKind::Table(entries) => entries.len(),
                QKind::Add { inputs, .. } => 8 * (inputs.len() + 1),
                QKind::Concat(requant) => 8 * requant.len(),
                QKind::Affine { requant, offset, .. } => 8 * requant.len() + 4 * offset.len(),
                QKind::Recurrent(layer) => {
                    let rows = layer.bias_ih.len();
                    layer.weight_ih.len() + layer.weight_hh.len() + 8 * rows + 16 * rows + 8
                }
                QKind::Input | QKind::Copy | QKind::Relu | QKind::Pool(_) | QKind::GlobalAvgPool => 0,
            })
            .sum()
    }
}

/// The peak bytes of live node values in one sample's forward pass, at
/// `bytes` per value: a node's value lives from its computation to its last
/// reader (the output to the end), and a residual sum adds its i32
/// accumulator, a recurrent layer its integer kernel's scratch, while it
/// runs when `accumulator` is set.
pub fn activation_bytes(nodes: &[crate::graph::Node], bytes: usize, accumulator: bool) -> usize {
    let count = nodes.len();
    let mut last_read: Vec<usize> = (0..count).collect();
    for (index, node) in nodes.iter().enumerate() {
        for &input in node.inputs.iter() {
            last_read[input] = last_read[input].max(index);
        }
    }
    // Bytes freed after each node runs: the values whose last reader it is (the output is never freed).
    let mut freed = vec![0usize; count];
    for (k, &last) in last_read.iter().enumerate().take(count.saturating_sub(1)) {
        freed[last] += nodes[k].width * bytes;
    }
    let (mut live, mut peak) = (0usize, 0usize);
    for (index, node) in nodes.iter().enumerate() {
        live += node.width * bytes;
        let scratch = match node.op {
            Op::Add if accumulator => node.width * 4,
            // The integer recurrent kernel's gates, state and gathered step (`recurrent_sized`).
            Op::Recurrent(g) if accumulator => 10 * g.gates() * g.hidden + g.features,
            _ => 0,
        };
        peak = peak.max(live + scratch);
        live -= freed[index];
    }
    peak
}
