//! Dense-layer kernels on row-major buffers, shared by generated code and the
//! interpreter so both compute the same numbers in the same order.
//!
//! Layout: `x` is `[batch][inputs]`, `w` is `[inputs][outputs]` (row `i` holds the
//! weights leaving input `i`), `b` is `[outputs]`, `z` is `[batch][outputs]`.
//!
//! * forward: `Z = X·W + b`
//! * backward: `∂W = Xᵀ·∂Z`, `∂b = Σ_rows ∂Z`, `∂X = ∂Z·Wᵀ`
//!
//! Small layers run as straight loops whose innermost loop walks a contiguous
//! row (so LLVM vectorises it, and unrolls it when the sizes are constants, as
//! they are in generated code, which calls these `#[inline(always)]` functions
//! with literal sizes). Past [`GEMM_THRESHOLD`] multiply-adds a call goes to
//! `matrixmultiply::sgemm`.
//!
//! ```
//! use nnspec_core::kernels::dense_forward;
//! let x = [1.0, 2.0];                 // one sample, two inputs
//! let w = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]; // [2][3]
//! let b = [0.5, 0.5, 0.5];
//! let mut z = [0.0; 3];
//! dense_forward(&x, &w, Some(&b), &mut z, 1, 2, 3);
//! assert_eq!(z, [3.5, 2.5, 2.5]); // 1·1 + 2·1 + 0.5, 2·1 + 0.5, 2·1 + 0.5
//! ```

/// Multiply-adds (batch × inputs × outputs) from which a layer uses GEMM, provided
/// both of its widths are at least [`GEMM_MIN_WIDTH`]. Measured with
/// `cargo bench -p nnspec-bench --bench kernels`; see `docs/performance.md`.
pub const GEMM_THRESHOLD: usize = 4096;

/// The narrowest layer width that goes through GEMM: thinner products spend
/// more on packing than they save.
pub const GEMM_MIN_WIDTH: usize = 8;

/// True when a layer of this shape goes through GEMM (never without `std`,
/// where straight loops keep inference free of allocation).
#[inline(always)]
pub fn use_gemm(batch: usize, inputs: usize, outputs: usize) -> bool {
    cfg!(feature = "std")
        && inputs >= GEMM_MIN_WIDTH
        && outputs >= GEMM_MIN_WIDTH
        && batch.saturating_mul(inputs).saturating_mul(outputs) >= GEMM_THRESHOLD
}

/// `z = x·w + b` for `batch` rows: straight loops for small layers, GEMM past [`GEMM_THRESHOLD`].
#[inline(always)]
pub fn dense_forward(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    z: &mut [f32],
    batch: usize,
    inputs: usize,
    outputs: usize,
) {
    if use_gemm(batch, inputs, outputs) {
        dense_forward_gemm(x, w, b, z, batch, inputs, outputs);
    } else {
        dense_forward_loops(x, w, b, z, batch, inputs, outputs);
    }
}

#[inline(always)]
fn init_rows(b: Option<&[f32]>, z: &mut [f32], outputs: usize) {
    for z_row in z.chunks_exact_mut(outputs) {
        match b {
            Some(b) => z_row.copy_from_slice(&b[..outputs]),
            None => z_row.fill(0.0),
        }
    }
}

/// [`dense_forward`] as straight loops: the innermost loop walks a contiguous output row.
#[inline(always)]
pub fn dense_forward_loops(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    z: &mut [f32],
    batch: usize,
    inputs: usize,
    outputs: usize,
) {
    let x = &x[..batch * inputs];
    let w = &w[..inputs * outputs];
    let z = &mut z[..batch * outputs];
    init_rows(b, z, outputs);
    for (x_row, z_row) in x.chunks_exact(inputs).zip(z.chunks_exact_mut(outputs)) {
        for (x_i, w_row) in x_row.iter().zip(w.chunks_exact(outputs)) {
            for (z, w) in z_row.iter_mut().zip(w_row) {
                *z += x_i * w;
            }
        }
    }
}

/// [`dense_forward`] through `matrixmultiply::sgemm` (straight loops without `std`).
pub fn dense_forward_gemm(
    x: &[f32],
    w: &[f32],
    b: Option<&[f32]>,
    z: &mut [f32],
    batch: usize,
    inputs: usize,
    outputs: usize,
) {
    let x = &x[..batch * inputs];
    let w = &w[..inputs * outputs];
    let z = &mut z[..batch * outputs];
    init_rows(b, z, outputs);
    #[cfg(not(feature = "std"))]
    dense_forward_loops(x, w, b, z, batch, inputs, outputs);
    #[cfg(feature = "std")]
    matmul(batch, inputs, outputs, x, Layout::AsIs, w, Layout::AsIs, 1.0, z);
}

/// Gradients of a dense layer: `dw = xᵀ·dz`, `db = Σ_rows dz`, and, if asked, `dx = dz·wᵀ`.
/// `dw`, `db` and `dx` are overwritten. Straight loops for small layers, GEMM past [`GEMM_THRESHOLD`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn dense_backward(
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    batch: usize,
    inputs: usize,
    outputs: usize,
) {
    let gemm = use_gemm(batch, inputs, outputs);
    dense_backward_using(gemm, x, w, dz, dw, db, dx, batch, inputs, outputs);
}

