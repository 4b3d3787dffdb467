//! `nnspec import` on damaged and hostile files: mutated exports never panic,
//! and each kind of hostile model gets the error that says what is wrong,
//! without reading what it points at or allocating what it declares.

use nnspec::Model;
use nnspec_codegen::import::{import, Options};
use proptest::prelude::*;

/// A protobuf message written by hand: the hostile models below are ones no exporter writes.
#[derive(Default, Clone)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut value: u64) -> &mut Self {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
        self
    }
    fn int(&mut self, field: u64, value: i64) -> &mut Self {
        self.varint(field << 3).varint(value as u64)
    }
    fn bytes(&mut self, field: u64, bytes: &[u8]) -> &mut Self {
        self.varint(field << 3 | 2).varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
        self
    }
    fn text(&mut self, field: u64, text: &str) -> &mut Self {
        self.bytes(field, text.as_bytes())
    }
    fn message(&mut self, field: u64, message: &Message) -> &mut Self {
        self.bytes(field, &message.0)
    }
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Message {
    let mut node = Message::default();
    for input in inputs {
        node.text(1, input);
    }
    for output in outputs {
        node.text(2, output);
    }
    node.text(3, name).text(4, op);
    node
}

fn float_tensor(name: &str, dims: &[i64], values: &[f32]) -> Message {
    let mut tensor = Message::default();
    for &d in dims {
        tensor.int(1, d);
    }
    tensor.int(2, 1).text(8, name);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    tensor.bytes(9, &raw);
    tensor
}

fn value_info(name: &str, dims: &[i64]) -> Message {
    let mut shape = Message::default();
    for &d in dims {
        let mut dim = Message::default();
        if d < 0 {
            dim.text(2, "batch");
        } else {
            dim.int(1, d);
        }
        shape.message(1, &dim);
    }
    let mut tensor_type = Message::default();
    tensor_type.int(1, 1).message(2, &shape);
    let mut type_proto = Message::default();
    type_proto.message(1, &tensor_type);
    let mut info = Message::default();
    info.text(1, name).message(2, &type_proto);
    info
}

/// A model of `nodes` and `initializers` reading `x` `[batch, 4]` and writing `y`.
fn model(nodes: &[Message], initializers: &[Message]) -> Vec<u8> {
    let mut graph = Message::default();
    for n in nodes {
        graph.message(1, n);
    }
    graph.text(2, "hostile");
    for i in initializers {
        graph.message(5, i);
    }
    graph.message(11, &value_info("x", &[-1, 4])).message(12, &value_info("y", &[-1, 2]));
    let mut opset = Message::default();
    opset.text(1, "").int(2, 17);
    let mut model = Message::default();
    model.int(1, 8).message(8, &opset).message(7, &graph);
    model.0
}

fn options() -> Options {
    Options { name: Some("Hostile".into()), source: "hostile.onnx".into(), ..Options::default() }
}

fn error_of(bytes: &[u8], options: &Options) -> String {
    match import(bytes, options) {
        Ok(imported) => panic!("imported a hostile model:\n{}", imported.spec),
        Err(error) => error.to_string(),
    }
}

#[test]
fn a_valid_hand_written_model_imports() {
    let weight = float_tensor("w", &[4, 2], &[0.5; 8]);
    let bytes = model(&[node("Gemm", "fc", &["x", "w"], &["y"])], &[weight]);
    let mut options = options();
    options.loss = Some("mse".into());
    let imported = import(&bytes, &options).expect("a dense layer");
    assert!(imported.spec.contains("dense fc: 2"), "{}", imported.spec);
}

#[test]
fn a_tensor_declaring_a_trillion_elements_is_refused_before_anything_is_allocated() {
    let mut huge = Message::default();
    huge.int(1, 1_000_000).int(1, 1_000_000).int(2, 1).text(8, "w");
    let error = error_of(&model(&[node("Gemm", "fc", &["x", "w"], &["y"])], &[huge]), &options());
    assert!(error.contains("declares 1000000000000 elements"), "{error}");
}

#[test]
fn a_tensor_whose_data_is_shorter_than_its_dims_is_refused() {
    let mut short = float_tensor("w", &[2, 4], &[1.0; 3]);
    short.int(1, 2);
    let error = error_of(&model(&[node("Gemm", "fc", &["x", "w"], &["y"])], &[short]), &options());
    assert!(error.contains("tensor `w` declares"), "{error}");
}

