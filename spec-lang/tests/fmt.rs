//! `nnspec fmt` is idempotent (fmt∘fmt = fmt) and preserves meaning (the IR of
//! the output equals the IR of the input), on every spec in the repository and
//! on generated specs with random spacing, comments and settings.

use nnspec_lang::{check_source, fmt::format};
use proptest::prelude::*;
use std::path::Path;

fn assert_properties(source: &str) {
    let once = format(source).unwrap_or_else(|d| panic!("{}", nnspec_lang::render(&d, "spec", source)));
    let twice = format(&once).expect("formatted text parses");
    assert_eq!(once, twice, "formatting is not idempotent for:\n{source}");
    match (check_source(source), check_source(&once)) {
        (Ok(a), Ok(b)) => assert_eq!(a.program, b.program, "formatting changed the meaning of:\n{source}\n---\n{once}"),
        (Err(a), Err(b)) => assert_eq!(a.len(), b.len(), "formatting changed the diagnostics of:\n{source}"),
        (a, b) => panic!("formatting changed validity ({} → {}):\n{source}\n---\n{once}", a.is_ok(), b.is_ok()),
    }
    for comment in source.lines().filter_map(|l| l.find("//").map(|i| l[i..].trim_end())) {
        assert!(once.contains(comment), "lost comment {comment:?}");
    }
}

#[test]
fn every_spec_in_the_repository_formats_stably() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut count = 0;
    for dir in ["examples/specs"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "nn") {
                assert_properties(&std::fs::read_to_string(&path).unwrap());
                count += 1;
            }
        }
    }
    let language = std::fs::read_to_string(root.join("docs/language.md")).unwrap();
    for block in language.split("```nn\n").skip(1).filter_map(|b| b.split("```").next()) {
        assert_properties(block);
        count += 1;
    }
    assert!(count >= 10, "only {count} specs found");
}

/// The repository's own specs are in canonical form, as `nnspec fmt --check`
/// requires: every `.nn` file of the examples and of the warning tests, and
/// every `nn` block of the docs that parses (the error index shows broken
/// specs on purpose).
#[test]
fn the_repositorys_specs_and_docs_are_canonical() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut sources: Vec<(String, String)> = Vec::new();
    for dir in ["examples/specs", "spec-lang/tests/warn", "codegen/macros/tests/ui"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "nn") {
                sources.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (i, block) in text.split("```nn\n").skip(1).filter_map(|b| b.split("```").next()).enumerate() {
                if nnspec_lang::parse_file(block).is_ok() {
                    sources.push((format!("{} block {}", path.display(), i + 1), block.to_string()));
                }
            }
        }
    }
    let mut unformatted = Vec::new();
    for (name, source) in &sources {
        if format(source).unwrap() != *source {
            unformatted.push(name.clone());
        }
    }
    assert!(sources.len() >= 20, "only {} specs found", sources.len());
    assert!(unformatted.is_empty(), "not in canonical form (run `nnspec fmt`): {unformatted:#?}");
}

/// `tests/fmt/NAME.nn` formats to `tests/fmt/NAME.expected.nn` exactly (comments
/// in every position: before and after items, trailing, between tokens of a
/// statement, inside brackets, before a `;`, in a `train` block), and the
/// expected text is canonical.
#[test]
fn comments_in_every_position_format_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fmt");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".nn").filter(|s| !s.ends_with(".expected")) else { continue };
        let source = std::fs::read_to_string(&path).unwrap();
        let expected = std::fs::read_to_string(dir.join(format!("{stem}.expected.nn"))).unwrap();
        assert_eq!(format(&source).unwrap(), expected, "{name}");
        assert_eq!(format(&expected).unwrap(), expected, "{stem}.expected.nn is not canonical");
        assert_properties(&source);
        count += 1;
    }
    assert!(count >= 2, "only {count} cases in {}", dir.display());
}

fn space() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" ".to_string()),
        Just("  ".to_string()),
        Just("\n".to_string()),
        Just("\n\n\n".to_string()),
        Just("\t".to_string())
    ]
}

fn maybe_comment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        1 => Just(" // note\n".to_string()),
        1 => Just("\n/* block */ ".to_string()),
        1 => Just("\n/// doc line\n".to_string()),
    ]
}

fn activation() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("relu".to_string()),
        Just("tanh".to_string()),
        Just("sigmoid".to_string()),
        Just("leaky_relu(0.2)".to_string()),
        Just("elu(alpha = 0.5)".to_string()),
        Just("gelu".to_string()),
    ]
}

/// A dense layer with a `{name}` placeholder for its (unique) name.
fn layer() -> impl Strategy<Value = String> {
    (
        1usize..64,
        activation(),
        any::<bool>(),
        prop_oneof![Just(""), Just(", init = normal(0, 0.01)"), Just(", l2 = 1e-4"), Just(", init = uniform(-1,1)")],
        space(),
        maybe_comment(),
    )
        .prop_map(|(units, act, bias, extra, s, c)| {
            format!("{c}dense{s}{{name}}:{s}{units},activation={act},{s}bias = {bias}{extra};")
        })
}

fn spec() -> impl Strategy<Value = String> {
    (
        1usize..16,
        proptest::collection::vec(layer(), 0..4),
        proptest::option::of(0.0f64..0.9),
        space(),
        maybe_comment(),
        prop_oneof![Just("sgd(lr = 0.1)"), Just("adam(lr=1e-3,betas=(0.9,0.999))"), Just("rmsprop(0.01)")],
        prop_oneof![Just("full".to_string()), (1usize..64).prop_map(|b| b.to_string())],
    )
        .prop_map(|(inputs, layers, dropout, s, c, optimizer, batch)| {
            let mut body = format!("input x:{s}[{inputs}];");
            for (i, layer) in layers.iter().enumerate() {
                // Unique names: the generator's names may repeat.
                body.push_str(&layer.replace("{name}", &format!("hidden{i}")));
                if let Some(p) = dropout.filter(|_| i == 0) {
                    body.push_str(&format!("dropout({p:.2});"));
                }
            }
            body.push_str(&format!("{c}dense out: 2;{s}loss softmax_cross_entropy;"));
            body.push_str(&format!("train{s}{{optimizer={optimizer},{s}batch = {batch}, epochs = 3,}}"));
            format!("{c}const N = {inputs};{s}network Generated{s}{{{s}{body}{s}}}{s}")
        })
}

proptest! {
    #[test]
    fn generated_specs_format_stably(source in spec()) {
        assert_properties(&source);
    }
}
