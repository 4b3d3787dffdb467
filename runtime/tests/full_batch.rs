//! A spec with `batch = full` and `samples = N` gets a training pass
//! specialised for N rows: it computes what the general pass computes, to the
//! bit, and any other batch takes the general pass. A small one keeps its
//! values on the stack (dropout masks still come from the workspace); one
//! with batch normalisation keeps them in the workspace, where
//! `update_buffers` reads its statistics.

use nnspec::{Model, Workspace};

nnspec::net! {
    network Sized {
        input x: [3];
        dense hidden: 4, activation = sigmoid;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    #[allow(overparameterized)]
    network SizedDropout {
        input x: [3];
        dense hidden: 8, activation = relu;
        dropout(0.5) d;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    network UnsizedDropout {
        input x: [3];
        dense hidden: 8, activation = relu;
        dropout(0.5) d;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10 }
    }

    #[allow(batch_norm_single_row, overparameterized)]
    network SizedNormed {
        input x: [3];
        dense hidden: 4;
        batch_norm bn;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10, samples = 4 }
    }

    #[allow(batch_norm_single_row)]
    network UnsizedNormed {
        input x: [3];
        dense hidden: 4;
        batch_norm bn;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 1.0), batch = full, epochs = 10 }
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

/// Bit for bit as above with dropout (the same masks from equally seeded
/// workspaces) and with batch normalisation (the running statistics updated
/// from what the pass left in the workspace).
#[test]
fn the_specialised_pass_keeps_dropout_masks_and_batch_statistics() {
    let x: Vec<f32> = (0..15).map(|i| (i as f32 * 0.37).sin()).collect();
    let y = [0.0, 1.0, 1.0, 0.0, 1.0];
    let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let sized = SizedDropout::with_seed(3);
    let unsized_net = UnsizedDropout::from_params(sized.params()).unwrap();
    for rows in [4, 3] {
        let (mut a, mut b) = (vec![0.0; SizedDropout::PARAM_COUNT], vec![0.0; UnsizedDropout::PARAM_COUNT]);
        let (x, y) = (&x[..rows * 3], &y[..rows]);
        let la = sized.loss_and_grad(x, y, Some(&mut a), &mut Workspace::new(7), true);
        let lb = unsized_net.loss_and_grad(x, y, Some(&mut b), &mut Workspace::new(7), true);
        assert_eq!(la.to_bits(), lb.to_bits(), "{rows} rows");
        assert_eq!(bits(&a), bits(&b));
    }
    let mut sized = SizedNormed::with_seed(3);
    let mut unsized_net = UnsizedNormed::from_params(sized.params()).unwrap();
    let (mut a, mut b) = (vec![0.0; SizedNormed::PARAM_COUNT], vec![0.0; UnsizedNormed::PARAM_COUNT]);
    let (mut wa, mut wb) = (Workspace::default(), Workspace::default());
    let la = sized.loss_and_grad(&x[..12], &y[..4], Some(&mut a), &mut wa, true);
    let lb = unsized_net.loss_and_grad(&x[..12], &y[..4], Some(&mut b), &mut wb, true);
    sized.update_buffers(&mut wa, 4);
    unsized_net.update_buffers(&mut wb, 4);
    assert_eq!((la.to_bits(), bits(&a)), (lb.to_bits(), bits(&b)));
    assert_eq!(bits(sized.buffers()), bits(unsized_net.buffers()));
    assert!(sized.buffers().iter().any(|&v| v != 0.0 && v != 1.0), "the running statistics moved");
}
