//! `nnspec export` then `nnspec import` gives back the same network and the
//! same weights, bit for bit: every network of the example specs and of a
//! spec that uses every op the export writes.

use nnspec::Model;
use nnspec_codegen::import::{import, Options};
use nnspec_lang::ir;

/// A network per op the ONNX export writes that the example specs do not all cover.
const EVERY_OP: &str = r#"
network Signals {
    input s: [2, 20];
    conv1d c1: 6, kernel = 5, stride = 2, padding = 2;
    batch_norm bn;
    leaky_relu(0.2) act;
    conv1d c2: 6, kernel = 3, dilation = 2, padding = 2, groups = 3, bias = false;
    elu(alpha = 0.5) act2;
    avg_pool1d pool, kernel = 2;
    global_avg_pool gap;
    dense out: 3, activation = sigmoid;
    loss binary_cross_entropy;
}

network Branches {
    input x: [6];
    standardize scaled;
    dense a: 8, activation = gelu;
    layer_norm norm;
    dense b(scaled): 4, activation = softplus, bias = false;
    concat both(norm, b);
    dense c: 12, activation = tanh;
    add sum(both, c);
    dense out: 2;
    loss mse;
}

network Images {
    input img: [2, 6, 6];
    conv2d c: 4, kernel = (3, 2), stride = (1, 2), padding = (1, 0);
    relu r;
    max_pool2d p, kernel = 2, stride = 1;
    flatten f;
    dense out: 5, activation = log_softmax;
    loss mse;
}

network ConvSequence {
    input signal: [2, 9];
    conv1d c: 4, kernel = 3, padding = 1;
    relu r;
    gru g: 3, bidirectional = true;
    dense out: 2;
    loss mse;
}

network Sequences {
    input s: [4, 3];
    lstm l: 3, bidirectional = true, sequence = true;
    gru g: 5;
    dense out: 2;
    loss softmax_cross_entropy;
}
"#;

fn round_trip(net: &ir::Network) {
    let mut model = nnspec_cli::convert::network(net);
    model.init_params(7);
    // Running statistics and standardisations that are not their initial values.
    for (i, value) in model.buffers_mut().iter_mut().enumerate() {
        *value = 0.5 + 0.01 * (i % 37) as f32;
    }
    let bytes = nnspec::onnx::export(&model);
    let options = Options { name: Some(net.name.clone()), source: format!("{}.onnx", net.name), ..Options::default() };
    let imported = import(&bytes, &options).unwrap_or_else(|e| panic!("{}: {e}", net.name));
    let checked = nnspec_lang::check_source(&imported.spec).unwrap_or_else(|d| panic!("{}: {d:?}", net.name));
    let back = &checked.program.networks[0];

    // The same graph and loss (the export records it in the model's metadata);
    // dropout is not in an inference graph.
    let original: Vec<&nnspec::graph::Node> =
        net.nodes.iter().filter(|n| !matches!(n.op, nnspec::graph::Op::Dropout(_))).collect();
    assert_eq!(original.len(), back.nodes.len(), "{}:\n{}", net.name, imported.spec);
    assert_eq!(net.loss, back.loss, "{}:\n{}", net.name, imported.spec);
    for (index, (a, b)) in original.iter().zip(&back.nodes).enumerate() {
        assert_eq!(a.width, b.width, "{} node {index}:\n{}", net.name, imported.spec);
        if index == 0 {
            continue;
        }
        // A flatten is no node of the ONNX graph (a `Flatten` appears where a
        // value is read flat), so its name does not come back.
        if !matches!(a.op, nnspec::graph::Op::Flatten) {
            assert_eq!(a.name, b.name, "{}:\n{}", net.name, imported.spec);
        }
        assert_eq!(a.shape, b.shape, "{} node {}:\n{}", net.name, a.name, imported.spec);
        assert_eq!(format!("{:?}", a.op), format!("{:?}", b.op), "{} node {}:\n{}", net.name, a.name, imported.spec);
    }

    // The same weights, bit for bit, loaded as any weight file is.
    let path = std::env::temp_dir().join(format!("nnspec-round-trip-{}-{}.safetensors", net.name, std::process::id()));
    std::fs::write(&path, &imported.weights).expect("a temporary file");
    let mut again = nnspec_cli::convert::network(back);
    nnspec::weights::load(&mut again, &path).unwrap_or_else(|e| panic!("{}: {e}", net.name));
    let _ = std::fs::remove_file(&path);
    assert_eq!(model.params(), again.params(), "{}", net.name);
    for (a, b) in model.buffer_tensors().iter().zip(again.buffer_tensors()) {
        assert_eq!(a.name, b.name);
        if a.name.ends_with("num_batches_tracked") || a.name.ends_with(".count") {
            continue;
        }
        assert_eq!(&model.buffers()[a.range()], &again.buffers()[b.range()], "{}", a.name);
    }
}

#[test]
fn export_then_import_gives_back_the_network_and_its_weights() {
    let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs");
    let mut sources: Vec<(String, String)> = vec![("every op".into(), EVERY_OP.into())];
    for entry in std::fs::read_dir(&specs).expect("examples/specs") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "nn") {
            sources.push((path.display().to_string(), std::fs::read_to_string(&path).expect("a spec")));
        }
    }
    let mut count = 0;
    for (name, source) in &sources {
        let checked = nnspec_lang::check_source(source).unwrap_or_else(|d| panic!("{name}: {d:?}"));
        for net in &checked.program.networks {
            round_trip(net);
            count += 1;
        }
    }
    assert!(count >= 9, "only {count} networks");
}
