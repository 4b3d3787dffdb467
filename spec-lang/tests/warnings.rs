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
