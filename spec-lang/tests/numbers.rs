//! Sizes written with an exponent: a whole number is that integer (`1e2` units
//! is 100), a fraction stays an error that shows the number.

#[test]
fn a_whole_number_with_an_exponent_is_a_size() {
    let spec =
        "network N {\n    input x: [2];\n    dense h: 1e2, activation = relu;\n    dense out: 1;\n    loss mse;\n}\n";
    let checked = nnspec_lang::check_source(spec).expect("1e2 units check");
    assert_eq!(checked.program.networks[0].nodes[1].width, 100);
    let fraction = spec.replace("1e2", "2.5");
    let errors = nnspec_lang::check_source(&fraction).unwrap_err();
    assert!(errors.iter().any(|d| d.message.contains("must be a whole number, found 2.5")), "{errors:?}");
}
