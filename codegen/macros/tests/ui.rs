//! `net!` mistakes produce the expected errors on the expected tokens. The
//! `.stderr` files depend on the rustc version: regenerate them with
//! `TRYBUILD=overwrite cargo test -p nnspec-macros --test ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass-xor.rs");
    cases.compile_fail("tests/ui/unknown-activation.rs");
    cases.compile_fail("tests/ui/softmax-with-one-output.rs");
    cases.compile_fail("tests/ui/negative-learning-rate.rs");
    cases.compile_fail("tests/ui/every-error-reported.rs");
    cases.compile_fail("tests/ui/syntax-error.rs");
    cases.compile_fail("tests/ui/include-missing-file.rs");
    cases.compile_fail("tests/ui/include-weights-wrong-shape.rs");
    cases.compile_fail("tests/ui/include-weights-nan.rs");
    cases.compile_fail("tests/ui/warning-lands-on-tokens.rs");
}
