//! A float64 network written from the conformance README's definitions
//! (section 1 for activations, section 2 for losses), independent of the
//! runtime's kernels, and a central finite-difference check of a model's
//! gradient against it.
//!
//! In f64 a central difference with a step of 1e-6 is exact to about 1e-10,
//! so what the check measures is the f32 analytic gradient's own rounding.
//! A step that moves a kinked activation's input (step, relu, leaky_relu, elu)
//! across its kink is detected from the sides of every such input and retried
//! with a smaller step; a parameter whose every step crosses one sits on the
//! kink itself and is reported as skipped.

use crate::Tolerance;
use nnspec::{Activation, Loss, Model, Op, Workspace};

/// A network in f64: its graph (dense layers with their units, activation
/// and bias; dropout, off here; sums; concatenations).
#[derive(Debug, Clone)]
pub struct Reference {
    input: usize,
    nodes: Vec<(Op, Vec<usize>, usize)>,
    loss: Loss,
    /// Per node, the offsets of a layer norm's γ and β.
    norms: Vec<Option<(usize, usize)>>,
    /// Per node, the offset of its first parameter (a recurrent layer's are contiguous).
    starts: Vec<usize>,
    /// Per node, the offsets of a dense layer's or a convolution's weight and bias.
    convs: Vec<(usize, Option<usize>)>,
    /// The model's buffers (running statistics), read by batch norms in inference mode.
    buffers: Vec<f64>,
    /// Per node, the offset of a batch norm's running mean or a standardisation's mean in `buffers`.
    running: Vec<Option<usize>>,
    /// Batch norms use the batch's statistics (training mode) instead of the running ones.
    pub training: bool,
}

impl Reference {
    /// The network `model` describes, with its parameter layout.
    pub fn of(model: &dyn Model) -> Reference {
        let find = |name: String| model.tensors().iter().find(|t| t.name == name).map(|t| t.offset);
        let norms = model
            .nodes()
            .iter()
            .map(|n| {
                let scale = find(format!("{}.weight", n.name))?;
                Some((scale, find(format!("{}.bias", n.name))?))
            })
            .collect();
        let convs = model
            .nodes()
            .iter()
            .map(|n| (find(format!("{}.weight", n.name)).unwrap_or(0), find(format!("{}.bias", n.name))))
            .collect();
        let running = model
            .nodes()
            .iter()
            .map(|n| {
                let names = [format!("{}.running_mean", n.name), format!("{}.mean", n.name)];
                model.buffer_tensors().iter().find(|b| names.contains(&b.name.to_string())).map(|b| b.offset)
            })
            .collect();
        let starts = (0..model.nodes().len())
            .map(|node| model.tensors().iter().find(|t| t.node == node).map_or(0, |t| t.offset))
            .collect();
        Reference {
            starts,
            norms,
            convs,
            buffers: model.buffers().iter().map(|v| f64::from(*v)).collect(),
            running,
            training: false,
            input: model.input_size(),
            nodes: model.nodes().iter().map(|n| (n.op, n.inputs.to_vec(), n.width)).collect(),
            loss: model.loss_kind(),
        }
    }

