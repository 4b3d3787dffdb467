//! Snapshots of the prettyplease-formatted code generated for a few specs (syn
//! parsing it also proves it is Rust), and the property that generated code
//! grows with the number of layers, never with their width.

fn pretty(source: &str) -> String {
    let tokens =
        nnspec_codegen::compile_str(source).unwrap_or_else(|d| panic!("{}", nnspec_lang::render(&d, "spec", source)));
    let file: syn::File = syn::parse2(tokens).expect("generated code parses as Rust");
    prettyplease::unparse(&file)
}

#[test]
fn xor_snapshot() {
    insta::assert_snapshot!(pretty(
        "/// The tutorial's XOR network.
        network Xor {
            input x: [3];
            dense hidden: 4, activation = sigmoid, bias = false, init = uniform(-1, 1);
            dense out: 1, activation = sigmoid, bias = false;
            loss sse_half;
            train { optimizer = sgd(lr = 1.0), batch = full, epochs = 1500 }
        }"
    ));
}

#[test]
fn planar_snapshot() {
    insta::assert_snapshot!(pretty(
        "/// Andrew Ng's planar classifier.
        network Planar {
            input point: [2];
            dense hidden: 4, activation = tanh, init = normal(0, 0.01);
            dense out: 1, activation = sigmoid;
            loss binary_cross_entropy;
            train { optimizer = sgd(lr = 1.2), batch = full, epochs = 10000 }
        }"
    ));
}

#[test]
fn iris_with_dropout_snapshot() {
    insta::assert_snapshot!(pretty(
        "const FEATURES = 4;
        network Iris {
            input measurements: [FEATURES];
            dense hidden: 16, activation = relu, init = he_normal, l2 = 1e-4;
            dropout(0.2);
            dense species: 3;
            loss softmax_cross_entropy;
            train {
                optimizer = adam(lr = 1e-3, betas = (0.9, 0.999)),
                batch = 32, epochs = 200, seed = 42,
                schedule = cosine(t_max = 200),
                clip_grad_norm = 5.0,
                early_stopping = (monitor = val_loss, patience = 20),
            }
        }"
    ));
}

fn lines_for(width: usize, layers: usize) -> usize {
    let mut spec = String::from("network Wide {\n input x: [8];\n");
    for i in 0..layers {
        spec.push_str(&format!(" dense h{i}: {width}, activation = relu;\n"));
    }
    spec.push_str(" dense out: 2;\n loss softmax_cross_entropy;\n}\n");
    pretty(&spec).lines().count()
}

#[test]
fn generated_code_does_not_grow_with_width() {
    let narrow = lines_for(10, 2);
    let wide = lines_for(1000, 2);
    // Longer literals (`1000usize`) may wrap a list onto a few more lines; nothing more.
    assert!(narrow.abs_diff(wide) <= 12, "width 10: {narrow} lines, width 1000: {wide} lines");
    let deeper = lines_for(10, 3);
    assert!(deeper > narrow, "a layer adds code ({narrow} → {deeper} lines)");
}

/// An empty `net! {}` block (no network) expands to the W0012 warning, a
/// `deprecated` use rustc prints, and nothing else.
#[test]
fn an_empty_net_block_warns_that_it_defines_no_network() {
    let expanded = nnspec_codegen::expand_net(proc_macro2::TokenStream::new()).to_string();
    assert!(expanded.contains("__nnspec_warning_w0012"), "{expanded}");
    assert!(expanded.contains("defines no network"), "{expanded}");
}

/// Streaming `step` exists where one time step is enough for every node
/// after the recurrent layers, and not where a later node reads the input or
/// an earlier layer's whole sequence (the generator used to panic on those).
#[test]
fn step_is_generated_only_where_a_time_step_is_enough() {
    let network = |after: &str| {
        format!(
            "network Seq {{\n    input x: [4, 2];\n    gru a: 3, sequence = true;\n    gru b: 3;\n{after}    dense out: 2;\n    loss mse;\n}}\n"
        )
    };
    assert!(pretty(&network("")).contains("pub fn step("));
    let reads_earlier = network("    flatten f(a);\n    concat both(b, f);\n");
    assert!(!pretty(&reads_earlier).contains("pub fn step("));
    let reads_input = network("    flatten f(x);\n    concat both(b, f);\n");
    assert!(!pretty(&reads_input).contains("pub fn step("));
}
