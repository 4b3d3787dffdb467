//! Integer-only GRU and LSTM layers, in the scheme TensorFlow Lite Micro
//! uses for its int8 LSTM: int8 input and weights, 16-bit state, integer
//! sigmoid and tanh.
//!
//! - The hidden state `h` is int16 in Q0.15 (`h = q / 2^15`): it is always
//!   within [−1, 1] (tanh values and their convex combinations), so it needs no
//!   calibration. An LSTM's cell state `c` is int16 with `cell_bits`
//!   fraction bits, from the range calibration reached.
//! - A gate's pre-activation is the sum of two products, `W_ih·x + b_ih` (i32
//!   accumulator in the scale `s_x · s_w`) and `W_hh·h + b_hh` (`2^−15 · s_w`),
//!   each carried by its [`Requant`] into Q3.12 (`[−8, 8)`, 2^−12 steps), summed
//!   and saturated to 16 bits: past ±8 σ and tanh are within 2^−11 of their
//!   limits.
//! - σ and tanh map Q3.12 to Q0.15 through the 513-entry tables [`SIGMOID`]
//!   and [`TANH`] (a step of 1/32), interpolated linearly between entries, as
//!   TensorFlow Lite's 16-bit LUT kernels do; every product of two Q0.15
//!   values rounds once, half up.
//! - The output, the last state or every step's, is `h` requantised into the
//!   node's int8 quantisation.
//!
//! The gate order, the two biases per gate, GRU's reset applied to the state
//! term with its bias and the reverse direction are PyTorch's, as in the f32
//! [`crate::recurrent`].
#![deny(clippy::float_arithmetic)]

use super::{Output, Requant};
use crate::recurrent::{Cell, RecurrentGeometry, MAX_GATE_ROWS};

/// Fraction bits of a gate's pre-activation (Q3.12).
pub const GATE_BITS: u32 = 12;

/// Fraction bits of the hidden state and of σ and tanh's results (Q0.15).
pub const STATE_BITS: u32 = 15;

/// The integer parameters of a recurrent layer (all directions; the reverse
/// direction's rows after the forward's, as in f32).
#[derive(Debug, Clone, Copy)]
pub struct QRecurrent<'a> {
    /// Its sizes.
    pub geometry: RecurrentGeometry,
    /// int8 input weights, `[D][G·H][F]`.
    pub weight_ih: &'a [i8],
    /// int8 state weights, `[D][G·H][H]`.
    pub weight_hh: &'a [i8],
    /// i32 input biases in each row's accumulator scale, the input's zero point folded in.
    pub bias_ih: &'a [i32],
    /// i32 state biases in each row's accumulator scale (`2^−15 · s_w`).
    pub bias_hh: &'a [i32],
    /// Per row, from the input product's accumulator to Q3.12.
    pub requant_ih: &'a [Requant],
    /// Per row, from the state product's accumulator to Q3.12.
    pub requant_hh: &'a [Requant],
    /// Fraction bits of an LSTM's int16 cell state, at most 15 (0 for a GRU).
    pub cell_bits: u32,
    /// From Q0.15 to the output's scale.
    pub output: Requant,
}

/// `round(x / 2^shift)`, half up.
#[inline(always)]
const fn round_shift(x: i64, shift: u32) -> i64 {
    if shift == 0 {
        x
    } else {
        (x + (1 << (shift - 1))) >> shift
    }
}

/// The product of a Q0.15 value and a value of any scale, in that scale.
#[inline(always)]
const fn mul_q15(a: i32, b: i32) -> i32 {
    round_shift(a as i64 * b as i64, STATE_BITS) as i32
}

#[inline(always)]
const fn saturate16(x: i64) -> i32 {
    if x > i16::MAX as i64 {
        i16::MAX as i32
    } else if x < i16::MIN as i64 {
        i16::MIN as i32
    } else {
        x as i32
    }
}

/// `table` at the Q3.12 value `x` (saturated to 16 bits), interpolated between entries.
#[inline(always)]
pub fn lookup(table: &[i16; 513], x: i32) -> i32 {
    let u = (saturate16(x as i64) + 32768) as usize;
    let (i, fraction) = (u >> 7, (u & 127) as i32);
    let (a, b) = (table[i] as i32, table[i + 1] as i32);
    a + (((b - a) * fraction + 64) >> 7)
}

/// σ of a Q3.12 value, in Q0.15.
#[inline(always)]
pub fn sigmoid(x: i32) -> i32 {
    lookup(&SIGMOID, x)
}

