nnspec::net! {
    network Xor {
        input x: [2]
        dense out: 1;
        loss mse;
    }
}

fn main() {}
