//! Recurrent layers with PyTorch's semantics (`nn.GRU`, `nn.LSTM`,
//! `batch_first=True`, one layer, zero initial state): the forward pass over
//! every step and backpropagation through time.
//!
//! A sample is time first, `[T][F]`, or, read from a convolution,
//! channel-first `[F][T]` (`channels_first`: L positions of C channels are
//! T = L steps of F = C features, as `x.transpose(1, 2)` before PyTorch's
//! `batch_first` layer). The parameters of one direction are
//! PyTorch's, in PyTorch's layout and order: `weight_ih` `[G·H][F]`,
//! `weight_hh` `[G·H][H]`, `bias_ih` `[G·H]`, `bias_hh` `[G·H]`, with the row
//! blocks r, z, n (GRU, G = 3) or i, f, g, o (LSTM, G = 4); a bidirectional
//! layer has the reverse direction's four after the forward's.
//!
//! GRU, per step: `r = σ(W_ir·x + b_ir + W_hr·h + b_hr)`, `z` likewise,
//! `n = tanh(W_in·x + b_in + r ⊙ (W_hn·h + b_hn))`, `h ← (1 − z) ⊙ n + z ⊙ h`.
//! LSTM: `i, f, o = σ(…)`, `g = tanh(…)`, `c ← f ⊙ c + i ⊙ g`, `h ← o ⊙ tanh(c)`.
//! The reverse direction reads t = T−1 … 0. The output is the last state of
//! each direction (`[D·H]`: the forward h after step T−1, then the reverse h
//! after step 0) or every step's (`[T][D·H]`).
//!
//! The forward pass keeps, per row, direction and step, the gates and the
//! state (the cache) that the backward pass reads.

use crate::activation::{sigmoid, tanh};

/// GRU or LSTM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Cell {
    /// Gated recurrent unit (gates r, z, n).
    Gru,
    /// Long short-term memory (gates i, f, g, o).
    Lstm,
}

/// The sizes of a recurrent layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RecurrentGeometry {
    /// The cell.
    pub cell: Cell,
    /// Time steps T.
    pub steps: usize,
    /// Features per step F.
    pub features: usize,
    /// Hidden units H per direction.
    pub hidden: usize,
    /// Both directions.
    pub bidirectional: bool,
    /// Every step's state (`[T][D·H]`), else the last (`[D·H]`).
    pub sequence: bool,
    /// The input is channel-first `[F][T]` (a convolution's `[C, L]`), not `[T][F]`.
    pub channels_first: bool,
}

