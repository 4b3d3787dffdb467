//! Every ```nn block of `docs/language.md` parses and checks without errors.

#[test]
fn language_reference_examples_check() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/language.md");
    let text = std::fs::read_to_string(&path).expect("docs/language.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```nn") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(blocks.len() >= 10, "expected an example per construct, found {}", blocks.len());
    for block in &blocks {
        if let Err(diagnostics) = nnspec_lang::check_source(block) {
            panic!("{}\n{block}", nnspec_lang::render(&diagnostics, "docs/language.md", block));
        }
    }
}