/// tanh of a Q3.12 value, in Q0.15.
#[inline(always)]
pub fn tanh(x: i32) -> i32 {
    lookup(&TANH, x)
}

/// `out[r] = requant[r](bias[r] + Σ_c w[r][c] · v[c])`, unsaturated, for the `rows × v.len()` matrix `w`.
#[inline(always)]
fn gates<T: Copy + Into<i32>>(w: &[i8], bias: &[i32], requant: &[Requant], v: &[T], out: &mut [i32]) {
    let cols = v.len();
    for (r, o) in out.iter_mut().enumerate() {
        let mut acc = bias[r];
        if cols > 0 {
            for (w, v) in w[r * cols..(r + 1) * cols].iter().zip(v) {
                acc = acc.wrapping_add(*w as i32 * (*v).into());
            }
        }
        *o = requant[r].apply(acc);
    }
}

/// One step of one direction: the state `h` (and `c`) updated in place from
/// the int8 features `x_t` (`layer`'s slices already those of the direction).
#[inline(always)]
fn cell_step(layer: &QRecurrent, x_t: &[i8], h: &mut [i16], c: &mut [i16], gx: &mut [i32], gh: &mut [i32]) {
    let g = &layer.geometry;
    let (units, rows) = (g.hidden, g.gates() * g.hidden);
    gates(layer.weight_ih, layer.bias_ih, layer.requant_ih, x_t, &mut gx[..rows]);
    gates(layer.weight_hh, layer.bias_hh, layer.requant_hh, h, &mut gh[..rows]);
    let pre = |gx: &[i32], k: usize| saturate16(gx[k] as i64 + gh[k] as i64);
    for j in 0..units {
        let new_h = match g.cell {
            Cell::Gru => {
                let r = sigmoid(pre(gx, j));
                let z = sigmoid(pre(gx, units + j));
                let n = tanh(saturate16(gx[2 * units + j] as i64 + mul_q15(r, gh[2 * units + j]) as i64));
                n + mul_q15(z, h[j] as i32 - n)
            }
            Cell::Lstm => {
                let i = sigmoid(pre(gx, j));
                let f = sigmoid(pre(gx, units + j));
                let candidate = tanh(pre(gx, 2 * units + j));
                let o = sigmoid(pre(gx, 3 * units + j));
                let kept = round_shift(f as i64 * c[j] as i64, STATE_BITS);
                let added = round_shift(i as i64 * candidate as i64, 2 * STATE_BITS - layer.cell_bits);
                let cell = saturate16(kept + added);
                c[j] = cell as i16;
                let at_gate = if layer.cell_bits >= GATE_BITS {
                    round_shift(cell as i64, layer.cell_bits - GATE_BITS)
                } else {
                    (cell as i64) << (GATE_BITS - layer.cell_bits)
                };
                mul_q15(o, tanh(saturate16(at_gate)))
            }
        };
        // The new state is read by the next step only after every unit is done.
        gx[j] = new_h.clamp(-32767, 32767);
    }
    for (h, new) in h.iter_mut().zip(&gx[..units]) {
        *h = *new as i16;
    }
}

/// The layer over one int8 sample (`[T][F]`, or `[F][T]` when channel-first):
/// the last state of each direction (`[D·H]`) or every step's (`[T][D·H]`),
/// stored as int8 through `output`.
///
/// Its scratch lives on the stack, sized for the largest layer (`G·H` up to
/// [`MAX_GATE_ROWS`], 1,024 features): about 11 KB; generated code calls
/// [`recurrent_sized`] with its layer's sizes instead.
///
/// # Panics
///
/// If `layer`'s slices are shorter than its geometry says, or `G·H` exceeds
/// [`MAX_GATE_ROWS`].
pub fn recurrent(x: &[i8], layer: &QRecurrent, output: Output, y: &mut [i8]) {
    recurrent_sized::<MAX_GATE_ROWS, MAX_GATE_ROWS>(x, layer, output, y);
}