impl RecurrentGeometry {
    /// Gates per unit: 3 (GRU) or 4 (LSTM).
    pub const fn gates(&self) -> usize {
        match self.cell {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// Directions: 1 or 2.
    pub const fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Values per sample read: `T·F`.
    pub const fn input_len(&self) -> usize {
        self.steps * self.features
    }

    /// Values per sample written: `D·H`, or `T·D·H` for the whole sequence.
    pub const fn output_len(&self) -> usize {
        let last = self.directions() * self.hidden;
        if self.sequence {
            self.steps * last
        } else {
            last
        }
    }

    /// Parameters of one direction: `G·H·F + G·H·H + 2·G·H`.
    pub const fn direction_params(&self) -> usize {
        let rows = self.gates() * self.hidden;
        rows * self.features + rows * self.hidden + 2 * rows
    }

    /// Cached values per step and direction: the gates and the new state
    /// (GRU: r, z, n, `W_hn·h + b_hn`, h; LSTM: i, f, g, o, c, h).
    const fn step_cache(&self) -> usize {
        match self.cell {
            Cell::Gru => 5 * self.hidden,
            Cell::Lstm => 6 * self.hidden,
        }
    }

    /// Cached values per sample (what the backward pass reads).
    pub const fn cache_len(&self) -> usize {
        self.directions() * self.steps * self.step_cache()
    }

    /// Multiply-adds per sample of the forward pass.
    pub const fn multiply_adds(&self) -> usize {
        self.directions() * self.steps * self.gates() * self.hidden * (self.features + self.hidden)
    }

    /// The time index of step `s` of direction `d`.
    const fn time(&self, direction: usize, s: usize) -> usize {
        if direction == 0 {
            s
        } else {
            self.steps - 1 - s
        }
    }
}

/// Step `t`'s features of `sample`: a slice of a time-first sample, or
/// gathered into `buffer` from a channel-first one.
#[inline(always)]
fn input_step<'s>(g: &RecurrentGeometry, sample: &'s [f32], t: usize, buffer: &'s mut [f32]) -> &'s [f32] {
    if g.channels_first {
        for (f, value) in buffer[..g.features].iter_mut().enumerate() {
            *value = sample[f * g.steps + t];
        }
        &buffer[..g.features]
    } else {
        &sample[t * g.features..(t + 1) * g.features]
    }
}

/// `out[r] = b[r] + Σ_c w[r][c]·v[c]` for the `rows × v.len()` matrix `w`.
#[inline(always)]
fn affine(w: &[f32], b: &[f32], v: &[f32], out: &mut [f32]) {
    let cols = v.len();
    for (r, o) in out.iter_mut().enumerate() {
        let row = &w[r * cols..(r + 1) * cols];
        let mut sum = b[r];
        for (w, v) in row.iter().zip(v) {
            sum += w * v;
        }
        *o = sum;
    }
}

/// One direction's parameters: `(w_ih, w_hh, b_ih, b_hh)`.
fn split<'p>(params: &'p [f32], g: &RecurrentGeometry) -> (&'p [f32], &'p [f32], &'p [f32], &'p [f32]) {
    let rows = g.gates() * g.hidden;
    let (w_ih, rest) = params.split_at(rows * g.features);
    let (w_hh, rest) = rest.split_at(rows * g.hidden);
    let (b_ih, b_hh) = rest.split_at(rows);
    (w_ih, w_hh, b_ih, &b_hh[..rows])
}

/// The largest `G·H` a layer may have: the gate buffers live on the stack.
pub const MAX_GATE_ROWS: usize = 1024;

/// One step of one direction: the gates from `x_t` and the state `h` (and
/// `c`), the new state written over `h` (and `c`), and, if given, the step's
/// cache entry (`step_cache` values per unit, unit-major by field).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cell_step(
    g: &RecurrentGeometry,
    params: (&[f32], &[f32], &[f32], &[f32]),
    x_t: &[f32],
    h: &mut [f32],
    c: &mut [f32],
    gates: (&mut [f32], &mut [f32]),
    mut cache: Option<&mut [f32]>,
) {
    let (w_ih, w_hh, b_ih, b_hh) = params;
    let (h_len, rows) = (g.hidden, g.gates() * g.hidden);
    let (gx, gh) = gates;
    affine(w_ih, b_ih, x_t, &mut gx[..rows]);
    affine(w_hh, b_hh, h, &mut gh[..rows]);
    for j in 0..h_len {
        let (saved, new_h) = match g.cell {
            Cell::Gru => {
                let r = sigmoid(gx[j] + gh[j]);
                let z = sigmoid(gx[h_len + j] + gh[h_len + j]);
                let hn = gh[2 * h_len + j];
                let n = tanh(gx[2 * h_len + j] + r * hn);
                let new_h = (1.0 - z) * n + z * h[j];
                ([r, z, n, hn, new_h, 0.0], new_h)
            }
            Cell::Lstm => {
                let i = sigmoid(gx[j] + gh[j]);
                let f = sigmoid(gx[h_len + j] + gh[h_len + j]);
                let gg = tanh(gx[2 * h_len + j] + gh[2 * h_len + j]);
                let o = sigmoid(gx[3 * h_len + j] + gh[3 * h_len + j]);
                let new_c = f * c[j] + i * gg;
                c[j] = new_c;
                let new_h = o * tanh(new_c);
                ([i, f, gg, o, new_c, new_h], new_h)
            }
        };
        if let Some(cache) = cache.as_deref_mut() {
            for (k, value) in saved.iter().take(g.step_cache() / h_len).enumerate() {
                cache[k * h_len + j] = *value;
            }
        }
        // The new state is read by the next step only after every unit is done.
        gx[j] = new_h;
    }
    h.copy_from_slice(&gx[..h_len]);
}