#[test]
fn external_data_outside_the_models_directory_is_never_read() {
    let directory = std::env::temp_dir().join(format!("nnspec-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("a directory");
    for location in ["../secret.bin", "/etc/passwd", "sub/../../x.bin"] {
        let mut tensor = Message::default();
        tensor.int(1, 2).int(1, 4).int(2, 1).text(8, "w");
        let mut entry = Message::default();
        entry.text(1, "location").text(2, location);
        tensor.message(13, &entry).int(14, 1);
        let bytes = model(&[node("Gemm", "fc", &["x", "w"], &["y"])], &[tensor]);
        let mut options = options();
        options.directory = Some(directory.clone());
        let error = error_of(&bytes, &options);
        assert!(error.contains("outside the model's directory"), "{location}: {error}");
        // Without a directory nothing external is read at all.
        let error = error_of(&bytes, &self::options());
        assert!(error.contains("no directory was given"), "{location}: {error}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn a_cycle_and_a_missing_input_are_named() {
    let weight = float_tensor("w", &[2, 4], &[0.5; 8]);
    let cycle = model(
        &[
            node("Relu", "a", &["b_out"], &["a_out"]),
            node("Relu", "b", &["a_out"], &["b_out"]),
            node("Gemm", "fc", &["x", "w"], &["y"]),
        ],
        std::slice::from_ref(&weight),
    );
    let error = error_of(&cycle, &options());
    assert!(error.contains("`Relu` node `a` reads `b_out` that no earlier node writes"), "{error}");
    let missing = model(&[node("Gemm", "fc", &["x", "nowhere"], &["y"])], &[]);
    let error = error_of(&missing, &options());
    assert!(error.contains("`nowhere`"), "{error}");
}

#[test]
fn every_unsupported_node_is_listed_with_the_opset() {
    let weight = float_tensor("w", &[4, 2], &[0.5; 8]);
    let bytes = model(
        &[
            node("Gemm", "fc", &["x", "w"], &["h"]),
            node("Selu", "odd1", &["h"], &["h1"]),
            node("Hardmax", "odd2", &["h1"], &["y"]),
        ],
        &[weight],
    );
    let error = error_of(&bytes, &options());
    assert!(error.contains("(ONNX opset 17)"), "{error}");
    assert!(error.contains("2 nodes nnspec cannot import"), "{error}");
    assert!(error.contains("`Selu` node `odd1`") && error.contains("`Hardmax` node `odd2`"), "{error}");
}

#[test]
fn bytes_that_are_no_onnx_model_get_a_clear_error() {
    for bytes in [&b""[..], b"not a model at all", &[0xff; 64], &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]] {
        let error = error_of(bytes, &options());
        assert!(error.starts_with("cannot import `hostile.onnx`"), "{error}");
    }
}

/// Exports of networks that use most ops: the seeds of the mutations.
fn seeds() -> Vec<Vec<u8>> {
    let source = r#"
        network Cnn {
            input s: [2, 12];
            conv1d c: 4, kernel = 3, padding = 1;
            batch_norm bn;
            relu r;
            max_pool1d p, kernel = 2;
            flatten f;
            dense out: 3;
            loss softmax_cross_entropy;
        }
        network Interpreter {
            input x: [5];
            standardize s;
            dense a: 6, activation = gelu;
            layer_norm n;
            dense b(s): 6, activation = tanh;
            add sum(n, b);
            dense out: 2, activation = sigmoid;
            loss binary_cross_entropy;
        }
        network Seq {
            input x: [4, 2];
            gru g: 3, sequence = true;
            lstm l: 2;
            dense out: 2;
            loss mse;
        }
    "#;
    let checked = nnspec_lang::check_source(source).expect("a valid spec");
    checked
        .program
        .networks
        .iter()
        .map(|net| {
            let mut model = nnspec_cli::convert::network(net);
            model.init_params(3);
            nnspec::onnx::export(&model)
        })
        .collect()
}

proptest! {
    // A fixed seed, the same cases on every run, so CI cannot fail on a case no run
    // before it saw; `PROPTEST_RNG_SEED=<number>` explores others.
    #![proptest_config(ProptestConfig {
        cases: 2000,
        rng_seed: match std::env::var_os("PROPTEST_RNG_SEED") {
            Some(_) => ProptestConfig::default().rng_seed,
            None => proptest::test_runner::RngSeed::Fixed(1),
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_exports_never_panic(
        seed in 0usize..3,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        insert in proptest::option::of((any::<prop::sample::Index>(), proptest::collection::vec(any::<u8>(), 1..12))),
    ) {
        let mut bytes = seeds().swap_remove(seed);
        for (at, value) in flips {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        if let Some((at, extra)) = insert {
            let at = at.index(bytes.len());
            bytes.splice(at..at, extra);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        // Whatever the bytes, an answer: a spec that checks and weights that
        // load, or an error. Never a panic.
        if let Ok(imported) = import(&bytes, &options()) {
            let checked = nnspec_lang::check_source(&imported.spec).expect("an imported spec checks");
            let mut again = nnspec_cli::convert::network(&checked.program.networks[0]);
            let path = std::env::temp_dir().join(format!("nnspec-mutated-{}.safetensors", std::process::id()));
            std::fs::write(&path, &imported.weights).expect("a temporary file");
            nnspec::weights::load(&mut again, &path).expect("imported weights load");
        }
    }
}

/// Imports `bytes`; when they import, the spec checks and the weights load.
fn import_never_panics(bytes: &[u8]) {
    if let Ok(imported) = import(bytes, &options()) {
        let checked = nnspec_lang::check_source(&imported.spec).expect("an imported spec checks");
        let mut again = nnspec_cli::convert::network(&checked.program.networks[0]);
        let path = std::env::temp_dir().join(format!("nnspec-byte-{}.safetensors", std::process::id()));
        std::fs::write(&path, &imported.weights).expect("a temporary file");
        nnspec::weights::load(&mut again, &path).expect("imported weights load");
    }
}

/// Every byte of every seed set to values that make varints, lengths, tags
/// and dimensions extreme: deterministic, so a failure shows on every run
/// (a single byte set to 22 once made a reshape's target overflow).
#[test]
fn every_single_byte_change_is_an_answer() {
    for seed in seeds() {
        for at in 0..seed.len() {
            for value in [0x00, 0x01, 0x16, 0x7f, 0x80, 0xff] {
                let mut bytes = seed.clone();
                bytes[at] = value;
                import_never_panics(&bytes);
            }
        }
    }
}
