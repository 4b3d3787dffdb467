//! One spec per warning (`tests/warn/W0001-….nn`, snapshot of the rendered
//! warning), a clean spec that warns about nothing, and `#[allow(…)]`.

use nnspec_lang::{check_source, render};

#[test]
fn each_warning_renders_like_rustc() {
    insta::glob!("warn/*.nn", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let checked = check_source(&source).unwrap_or_else(|d| panic!("{name}: {}", render(&d, &name, &source)));
        let code = name.split('-').next().unwrap();
        assert!(checked.warnings.iter().any(|w| w.code.as_str() == code), "{name} did not warn {code}");
        assert!(checked.warnings.iter().all(|w| !w.is_error() && w.help.is_some()));
        insta::assert_snapshot!(render(&checked.warnings, &name, &source));
    });
}

#[test]
fn a_clean_spec_warns_about_nothing() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/specs/planar.nn")).unwrap();
    let checked = check_source(&source).unwrap();
    assert!(checked.warnings.is_empty(), "{}", render(&checked.warnings, "planar.nn", &source));
}

#[test]
fn allow_silences_a_warning_and_only_that_one() {
    let source = "#[allow(symmetric_init)]\nnetwork Z {\n    input x: [2];\n    dense h: 4, activation = tanh, init = zeros;\n    dense out: 1, activation = sigmoid;\n    loss mse;\n}\n";
    let checked = check_source(source).unwrap();
    let codes: Vec<&str> = checked.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["W0002"], "{}", render(&checked.warnings, "z.nn", source));
}

#[test]
fn allowing_an_unknown_warning_is_an_error_with_a_suggestion() {
    let source = "#[allow(symetric_init)]\nnetwork Z { input x: [2]; dense out: 1; loss mse; }";
    let diagnostics = check_source(source).unwrap_err();
    assert_eq!(diagnostics[0].code.as_str(), "E0210");
    assert_eq!(diagnostics[0].help.as_deref(), Some("did you mean `symmetric_init`?"));
}

#[test]
fn overparameterized_fires_on_memorising_networks_only_and_recommends_what_is_missing() {
    let warnings = |spec: &str| -> Vec<String> {
        let checked = nnspec_lang::check_source(spec).expect("a valid spec");
        checked.warnings.iter().filter(|w| w.code.as_str() == "W0007").map(|w| format!("{w:?}")).collect()
    };
    // The textbook MNIST MLP: 101,770 parameters for 60,000 images generalises well.
    let mnist = "network Mnist {\n    input pixels: [784];\n    dense hidden: 128, activation = relu;\n    dense digit: 10;\n    loss softmax_cross_entropy;\n    train { samples = 60000 }\n}\n";
    assert!(warnings(mnist).is_empty(), "{:?}", warnings(mnist));
    // Tens of parameters per sample, already with L2 and dropout: recommend neither again.
    let regularised = "network Big {\n    input x: [10];\n    dense hidden: 256, activation = relu, l2 = 1e-4;\n    dropout(0.5);\n    dense out: 1;\n    loss mse;\n    train { samples = 50 }\n}\n";
    let found = warnings(regularised);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!found[0].contains("add L2") && !found[0].contains("add dropout"), "{}", found[0]);
    assert!(found[0].contains("more data"), "{}", found[0]);
}

/// W0004 agrees with its own help: no warning at the ends of the range it
/// gives, milder words just outside it than far outside.
#[test]
fn the_learning_rate_warning_matches_its_help_at_the_edges() {
    let warning = |optimizer: &str| {
        let source =
            format!("network N {{ input x: [2]; dense out: 1; loss mse; train {{ optimizer = {optimizer} }} }}");
        let checked = check_source(&source).unwrap();
        checked.warnings.iter().find(|w| w.code.as_str() == "W0004").map(|w| (w.message.clone(), w.help.clone()))
    };
    for at_the_edge in ["adam(lr = 0.1)", "adam(lr = 1e-6)", "sgd(lr = 10)", "adagrad(lr = 1)", "momentum(lr = 1)"] {
        assert_eq!(warning(at_the_edge), None, "{at_the_edge}");
    }
    let (message, help) = warning("adam(lr = 0.5)").expect("just above the range");
    assert!(message.contains("is above the usual range") && message.contains("may diverge"), "{message}");
    assert!(help.is_some_and(|h| h.contains("1e-6 to 0.1")));
    let (message, _) = warning("adam(lr = 5)").expect("far above the range");
    assert!(message.contains("far above") && message.contains("will likely diverge"), "{message}");
    let (message, _) = warning("sgd(lr = 1e-8)").expect("far below the range");
    assert!(message.contains("far below"), "{message}");
}