/// [`dense_backward`] with the choice of GEMM (`true`) or straight loops made by the caller.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn dense_backward_using(
    gemm: bool,
    x: &[f32],
    w: &[f32],
    dz: &[f32],
    dw: &mut [f32],
    db: Option<&mut [f32]>,
    dx: Option<&mut [f32]>,
    batch: usize,
    inputs: usize,
    outputs: usize,
) {
    let x = &x[..batch * inputs];
    let w = &w[..inputs * outputs];
    let dz = &dz[..batch * outputs];
    let dw = &mut dw[..inputs * outputs];
    if let Some(db) = db {
        let db = &mut db[..outputs];
        db.fill(0.0);
        for dz_row in dz.chunks_exact(outputs) {
            for (d, g) in db.iter_mut().zip(dz_row) {
                *d += g;
            }
        }
    }
    let gemm = gemm && cfg!(feature = "std");
    if gemm {
        // dw = xᵀ·dz
        #[cfg(feature = "std")]
        matmul(inputs, batch, outputs, x, Layout::Transposed, dz, Layout::AsIs, 0.0, dw);
    } else {
        dw.fill(0.0);
        for (x_row, dz_row) in x.chunks_exact(inputs).zip(dz.chunks_exact(outputs)) {
            for (x_i, dw_row) in x_row.iter().zip(dw.chunks_exact_mut(outputs)) {
                for (d, g) in dw_row.iter_mut().zip(dz_row) {
                    *d += x_i * g;
                }
            }
        }
    }
    if let Some(dx) = dx {
        let dx = &mut dx[..batch * inputs];
        if gemm {
            // dx = dz·wᵀ
            #[cfg(feature = "std")]
            matmul(batch, outputs, inputs, dz, Layout::AsIs, w, Layout::Transposed, 0.0, dx);
            return;
        }
        for (dz_row, dx_row) in dz.chunks_exact(outputs).zip(dx.chunks_exact_mut(inputs)) {
            for (d, w_row) in dx_row.iter_mut().zip(w.chunks_exact(outputs)) {
                *d = dot(dz_row, w_row);
            }
        }
    }
}

/// Dot product with four independent accumulators (so it vectorises without reassociation).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for k in 0..4 {
            acc[k] += a[4 * c + k] * b[4 * c + k];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for k in 4 * chunks..a.len().min(b.len()) {
        sum += a[k] * b[k];
    }
    sum
}

/// Inverted dropout on activations: `a ← a ⊙ mask / keep`, where `keep = 1 − p`.
#[inline(always)]
pub fn apply_dropout(a: &mut [f32], mask: &[f32], keep: f32) {
    for (a, m) in a.iter_mut().zip(mask) {
        *a = *a * m / keep;
    }
}

/// Decodes little-endian f32 values from `bytes[start..]` into `out` (weights
/// embedded with `include_bytes!`, which has no alignment guarantee).
#[inline]
pub fn decode_f32_le(bytes: &[u8], start: usize, out: &mut [f32]) {
    let source = bytes.get(start..start + 4 * out.len()).unwrap_or(&[]);
    for (value, chunk) in out.iter_mut().zip(source.chunks_exact(4)) {
        *value = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
}

/// `into ← into + from`, element by element (gradient accumulation, residual sums).
#[inline(always)]
pub fn accumulate(from: &[f32], into: &mut [f32]) {
    for (into, from) in into.iter_mut().zip(from) {
        *into += from;
    }
}

/// Writes each `width`-wide row of `from` into columns `offset..offset + width`
/// of the `to_width`-wide rows of `to` (one input of a concatenation).
#[inline(always)]
pub fn place_columns(from: &[f32], to: &mut [f32], batch: usize, width: usize, to_width: usize, offset: usize) {
    if width == 0 {
        return;
    }
    for (from_row, to_row) in from.chunks_exact(width).zip(to.chunks_exact_mut(to_width)).take(batch) {
        to_row[offset..offset + width].copy_from_slice(from_row);
    }
}

/// Reads columns `offset..offset + width` of the `from_width`-wide rows of
/// `from` into the `width`-wide rows of `to`, overwriting or, with
/// `accumulate`, adding (the gradient of one input of a concatenation).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn take_columns(
    from: &[f32],
    to: &mut [f32],
    batch: usize,
    width: usize,
    from_width: usize,
    offset: usize,
    accumulate: bool,
) {
    if width == 0 {
        return;
    }
    for (from_row, to_row) in from.chunks_exact(from_width).zip(to.chunks_exact_mut(width)).take(batch) {
        let from_row = &from_row[offset..offset + width];
        if accumulate {
            for (t, f) in to_row.iter_mut().zip(from_row) {
                *t += f;
            }
        } else {
            to_row.copy_from_slice(from_row);
        }
    }
}

/// How an operand of [`matmul`] is stored: as its shape says, or as its transpose.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Row-major in the shape the product reads.
    AsIs,
    /// Row-major as the transpose (read through swapped strides).
    Transposed,
}

/// `c = a·b + beta·c` for row-major `c` `[m][n]`, `a` `[m][k]` and `b`
/// `[k][n]`, each operand stored as is or as its transpose (`a` as `[k][m]`,
/// `b` as `[n][k]`): the one call into `matrixmultiply`, its lengths checked.
#[cfg(feature = "std")]
#[allow(clippy::too_many_arguments)]
#[inline]
pub(crate) fn matmul(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    a_layout: Layout,
    b: &[f32],
    b_layout: Layout,
    beta: f32,
    c: &mut [f32],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "matrix operands shorter than their shapes");
    let (rsa, csa) = match a_layout {
        Layout::AsIs => (k, 1),
        Layout::Transposed => (1, m),
    };
    let (rsb, csb) = match b_layout {
        Layout::AsIs => (n, 1),
        Layout::Transposed => (1, k),
    };
    // SAFETY: every element the strides reach lies below the lengths asserted above.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}
