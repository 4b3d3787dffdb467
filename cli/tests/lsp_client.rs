//! The language server driven by a real client: `tests/lsp/test_lsp.py`
//! under pytest with `pytest-lsp`, from `NNSPEC_PYTHON` (`.ci/run`'s virtual
//! environment). Run with `cargo test -p nnspec-cli --features lsp-client-tests
//! --test lsp_client`.

use std::path::Path;

#[test]
fn a_real_client_drives_the_language_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("NNSPEC_PYTHON").unwrap_or_else(|| root.join(".venv/bin/python").into_os_string());
    let output = std::process::Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/lsp/test_lsp.py"])
        .env("NNSPEC_BIN", env!("CARGO_BIN_EXE_nnspec"))
        .env("NNSPEC_ROOT", &root)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python:?} ({e}): set NNSPEC_PYTHON to a Python with pytest-lsp"));
    let log = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    println!("{log}");
    assert!(output.status.success(), "the language server tests failed:\n{log}");
    assert!(log.contains(" passed"), "pytest ran no test:\n{log}");
}
