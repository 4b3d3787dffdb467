//! Trained weights compiled in: a matching file embeds (`trained()`), a file
//! for another architecture fails with every mismatch named.

use nnspec_codegen::include_net_file;
use safetensors::tensor::{Dtype, TensorView};
use std::path::PathBuf;

const SPEC: &str = "network Planar {\n    input point: [2];\n    dense hidden: 4, activation = tanh;\n    dense out: 1, activation = sigmoid;\n    loss binary_cross_entropy;\n}\n";

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnspec-codegen-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The spec, written once per test (tests run in parallel).
fn spec(test: &str) -> PathBuf {
    let path = dir().join(format!("{test}.nn"));
    std::fs::write(&path, SPEC).unwrap();
    path
}

fn write_weights(name: &str, tensors: &[(&str, Vec<usize>, Dtype)]) -> PathBuf {
    write_weights_with(name, tensors, None)
}

fn write_weights_with(
    name: &str,
    tensors: &[(&str, Vec<usize>, Dtype)],
    metadata: Option<std::collections::HashMap<String, String>>,
) -> PathBuf {
    let data: Vec<Vec<u8>> =
        tensors.iter().map(|(_, shape, dtype)| vec![0u8; shape.iter().product::<usize>() * dtype.size()]).collect();
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .zip(&data)
        .map(|((n, shape, dtype), bytes)| (n.to_string(), TensorView::new(*dtype, shape.clone(), bytes).unwrap()))
        .collect();
    let path = dir().join(name);
    std::fs::write(&path, safetensors::serialize(views, &metadata).unwrap()).unwrap();
    path
}

#[test]
fn matching_weights_are_embedded() {
    let weights = write_weights(
        "good.safetensors",
        &[
            ("hidden.weight", vec![2, 4], Dtype::F32),
            ("hidden.bias", vec![4], Dtype::F32),
            ("out.weight", vec![4, 1], Dtype::F32),
            ("out.bias", vec![1], Dtype::F32),
        ],
    );
    let tokens = include_net_file(&spec("good"), Some((&weights, "good.safetensors")), None).unwrap().to_string();
    assert!(tokens.contains("fn trained"), "{tokens}");
    assert!(tokens.contains("include_bytes"), "{tokens}");
}

#[test]
fn mismatched_weights_name_every_difference() {
    let weights = write_weights(
        "bad.safetensors",
        &[
            ("hidden.weight", vec![2, 8], Dtype::F32),
            ("hidden.bias", vec![4], Dtype::F64),
            ("out.weight", vec![4, 1], Dtype::F32),
            ("extra", vec![3], Dtype::F32),
        ],
    );
    let error = include_net_file(&spec("bad"), Some((&weights, "bad.safetensors")), None).unwrap_err();
    assert!(error.about_weights, "{error}");
    let message = error.message;
    assert!(
        message.contains("`hidden.weight` of `bad.safetensors` has shape [2, 8], the spec says [2, 4]"),
        "{message}"
    );
    assert!(message.contains("`hidden.bias` of `bad.safetensors` is F64, expected F32"), "{message}");
    assert!(message.contains("has no tensor `out.bias`"), "{message}");
    assert!(message.contains("a tensor `extra`"), "{message}");
}

#[test]
fn a_missing_weights_file_is_an_error() {
    let error = include_net_file(&spec("missing"), Some((&dir().join("nope.safetensors"), "nope.safetensors")), None)
        .unwrap_err();
    assert!(error.about_weights, "{error}");
    let message = error.message;
    assert!(message.contains("cannot read weights `nope.safetensors`"), "{message}");
}