/// [`recurrent`] with scratch for `ROWS` gate rows (`G·H`) and `FEATURES`
/// features per step: `10·ROWS + FEATURES` bytes of stack (483 for a
/// 16-unit GRU of 3 features).
///
/// # Panics
///
/// If `layer`'s slices are shorter than its geometry says, or its `G·H`
/// exceeds `ROWS` or (channel-first) its features exceed `FEATURES`.
pub fn recurrent_sized<const ROWS: usize, const FEATURES: usize>(
    x: &[i8],
    layer: &QRecurrent,
    output: Output,
    y: &mut [i8],
) {
    let g = &layer.geometry;
    let (units, rows) = (g.hidden, g.gates() * g.hidden);
    let mut gx = [0i32; ROWS];
    let mut gh = [0i32; ROWS];
    // h and c: 2·H ≤ ROWS values, since G ≥ 3.
    let mut state = [0i16; ROWS];
    let mut gathered = [0i8; FEATURES];
    for d in 0..g.directions() {
        let direction = QRecurrent {
            weight_ih: &layer.weight_ih[d * rows * g.features..(d + 1) * rows * g.features],
            weight_hh: &layer.weight_hh[d * rows * units..(d + 1) * rows * units],
            bias_ih: &layer.bias_ih[d * rows..(d + 1) * rows],
            bias_hh: &layer.bias_hh[d * rows..(d + 1) * rows],
            requant_ih: &layer.requant_ih[d * rows..(d + 1) * rows],
            requant_hh: &layer.requant_hh[d * rows..(d + 1) * rows],
            ..*layer
        };
        let (h, c) = state[..2 * units].split_at_mut(units);
        h.fill(0);
        c.fill(0);
        for s in 0..g.steps {
            let t = if d == 0 { s } else { g.steps - 1 - s };
            let x_t = if g.channels_first {
                for (f, value) in gathered[..g.features].iter_mut().enumerate() {
                    *value = x[f * g.steps + t];
                }
                &gathered[..g.features]
            } else {
                &x[t * g.features..(t + 1) * g.features]
            };
            cell_step(&direction, x_t, h, c, &mut gx, &mut gh);
            if g.sequence {
                let at = t * g.directions() * units + d * units;
                store_state(layer, output, h, &mut y[at..at + units]);
            }
        }
        if !g.sequence {
            store_state(layer, output, h, &mut y[d * units..(d + 1) * units]);
        }
    }
}

/// One time step of a unidirectional layer for streaming inference: `state`
/// holds its Q0.15 `h`, then, for an LSTM, its cell state (`H` or `2·H`
/// values, zero before the first step) and is updated in place; `y` gets the
/// new `h` stored as int8 through `output`. Fed a sequence step by step, the
/// last `y` is [`recurrent`]'s last state, to the bit. Stack scratch for
/// `ROWS` gate rows (`G·H`).
///
/// # Panics
///
/// If `layer`'s slices, `state` or `x_t` are shorter than its geometry
/// says, or its `G·H` exceeds `ROWS`.
pub fn recurrent_step_sized<const ROWS: usize>(
    x_t: &[i8],
    layer: &QRecurrent,
    state: &mut [i16],
    output: Output,
    y: &mut [i8],
) {
    let (units, features) = (layer.geometry.hidden, layer.geometry.features);
    let mut gx = [0i32; ROWS];
    let mut gh = [0i32; ROWS];
    let (h, c) = state.split_at_mut(units);
    cell_step(layer, &x_t[..features], h, c, &mut gx, &mut gh);
    store_state(layer, output, h, y);
}

/// The Q0.15 state `h` requantised into the layer's output and stored as int8 in `y`.
#[inline(always)]
fn store_state(layer: &QRecurrent, output: Output, h: &[i16], y: &mut [i8]) {
    for (y, h) in y.iter_mut().zip(h) {
        *y = output.store(layer.output.apply(*h as i32));
    }
}