/// The forward pass over `batch` rows of `x` (`[T][F]` each): the output
/// (`[D·H]` or `[T][D·H]` per row) and, if given, the cache the backward pass reads.
pub fn recurrent_forward(
    x: &[f32],
    params: &[f32],
    out: &mut [f32],
    mut cache: Option<&mut [f32]>,
    batch: usize,
    g: &RecurrentGeometry,
) {
    let h_len = g.hidden;
    let (out_len, cache_len) = (g.output_len(), g.cache_len());
    let mut gx = [0.0f32; MAX_GATE_ROWS];
    let mut gh = [0.0f32; MAX_GATE_ROWS];
    let mut state = [0.0f32; 2 * MAX_GATE_ROWS / 3];
    let mut gathered = [0.0f32; MAX_GATE_ROWS];
    for row in 0..batch {
        let sample = &x[row * g.input_len()..(row + 1) * g.input_len()];
        let out = &mut out[row * out_len..(row + 1) * out_len];
        for d in 0..g.directions() {
            let params = split(&params[d * g.direction_params()..], g);
            let (h, c) = state[..2 * h_len].split_at_mut(h_len);
            h.fill(0.0);
            c.fill(0.0);
            for s in 0..g.steps {
                let t = g.time(d, s);
                let step = (d * g.steps + t) * g.step_cache();
                let entry = cache.as_deref_mut().map(|cache| &mut cache[row * cache_len + step..]);
                let x_t = input_step(g, sample, t, &mut gathered);
                cell_step(g, params, x_t, h, c, (&mut gx, &mut gh), entry);
                if g.sequence {
                    let at = t * g.directions() * h_len + d * h_len;
                    out[at..at + h_len].copy_from_slice(h);
                }
            }
            if !g.sequence {
                out[d * h_len..(d + 1) * h_len].copy_from_slice(h);
            }
        }
    }
}

/// One time step of a unidirectional layer for streaming inference: `state`
/// holds `h` (then `c` for an LSTM), starts at zero, and is updated in place;
/// fed a sequence step by step, the final `h` is [`recurrent_forward`]'s last state.
pub fn recurrent_step(x_t: &[f32], params: &[f32], state: &mut [f32], g: &RecurrentGeometry) {
    recurrent_step_sized::<MAX_GATE_ROWS>(x_t, params, state, g)
}

/// [`recurrent_step`] with gate buffers of `ROWS` values, at least the
/// layer's `G·H`: generated code passes exactly that, so a step clears no
/// more stack than it uses.
#[inline(always)]
pub fn recurrent_step_sized<const ROWS: usize>(x_t: &[f32], params: &[f32], state: &mut [f32], g: &RecurrentGeometry) {
    assert!(ROWS >= g.gates() * g.hidden, "gate buffers of {ROWS} values for {} gate rows", g.gates() * g.hidden);
    let mut gx = [0.0f32; ROWS];
    let mut gh = [0.0f32; ROWS];
    let (h, rest) = state.split_at_mut(g.hidden);
    let mut unused = [0.0f32; 0];
    let c = match g.cell {
        Cell::Gru => &mut unused[..],
        Cell::Lstm => &mut rest[..g.hidden],
    };
    cell_step(g, split(params, g), x_t, h, c, (&mut gx, &mut gh), None);
}

/// The largest magnitude an LSTM's cell state reached in the cache of
/// [`recurrent_forward`] (0 for a GRU): what the int8 cell state's format is
/// chosen from.
pub fn cell_extent(cache: &[f32], g: &RecurrentGeometry) -> f32 {
    if g.cell != Cell::Lstm || g.hidden == 0 {
        return 0.0;
    }
    cache
        .chunks_exact(g.step_cache())
        .flat_map(|step| &step[4 * g.hidden..5 * g.hidden])
        .filter(|c| c.is_finite())
        .fold(0.0f32, |m, c| m.max(c.abs()))
}

