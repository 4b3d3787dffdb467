//! Hand-written Rust for each workload, as a careful reader writes a small
//! network by hand: fixed-size arrays, straight loops, the same maths
//! (`[in][out]` weights, f32, libm's transcendental functions).

// Index loops are how a reader writes these by hand; that is the baseline being measured.
#![allow(clippy::needless_range_loop)]

/// sigmoid
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The XOR net 3-4-1, sigmoid, no biases, SSE/2, full-batch GD lr 1.
///
/// The four samples come in as data (the caller hides them behind
/// `black_box`), as they do for the generated network: a truth table written
/// into the code as constants would let the compiler fold its zeros and ones away.
pub fn xor_train(syn0: &mut [[f32; 4]; 3], syn1: &mut [f32; 4], x: &[[f32; 3]; 4], y: &[f32; 4], iterations: usize) {
    for _ in 0..iterations {
        let mut l1 = [[0.0f32; 4]; 4];
        let mut l2 = [0.0f32; 4];
        for s in 0..4 {
            for j in 0..4 {
                l1[s][j] = sigmoid(x[s][0] * syn0[0][j] + x[s][1] * syn0[1][j] + x[s][2] * syn0[2][j]);
            }
            l2[s] = sigmoid((0..4).map(|j| l1[s][j] * syn1[j]).sum());
        }
        let mut d2 = [0.0f32; 4];
        let mut d1 = [[0.0f32; 4]; 4];
        for s in 0..4 {
            d2[s] = (l2[s] - y[s]) * l2[s] * (1.0 - l2[s]);
            for j in 0..4 {
                d1[s][j] = d2[s] * syn1[j] * l1[s][j] * (1.0 - l1[s][j]);
            }
        }
        for j in 0..4 {
            syn1[j] -= (0..4).map(|s| l1[s][j] * d2[s]).sum::<f32>();
            for i in 0..3 {
                syn0[i][j] -= (0..4).map(|s| x[s][i] * d1[s][j]).sum::<f32>();
            }
        }
    }
}

/// The planar net 2-H-1, tanh/sigmoid, mean BCE, full-batch GD.
pub struct Planar<const H: usize> {
    /// `[2][H]`
    pub w1: [[f32; H]; 2],
    /// `[H]`
    pub b1: [f32; H],
    /// `[H]`
    pub w2: [f32; H],
    /// scalar bias
    pub b2: f32,
}

impl<const H: usize> Planar<H> {
    /// One full-batch step on `x` (`[n][2]`) and `y`; returns the cost before the step.
    pub fn step(&mut self, x: &[[f32; 2]], y: &[f32], lr: f32, a1: &mut Vec<[f32; H]>, a2: &mut Vec<f32>) -> f32 {
        let n = x.len();
        a1.resize(n, [0.0; H]);
        a2.resize(n, 0.0);
        let mut cost = 0.0;
        for s in 0..n {
            let mut z2 = self.b2;
            for j in 0..H {
                let h = (x[s][0] * self.w1[0][j] + x[s][1] * self.w1[1][j] + self.b1[j]).tanh();
                a1[s][j] = h;
                z2 += h * self.w2[j];
            }
            let p = sigmoid(z2);
            a2[s] = p;
            cost -= y[s] * p.ln() + (1.0 - y[s]) * (1.0 - p).ln();
        }
        let mut dw1 = [[0.0f32; H]; 2];
        let mut db1 = [0.0f32; H];
        let mut dw2 = [0.0f32; H];
        let mut db2 = 0.0f32;
        let inv = 1.0 / n as f32;
        for s in 0..n {
            let dz2 = (a2[s] - y[s]) * inv;
            db2 += dz2;
            for j in 0..H {
                dw2[j] += a1[s][j] * dz2;
                let dz1 = dz2 * self.w2[j] * (1.0 - a1[s][j] * a1[s][j]);
                db1[j] += dz1;
                dw1[0][j] += x[s][0] * dz1;
                dw1[1][j] += x[s][1] * dz1;
            }
        }
        for j in 0..H {
            self.w1[0][j] -= lr * dw1[0][j];
            self.w1[1][j] -= lr * dw1[1][j];
            self.b1[j] -= lr * db1[j];
            self.w2[j] -= lr * dw2[j];
        }
        self.b2 -= lr * db2;
        cost * inv
    }
}