    /// The loss at `params` on a batch, and on which side of its kink every
    /// kinked activation's input lies.
    pub fn loss(&self, params: &[f64], x: &[f64], y: &[f64]) -> (f64, Vec<bool>) {
        let batch = x.len() / self.input;
        // Per node: its pre-activations (dense only) and its output, `batch × width`.
        let mut values: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(self.nodes.len());
        let mut sides = Vec::new();
        for (index, (op, inputs, width)) in self.nodes.iter().enumerate() {
            let width = *width;
            let value = match *op {
                Op::Input => (Vec::new(), x.to_vec()),
                Op::Dense { activation, .. } => {
                    let units = width;
                    // A dense layer's weight and bias offsets, as a convolution's.
                    let (weight, bias) = self.convs[index];
                    let a = &values[inputs[0]].1;
                    let fan_in = self.nodes[inputs[0]].2;
                    let mut z = vec![0.0; batch * units];
                    for r in 0..batch {
                        for j in 0..units {
                            let mut sum = bias.map_or(0.0, |b| params[b + j]);
                            for i in 0..fan_in {
                                sum += a[r * fan_in + i] * params[weight + i * units + j];
                            }
                            z[r * units + j] = sum;
                        }
                    }
                    if matches!(
                        activation,
                        Activation::Step | Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_)
                    ) {
                        sides.extend(
                            z.iter().map(|v| if activation == Activation::Step { *v >= 0.0 } else { *v > 0.0 }),
                        );
                    }
                    let a = z.chunks(units).flat_map(|row| activate(activation, row)).collect();
                    (z, a)
                }
                Op::Dropout(_) => (Vec::new(), values[inputs[0]].1.clone()),
                Op::Recurrent(g) => {
                    (Vec::new(), recurrent(&g, &params[self.starts[index]..], &values[inputs[0]].1, batch))
                }
                Op::Conv { geometry: g, .. } => {
                    let x = &values[inputs[0]].1;
                    let (weight, bias) = self.convs[index];
                    let (groups, plane) = (g.groups.max(1), g.out_h * g.out_w);
                    let (cg, og) = (g.in_channels / groups, g.out_channels / groups);
                    let (input_len, output_len) = (g.in_channels * g.in_h * g.in_w, g.out_channels * plane);
                    let mut y = vec![0.0; batch * output_len];
                    for n in 0..batch {
                        for o in 0..g.out_channels {
                            for u in 0..g.out_h {
                                for v in 0..g.out_w {
                                    let mut sum = bias.map_or(0.0, |b| params[b + o]);
                                    for c in 0..cg {
                                        let channel = o / og * cg + c;
                                        for i in 0..g.kernel[0] {
                                            for j in 0..g.kernel[1] {
                                                let row = (u * g.stride[0] + i * g.dilation[0]) as isize
                                                    - g.padding[0] as isize;
                                                let col = (v * g.stride[1] + j * g.dilation[1]) as isize
                                                    - g.padding[1] as isize;
                                                if row < 0
                                                    || col < 0
                                                    || row as usize >= g.in_h
                                                    || col as usize >= g.in_w
                                                {
                                                    continue;
                                                }
                                                let w =
                                                    params[weight + ((o * cg + c) * g.kernel[0] + i) * g.kernel[1] + j];
                                                sum += w * x[n * input_len
                                                    + (channel * g.in_h + row as usize) * g.in_w
                                                    + col as usize];
                                            }
                                        }
                                    }
                                    y[n * output_len + o * plane + u * g.out_w + v] = sum;
                                }
                            }
                        }
                    }
                    (Vec::new(), y)
                }
                Op::Pool { geometry: g, .. } | Op::GlobalAvgPool(g) => {
                    let x = &values[inputs[0]].1;
                    let (input_len, output_len) = (g.channels * g.in_h * g.in_w, g.channels * g.out_h * g.out_w);
                    let mut y = vec![0.0; batch * output_len];
                    for n in 0..batch {
                        for c in 0..g.channels {
                            for u in 0..g.out_h {
                                for v in 0..g.out_w {
                                    let window: Vec<f64> = (0..g.kernel[0])
                                        .flat_map(|i| (0..g.kernel[1]).map(move |j| (i, j)))
                                        .map(|(i, j)| {
                                            let (row, col) = (u * g.stride[0] + i, v * g.stride[1] + j);
                                            x[n * input_len + (c * g.in_h + row) * g.in_w + col]
                                        })
                                        .collect();
                                    y[n * output_len + (c * g.out_h + u) * g.out_w + v] = if g.max {
                                        window.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                                    } else {
                                        window.iter().sum::<f64>() / window.len() as f64
                                    };
                                }
                            }
                        }
                    }
                    (Vec::new(), y)
                }
                Op::Flatten => (Vec::new(), values[inputs[0]].1.clone()),
                Op::LayerNorm { eps } => {
                    let (scale, shift) = self.norms[index].expect("a layer norm has its scale and shift");
                    let x = &values[inputs[0]].1;
                    let mut y = Vec::with_capacity(x.len());
                    for row in x.chunks(width.max(1)) {
                        let mean = row.iter().sum::<f64>() / width as f64;
                        let variance = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / width as f64;
                        let std = (variance + f64::from(eps)).sqrt();
                        y.extend(
                            row.iter()
                                .enumerate()
                                .map(|(j, v)| params[scale + j] * (v - mean) / std + params[shift + j]),
                        );
                    }
                    (Vec::new(), y)
                }
                Op::Standardize => {
                    let offset = self.running[index].expect("a standardisation has its statistics");
                    let (mean, std) = (&self.buffers[offset..offset + width], &self.buffers[offset + width..]);
                    let x = &values[inputs[0]].1;
                    let y =
                        x.chunks(width).flat_map(|row| row.iter().zip(mean).zip(std).map(|((v, m), s)| (v - m) / s));
                    (Vec::new(), y.collect())
                }
                Op::BatchNorm { channels, eps, .. } => {
                    let (scale, shift) = self.norms[index].expect("a batch norm has its scale and shift");
                    let x = &values[inputs[0]].1;
                    let spatial = width / channels;
                    let mut y = vec![0.0; x.len()];
                    for c in 0..channels {
                        let at = |n: usize, s: usize| n * width + c * spatial + s;
                        let positions = || (0..batch).flat_map(|n| (0..spatial).map(move |s| (n, s)));
                        let (mean, variance) = if self.training {
                            let count = (batch * spatial) as f64;
                            let mean = positions().map(|(n, s)| x[at(n, s)]).sum::<f64>() / count;
                            (mean, positions().map(|(n, s)| (x[at(n, s)] - mean).powi(2)).sum::<f64>() / count)
                        } else {
                            let offset = self.running[index].expect("a batch norm has its running statistics");
                            (self.buffers[offset + c], self.buffers[offset + channels + c])
                        };
                        let std = (variance + f64::from(eps)).sqrt();
                        for (n, s) in positions() {
                            y[at(n, s)] = params[scale + c] * (x[at(n, s)] - mean) / std + params[shift + c];
                        }
                    }
                    (Vec::new(), y)
                }
                Op::Activation(activation) => {
                    let z = values[inputs[0]].1.clone();
                    if matches!(
                        activation,
                        Activation::Step | Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_)
                    ) {
                        sides.extend(
                            z.iter().map(|v| if activation == Activation::Step { *v >= 0.0 } else { *v > 0.0 }),
                        );
                    }
                    let a = z.chunks(width.max(1)).flat_map(|row| activate(activation, row)).collect();
                    (z, a)
                }
                Op::Add => {
                    let mut sum = vec![0.0; batch * width];
                    for &i in inputs {
                        for (s, v) in sum.iter_mut().zip(&values[i].1) {
                            *s += v;
                        }
                    }
                    (Vec::new(), sum)
                }
                Op::Concat => {
                    let mut rows = Vec::with_capacity(batch * width);
                    for r in 0..batch {
                        for &i in inputs {
                            let w = self.nodes[i].2;
                            rows.extend_from_slice(&values[i].1[r * w..(r + 1) * w]);
                        }
                    }
                    (Vec::new(), rows)
                }
            };
            values.push(value);
        }
        let mut output = self.nodes.len() - 1;
        if let Op::Dropout(_) = self.nodes[output].0 {
            output = self.nodes[output].1[0];
        }
        let width = self.nodes[output].2;
        let (z, a) = &values[output];
        let value = match self.nodes[output].0 {
            Op::Dense { activation, .. } | Op::Activation(activation) => loss(self.loss, activation, z, a, y, width),
            _ => loss(self.loss, Activation::Identity, a, a, y, width),
        };
        (value, sides)
    }
}