/// The layers a network advances one time step at a time, for networks that
/// stream (generated `step`, int8 `step_q`): its first nodes after the input
/// (node 0) are unidirectional recurrent layers, the first reading the input
/// and each the one before, each but the last writing its whole sequence and
/// the last its last state, and no later node is recurrent or reads the input
/// or any of them but the last (a step holds neither the whole sequence nor
/// an earlier layer's). `inputs(k)` gives node `k`'s inputs and `geometry(k)`
/// its sizes if it is recurrent. `None` for any other network.
#[cfg(feature = "alloc")]
pub fn streaming_layers<'n>(
    count: usize,
    inputs: impl Fn(usize) -> &'n [usize],
    geometry: impl Fn(usize) -> Option<RecurrentGeometry>,
) -> Option<alloc::vec::Vec<usize>> {
    let chain: alloc::vec::Vec<usize> = (1..count).take_while(|&k| geometry(k).is_some()).collect();
    let last = *chain.last()?;
    let linked = chain.iter().all(|&k| inputs(k) == [k - 1]);
    let shaped = chain
        .iter()
        .all(|&k| geometry(k).is_some_and(|g| !g.bidirectional && !g.channels_first && g.sequence == (k != last)));
    let apart = (last + 1..count).all(|k| geometry(k).is_none() && inputs(k).iter().all(|&i| i >= last));
    (linked && shaped && apart).then_some(chain)
}

/// Values of a unidirectional layer's streaming state: `h`, and `c` for an LSTM.
pub const fn state_len(g: &RecurrentGeometry) -> usize {
    match g.cell {
        Cell::Gru => g.hidden,
        Cell::Lstm => 2 * g.hidden,
    }
}