/// σ(x) in Q0.15 at x = −8 + k/32, k = 0…512 (`round(σ·2^15)`, at most 32,767).
pub const SIGMOID: [i16; 513] = [
    11, 11, 12, 12, 12, 13, 13, 14, 14, 15, 15, 15, 16, 16, 17, 18, 18, 19, 19, 20, 21, 21, 22, 23, 23, 24, 25, 26, 26,
    27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 40, 41, 42, 43, 45, 46, 48, 49, 51, 52, 54, 56, 57, 59, 61, 63, 65,
    67, 69, 72, 74, 76, 79, 81, 84, 86, 89, 92, 95, 98, 101, 104, 107, 111, 114, 118, 121, 125, 129, 133, 138, 142,
    146, 151, 156, 161, 166, 171, 176, 182, 188, 194, 200, 206, 213, 219, 226, 233, 241, 248, 256, 264, 272, 281, 290,
    299, 308, 318, 328, 338, 349, 360, 371, 383, 395, 407, 420, 433, 447, 461, 475, 490, 505, 521, 537, 554, 572, 589,
    608, 627, 646, 666, 687, 708, 730, 753, 776, 800, 825, 851, 877, 904, 932, 961, 990, 1021, 1052, 1084, 1117, 1152,
    1187, 1223, 1260, 1299, 1338, 1379, 1421, 1464, 1508, 1554, 1601, 1649, 1699, 1750, 1802, 1856, 1912, 1969, 2028,
    2088, 2150, 2213, 2279, 2346, 2415, 2486, 2558, 2633, 2710, 2789, 2869, 2952, 3037, 3124, 3214, 3306, 3400, 3496,
    3595, 3696, 3800, 3906, 4015, 4126, 4240, 4357, 4476, 4599, 4723, 4851, 4982, 5115, 5252, 5391, 5533, 5678, 5827,
    5978, 6132, 6289, 6450, 6613, 6780, 6949, 7122, 7297, 7476, 7658, 7843, 8031, 8222, 8416, 8613, 8813, 9015, 9221,
    9430, 9641, 9855, 10072, 10291, 10513, 10737, 10964, 11193, 11424, 11658, 11894, 12132, 12371, 12613, 12856, 13101,
    13348, 13595, 13845, 14095, 14347, 14599, 14852, 15107, 15361, 15617, 15872, 16128, 16384, 16640, 16896, 17151,
    17407, 17661, 17916, 18169, 18421, 18673, 18923, 19173, 19420, 19667, 19912, 20155, 20397, 20636, 20874, 21110,
    21344, 21575, 21804, 22031, 22255, 22477, 22696, 22913, 23127, 23338, 23547, 23753, 23955, 24155, 24352, 24546,
    24737, 24925, 25110, 25292, 25471, 25646, 25819, 25988, 26155, 26318, 26479, 26636, 26790, 26941, 27090, 27235,
    27377, 27516, 27653, 27786, 27917, 28045, 28169, 28292, 28411, 28528, 28642, 28753, 28862, 28968, 29072, 29173,
    29272, 29368, 29462, 29554, 29644, 29731, 29816, 29899, 29979, 30058, 30135, 30210, 30282, 30353, 30422, 30489,
    30555, 30618, 30680, 30740, 30799, 30856, 30912, 30966, 31018, 31069, 31119, 31167, 31214, 31260, 31304, 31347,
    31389, 31430, 31469, 31508, 31545, 31581, 31616, 31651, 31684, 31716, 31747, 31778, 31807, 31836, 31864, 31891,
    31917, 31943, 31968, 31992, 32015, 32038, 32060, 32081, 32102, 32122, 32141, 32160, 32179, 32196, 32214, 32231,
    32247, 32263, 32278, 32293, 32307, 32321, 32335, 32348, 32361, 32373, 32385, 32397, 32408, 32419, 32430, 32440,
    32450, 32460, 32469, 32478, 32487, 32496, 32504, 32512, 32520, 32527, 32535, 32542, 32549, 32555, 32562, 32568,
    32574, 32580, 32586, 32592, 32597, 32602, 32607, 32612, 32617, 32622, 32626, 32630, 32635, 32639, 32643, 32647,
    32650, 32654, 32657, 32661, 32664, 32667, 32670, 32673, 32676, 32679, 32682, 32684, 32687, 32689, 32692, 32694,
    32696, 32699, 32701, 32703, 32705, 32707, 32709, 32711, 32712, 32714, 32716, 32717, 32719, 32720, 32722, 32723,
    32725, 32726, 32727, 32728, 32730, 32731, 32732, 32733, 32734, 32735, 32736, 32737, 32738, 32739, 32740, 32741,
    32742, 32742, 32743, 32744, 32745, 32745, 32746, 32747, 32747, 32748, 32749, 32749, 32750, 32750, 32751, 32752,
    32752, 32753, 32753, 32753, 32754, 32754, 32755, 32755, 32756, 32756, 32756, 32757, 32757,
];

