//! int8 against f32 inference, one sample at a time, medians side by side in
//! one run: the reference networks of `datasets/references.json` trained in
//! f32 and quantised by `nnspec quantize` (`bench/models/`), each compiled in
//! twice with `include_net!`: f32 `predict` (standardisation included) against
//! the integer-only `predict_q` on a quantised sample and the convenience
//! int8 `predict` (quantise, run in integers, dequantise).
//! `cargo bench -p nnspec-bench --bench int8`.

use nnspec_bench::{quick, race, XorShift};
use std::hint::black_box;
use std::time::Duration;

macro_rules! networks {
    ($($module:ident, $spec:literal, $f32:literal, $int8:literal, $network:literal, $f32_type:ident, $int8_type:ident;)*) => {
        $(
            mod $module {
                pub mod f32 {
                    nnspec::include_net!($spec, weights = $f32, network = $network);
                }
                pub mod int8 {
                    nnspec::include_net!($spec, weights = $int8, network = $network);
                }
            }
        )*

        fn rows() -> Vec<Row> {
            let mut rows = Vec::new();
            $(
                let trained = $module::f32::$f32_type::trained();
                rows.push(compare::<{ $module::f32::$f32_type::INPUT }, { $module::f32::$f32_type::OUTPUT }>(
                    $network,
                    |x| trained.predict(x),
                    |x| $module::int8::$int8_type.predict_q(x),
                    |x| $module::int8::$int8_type.predict(x),
                    $module::int8::$int8_type::quantize_input,
                ));
            )*
            rows
        }
    };
}

networks! {
    iris, "specs/iris.nn", "models/iris.safetensors", "models/iris.int8.safetensors", "Iris", Iris, IrisInt8;
    breast_cancer, "specs/breast_cancer.nn", "models/breast_cancer.safetensors", "models/breast_cancer.int8.safetensors", "BreastCancer", BreastCancer, BreastCancerInt8;
    digits, "specs/digits.nn", "models/digits.safetensors", "models/digits.int8.safetensors", "Digits", Digits, DigitsInt8;
    digits_cnn, "../examples/specs/cnn.nn", "models/digits_8x8_cnn.safetensors", "models/digits_8x8_cnn.int8.safetensors", "DigitsCnn", DigitsCnn, DigitsCnnInt8;
    signals_cnn, "../examples/specs/cnn.nn", "models/signals_cnn.safetensors", "models/signals_cnn.int8.safetensors", "SignalsCnn", SignalsCnn, SignalsCnnInt8;
}

struct Row {
    network: &'static str,
    f32: Duration,
    int8_q: Duration,
    int8: Duration,
}

/// The three predictions of one network, on the same 256 samples, timed side by side.
fn compare<const I: usize, const O: usize>(
    network: &'static str,
    f32_predict: impl Fn(&[f32; I]) -> [f32; O],
    int8_predict_q: impl Fn(&[i8; I]) -> [i8; O],
    int8_predict: impl Fn(&[f32; I]) -> [f32; O],
    quantize: fn(&[f32; I]) -> [i8; I],
) -> Row {
    let mut rng = XorShift(7);
    let samples: Vec<[f32; I]> = (0..256).map(|_| std::array::from_fn(|_| 2.0 * rng.uniform())).collect();
    let quantized: Vec<[i8; I]> = samples.iter().map(quantize).collect();
    let calls = if quick() { 256 } else { 256 * 200 };
    let t = race(&mut [
        ("f32", &mut || {
            let mut sum = 0.0;
            for i in 0..calls {
                sum += f32_predict(black_box(&samples[i % 256]))[0];
            }
            black_box(sum);
        }),
        ("int8 predict_q", &mut || {
            let mut sum = 0i32;
            for i in 0..calls {
                sum += i32::from(int8_predict_q(black_box(&quantized[i % 256]))[0]);
            }
            black_box(sum);
        }),
        ("int8 predict", &mut || {
            let mut sum = 0.0;
            for i in 0..calls {
                sum += int8_predict(black_box(&samples[i % 256]))[0];
            }
            black_box(sum);
        }),
    ]);
    let per = |d: Duration| d / calls as u32;
    Row { network, f32: per(t[0].1), int8_q: per(t[1].1), int8: per(t[2].1) }
}

fn main() {
    println!(
        "| network | f32 `predict` | int8 `predict_q` | int8 `predict` | `predict_q` / f32 |\n|---|---|---|---|---|"
    );
    for row in rows() {
        println!(
            "| {} | {:.2?} | {:.2?} | {:.2?} | {:.2} |",
            row.network,
            row.f32,
            row.int8_q,
            row.int8,
            row.int8_q.as_secs_f64() / row.f32.as_secs_f64()
        );
    }
}
