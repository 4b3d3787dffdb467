nnspec::net! {
    /// XOR.
    network Xor {
        input x: [2];
        dense hidden: 2, activation = sigmoid;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 2.0), batch = full, epochs = 10 }
    }
}

fn main() {
    let xor = Xor::new();
    let y = xor.predict(&[1.0, 0.0]);
    assert!(y[0] > 0.0 && y[0] < 1.0);
    assert_eq!(Xor::PARAM_COUNT, 9);
}
