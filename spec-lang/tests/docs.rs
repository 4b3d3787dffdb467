//! Every ```nn block of `docs/language.md` and `docs/guide.md` parses and checks without errors.

#[test]
fn language_reference_examples_check() {
    check_blocks("language.md", 10);
}

#[test]
fn guide_examples_check() {
    check_blocks("guide.md", 8);
}

fn check_blocks(name: &str, at_least: usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs").join(name);
    let text = std::fs::read_to_string(&path).expect("a doc");
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
    assert!(blocks.len() >= at_least, "expected at least {at_least} examples in {name}, found {}", blocks.len());
    for block in &blocks {
        if let Err(diagnostics) = nnspec_lang::check_source(block) {
            panic!("{}\n{block}", nnspec_lang::render(&diagnostics, "docs/language.md", block));
        }
    }
}
