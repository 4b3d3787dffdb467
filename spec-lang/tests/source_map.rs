//! Checking returns where each node, option and train setting was written,
//! indexed like the IR's nodes.

#[test]
fn the_source_map_points_at_each_nodes_statement_and_options() {
    let source = "network N {\n    input x: [3];\n    dense h: 4, activation = tanh;\n    relu;\n    dropout(0.5) d;\n    dense out: 2;\n    loss mse;\n    train { optimizer = adam(lr = 0.01), batch = 8 }\n}\n";
    let checked = nnspec_lang::check_source(source).unwrap();
    let network = &checked.program.networks[0];
    let map = checked.source_map.network("N").unwrap();
    assert_eq!(map.nodes.len(), network.nodes.len());
    let text = |span: nnspec_lang::diagnostic::Span| &source[span.start..span.end];
    let statements: Vec<&str> = (0..network.nodes.len()).map(|i| text(map.node(i))).collect();
    assert_eq!(
        statements,
        ["input x: [3];", "dense h: 4, activation = tanh;", "relu;", "dropout(0.5) d;", "dense out: 2;"]
    );
    assert_eq!(text(map.option(1, "activation")), "tanh");
    assert_eq!(text(map.option(4, "activation")), "dense out: 2;", "an option not written falls back to its statement");
    assert_eq!(text(map.loss.unwrap()), "loss mse;");
    assert_eq!(text(map.train_option("batch").unwrap().value.span), "8");
    assert!(map.train_option("epochs").is_none());
}
