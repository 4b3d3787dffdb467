//! The gestures GRU written by hand, as a Rust developer would write it for
//! this one network: 24 steps of 3 features, 16 hidden units (PyTorch's GRU),
//! a 16 → 4 linear layer, softmax cross-entropy, backpropagation through time.
//! Parameters in nnspec's order and layout: `weight_ih` `[48][3]`,
//! `weight_hh` `[48][16]`, `bias_ih` `[48]`, `bias_hh` `[48]`, then the linear
//! layer's weight `[16][4]` and bias `[4]`.

const T: usize = 24;
const F: usize = 3;
const H: usize = 16;
const O: usize = 4;
const G: usize = 3 * H;

/// Offsets of the tensors in the flat parameters.
const W_IH: usize = 0;
const W_HH: usize = W_IH + G * F;
const B_IH: usize = W_HH + G * H;
const B_HH: usize = B_IH + G;
const FC_W: usize = B_HH + G;
const FC_B: usize = FC_W + H * O;

/// The hand-written network.
pub struct GesturesGru;

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// One step: the gates from `x` and `h`, the new `h`; `(r, z, n, hn)` for the backward pass.
#[inline(always)]
fn step(p: &[f32], x: &[f32], h: &[f32; H], new_h: &mut [f32; H], saved: &mut [[f32; H]; 4]) {
    let mut gx = [0.0f32; G];
    let mut gh = [0.0f32; G];
    for r in 0..G {
        let mut a = p[B_IH + r];
        for f in 0..F {
            a += p[W_IH + r * F + f] * x[f];
        }
        gx[r] = a;
        let mut b = p[B_HH + r];
        for k in 0..H {
            b += p[W_HH + r * H + k] * h[k];
        }
        gh[r] = b;
    }
    for j in 0..H {
        let r = sigmoid(gx[j] + gh[j]);
        let z = sigmoid(gx[H + j] + gh[H + j]);
        let hn = gh[2 * H + j];
        let n = (gx[2 * H + j] + r * hn).tanh();
        new_h[j] = (1.0 - z) * n + z * h[j];
        saved[0][j] = r;
        saved[1][j] = z;
        saved[2][j] = n;
        saved[3][j] = hn;
    }
}

impl GesturesGru {
    /// Parameters.
    pub const PARAMS: usize = FC_B + O;
    /// The streaming state: h.
    pub const STATE: usize = H;

    /// The logits of one sequence (`[T][F]`).
    pub fn predict(p: &[f32], x: &[f32]) -> [f32; O] {
        let mut h = [0.0f32; H];
        let mut saved = [[0.0f32; H]; 4];
        for t in 0..T {
            let mut new_h = [0.0f32; H];
            step(p, &x[t * F..(t + 1) * F], &h, &mut new_h, &mut saved);
            h = new_h;
        }
        Self::head(p, &h)
    }

    /// The linear layer on the state.
    #[inline(always)]
    fn head(p: &[f32], h: &[f32; H]) -> [f32; O] {
        let mut out = [0.0f32; O];
        for (o, value) in out.iter_mut().enumerate() {
            let mut a = p[FC_B + o];
            for k in 0..H {
                a += h[k] * p[FC_W + k * O + o];
            }
            *value = a;
        }
        out
    }

    /// One streaming step: advances `h` by one time step, returns the logits after it.
    pub fn stream(p: &[f32], h: &mut [f32; H], x: &[f32; F]) -> [f32; O] {
        let mut saved = [[0.0f32; H]; 4];
        let mut new_h = [0.0f32; H];
        step(p, x, h, &mut new_h, &mut saved);
        *h = new_h;
        Self::head(p, h)
    }

    /// The mean softmax cross-entropy gradient over `xs` (rows of `[T][F]`) and `labels`, into `grad`.
    pub fn gradient(p: &[f32], xs: &[f32], labels: &[usize], grad: &mut [f32]) {
        grad.fill(0.0);
        let rows = labels.len();
        let scale = 1.0 / rows as f32;
        let mut hs = [[0.0f32; H]; T + 1];
        let mut saved = [[[0.0f32; H]; 4]; T];
        for (row, &label) in labels.iter().enumerate() {
            let x = &xs[row * T * F..(row + 1) * T * F];
            for t in 0..T {
                let (before, after) = hs.split_at_mut(t + 1);
                step(p, &x[t * F..(t + 1) * F], &before[t], &mut after[0], &mut saved[t]);
            }
            let logits = Self::head(p, &hs[T]);
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps = logits.map(|l| (l - max).exp());
            let sum: f32 = exps.iter().sum();
            let mut dlogits = exps.map(|e| e / sum * scale);
            dlogits[label] -= scale;
            let mut dh = [0.0f32; H];
            for o in 0..O {
                grad[FC_B + o] += dlogits[o];
                for k in 0..H {
                    grad[FC_W + k * O + o] += hs[T][k] * dlogits[o];
                    dh[k] += p[FC_W + k * O + o] * dlogits[o];
                }
            }
            for t in (0..T).rev() {
                let [r, z, n, hn] = &saved[t];
                let h_prev = &hs[t];
                let mut dgx = [0.0f32; G];
                let mut dgh = [0.0f32; G];
                let mut dh_prev = [0.0f32; H];
                for j in 0..H {
                    let dn = dh[j] * (1.0 - z[j]) * (1.0 - n[j] * n[j]);
                    let dz = dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0 - z[j]);
                    let dr = dn * hn[j] * r[j] * (1.0 - r[j]);
                    dgx[j] = dr;
                    dgx[H + j] = dz;
                    dgx[2 * H + j] = dn;
                    dgh[j] = dr;
                    dgh[H + j] = dz;
                    dgh[2 * H + j] = dn * r[j];
                    dh_prev[j] = dh[j] * z[j];
                }
                let x_t = &x[t * F..(t + 1) * F];
                for g in 0..G {
                    grad[B_IH + g] += dgx[g];
                    grad[B_HH + g] += dgh[g];
                    for f in 0..F {
                        grad[W_IH + g * F + f] += dgx[g] * x_t[f];
                    }
                    for k in 0..H {
                        grad[W_HH + g * H + k] += dgh[g] * h_prev[k];
                        dh_prev[k] += dgh[g] * p[W_HH + g * H + k];
                    }
                }
                dh = dh_prev;
            }
        }
    }
}
