//! `docs/errors.md` shows, for every code, a spec that triggers it and the
//! message as rendered now: the blocks between `<!-- example CODE -->` markers
//! are regenerated from `tests/bad` and `tests/warn` and must match the file.
//! `NNSPEC_BLESS=1` rewrites them.

use std::path::Path;

fn example_for(code: &str) -> Option<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut candidates: Vec<_> = ["bad", "warn"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap().filter_map(|e| e.ok()).map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{code}-")))
        .collect();
    candidates.sort();
    let path = candidates.first()?;
    let bytes = std::fs::read(path).unwrap();
    let source = String::from_utf8_lossy(&bytes).into_owned();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let diagnostics = match nnspec_lang::check_bytes(&bytes) {
        Ok(checked) => checked.warnings,
        Err(diagnostics) => diagnostics,
    };
    let mine: Vec<_> = diagnostics.into_iter().filter(|d| d.code.as_str() == code).collect();
    let rendered = nnspec_lang::render(&mine, &name, &source);
    Some((source, rendered))
}

#[test]
fn the_error_index_matches_the_compiler() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/errors.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut rest = text.as_str();
    let mut codes = 0;
    while let Some(start) = rest.find("<!-- example ") {
        let header_end = start + rest[start..].find("-->").unwrap() + 3;
        let code = rest[start + 13..header_end - 3].trim().to_string();
        let end = header_end + rest[header_end..].find("<!-- /example -->").expect("closing marker");
        out.push_str(&rest[..header_end]);
        let (source, rendered) =
            example_for(&code).unwrap_or_else(|| panic!("no spec in tests/bad or tests/warn for {code}"));
        out.push_str(&format!("\n```nn\n{}```\n\n```text\n{}```\n", source, rendered));
        rest = &rest[end..];
        codes += 1;
    }
    out.push_str(rest);
    assert!(codes >= 30, "only {codes} codes documented");
    if std::env::var_os("NNSPEC_BLESS").is_some() {
        std::fs::write(&path, &out).unwrap();
    } else {
        assert!(
            out == text,
            "docs/errors.md is out of date: run NNSPEC_BLESS=1 cargo test -p nnspec-lang --test error_index"
        );
    }
}
