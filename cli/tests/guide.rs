//! The command lines and run configurations of `docs/guide.md` work as written:
//! every `nnspec …` line of its ```sh blocks runs from the repository root and
//! succeeds, and every ```toml run configuration trains.

use std::path::Path;
use std::process::Command;

fn blocks<'a>(text: &'a str, language: &str) -> Vec<&'a str> {
    text.split(&format!("```{language}\n")).skip(1).filter_map(|b| b.split("```").next()).collect()
}

#[test]
fn guide_commands_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let guide = std::fs::read_to_string(root.join("docs/guide.md")).unwrap();
    std::fs::create_dir_all(root.join("target/guide")).unwrap();
    let mut ran = 0;
    for line in blocks(&guide, "sh").iter().flat_map(|b| b.lines()).filter(|l| l.starts_with("nnspec ")) {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let output = Command::new(env!("CARGO_BIN_EXE_nnspec")).args(&args).current_dir(&root).output().unwrap();
        assert!(output.status.success(), "`{line}` failed:\n{}", String::from_utf8_lossy(&output.stderr));
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} commands found");
    for block in blocks(&guide, "toml") {
        block.parse::<toml::Table>().unwrap_or_else(|e| panic!("not TOML: {e}\n{block}"));
    }
    for (i, config) in blocks(&guide, "toml").iter().filter(|b| b.starts_with("spec =")).enumerate() {
        let path = root.join(format!("target/guide-{i}.toml"));
        std::fs::write(&path, config.replace("epochs = 2000", "epochs = 20")).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_nnspec"))
            .args(["train", "--config", &path.display().to_string(), "--quiet"])
            .current_dir(&root)
            .output()
            .unwrap();
        assert!(output.status.success(), "config {i} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
}
