//! Generated passes bind each workspace slot to a name made from its node's
//! (`hidden_z`, `out_grad`): upper-case names, names with dots (a dropout
//! after a layer is `hidden.dropout`) and names the passes use for
//! themselves (`total`, `batch`, `x`) still give distinct bindings, and the
//! passes compute what the interpreter computes from the same plan, to the
//! bit. (Names that differ only in case are refused by the checker, E0207.)

use nnspec::{Interpreter, Model, Workspace};

nnspec::net! {
    network Awkward {
        input features: [3];
        dense Hidden: 4, activation = tanh;
        dropout(0.25);
        dense x: 4, activation = relu;
        dense total(Hidden): 4, activation = sigmoid;
        add batch(x, total);
        dense Out: 2;
        loss mse;
    }
}

#[test]
fn awkward_names_bind_distinct_slots_and_match_the_interpreter() {
    let net = Awkward::with_seed(5);
    let mlp = Interpreter::graph("Awkward", net.nodes().to_vec(), net.loss_kind())
        .and_then(|mlp| mlp.with_params(net.params()))
        .unwrap();
    let x: Vec<f32> = (0..18).map(|i| (i as f32 * 0.61).cos()).collect();
    let y: Vec<f32> = (0..12).map(|i| (i as f32 * 0.23).sin()).collect();
    for training in [false, true] {
        let (mut a, mut b) = (vec![0.0; net.param_count()], vec![0.0; mlp.param_count()]);
        let (mut wa, mut wb) = (Workspace::new(7), Workspace::new(7));
        let la = net.loss_and_grad(&x, &y, Some(&mut a), &mut wa, training);
        let lb = mlp.loss_and_grad(&x, &y, Some(&mut b), &mut wb, training);
        assert_eq!(la.to_bits(), lb.to_bits(), "training = {training}");
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        assert!(a.iter().any(|&g| g != 0.0));
    }
}