/// A GRU or LSTM in f64, as `nnspec_core::recurrent` defines it (PyTorch's rules).
fn recurrent(g: &nnspec::recurrent::RecurrentGeometry, params: &[f64], x: &[f64], batch: usize) -> Vec<f64> {
    use nnspec::recurrent::Cell;
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let (h_len, rows, dirs) = (g.hidden, g.gates() * g.hidden, g.directions());
    let mut out = vec![0.0; batch * g.output_len()];
    for n in 0..batch {
        for d in 0..dirs {
            let p = &params[d * g.direction_params()..];
            let (w_ih, rest) = p.split_at(rows * g.features);
            let (w_hh, rest) = rest.split_at(rows * h_len);
            let (b_ih, b_hh) = rest.split_at(rows);
            let (mut h, mut c) = (vec![0.0; h_len], vec![0.0; h_len]);
            for s in 0..g.steps {
                let t = if d == 0 { s } else { g.steps - 1 - s };
                // Time first `[T][F]`, or a convolution's `[C][L]` read as L steps of C features.
                let x_t: Vec<f64> = (0..g.features)
                    .map(|f| {
                        let at = if g.channels_first { f * g.steps + t } else { t * g.features + f };
                        x[n * g.input_len() + at]
                    })
                    .collect();
                let x_t = &x_t[..];
                let gate = |r: usize, w: &[f64], b: &[f64], v: &[f64]| -> f64 {
                    b[r] + (0..v.len()).map(|k| w[r * v.len() + k] * v[k]).sum::<f64>()
                };
                let gx: Vec<f64> = (0..rows).map(|r| gate(r, w_ih, b_ih, x_t)).collect();
                let gh: Vec<f64> = (0..rows).map(|r| gate(r, w_hh, b_hh, &h)).collect();
                let next: Vec<f64> = (0..h_len)
                    .map(|j| match g.cell {
                        Cell::Gru => {
                            let r = sigmoid(gx[j] + gh[j]);
                            let z = sigmoid(gx[h_len + j] + gh[h_len + j]);
                            let cand = (gx[2 * h_len + j] + r * gh[2 * h_len + j]).tanh();
                            (1.0 - z) * cand + z * h[j]
                        }
                        Cell::Lstm => {
                            let i = sigmoid(gx[j] + gh[j]);
                            let f = sigmoid(gx[h_len + j] + gh[h_len + j]);
                            let cand = (gx[2 * h_len + j] + gh[2 * h_len + j]).tanh();
                            let o = sigmoid(gx[3 * h_len + j] + gh[3 * h_len + j]);
                            c[j] = f * c[j] + i * cand;
                            o * c[j].tanh()
                        }
                    })
                    .collect();
                h = next;
                if g.sequence {
                    let at = n * g.output_len() + t * dirs * h_len + d * h_len;
                    out[at..at + h_len].copy_from_slice(&h);
                }
            }
            if !g.sequence {
                let at = n * g.output_len() + d * h_len;
                out[at..at + h_len].copy_from_slice(&h);
            }
        }
    }
    out
}