/// tanh(x) in Q0.15 at x = −8 + k/32, k = 0…512 (`round(tanh·2^15)`, within ±32,767).
pub const TANH: [i16; 513] = [
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767, -32767,
    -32767, -32767, -32766, -32766, -32766, -32766, -32766, -32766, -32766, -32766, -32765, -32765, -32765, -32765,
    -32765, -32764, -32764, -32764, -32764, -32763, -32763, -32763, -32762, -32762, -32762, -32761, -32761, -32760,
    -32760, -32759, -32759, -32758, -32758, -32757, -32756, -32755, -32755, -32754, -32753, -32752, -32751, -32750,
    -32749, -32747, -32746, -32745, -32743, -32741, -32740, -32738, -32736, -32734, -32732, -32729, -32727, -32724,
    -32721, -32718, -32715, -32712, -32708, -32704, -32700, -32696, -32691, -32686, -32681, -32676, -32670, -32663,
    -32657, -32649, -32642, -32634, -32625, -32616, -32606, -32596, -32584, -32573, -32560, -32547, -32532, -32517,
    -32501, -32484, -32466, -32447, -32426, -32404, -32381, -32356, -32329, -32301, -32271, -32240, -32206, -32170,
    -32132, -32091, -32048, -32002, -31953, -31901, -31846, -31788, -31726, -31659, -31589, -31515, -31435, -31351,
    -31262, -31167, -31067, -30960, -30847, -30727, -30600, -30465, -30322, -30170, -30010, -29840, -29660, -29470,
    -29268, -29055, -28830, -28592, -28341, -28076, -27797, -27502, -27191, -26864, -26519, -26157, -25776, -25376,
    -24956, -24516, -24054, -23571, -23066, -22538, -21986, -21411, -20813, -20189, -19542, -18870, -18173, -17452,
    -16706, -15936, -15143, -14326, -13486, -12625, -11743, -10840, -9919, -8980, -8025, -7056, -6073, -5079, -4075,
    -3063, -2045, -1024, 0, 1024, 2045, 3063, 4075, 5079, 6073, 7056, 8025, 8980, 9919, 10840, 11743, 12625, 13486,
    14326, 15143, 15936, 16706, 17452, 18173, 18870, 19542, 20189, 20813, 21411, 21986, 22538, 23066, 23571, 24054,
    24516, 24956, 25376, 25776, 26157, 26519, 26864, 27191, 27502, 27797, 28076, 28341, 28592, 28830, 29055, 29268,
    29470, 29660, 29840, 30010, 30170, 30322, 30465, 30600, 30727, 30847, 30960, 31067, 31167, 31262, 31351, 31435,
    31515, 31589, 31659, 31726, 31788, 31846, 31901, 31953, 32002, 32048, 32091, 32132, 32170, 32206, 32240, 32271,
    32301, 32329, 32356, 32381, 32404, 32426, 32447, 32466, 32484, 32501, 32517, 32532, 32547, 32560, 32573, 32584,
    32596, 32606, 32616, 32625, 32634, 32642, 32649, 32657, 32663, 32670, 32676, 32681, 32686, 32691, 32696, 32700,
    32704, 32708, 32712, 32715, 32718, 32721, 32724, 32727, 32729, 32732, 32734, 32736, 32738, 32740, 32741, 32743,
    32745, 32746, 32747, 32749, 32750, 32751, 32752, 32753, 32754, 32755, 32755, 32756, 32757, 32758, 32758, 32759,
    32759, 32760, 32760, 32761, 32761, 32762, 32762, 32762, 32763, 32763, 32763, 32764, 32764, 32764, 32764, 32765,
    32765, 32765, 32765, 32765, 32766, 32766, 32766, 32766, 32766, 32766, 32766, 32766, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767, 32767,
    32767, 32767,
];

#[cfg(test)]
#[allow(clippy::float_arithmetic)]
mod tests {
    use super::*;

    /// The tables are `round(f(−8 + k/32) · 2^15)` (half up), within ±32,767.
    #[test]
    fn the_tables_are_the_functions_they_name() {
        let q = |v: f64| libm::floor(v * 32768.0 + 0.5).clamp(-32767.0, 32767.0) as i16;
        for k in 0..513 {
            let x = -8.0 + k as f64 / 32.0;
            assert_eq!(SIGMOID[k], q(1.0 / (1.0 + libm::exp(-x))), "σ at {x}");
            assert_eq!(TANH[k], q(libm::tanh(x)), "tanh at {x}");
        }
    }

    /// Between entries the interpolation stays within 4 steps of 2^−15 of the
    /// functions, over every Q3.12 input.
    #[test]
    fn interpolated_functions_are_close_everywhere() {
        let mut worst = (0.0f64, 0.0f64);
        for x in i16::MIN..=i16::MAX {
            let real = f64::from(x) / 4096.0;
            let s = (f64::from(sigmoid(x.into())) / 32768.0 - 1.0 / (1.0 + libm::exp(-real))).abs();
            let t = (f64::from(tanh(x.into())) / 32768.0 - libm::tanh(real)).abs();
            worst = (worst.0.max(s), worst.1.max(t));
        }
        assert!(worst.0 * 32768.0 <= 1.5, "σ is {} steps off", worst.0 * 32768.0);
        assert!(worst.1 * 32768.0 <= 4.0, "tanh is {} steps off", worst.1 * 32768.0);
    }
}
