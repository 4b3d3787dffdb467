nnspec::net! {
    network Binary {
        input x: [4];
        dense hidden: 8, activation = relu;
        dense out: 1;
        loss softmax_cross_entropy;
    }
}

fn main() {}
