// A weights file whose `hidden.weight` has another shape than the spec's.
nnspec::include_net!(
    "../../../../codegen/macros/tests/ui/planar.nn",
    weights = "../../../../codegen/macros/tests/ui/planar-wrong-shape.safetensors"
);

fn main() {}
