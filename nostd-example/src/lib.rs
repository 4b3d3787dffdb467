//! Firmware-style inference: the planar classifier with its trained weights
//! compiled in, on `core` alone (no `std`, no allocator). `nnspec` is used
//! with `default-features = false`, which leaves the kernels `predict` needs.
//!
//! `cargo build -p nnspec-nostd-example` proves it builds without `std`; the
//! `staticlib` it produces is what a C firmware links (`nnspec_planar_predict`).
//! `predict` keeps its activations on the stack: 4 + 1 floats (20 bytes) for
//! this network, the figure `nnspec summary` prints.

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

/// A firmware build (`panic = "abort"`, no `std`) needs its own panic handler;
/// test builds link `std`, which brings one.
#[cfg(all(panic = "abort", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
