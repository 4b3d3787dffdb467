nnspec::net! {
    network Many {
        input x: [3];
        dense hidden: 4, activation = tnah, init = zero;
        dense out: 0, activation = sigmoid;
        loss sse_hlf;
    }
}

fn main() {
    // The stub type keeps this from adding a "cannot find type" error.
    let _ = Many;
}
