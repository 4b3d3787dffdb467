//! A spec with `batch = full` and `samples = N` gets a training pass
//! specialised for N rows: it computes what the general pass computes, to the
//! bit, and any other batch takes the general pass.

use nnspec::{Model, Workspace};

nnspec::net! {
    network Sized {
        input x: [3];
        dense hidden: 4, activation = sigmoid;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    network Unsized {
        input x: [3];
        dense hidden: 4, activation = sigmoid;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10 }
    }
}

#[test]
fn the_specialised_pass_computes_what_the_general_one_does() {
    let sized = Sized::with_seed(3);
    let unsized_net = Unsized::from_params(sized.params()).unwrap();
    let x: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
    let y = [0.0, 1.0, 1.0, 0.0, 1.0];
    for rows in [4, 3, 5] {
        let (mut a, mut b) = (vec![0.0; Sized::PARAM_COUNT], vec![0.0; Unsized::PARAM_COUNT]);
        let (x, y) = (&x[..rows * 3], &y[..rows]);
        let la = sized.loss_and_grad(x, y, Some(&mut a), &mut Workspace::default(), true);
        let lb = unsized_net.loss_and_grad(x, y, Some(&mut b), &mut Workspace::default(), true);
        assert_eq!(la.to_bits(), lb.to_bits(), "{rows} rows");
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
