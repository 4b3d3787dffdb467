//! The GEMM crossover: a dense layer's forward and backward pass as straight
//! loops against `matrixmultiply::sgemm`, for square sizes (batch = inputs =
//! outputs = n). Sizes are compile-time constants, as in generated code, so the
//! loops get the unrolling and vectorisation generated code gets. The smallest
//! n where GEMM wins sets `kernels::GEMM_THRESHOLD` (n³ multiply-adds).
//!
//! The convolution crossover: a 'same' 3×3 convolution of C channels into C on
//! an H×H map, batch 32, forward and backward, as direct loops against
//! im2col + GEMM; its multiply-adds per sample where GEMM wins set
//! `conv::GEMM_MIN_MACS`. The same convolution by batch sets the per-call
//! `conv::GEMM_MIN_CALL_MACS`.
//! `cargo bench -p nnspec-bench --bench kernels`

use nnspec::kernels::{dense_backward_using, dense_forward_gemm, dense_forward_loops};
use nnspec_bench::{race, XorShift};
use std::time::Duration;

fn measure<const N: usize>() -> [Duration; 4] {
    let mut rng = XorShift(N as u64 + 1);
    let mut fill = |len: usize| (0..len).map(|_| rng.uniform()).collect::<Vec<f32>>();
    let (x, w, b, dz) = (fill(N * N), fill(N * N), fill(N), fill(N * N));
    let (mut z1, mut z2) = (vec![0.0f32; N * N], vec![0.0f32; N * N]);
    let buffers = || (vec![0.0f32; N * N], vec![0.0f32; N], vec![0.0f32; N * N]);
    let ((mut dw1, mut db1, mut dx1), (mut dw2, mut db2, mut dx2)) = (buffers(), buffers());
    // Repeat small sizes so one timing is well above the clock's resolution.
    let inner = (1 << 22) / (N * N * N) + 1;
    let forward = race(&mut [
        ("loops", &mut || {
            for _ in 0..inner {
                dense_forward_loops(&x, &w, Some(&b), &mut z1, N, N, N);
            }
            std::hint::black_box(&z1);
        }),
        ("gemm", &mut || {
            for _ in 0..inner {
                dense_forward_gemm(&x, &w, Some(&b), &mut z2, N, N, N);
            }
            std::hint::black_box(&z2);
        }),
    ]);
    let backward = race(&mut [
        ("loops", &mut || {
            for _ in 0..inner {
                dense_backward_using(false, &x, &w, &dz, &mut dw1, Some(&mut db1), Some(&mut dx1), N, N, N);
            }
            std::hint::black_box(&dx1);
        }),
        ("gemm", &mut || {
            for _ in 0..inner {
                dense_backward_using(true, &x, &w, &dz, &mut dw2, Some(&mut db2), Some(&mut dx2), N, N, N);
            }
            std::hint::black_box(&dx2);
        }),
    ]);
    [forward[0].1, forward[1].1, backward[0].1, backward[1].1].map(|d| d / inner as u32)
}

/// Direct loops against im2col + GEMM for one 'same' 3×3 convolution C → C on H×H, `BATCH`
/// samples per call (the geometry a constant, as generated code has it): forward and backward per call.
fn measure_conv<const C: usize, const H: usize, const BATCH: usize>() -> (usize, [Duration; 4]) {
    use nnspec::conv::{conv_backward_direct, conv_forward_direct, gemm, ConvGeometry};
    let g = ConvGeometry {
        in_channels: C,
        in_h: H,
        in_w: H,
        out_channels: C,
        out_h: H,
        out_w: H,
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
    };
    let mut rng = XorShift((C * H) as u64);
    let mut fill = |len: usize| (0..len).map(|_| rng.uniform()).collect::<Vec<f32>>();
    let (x, w, b, dz) = (fill(BATCH * C * H * H), fill(C * C * 9), fill(C), fill(BATCH * C * H * H));
    let (mut z1, mut z2) = (vec![0.0f32; BATCH * C * H * H], vec![0.0f32; BATCH * C * H * H]);
    let buffers = || (vec![0.0f32; C * C * 9], vec![0.0f32; C], vec![0.0f32; BATCH * C * H * H]);
    let ((mut dw1, mut db1, mut dx1), (mut dw2, mut db2, mut dx2)) = (buffers(), buffers());
    let inner = (1 << 24) / (BATCH * g.macs()) + 1;
    let forward = race(&mut [
        ("direct", &mut || {
            for _ in 0..inner {
                conv_forward_direct(&x, &w, Some(&b), &mut z1, BATCH, &g);
            }
            std::hint::black_box(&z1);
        }),
        ("gemm", &mut || {
            for _ in 0..inner {
                gemm::forward(&x, &w, Some(&b), &mut z2, BATCH, &g);
            }
            std::hint::black_box(&z2);
        }),
    ]);
    let backward = race(&mut [
        ("direct", &mut || {
            for _ in 0..inner {
                conv_backward_direct(&x, &w, &dz, &mut dw1, Some(&mut db1), Some(&mut dx1), BATCH, &g);
            }
            std::hint::black_box(&dx1);
        }),
        ("gemm", &mut || {
            for _ in 0..inner {
                gemm::backward(&x, &w, &dz, &mut dw2, Some(&mut db2), Some(&mut dx2), BATCH, &g);
            }
            std::hint::black_box(&dx2);
        }),
    ]);
    (g.macs(), [forward[0].1, forward[1].1, backward[0].1, backward[1].1].map(|d| d / inner as u32))
}