/// A 64-32-10 ReLU/softmax network with Adam, and one-sample predict.
pub struct Digits {
    /// `[64][32]`
    pub w1: Box<[[f32; 32]; 64]>,
    /// `[32]`
    pub b1: [f32; 32],
    /// `[32][10]`
    pub w2: [[f32; 10]; 32],
    /// `[10]`
    pub b2: [f32; 10],
}

impl Digits {
    /// Logits for one sample.
    pub fn predict(&self, x: &[f32; 64]) -> [f32; 10] {
        let mut h = self.b1;
        for i in 0..64 {
            for j in 0..32 {
                h[j] += x[i] * self.w1[i][j];
            }
        }
        let mut out = self.b2;
        for j in 0..32 {
            let a = h[j].max(0.0);
            for k in 0..10 {
                out[k] += a * self.w2[j][k];
            }
        }
        out
    }

    /// Flat parameter count.
    pub const PARAMS: usize = 64 * 32 + 32 + 32 * 10 + 10;

    /// Mean softmax CE gradient on a mini-batch into `grad` (`[w1, b1, w2, b2]` flat).
    pub fn gradient(&self, x: &[[f32; 64]], labels: &[usize], grad: &mut [f32]) {
        grad.fill(0.0);
        let (gw1, rest) = grad.split_at_mut(64 * 32);
        let (gb1, rest) = rest.split_at_mut(32);
        let (gw2, gb2) = rest.split_at_mut(320);
        let inv = 1.0 / x.len() as f32;
        for (sample, &label) in x.iter().zip(labels) {
            let mut z1 = self.b1;
            for i in 0..64 {
                for j in 0..32 {
                    z1[j] += sample[i] * self.w1[i][j];
                }
            }
            let a1: [f32; 32] = core::array::from_fn(|j| z1[j].max(0.0));
            let mut z2 = self.b2;
            for j in 0..32 {
                for k in 0..10 {
                    z2[k] += a1[j] * self.w2[j][k];
                }
            }
            let max = z2.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut p: [f32; 10] = core::array::from_fn(|k| (z2[k] - max).exp());
            let sum: f32 = p.iter().sum();
            p.iter_mut().for_each(|v| *v /= sum);
            p[label] -= 1.0;
            let mut da1 = [0.0f32; 32];
            for k in 0..10 {
                let d = p[k] * inv;
                gb2[k] += d;
                for j in 0..32 {
                    gw2[j * 10 + k] += a1[j] * d;
                    da1[j] += self.w2[j][k] * d;
                }
            }
            for j in 0..32 {
                let d = if z1[j] > 0.0 { da1[j] } else { 0.0 };
                gb1[j] += d;
                for i in 0..64 {
                    gw1[i * 32 + j] += sample[i] * d;
                }
            }
        }
    }

    /// Copies parameters from a flat buffer laid out as `[w1, b1, w2, b2]`.
    pub fn load(&mut self, flat: &[f32]) {
        for i in 0..64 {
            self.w1[i].copy_from_slice(&flat[i * 32..(i + 1) * 32]);
        }
        self.b1.copy_from_slice(&flat[2048..2080]);
        for j in 0..32 {
            self.w2[j].copy_from_slice(&flat[2080 + j * 10..2080 + (j + 1) * 10]);
        }
        self.b2.copy_from_slice(&flat[2400..2410]);
    }

    /// Applies `p ← p − step` over the flat layout.
    pub fn apply(&mut self, flat: &[f32]) {
        self.load(flat);
    }
}

/// Adam on a flat buffer, written out by hand.
pub struct HandAdam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl HandAdam {
    /// State for `n` parameters.
    pub fn new(n: usize) -> HandAdam {
        HandAdam { m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    /// One step with lr, betas (0.9, 0.999), eps 1e-8.
    pub fn step(&mut self, params: &mut [f32], grad: &[f32], lr: f32) {
        self.t += 1;
        let bc1 = 1.0 - 0.9f32.powi(self.t);
        let bc2 = (1.0 - 0.999f32.powi(self.t)).sqrt();
        for i in 0..params.len() {
            self.m[i] = 0.9 * self.m[i] + 0.1 * grad[i];
            self.v[i] = 0.999 * self.v[i] + 0.001 * grad[i] * grad[i];
            params[i] -= lr / bc1 * self.m[i] / (self.v[i].sqrt() / bc2 + 1e-8);
        }
    }
}
