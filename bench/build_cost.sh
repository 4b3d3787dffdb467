#!/usr/bin/env bash
# Build cost of using nnspec: a cold `cargo build --release` of the smallest
# program with a network, the rebuild after touching its `.nn` file, and the
# compile time of a 10-layer 512-wide network against a 2-layer 8-wide one.
# Prints a markdown table; run from anywhere, needs only cargo.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/app/src" "$work/app/specs"
cat > "$work/app/Cargo.toml" <<TOML
[package]
name = "tiny-app"
version = "0.1.0"
edition = "2021"
[dependencies]
nnspec = { path = "$root/runtime" }
[workspace]
TOML
spec() { # layers width
    printf 'network Net {\n    input x: [8];\n'
    for i in $(seq 1 "$1"); do printf '    dense h%s: %s, activation = relu;\n' "$i" "$2"; done
    printf '    dense out: 2;\n    loss softmax_cross_entropy;\n}\n'
}
spec 2 8 > "$work/app/specs/net.nn"
cat > "$work/app/src/main.rs" <<'RS'
nnspec::include_net!("specs/net.nn");
fn main() {
    let net = Net::new();
    println!("{:?}", net.predict(&[0.5; 8]));
}
RS
seconds() {
    local start end ms
    start=$(date +%s%N)
    "$@" >/dev/null 2>"$work/last.log" || { cat "$work/last.log" >&2; exit 1; }
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}
cd "$work/app"
cold=$(seconds cargo build --release)
touch specs/net.nn
touched=$(seconds cargo build --release)
spec 10 512 > specs/net.nn
wide=$(seconds cargo build --release)
spec 2 8 > specs/net.nn
narrow=$(seconds cargo build --release)
echo "| build | seconds |"
echo "|---|---|"
echo "| cold \`cargo build --release\` of a program with a 2-layer network (all dependencies) | $cold |"
echo "| rebuild after touching its \`.nn\` file | $touched |"
echo "| rebuild with a 10-layer 512-wide network | $wide |"
echo "| rebuild with a 2-layer 8-wide network | $narrow |"
