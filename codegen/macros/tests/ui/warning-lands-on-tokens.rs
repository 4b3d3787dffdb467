// Warnings of net! are deprecation warnings on the offending tokens; denying
// `deprecated` turns them into errors so this test can show where they land.
#![deny(deprecated)]

nnspec::net! {
    network Zeros {
        input x: [2];
        dense hidden: 4, activation = tanh, init = zeros;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
    }
}

fn main() {}
