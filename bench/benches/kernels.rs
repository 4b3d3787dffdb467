//! The GEMM crossover: a dense layer's forward and backward pass as straight
//! loops against `matrixmultiply::sgemm`, for square sizes (batch = inputs =
//! outputs = n). Sizes are compile-time constants, as in generated code, so the
//! loops get the unrolling and vectorisation generated code gets. The smallest
//! n where GEMM wins sets `kernels::GEMM_THRESHOLD` (n³ multiply-adds).
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
}
