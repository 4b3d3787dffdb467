//! Specs whose names collide with what generated Rust names itself or with
//! Rust's keywords (`tests/data/hostile_names.nn`) compile through
//! `include_net!`, and the generated networks compute what the interpreter
//! computes, bit for bit, in the batch passes and in `predict`.

mod common;

use nnspec::{Model, Workspace};

nnspec::include_net!("tests/data/hostile_names.nn");

const SPEC: &str = include_str!("data/hostile_names.nn");

#[test]
fn hostile_names_compile_and_match_the_interpreter() {
    let program = nnspec_lang::check_source(SPEC).expect("the spec checks").program;
    let models: Vec<Box<dyn Model>> =
        vec![Box::new(Unnamed::with_seed(2)), Box::new(UnnamedConv::with_seed(2)), Box::new(Keywords::with_seed(2))];
    for mut model in models {
        let net = program.network(model.name()).expect("the spec defines it");
        let mut interpreter = nnspec_cli::convert::network(net);
        interpreter.init_params(2);
        assert_eq!(interpreter.params(), model.params(), "{}: the same initial parameters", model.name());
        let rows = 5;
        let x: Vec<f32> = (0..rows * model.input_size()).map(|i| ((i * 13 % 11) as f32 - 5.0) / 4.0).collect();
        let y = common::targets(model.as_ref(), rows);
        model.adapt(&x, rows);
        interpreter.adapt(&x, rows);
        let (mut a, mut b) = (vec![0.0; rows * model.output_size()], vec![0.0; rows * model.output_size()]);
        model.forward(&x, &mut a, &mut Workspace::default());
        interpreter.forward(&x, &mut b, &mut Workspace::default());
        assert_eq!(a, b, "{}: forward", model.name());
        let (mut ga, mut gb) = (vec![0.0; model.param_count()], vec![0.0; model.param_count()]);
        let la = model.loss_and_grad(&x, &y, Some(&mut ga), &mut Workspace::new(5), true);
        let lb = interpreter.loss_and_grad(&x, &y, Some(&mut gb), &mut Workspace::new(5), true);
        assert_eq!(la.to_bits(), lb.to_bits(), "{}: loss", model.name());
        assert_eq!(ga, gb, "{}: gradient", model.name());
    }
    // `predict` on one raw row is the batch forward pass on it.
    let mut model = Keywords::with_seed(3);
    let x: Vec<f32> = (0..4 * Keywords::INPUT).map(|i| (i % 7) as f32 - 3.0).collect();
    model.adapt(&x, 4);
    let row: [f32; Keywords::INPUT] = x[..Keywords::INPUT].try_into().unwrap();
    let mut out = [0.0; Keywords::OUTPUT];
    model.forward(&row, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&row), out);
    let model = Unnamed::with_seed(3);
    let row = [0.5, -1.0, 2.0, 0.25];
    let mut out = [0.0; Unnamed::OUTPUT];
    model.forward(&row, &mut out, &mut Workspace::default());
    assert_eq!(model.predict(&row), out);
}
