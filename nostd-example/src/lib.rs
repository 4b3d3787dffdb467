//! Firmware-style inference: the planar classifier with its trained weights
//! compiled in, on `core` alone (no `std`, no allocator). `nnspec` is used
//! with `default-features = false`, which leaves the kernels `predict` needs.
//!
//! `cargo build -p nnspec-nostd-example` proves it builds without `std`; the
//! `staticlib` it produces is what a C firmware links (`nnspec_planar_predict`).
//! `predict` keeps its activations on the stack: 4 + 1 floats (20 bytes) for
//! this network, the figure `nnspec summary` prints.
//!
//! The same network in integers only, for a core without a floating-point
//! unit: `models/planar.int8.safetensors` (written by `nnspec quantize
//! examples/specs/planar.nn --weights nostd-example/models/planar.safetensors
//! --calibration examples/data/flower.csv -o nostd-example/models/planar.int8.safetensors`)
//! compiled in as `int8::PlanarInt8`, behind `nnspec_planar_predict_q`. CI
//! disassembles that function in the release staticlib and fails on any
//! floating-point instruction (`check-float-free.sh`).

#![cfg_attr(not(test), no_std)]

nnspec::include_net!("../examples/specs/planar.nn", weights = "models/planar.safetensors");

/// The probability that a point belongs to class 1 (red petals).
pub fn probability(x: f32, y: f32) -> f32 {
    Planar::trained().predict(&[x, y])[0]
}

/// C entry point for firmware: the class of a point (0 or 1).
#[no_mangle]
pub extern "C" fn nnspec_planar_predict(x: f32, y: f32) -> u8 {
    u8::from(probability(x, y) > 0.5)
}

/// The planar classifier in int8 (`PlanarInt8`), from its int8 weight file.
pub mod int8 {
    nnspec::include_net!("../examples/specs/planar.nn", weights = "models/planar.int8.safetensors");
}

/// C entry point for firmware without a floating-point unit: the quantised
/// probability of class 1 (`PlanarInt8::OUTPUT_SCALE · (q − OUTPUT_ZERO_POINT)`)
/// of a quantised point (`PlanarInt8::quantize_input` gives its two values).
#[no_mangle]
pub extern "C" fn nnspec_planar_predict_q(x: i8, y: i8) -> i8 {
    int8::PlanarInt8.predict_q(&[x, y])[0]
}

/// The class (0 or 1) of a point by the int8 network.
pub fn class_int8(x: f32, y: f32) -> u8 {
    let q = int8::PlanarInt8::quantize_input(&[x, y]);
    // Probability 0.5 in the output's quantisation, computed once per call in
    // floats here only to keep the example short; firmware stores it as a constant.
    let half = nnspec::quant::quantize_value(0.5, int8::PlanarInt8::OUTPUT_SCALE, int8::PlanarInt8::OUTPUT_ZERO_POINT);
    u8::from(nnspec_planar_predict_q(q[0], q[1]) > half)
}

/// A firmware build (`panic = "abort"`, no `std`) needs its own panic handler;
/// test builds link `std`, which brings one.
#[cfg(all(panic = "abort", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
