//! The workloads of the benchmark suite, generated code against hand-written
//! Rust (and W4 against the machine's GEMM peak), medians side by side in one
//! run. `cargo bench -p nnspec-bench --bench workloads`; add `-- --write-docs`
//! to regenerate `docs/performance.md`.
//!
//! W1 XOR 3-4-1, 1500 full-batch GD iterations · W2 planar 2-4-1 on the 400
//! flower points, 10000 iterations · W3 digits 64-32-10, Adam, batch 32, 30
//! epochs · W4 784-256-128-10, Adam, batch 128, 300 steps · W5 one-sample
//! predict of 64-32-10 · W6 the digits CNN (8×8 images, two 3×3
//! convolutions), Adam, batch 32, 5 epochs, against a hand-written direct
//! convolution · W7 one-signal predict of the 1-D signal CNN · W8 the
//! gestures GRU (24 steps of 3, 16 units), Adam, batch 32, 5 epochs, with
//! backpropagation through time · W9 one streaming step of that GRU.

use nnspec::{Dataset, Model, OptimizerConfig, TrainConfig, Trainer};
use nnspec_bench::hand::{self, HandAdam};
use nnspec_bench::hand_cnn;
use nnspec_bench::hand_gru::GesturesGru;
use nnspec_bench::{median, quick, race, race_times, XorShift};
use std::fmt::Write as _;
use std::time::Duration;

nnspec::net! {
    #[allow(regression_loss_on_classifier)] // the tutorial's error, kept on purpose
    network Xor {
        input x: [3];
        dense hidden: 4, activation = sigmoid, bias = false;
        dense out: 1, activation = sigmoid, bias = false;
        loss sse_half;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 1500, shuffle = false, samples = 4 }
    }

    network Planar {
        input point: [2];
        dense hidden: 4, activation = tanh, init = normal(0, 0.01);
        dense out: 1, activation = sigmoid, init = normal(0, 0.01);
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.2), batch = full, epochs = 10000, shuffle = false }
    }

    network Digits {
        input pixels: [64];
        dense hidden: 32, activation = relu, init = he_uniform;
        dense out: 10;
        loss softmax_cross_entropy;
        train { optimizer = adam(lr = 1e-3), batch = 32, epochs = 30, shuffle = true }
    }

    network DigitsCnn {
        input pixels: [1, 8, 8];
        conv2d conv1: 8, kernel = 3, padding = 1;
        relu relu1;
        max_pool2d pool1, kernel = 2;
        conv2d conv2: 16, kernel = 3, padding = 1;
        relu relu2;
        flatten flat;
        dense fc: 10, init = torch_default, bias_init = torch_default;
        loss softmax_cross_entropy;
        train { optimizer = adam(lr = 0.01), batch = 32, epochs = 5, shuffle = false }
    }

    network SignalsCnn {
        input signal: [2, 32];
        conv1d conv1: 8, kernel = 5, padding = 2;
        relu relu1;
        max_pool1d pool1, kernel = 2;
        conv1d conv2: 16, kernel = 3, padding = 1;
        relu relu2;
        global_avg_pool gap;
        dense fc: 3, init = torch_default, bias_init = torch_default;
        loss softmax_cross_entropy;
    }

    network Gestures {
        input motion: [24, 3];
        gru rnn: 16;
        dense fc: 4, init = torch_default, bias_init = torch_default;
        loss softmax_cross_entropy;
        train { optimizer = adam(lr = 0.01), batch = 32, epochs = 5, shuffle = false }
    }

    network Wide {
        input pixels: [784];
        dense h1: 256, activation = relu, init = he_uniform;
        dense h2: 128, activation = relu, init = he_uniform;
        dense out: 10;
        loss softmax_cross_entropy;
        train { optimizer = adam(lr = 1e-3), batch = 128, epochs = 1, shuffle = false }
    }
}

struct Row {
    workload: &'static str,
    generated: Duration,
    hand: Option<Duration>,
    unit: String,
}