/// `activation` on one row of pre-activations.
fn activate(activation: Activation, z: &[f64]) -> Vec<f64> {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_sum_exp = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
    z.iter()
        .map(|&x| match activation {
            Activation::Step => f64::from(u8::from(x >= 0.0)),
            Activation::Identity => x,
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Tanh => x.tanh(),
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu(slope) => {
                if x > 0.0 {
                    x
                } else {
                    f64::from(slope) * x
                }
            }
            Activation::Elu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    f64::from(alpha) * x.exp_m1()
                }
            }
            Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Activation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            Activation::Softmax => (x - log_sum_exp).exp(),
            Activation::LogSoftmax => x - log_sum_exp,
        })
        .collect()
}

/// The reduced loss of outputs `a = activation(z)` against `y` (README section 2).
fn loss(loss: Loss, activation: Activation, z: &[f64], a: &[f64], y: &[f64], width: usize) -> f64 {
    let n = a.len() as f64;
    let binary_logits =
        |z: &[f64]| z.iter().zip(y).map(|(z, y)| z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()).sum::<f64>() / n;
    match loss {
        Loss::Mse => a.iter().zip(y).map(|(a, y)| (a - y).powi(2)).sum::<f64>() / n,
        Loss::Sse => a.iter().zip(y).map(|(a, y)| (a - y).powi(2)).sum::<f64>(),
        Loss::SseHalf => 0.5 * a.iter().zip(y).map(|(a, y)| (a - y).powi(2)).sum::<f64>(),
        Loss::BinaryCrossEntropy if activation == Activation::Sigmoid => binary_logits(z),
        Loss::BinaryCrossEntropy => {
            -a.iter().zip(y).map(|(p, y)| y * p.ln() + (1.0 - y) * (1.0 - p).ln()).sum::<f64>() / n
        }
        Loss::BinaryCrossEntropyWithLogits => binary_logits(z),
        Loss::SoftmaxCrossEntropy | Loss::CrossEntropy => {
            let rows = z.len() / width;
            let labels = y.len() == rows;
            let mut total = 0.0;
            for r in 0..rows {
                let log_softmax = activate(Activation::LogSoftmax, &z[r * width..(r + 1) * width]);
                total -= if labels {
                    log_softmax[y[r] as usize]
                } else {
                    log_softmax.iter().zip(&y[r * width..(r + 1) * width]).map(|(l, t)| l * t).sum::<f64>()
                };
            }
            total / rows as f64
        }
    }
}

