nnspec::include_net!("specs/does-not-exist.nn");

fn main() {}
