nnspec::net! {
    network Net {
        input x: [2];
        dense out: 1;
        loss mse;
        train { optimizer = sgd(lr = -0.5) }
    }
}

fn main() {}