/// What [`check_gradient`] found.
#[derive(Debug, Clone, Copy, Default)]
pub struct GradientCheck {
    /// Parameters compared.
    pub checked: usize,
    /// Parameters on a kink, where no central difference exists.
    pub skipped: usize,
    /// The worst use of the tolerance, `|analytic − numeric| / (atol + rtol·|numeric|)`.
    pub worst: f64,
}

/// Compares `model`'s gradient on a batch (dropout off) with f64 central
/// differences of the [`Reference`] network, within `tolerance`; also checks
/// that the reference computes the model's loss. Panics naming the parameter.
/// A network with batch normalisation is checked in training mode (batch
/// statistics, through which the gradient flows), so it must not have dropout.
pub fn check_gradient(name: &str, model: &dyn Model, x: &[f32], y: &[f32], tolerance: Tolerance) -> GradientCheck {
    let mut reference = Reference::of(model);
    reference.training = !model.buffers().is_empty();
    let mut grad = vec![0.0; model.param_count()];
    let loss32 = model.loss_and_grad(x, y, Some(&mut grad), &mut Workspace::default(), reference.training);
    let x: Vec<f64> = x.iter().map(|v| f64::from(*v)).collect();
    let y: Vec<f64> = y.iter().map(|v| f64::from(*v)).collect();
    let mut params: Vec<f64> = model.params().iter().map(|v| f64::from(*v)).collect();
    let (loss64, sides) = reference.loss(&params, &x, &y);
    assert!(
        (f64::from(loss32) - loss64).abs() <= 1e-5 * (1.0 + loss64.abs()),
        "{name}: the f64 reference computes another loss ({loss64}) than the model ({loss32})"
    );
    let mut report = GradientCheck::default();
    for (i, &analytic) in grad.iter().enumerate() {
        let original = params[i];
        let numeric = [1e-6, 1e-7, 1e-8].into_iter().find_map(|h| {
            params[i] = original + h;
            let (plus, plus_sides) = reference.loss(&params, &x, &y);
            params[i] = original - h;
            let (minus, minus_sides) = reference.loss(&params, &x, &y);
            params[i] = original;
            (plus_sides == sides && minus_sides == sides).then(|| (plus - minus) / (2.0 * h))
        });
        let Some(numeric) = numeric else {
            report.skipped += 1;
            continue;
        };
        let analytic = f64::from(analytic);
        let allowed = tolerance.atol + tolerance.rtol * numeric.abs();
        assert!(
            (analytic - numeric).abs() <= allowed,
            "{name}: parameter {i}: analytic {analytic}, f64 central difference {numeric} (|diff| {:e} > {allowed:e})",
            (analytic - numeric).abs()
        );
        report.checked += 1;
        report.worst = report.worst.max((analytic - numeric).abs() / allowed);
    }
    assert!(report.skipped * 5 <= grad.len(), "{name}: {} of {} parameters sit on a kink", report.skipped, grad.len());
    report
}