fn flower() -> Dataset {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/flower.csv");
    Dataset::from_csv(path, &Default::default()).expect("examples/data/flower.csv")
}

fn digits() -> Dataset {
    let dir = std::env::var_os("NNSPEC_CONFORMANCE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"));
    match Dataset::from_csv(dir.join("datasets/digits.csv"), &Default::default()) {
        Ok(data) => {
            let rows: Vec<usize> = (0..data.len()).filter(|i| i % 5 != 0).collect(); // ~80%: 1437 rows
            let mut train = data.subset(&rows).expect("rows in range");
            train.x.iter_mut().for_each(|v| *v /= 16.0);
            train
        }
        Err(_) => {
            let mut rng = XorShift(3);
            let x: Vec<f32> = (0..1437 * 64).map(|_| rng.uniform().abs()).collect();
            let y: Vec<f32> = (0..1437).map(|i| (i % 10) as f32).collect();
            Dataset::new(x, y, 64, 1).expect("synthetic digits")
        }
    }
}

fn w1() -> Row {
    let iterations = if quick() { 10 } else { 1500 };
    let data = Dataset::new(vec![0., 0., 1., 0., 1., 1., 1., 0., 1., 1., 1., 1.], vec![0., 1., 1., 0.], 3, 1).unwrap();
    let init = Xor::with_seed(1);
    let mut config = Xor::train_config();
    config.epochs = iterations;
    let trainer = Trainer::new(config);
    let mut syn0 = [[0.0f32; 4]; 3];
    let mut syn1 = [0.0f32; 4];
    let t = race(&mut [
        ("generated", &mut || {
            let mut net = init.clone();
            trainer.fit(&mut net, &data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("hand", &mut || {
            for (row, weights) in syn0.iter_mut().zip(init.params().chunks_exact(4)) {
                row.copy_from_slice(weights);
            }
            syn1.copy_from_slice(&init.params()[12..16]);
            let x = std::hint::black_box([[0., 0., 1.], [0., 1., 1.], [1., 0., 1.], [1., 1., 1.]]);
            let y = std::hint::black_box([0., 1., 1., 0.]);
            hand::xor_train(&mut syn0, &mut syn1, &x, &y, iterations);
            std::hint::black_box(&syn1);
        }),
    ]);
    Row { workload: "W1 XOR 3-4-1, 1500 iterations", generated: t[0].1, hand: Some(t[1].1), unit: "per run".into() }
}

fn w2() -> Row {
    let iterations = if quick() { 10 } else { 10_000 };
    let data = flower();
    let init = Planar::with_seed(2);
    let mut config = Planar::train_config();
    config.epochs = iterations;
    let trainer = Trainer::new(config);
    let points: Vec<[f32; 2]> = data.x.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    let mut hand_net = hand::Planar::<4> { w1: [[0.0; 4]; 2], b1: [0.0; 4], w2: [0.0; 4], b2: 0.0 };
    let (mut a1, mut a2) = (Vec::new(), Vec::new());
    let interpreter = interpreter_of(&init);
    let t = race(&mut [
        ("interpreter", &mut || {
            let mut net = interpreter.clone();
            trainer.fit(&mut net, &data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("generated", &mut || {
            let mut net = init.clone();
            trainer.fit(&mut net, &data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("hand", &mut || {
            let p = init.params();
            hand_net.w1 = [[p[0], p[1], p[2], p[3]], [p[4], p[5], p[6], p[7]]];
            hand_net.b1 = [p[8], p[9], p[10], p[11]];
            hand_net.w2 = [p[12], p[13], p[14], p[15]];
            hand_net.b2 = p[16];
            for _ in 0..iterations {
                hand_net.step(&points, &data.y, 1.2, &mut a1, &mut a2);
            }
            std::hint::black_box(&hand_net.w2);
        }),
    ]);
    let unit = format!("per run; {}", interpreter_note(t[1].1, t[0].1));
    Row { workload: "W2 planar 2-4-1, 400 points, 10000 iterations", generated: t[1].1, hand: Some(t[2].1), unit }
}

/// "the interpreter (`nnspec train`) takes …, R× the generated code".
fn interpreter_note(generated: Duration, interpreter: Duration) -> String {
    format!(
        "the interpreter (`nnspec train`) takes {interpreter:.2?}, {:.1}× the generated code",
        interpreter.as_secs_f64() / generated.as_secs_f64()
    )
}

/// The runtime interpreter (what `nnspec train` runs) for the same network, with the same parameters.
fn interpreter_of(net: &dyn Model) -> nnspec::Interpreter {
    nnspec::Interpreter::graph(net.name(), net.nodes().to_vec(), net.loss_kind())
        .and_then(|mlp| mlp.with_params(net.params()))
        .expect("same layout")
}

fn w3() -> Row {
    let epochs = if quick() { 1 } else { 30 };
    let data = digits();
    let init = Digits::with_seed(4);
    let mut config = Digits::train_config();
    config.epochs = epochs;
    let trainer = Trainer::new(config);
    let samples: Vec<[f32; 64]> = data.x.chunks_exact(64).map(|c| c.try_into().unwrap()).collect();
    let labels: Vec<usize> = data.y.iter().map(|v| *v as usize).collect();
    let mut hand_net =
        hand::Digits { w1: Box::new([[0.0; 32]; 64]), b1: [0.0; 32], w2: [[0.0; 10]; 32], b2: [0.0; 10] };
    let interpreter = interpreter_of(&init);
    let t = race(&mut [
        ("generated", &mut || {
            let mut net = init.clone();
            trainer.fit(&mut net, &data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("interpreter", &mut || {
            let mut net = interpreter.clone();
            trainer.fit(&mut net, &data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("hand", &mut || {
            let mut flat = init.params().to_vec();
            let mut grad = vec![0.0f32; hand::Digits::PARAMS];
            let mut adam = HandAdam::new(flat.len());
            let mut order: Vec<usize> = (0..samples.len()).collect();
            let mut rng = XorShift(9);
            let mut batch_x = Vec::with_capacity(32);
            let mut batch_y = Vec::with_capacity(32);
            for _ in 0..epochs {
                for i in (1..order.len()).rev() {
                    let j = ((rng.uniform() * 0.5 + 0.5) * (i + 1) as f32) as usize % (i + 1);
                    order.swap(i, j);
                }
                for chunk in order.chunks(32) {
                    batch_x.clear();
                    batch_y.clear();
                    batch_x.extend(chunk.iter().map(|&i| samples[i]));
                    batch_y.extend(chunk.iter().map(|&i| labels[i]));
                    hand_net.load(&flat);
                    hand_net.gradient(&batch_x, &batch_y, &mut grad);
                    adam.step(&mut flat, &grad, 1e-3);
                }
            }
            std::hint::black_box(&flat);
        }),
    ]);
    let (generated, interpreter, hand) = (t[0].1, t[1].1, t[2].1);
    let unit = format!(
        "{}; {}",
        throughput((data.len() * epochs) as f64, &[t[0].clone(), t[2].clone()], "M", 1e6, 2),
        interpreter_note(generated, interpreter)
    );
    Row { workload: "W3 digits 64-32-10, Adam, batch 32, 30 epochs", generated, hand: Some(hand), unit }
}

/// "generated … samples/s, hand … samples/s" for `samples` trained in the times of a race.
fn throughput(samples: f64, times: &[(String, Duration)], prefix: &str, scale: f64, digits: usize) -> String {
    let rate = |t: Duration| samples / t.as_secs_f64() / scale;
    format!(
        "generated {:.digits$} {prefix} samples/s, hand {:.digits$} {prefix} samples/s",
        rate(times[0].1),
        rate(times[1].1)
    )
}

/// `c = a·b` for the `n × n` matrices, on `threads` scoped threads each on
/// its share of the rows: how W4's step multiplies (`matrixmultiply`, the
/// same features, each thread packing its own operands).
fn gemm_split(a: &[f32], b: &[f32], c: &mut [f32], n: usize, threads: usize) {
    let rows = n / threads;
    std::thread::scope(|scope| {
        for (part, c_part) in c.chunks_mut(rows * n).enumerate() {
            let a = &a[part * rows * n..];
            scope.spawn(move || unsafe {
                matrixmultiply::sgemm(
                    rows,
                    n,
                    n,
                    1.0,
                    a.as_ptr(),
                    n as isize,
                    1,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    c_part.as_mut_ptr(),
                    n as isize,
                    1,
                );
            });
        }
    });
}

fn w4() -> (Row, f64, f64, f64) {
    let steps = if quick() { 2 } else { 300 };
    let batch = 128;
    let mut rng = XorShift(7);
    let x: Vec<f32> = (0..steps.min(20) * batch * 784).map(|_| rng.uniform()).collect();
    let y: Vec<f32> = (0..steps.min(20) * batch).map(|i| (i % 10) as f32).collect();
    let data = Dataset::new(x, y, 784, 1).unwrap();
    let mut net = Wide::with_seed(1);
    let config = TrainConfig {
        optimizer: OptimizerConfig::adam(1e-3),
        batch: Some(batch),
        epochs: steps / steps.min(20),
        shuffle: false,
        ..TrainConfig::default()
    };
    let trainer = Trainer::new(config);
    // The GEMM peak runs interleaved with W4, so both see the same machine
    // (clock, neighbours), and is the best of its runs: a peak is the most
    // the machine does, and a median would count its slow runs against W4.
    let n = if quick() { 64 } else { 1024 };
    let mut rng = XorShift(5);
    let a: Vec<f32> = (0..n * n).map(|_| rng.uniform()).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.uniform()).collect();
    let mut c = vec![0.0f32; n * n];
    let mut c2 = vec![0.0f32; n * n];
    let times = race_times(&mut [
        ("generated", &mut || {
            trainer.fit(&mut net, &data, None).unwrap();
        }),
        ("peak, 1 thread", &mut || gemm_split(&a, &b, &mut c, n, 1)),
        ("peak, 2 threads", &mut || gemm_split(&a, &b, &mut c2, n, 2)),
    ]);
    let best = |t: &[std::time::Duration]| 2.0 * (n * n * n) as f64 / t.iter().min().unwrap().as_secs_f64() / 1e9;
    let (peak1, peak2) = (best(&times[1]), best(&times[2]));
    let t = [("generated", median(times[0].clone()))];
    let samples = (steps * batch) as f64;
    let per_second = samples / t[0].1.as_secs_f64();
    let gflops = 6.0 * Wide::PARAM_COUNT as f64 * per_second / 1e9;
    let unit = format!(
        "{:.1} k samples/s, {gflops:.1} GFLOP/s on two threads ({:.0}% of the 1-thread GEMM peak, {:.0}% of the 2-thread)",
        per_second / 1e3,
        100.0 * gflops / peak1,
        100.0 * gflops / peak2
    );
    (
        Row { workload: "W4 784-256-128-10, Adam, batch 128, 300 steps", generated: t[0].1, hand: None, unit },
        gflops,
        peak1,
        peak2,
    )
}

/// The gestures sequences (24 steps of 3 axes, labels last) of the conformance
/// directory, or as many synthetic ones.
fn gestures() -> Dataset {
    let dir = std::env::var_os("NNSPEC_CONFORMANCE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"));
    match Dataset::from_csv(dir.join("datasets/gestures.csv"), &Default::default()) {
        Ok(data) if data.features == 72 => data,
        _ => {
            let mut rng = XorShift(5);
            let x: Vec<f32> = (0..640 * 72).map(|_| rng.uniform()).collect();
            let y: Vec<f32> = (0..640).map(|i| (i % 4) as f32).collect();
            Dataset::new(x, y, 72, 1).expect("synthetic gestures")
        }
    }
}

fn w8() -> Row {
    let epochs = if quick() { 1 } else { 5 };
    let data = gestures();
    let mut config = Gestures::train_config();
    config.epochs = epochs;
    config.progress = false;
    adam_race(
        "W8 gestures GRU, Adam, batch 32, 5 epochs",
        &Gestures::with_seed(4),
        &Trainer::new(config),
        &data,
        epochs,
        &|p, x, y, g| GesturesGru::gradient(p, x, y, g),
    )
}

#[inline(never)]
fn step_generated(net: &Gestures, state: &mut [f32; Gestures::STATE_LEN], x: &[f32; 3]) -> [f32; 4] {
    net.step(state, x)
}

#[inline(never)]
fn step_hand(params: &[f32], state: &mut [f32; GesturesGru::STATE], x: &[f32; 3]) -> [f32; 4] {
    GesturesGru::stream(params, state, x)
}

fn w9() -> Row {
    let net = Gestures::with_seed(4);
    let mut rng = XorShift(17);
    let inputs: Vec<[f32; 3]> = (0..240).map(|_| core::array::from_fn(|_| rng.uniform())).collect();
    // Streaming over a sequence gives `predict`'s logits, by hand as generated.
    let sequence: Vec<f32> = inputs[..24].iter().flatten().copied().collect();
    let (mut state, mut hand_state) = (Gestures::initial_state(), [0.0; GesturesGru::STATE]);
    let (mut last, mut hand_last) = ([0.0; 4], [0.0; 4]);
    for x in &inputs[..24] {
        last = net.step(&mut state, x);
        hand_last = GesturesGru::stream(net.params(), &mut hand_state, x);
    }
    let whole: [f32; 24 * 3] = sequence.try_into().expect("24 steps of 3");
    assert_eq!(last, net.predict(&whole), "streaming is predict on the whole sequence");
    assert!(
        last.iter().zip(&hand_last).all(|(a, b)| (a - b).abs() < 1e-5),
        "the hand-written step gives {hand_last:?}"
    );
    let calls = if quick() { 240 } else { 240 * 400 };
    let t = race(&mut [
        ("generated", &mut || {
            let mut state = Gestures::initial_state();
            let mut sum = 0.0;
            for i in 0..calls {
                sum += step_generated(&net, &mut state, std::hint::black_box(&inputs[i % 240]))[1];
            }
            std::hint::black_box(sum);
        }),
        ("hand", &mut || {
            let mut state = [0.0; GesturesGru::STATE];
            let mut sum = 0.0;
            for i in 0..calls {
                sum += step_hand(net.params(), &mut state, std::hint::black_box(&inputs[i % 240]))[1];
            }
            std::hint::black_box(sum);
        }),
    ]);
    let per = |d: Duration| d / calls as u32;
    Row {
        workload: "W9 one streaming step of the gestures GRU",
        generated: per(t[0].1),
        hand: Some(per(t[1].1)),
        unit: "per step (16 units, the 16 → 4 head included)".into(),
    }
}

/// A training workload by Adam (lr 0.01, batches of 32): generated code and
/// the interpreter through `trainer`, against the hand-written `gradient`
/// (rows of `x`, labels) stepped by a hand-written Adam, after checking that
/// the two compute the same gradient on the first batch.
#[allow(clippy::type_complexity)]
fn adam_race<M: Model + Clone + 'static>(
    workload: &'static str,
    init: &M,
    trainer: &Trainer,
    data: &Dataset,
    epochs: usize,
    gradient: &dyn Fn(&[f32], &[f32], &[usize], &mut [f32]),
) -> Row {
    let labels: Vec<usize> = data.y.iter().map(|v| *v as usize).collect();
    let width = data.features;
    let (mut ours, mut theirs) = (vec![0.0; init.param_count()], vec![0.0; init.param_count()]);
    init.loss_and_grad(&data.x[..32 * width], &data.y[..32], Some(&mut ours), &mut nnspec::Workspace::default(), true);
    gradient(init.params(), &data.x[..32 * width], &labels[..32], &mut theirs);
    let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs() / (1e-4 + b.abs())).fold(0.0f32, f32::max);
    assert!(worst < 1e-2, "{workload}: the hand-written network computes another gradient ({worst})");
    let interpreter = interpreter_of(init);
    let t = race(&mut [
        ("generated", &mut || {
            let mut net = init.clone();
            trainer.fit(&mut net, data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("interpreter", &mut || {
            let mut net = interpreter.clone();
            trainer.fit(&mut net, data, None).unwrap();
            std::hint::black_box(net.params());
        }),
        ("hand", &mut || {
            let mut flat = init.params().to_vec();
            let mut grad = vec![0.0f32; flat.len()];
            let mut adam = HandAdam::new(flat.len());
            for _ in 0..epochs {
                for (x, y) in data.x.chunks(32 * width).zip(labels.chunks(32)) {
                    gradient(&flat, x, y, &mut grad);
                    adam.step(&mut flat, &grad, 1e-2);
                }
            }
            std::hint::black_box(&flat);
        }),
    ]);
    let (generated, interpreter, hand) = (t[0].1, t[1].1, t[2].1);
    let unit = format!(
        "{}; {}",
        throughput((data.len() * epochs) as f64, &[t[0].clone(), t[2].clone()], "k", 1e3, 1),
        interpreter_note(generated, interpreter)
    );
    Row { workload, generated, hand: Some(hand), unit }
}

fn w6() -> Row {
    let epochs = if quick() { 1 } else { 5 };
    let data = digits();
    let mut config = DigitsCnn::train_config();
    config.epochs = epochs;
    config.progress = false;
    adam_race(
        "W6 digits CNN, Adam, batch 32, 5 epochs",
        &DigitsCnn::with_seed(4),
        &Trainer::new(config),
        &data,
        epochs,
        &|p, x, y, g| hand_cnn::DigitsCnn::gradient(p, x, y, g),
    )
}

#[inline(never)]
fn predict_signal_generated(net: &SignalsCnn, x: &[f32; 64]) -> [f32; 3] {
    net.predict(x)
}

#[inline(never)]
fn predict_signal_hand(params: &[f32], x: &[f32; 64]) -> [f32; 3] {
    hand_cnn::SignalsCnn::predict(params, x)
}

fn w7() -> Row {
    let net = SignalsCnn::with_seed(4);
    let mut rng = XorShift(13);
    let inputs: Vec<[f32; 64]> = (0..256).map(|_| core::array::from_fn(|_| rng.uniform())).collect();
    for x in &inputs[..8] {
        let (a, b) = (net.predict(x), hand_cnn::SignalsCnn::predict(net.params(), x));
        assert!(a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-5), "the hand-written CNN predicts {b:?}, not {a:?}");
    }
    let calls = if quick() { 256 } else { 256 * 100 };
    let t = race(&mut [
        ("generated", &mut || {
            let mut sum = 0.0;
            for i in 0..calls {
                sum += predict_signal_generated(&net, std::hint::black_box(&inputs[i % 256]))[1];
            }
            std::hint::black_box(sum);
        }),
        ("hand", &mut || {
            let mut sum = 0.0;
            for i in 0..calls {
                sum += predict_signal_hand(net.params(), std::hint::black_box(&inputs[i % 256]))[1];
            }
            std::hint::black_box(sum);
        }),
    ]);
    let per = |d: Duration| d / calls as u32;
    Row {
        workload: "W7 predict of the 1-D signal CNN, one signal",
        generated: per(t[0].1),
        hand: Some(per(t[1].1)),
        unit: "per call".into(),
    }
}

#[inline(never)]
fn predict_generated(net: &Digits, x: &[f32; 64]) -> [f32; 10] {
    net.predict(x)
}

#[inline(never)]
fn predict_hand(net: &hand::Digits, x: &[f32; 64]) -> [f32; 10] {
    net.predict(x)
}

fn w5() -> Row {
    let net = Digits::with_seed(4);
    let mut hand_net =
        hand::Digits { w1: Box::new([[0.0; 32]; 64]), b1: [0.0; 32], w2: [[0.0; 10]; 32], b2: [0.0; 10] };
    hand_net.load(net.params());
    let mut rng = XorShift(11);
    let inputs: Vec<[f32; 64]> = (0..256).map(|_| core::array::from_fn(|_| rng.uniform())).collect();
    let calls = if quick() { 256 } else { 256 * 400 };
    let t = race(&mut [
        ("generated", &mut || {
            let mut sum = 0.0;
            for i in 0..calls {
                sum += predict_generated(&net, std::hint::black_box(&inputs[i % 256]))[3];
            }
            std::hint::black_box(sum);
        }),
        ("hand", &mut || {
            let mut sum = 0.0;
            for i in 0..calls {
                sum += predict_hand(&hand_net, std::hint::black_box(&inputs[i % 256]))[3];
            }
            std::hint::black_box(sum);
        }),
    ]);
    let per = |d: Duration| d / calls as u32;
    Row {
        workload: "W5 predict 64-32-10, one sample",
        generated: per(t[0].1),
        hand: Some(per(t[1].1)),
        unit: "per call".into(),
    }
}

fn main() {
    let write_docs = std::env::args().any(|a| a == "--write-docs");
    // `NNSPEC_BENCH_ONLY=W2` runs one workload (for profiling).
    let only = std::env::var("NNSPEC_BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let mut rows = Vec::new();
    for (name, workload) in [("W1", w1 as fn() -> Row), ("W2", w2), ("W3", w3)] {
        if wanted(name) {
            rows.push(workload());
        }
    }
    let (mut gflops, mut peak1, mut peak2) = (0.0, 0.0, 0.0);
    if wanted("W4") {
        let (row, g, p1, p2) = w4();
        rows.push(row);
        (gflops, peak1, peak2) = (g, p1, p2);
    }
    if wanted("W5") {
        rows.push(w5());
    }
    for (name, workload) in [("W6", w6 as fn() -> Row), ("W7", w7), ("W8", w8), ("W9", w9)] {
        if wanted(name) {
            rows.push(workload());
        }
    }
    let mut table =
        String::from("| workload | generated | hand-written | generated / hand | notes |\n|---|---|---|---|---|\n");
    for row in &rows {
        let (hand, ratio) = match row.hand {
            Some(h) => (format!("{h:.2?}"), format!("{:.2}", row.generated.as_secs_f64() / h.as_secs_f64())),
            None => ("–".into(), "–".into()),
        };
        writeln!(table, "| {} | {:.2?} | {hand} | {ratio} | {} |", row.workload, row.generated, row.unit).unwrap();
    }
    writeln!(table, "\nf32 GEMM peak (matrixmultiply, 1024³ split by rows as W4 splits its batch, best of the runs interleaved with W4's): 1 thread {peak1:.1} GFLOP/s, 2 threads {peak2:.1} GFLOP/s; W4 reaches {gflops:.1} GFLOP/s.").unwrap();
    println!("{table}");
    if write_docs && !quick() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/performance.md");
        let previous = std::fs::read_to_string(&path).unwrap_or_default();
        let marker = "<!-- table -->";
        let (head, tail) = match (previous.find(marker), previous.rfind(marker)) {
            (Some(a), Some(b)) if a < b => (previous[..a].to_string(), previous[b + marker.len()..].to_string()),
            _ => ("# Performance\n\n".to_string(), String::new()),
        };
        let machine = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| {
                c.lines()
                    .find(|l| l.starts_with("model name"))
                    .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let date = std::process::Command::new("date")
            .arg("-u")
            .arg("+%Y-%m-%d")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let body = format!("{marker}\nMeasured {date} on {machine}, {cores} cores; medians of {} repetitions, default release build.\n\n{table}{marker}", nnspec_bench::repetitions());
        std::fs::write(&path, format!("{head}{body}{tail}")).expect("write docs/performance.md");
        println!("wrote {}", path.display());
    }
}
