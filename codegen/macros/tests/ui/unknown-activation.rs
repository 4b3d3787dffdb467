nnspec::net! {
    network Planar {
        input x: [2];
        dense hidden: 4, activation = tnah;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
    }
}

fn main() {}