fn conv_crossover() {
    println!(
        "\n'same' 3x3 convolution C -> C on HxH, batch 32; medians per call; ratio = direct / gemm (> 1: gemm faster)"
    );
    println!(
        "{:>4} {:>4} {:>10} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7}",
        "C", "H", "MACs/smp", "fwd direct", "fwd gemm", "ratio", "bwd direct", "bwd gemm", "ratio"
    );
    let rows: Vec<(usize, usize, (usize, [Duration; 4]))> = if nnspec_bench::quick() {
        vec![(4, 8, measure_conv::<4, 8, 32>())]
    } else {
        vec![
            (1, 8, measure_conv::<1, 8, 32>()),
            (2, 8, measure_conv::<2, 8, 32>()),
            (3, 8, measure_conv::<3, 8, 32>()),
            (4, 8, measure_conv::<4, 8, 32>()),
            (8, 8, measure_conv::<8, 8, 32>()),
            (16, 8, measure_conv::<16, 8, 32>()),
            (8, 16, measure_conv::<8, 16, 32>()),
            (16, 16, measure_conv::<16, 16, 32>()),
            (32, 16, measure_conv::<32, 16, 32>()),
            (32, 28, measure_conv::<32, 28, 32>()),
            (64, 28, measure_conv::<64, 28, 32>()),
        ]
    };
    for (c, h, (macs, [fl, fg, bl, bg])) in rows {
        println!(
            "{c:>4} {h:>4} {macs:>10} {fl:>12.2?} {fg:>12.2?} {:>7.2} {bl:>12.2?} {bg:>12.2?} {:>7.2}",
            fl.as_secs_f64() / fg.as_secs_f64(),
            bl.as_secs_f64() / bg.as_secs_f64()
        );
    }
}

/// The per-call crossover: one convolution past `GEMM_MIN_MACS` per sample
/// (3 → 3 on 8×8, 5,184 multiply-adds) at growing batches.
fn conv_call_crossover() {
    println!("\n'same' 3x3 convolution 3 -> 3 on 8x8 (5,184 MACs per sample) by batch; ratio = direct / gemm (> 1: gemm faster)");
    println!(
        "{:>5} {:>10} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7}",
        "batch", "MACs/call", "fwd direct", "fwd gemm", "ratio", "bwd direct", "bwd gemm", "ratio"
    );
    let rows: Vec<(usize, (usize, [Duration; 4]))> = if nnspec_bench::quick() {
        vec![(2, measure_conv::<3, 8, 2>())]
    } else {
        vec![
            (1, measure_conv::<3, 8, 1>()),
            (2, measure_conv::<3, 8, 2>()),
            (4, measure_conv::<3, 8, 4>()),
            (8, measure_conv::<3, 8, 8>()),
            (16, measure_conv::<3, 8, 16>()),
            (32, measure_conv::<3, 8, 32>()),
        ]
    };
    for (batch, (macs, [fl, fg, bl, bg])) in rows {
        println!(
            "{batch:>5} {:>10} {fl:>12.2?} {fg:>12.2?} {:>7.2} {bl:>12.2?} {bg:>12.2?} {:>7.2}",
            macs * batch,
            fl.as_secs_f64() / fg.as_secs_f64(),
            bl.as_secs_f64() / bg.as_secs_f64()
        );
    }
}

fn main() {
    println!("dense layer, batch = inputs = outputs = n (constants); medians per call; ratio = loops / gemm (> 1: gemm faster)");
    println!(
        "{:>5} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7}",
        "n", "fwd loops", "fwd gemm", "ratio", "bwd loops", "bwd gemm", "ratio"
    );
    let rows: Vec<(usize, [Duration; 4])> = if nnspec_bench::quick() {
        vec![(8, measure::<8>())]
    } else {
        vec![
            (4, measure::<4>()),
            (8, measure::<8>()),
            (12, measure::<12>()),
            (16, measure::<16>()),
            (24, measure::<24>()),
            (32, measure::<32>()),
            (48, measure::<48>()),
            (64, measure::<64>()),
            (128, measure::<128>()),
        ]
    };
    for (n, [fl, fg, bl, bg]) in rows {
        println!(
            "{n:>5} {fl:>12.2?} {fg:>12.2?} {:>7.2} {bl:>12.2?} {bg:>12.2?} {:>7.2}",
            fl.as_secs_f64() / fg.as_secs_f64(),
            bl.as_secs_f64() / bg.as_secs_f64()
        );
    }
    conv_crossover();
    conv_call_crossover();
}
