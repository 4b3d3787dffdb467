// A weights file holding NaN and infinity.
nnspec::include_net!(
    "../../../../codegen/macros/tests/ui/planar.nn",
    weights = "../../../../codegen/macros/tests/ui/planar-nan.safetensors"
);

fn main() {}
