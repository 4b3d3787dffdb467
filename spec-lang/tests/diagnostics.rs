//! Rendered diagnostics for a corpus of bad specs (`tests/bad/*.nn`), one file
//! per mistake and at least one per error code, snapshotted with insta. A file
//! named `E0202-….nn` must produce that code.

use std::path::Path;

#[test]
fn bad_specs_render_like_rustc() {
    insta::glob!("bad/*.nn", |path| {
        let bytes = std::fs::read(path).expect("readable");
        let source = String::from_utf8_lossy(&bytes);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let diagnostics = match nnspec_lang::check_bytes(&bytes) {
            Ok(checked) => panic!("{name} was accepted: {:?}", checked.program.networks.len()),
            Err(diagnostics) => diagnostics,
        };
        if let Some(code) = name.strip_suffix(".nn").and_then(|n| n.split('-').next()).filter(|c| c.starts_with('E')) {
            assert!(diagnostics.iter().any(|d| d.code.as_str() == code), "{name} did not produce {code}");
        }
        insta::assert_snapshot!(nnspec_lang::render(&diagnostics, &name, &source));
    });
}

#[test]
fn every_error_code_is_covered_by_the_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad");
    let covered: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.split('-').next().map(str::to_string))
        .collect();
    let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/diagnostic.rs")).unwrap();
    let codes: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| l.split("Code(\"").nth(1))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert!(codes.len() >= 20, "found only {} codes", codes.len());
    for code in codes {
        assert!(covered.iter().any(|c| c == code), "no bad spec in tests/bad triggers {code}");
    }
}

#[test]
fn many_errors_are_all_reported() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad/many-errors-at-once.nn"))
            .unwrap();
    let diagnostics = nnspec_lang::check_source(&source).unwrap_err();
    assert!(diagnostics.len() >= 5, "{}", nnspec_lang::render(&diagnostics, "x.nn", &source));
}