#[test]
fn a_standardisation_of_another_width_is_an_error_and_a_good_one_reaches_predict() {
    let tensors = [
        ("hidden.weight", vec![2, 4], Dtype::F32),
        ("hidden.bias", vec![4], Dtype::F32),
        ("out.weight", vec![4, 1], Dtype::F32),
        ("out.bias", vec![1], Dtype::F32),
    ];
    let metadata = |mean: &str| {
        Some(
            [("standardize_mean", mean), ("standardize_std", "[1.0,2.0]")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let wide = write_weights_with("wide.safetensors", &tensors, metadata("[0.5,1.5,2.5]"));
    let error = include_net_file(&spec("wide"), Some((&wide, "wide.safetensors")), None).unwrap_err();
    assert!(error.about_weights, "{error}");
    let message = error.message;
    assert!(message.contains("has 3 values, the network takes 2 inputs"), "{message}");
    let good = write_weights_with("standardized.safetensors", &tensors, metadata("[0.5,1.5]"));
    let tokens =
        include_net_file(&spec("standardized"), Some((&good, "standardized.safetensors")), None).unwrap().to_string();
    assert!(tokens.contains("INPUT_MEAN") && tokens.contains("INPUT_STD"), "{tokens}");
}

#[test]
fn an_error_in_the_spec_is_about_the_spec_even_with_weights() {
    let path = dir().join("broken.nn");
    std::fs::write(&path, "network Broken { input x: [2]; dense out: 1, activation = tnah; loss mse; }").unwrap();
    let weights = dir().join("nope.safetensors");
    let error = include_net_file(&path, Some((&weights, "nope.safetensors")), None).unwrap_err();
    assert!(!error.about_weights, "{error}");
    assert!(error.message.contains("did you mean `tanh`?"), "{error}");
}

/// An int8 weight file (`nnspec quantize`'s) gives the integer-only struct,
/// through `include_net!` and the build-script API; one of another network
/// fails on the weights argument with the reason.
#[test]
fn int8_weights_give_integer_only_inference_and_a_wrong_file_is_named() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let int8 = root.join("nostd-example/models/planar.int8.safetensors");
    let tokens = include_net_file(&spec("int8"), Some((&int8, "planar.int8.safetensors")), None).unwrap().to_string();
    assert!(tokens.contains("pub struct PlanarInt8") && tokens.contains("fn predict_q"), "{tokens}");
    assert!(tokens.contains("int8 :: dense") && tokens.contains("int8 :: table"), "{tokens}");
    let out = dir().join("built");
    std::fs::create_dir_all(&out).unwrap();
    let written = nnspec_codegen::Builder::new()
        .file_with_weights(spec("int8_builder"), &int8)
        .out_dir(&out)
        .cargo_output(false)
        .compile()
        .unwrap();
    assert!(std::fs::read_to_string(&written[0]).unwrap().contains("PlanarInt8"));
    let other = root.join("runtime/tests/data/dense.int8.safetensors");
    let error = include_net_file(&spec("int8_other"), Some((&other, "dense.int8.safetensors")), None).unwrap_err();
    assert!(error.about_weights, "{error}");
    assert!(error.message.contains("holds network `Dense`, not `Planar`"), "{}", error.message);
}

/// An int8 file for a network with an op that has no int8 kernel fails the
/// build naming the op and its node.
#[test]
fn an_op_without_an_int8_kernel_is_a_build_error_naming_it() {
    let spec = dir().join("normed.nn");
    std::fs::write(
        &spec,
        "network Normed {\n    input x: [3];\n    layer_norm n;\n    dense out: 2;\n    loss mse;\n}\n",
    )
    .unwrap();
    // The input's quantisation is valid; the next node is the one without a kernel.
    let (one, zero) = (1.0f32.to_le_bytes(), 0i32.to_le_bytes());
    let views = vec![
        ("x.scale".to_string(), TensorView::new(Dtype::F32, vec![], &one).unwrap()),
        ("x.zero_point".to_string(), TensorView::new(Dtype::I32, vec![], &zero).unwrap()),
    ];
    let metadata = [("format", "nnspec-int8"), ("network", "Normed")];
    let metadata = Some(metadata.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    let int8 = dir().join("normed.int8.safetensors");
    std::fs::write(&int8, safetensors::serialize(views, &metadata).unwrap()).unwrap();
    let error = include_net_file(&spec, Some((&int8, "normed.int8.safetensors")), None).unwrap_err();
    assert!(error.about_weights, "{error}");
    assert!(error.message.contains("`n` is a `layer_norm`, which has no int8 kernel"), "{}", error.message);
}
