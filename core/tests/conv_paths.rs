//! The two ways a convolution runs, direct loops and im2col + GEMM, agree on
//! the output and on every gradient, for strides, paddings, dilations, groups
//! and depth multipliers in one and two dimensions.

#![cfg(feature = "std")]

use nnspec_core::conv::{conv_backward_direct, conv_forward_direct, gemm, output_size, ConvGeometry};

#[allow(clippy::too_many_arguments)]
fn geometry(
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: [usize; 2],
    s: [usize; 2],
    p: [usize; 2],
    d: [usize; 2],
    groups: usize,
) -> ConvGeometry {
    ConvGeometry {
        in_channels: c,
        in_h: h,
        in_w: w,
        out_channels: o,
        out_h: output_size(h, k[0], s[0], p[0], d[0]).unwrap(),
        out_w: output_size(w, k[1], s[1], p[1], d[1]).unwrap(),
        kernel: k,
        stride: s,
        padding: p,
        dilation: d,
        groups,
    }
}

fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 7919 + seed * 104729) % 1009) as f32 / 504.5) - 1.0).collect()
}

fn close(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (i, (a, b)) in a.iter().zip(b).enumerate() {
        assert!((a - b).abs() <= 1e-5 + 1e-5 * b.abs(), "{what}[{i}]: {a} against {b}");
    }
}

#[test]
fn direct_loops_and_gemm_agree() {
    let cases = [
        geometry(1, 8, 8, 4, [3, 3], [1, 1], [1, 1], [1, 1], 1),
        geometry(3, 7, 9, 6, [3, 2], [2, 1], [1, 0], [1, 2], 3),
        geometry(4, 6, 6, 8, [3, 3], [1, 2], [2, 1], [2, 1], 2),
        geometry(2, 1, 20, 4, [1, 5], [1, 3], [0, 2], [1, 2], 1),
        geometry(4, 1, 16, 8, [1, 3], [1, 1], [0, 1], [1, 1], 4),
    ];
    for (index, g) in cases.iter().enumerate() {
        let batch = 3;
        let x = values(batch * g.input_len(), index);
        let w = values(g.weight_len(), index + 10);
        let b = values(g.out_channels, index + 20);
        let (mut direct, mut product) = (vec![0.0; batch * g.output_len()], vec![1.0; batch * g.output_len()]);
        conv_forward_direct(&x, &w, Some(&b), &mut direct, batch, g);
        gemm::forward(&x, &w, Some(&b), &mut product, batch, g);
        close(&format!("case {index}: output"), &product, &direct);

        let dz = values(batch * g.output_len(), index + 30);
        let mut grads = Vec::new();
        for use_gemm in [false, true] {
            let (mut dw, mut db, mut dx) =
                (vec![9.0; g.weight_len()], vec![9.0; g.out_channels], vec![9.0; batch * g.input_len()]);
            if use_gemm {
                gemm::backward(&x, &w, &dz, &mut dw, Some(&mut db), Some(&mut dx), batch, g);
            } else {
                conv_backward_direct(&x, &w, &dz, &mut dw, Some(&mut db), Some(&mut dx), batch, g);
            }
            grads.push((dw, db, dx));
        }
        close(&format!("case {index}: weight gradient"), &grads[1].0, &grads[0].0);
        close(&format!("case {index}: bias gradient"), &grads[1].1, &grads[0].1);
        close(&format!("case {index}: input gradient"), &grads[1].2, &grads[0].2);
    }
}