/// Backpropagation through time over `batch` rows: `dout` (shaped as the
/// output) and the cache of [`recurrent_forward`] give `dparams` (overwritten,
/// the layout of the parameters) and, if given, `dx` (overwritten, shaped as `x`).
#[allow(clippy::too_many_arguments)]
pub fn recurrent_backward(
    x: &[f32],
    params: &[f32],
    cache: &[f32],
    dout: &[f32],
    dparams: &mut [f32],
    mut dx: Option<&mut [f32]>,
    batch: usize,
    g: &RecurrentGeometry,
) {
    let (h_len, rows) = (g.hidden, g.gates() * g.hidden);
    let (out_len, cache_len, step_len) = (g.output_len(), g.cache_len(), g.step_cache());
    dparams.fill(0.0);
    if let Some(dx) = dx.as_deref_mut() {
        dx[..batch * g.input_len()].fill(0.0);
    }
    let mut dgx = [0.0f32; MAX_GATE_ROWS];
    let mut dgh = [0.0f32; MAX_GATE_ROWS];
    let mut carry = [0.0f32; 2 * MAX_GATE_ROWS / 3];
    let zeros = [0.0f32; MAX_GATE_ROWS];
    let (mut gathered, mut dx_step) = ([0.0f32; MAX_GATE_ROWS], [0.0f32; MAX_GATE_ROWS]);
    for row in 0..batch {
        let sample = &x[row * g.input_len()..(row + 1) * g.input_len()];
        let dout = &dout[row * out_len..(row + 1) * out_len];
        let cache = &cache[row * cache_len..(row + 1) * cache_len];
        for d in 0..g.directions() {
            let offset = d * g.direction_params();
            let (w_ih, w_hh, _, _) = split(&params[offset..], g);
            let dp = &mut dparams[offset..offset + g.direction_params()];
            let (dw_ih, rest) = dp.split_at_mut(rows * g.features);
            let (dw_hh, rest) = rest.split_at_mut(rows * h_len);
            let (db_ih, db_hh) = rest.split_at_mut(rows);
            // dh and dc flowing back from the step after (in this direction's order).
            let (dh_next, dc_next) = carry[..2 * h_len].split_at_mut(h_len);
            dh_next.fill(0.0);
            dc_next.fill(0.0);
            for s in (0..g.steps).rev() {
                let t = g.time(d, s);
                let here = &cache[(d * g.steps + t) * step_len..][..step_len];
                let previous = (s > 0).then(|| {
                    let p = g.time(d, s - 1);
                    &cache[(d * g.steps + p) * step_len..][..step_len]
                });
                // The previous state h (and c): the cache's state fields, or zero.
                let h_field = match g.cell {
                    Cell::Gru => 4,
                    Cell::Lstm => 5,
                };
                let h_prev = previous.map_or(&zeros[..h_len], |p| &p[h_field * h_len..(h_field + 1) * h_len]);
                let c_prev = previous.map_or(&zeros[..h_len], |p| &p[4 * h_len..5 * h_len]);
                for j in 0..h_len {
                    let mut dh = dh_next[j];
                    if g.sequence {
                        dh += dout[t * g.directions() * h_len + d * h_len + j];
                    } else if s + 1 == g.steps {
                        dh += dout[d * h_len + j];
                    }
                    let field = |k: usize| here[k * h_len + j];
                    match g.cell {
                        Cell::Gru => {
                            let (r, z, n, hn) = (field(0), field(1), field(2), field(3));
                            let dn = dh * (1.0 - z) * (1.0 - n * n);
                            let dz = dh * (h_prev[j] - n) * z * (1.0 - z);
                            let dr = dn * hn * r * (1.0 - r);
                            dgx[j] = dr;
                            dgx[h_len + j] = dz;
                            dgx[2 * h_len + j] = dn;
                            dgh[j] = dr;
                            dgh[h_len + j] = dz;
                            dgh[2 * h_len + j] = dn * r;
                            // The direct path h → h' through z.
                            dh_next[j] = dh * z;
                        }
                        Cell::Lstm => {
                            let (i, f, gg, o, c) = (field(0), field(1), field(2), field(3), field(4));
                            let tc = tanh(c);
                            let dc = dc_next[j] + dh * o * (1.0 - tc * tc);
                            let di = dc * gg * i * (1.0 - i);
                            let df = dc * c_prev[j] * f * (1.0 - f);
                            let dg = dc * i * (1.0 - gg * gg);
                            let d_o = dh * tc * o * (1.0 - o);
                            for (k, value) in [di, df, dg, d_o].into_iter().enumerate() {
                                dgx[k * h_len + j] = value;
                                dgh[k * h_len + j] = value;
                            }
                            dc_next[j] = dc * f;
                            dh_next[j] = 0.0;
                        }
                    }
                }
                let x_t = input_step(g, sample, t, &mut gathered);
                for r in 0..rows {
                    let (gx, gh) = (dgx[r], dgh[r]);
                    db_ih[r] += gx;
                    db_hh[r] += gh;
                    for (w, v) in dw_ih[r * g.features..(r + 1) * g.features].iter_mut().zip(x_t) {
                        *w += gx * v;
                    }
                    for (w, v) in dw_hh[r * h_len..(r + 1) * h_len].iter_mut().zip(h_prev) {
                        *w += gh * v;
                    }
                }
                if let Some(dx) = dx.as_deref_mut() {
                    let dx_t = &mut dx_step[..g.features];
                    dx_t.fill(0.0);
                    for r in 0..rows {
                        let row_w = &w_ih[r * g.features..(r + 1) * g.features];
                        for (dx, w) in dx_t.iter_mut().zip(row_w) {
                            *dx += dgx[r] * w;
                        }
                    }
                    let sample_dx = &mut dx[row * g.input_len()..(row + 1) * g.input_len()];
                    for (f, value) in dx_t.iter().enumerate() {
                        let at = if g.channels_first { f * g.steps + t } else { t * g.features + f };
                        sample_dx[at] += value;
                    }
                }
                // dh into the previous state through W_hh.
                for r in 0..rows {
                    let row_w = &w_hh[r * h_len..(r + 1) * h_len];
                    for (dh, w) in dh_next.iter_mut().zip(row_w) {
                        *dh += dgh[r] * w;
                    }
                }
            }
        }
    }
}
