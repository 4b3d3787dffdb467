#!/usr/bin/env bash
# Build cost of using nnspec: a cold `cargo build --release` of the smallest
# program with a network, the rebuild after touching its `.nn` file, the
# compile time of a 10-layer 512-wide network against a 2-layer 8-wide one,
# and for CNNs of 22 and 42 nodes and the gestures GRU the rebuild after
# editing the spec, the lines of generated code (`nnspec emit`) and both per
# node. Prints markdown tables; run from anywhere, needs only cargo.
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
cnn() { # blocks of conv2d, batch_norm, relu (a max pool after every fourth)
    printf 'network Net {\n    input x: [3, 32, 32];\n'
    for i in $(seq 1 "$1"); do
        printf '    conv2d c%s: 8, kernel = 3, padding = 1;\n    batch_norm b%s;\n    relu r%s;\n' "$i" "$i" "$i"
        if [ $((i % 4)) -eq 0 ]; then printf '    max_pool2d p%s, kernel = 2;\n' "$i"; fi
    done
    printf '    global_avg_pool g;\n    dense out: 10;\n    loss softmax_cross_entropy;\n}\n'
}
nodes() { # statements that are nodes (the input's included)
    grep -cE '^ +(input|dense|conv[12]d|batch_norm|layer_norm|relu|tanh|sigmoid|gelu|max_pool[12]d|avg_pool[12]d|global_avg_pool|gru|lstm|flatten|dropout|add|concat|standardize) ' "$1"
}
spec 2 8 > "$work/app/specs/net.nn"
cat > "$work/app/src/main.rs" <<'RS'
nnspec::include_net!("specs/net.nn");
fn main() {
    let net = Net::new();
    println!("{:?}", net.predict(&[0.5; Net::INPUT]));
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
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p nnspec-cli
nnspec="$root/target/release/nnspec"
rows=""
for case in cnn6 cnn12 gestures; do
    case $case in
        cnn6) cnn 6 > specs/net.nn; label="CNN, 6 conv/bn/relu blocks" ;;
        cnn12) cnn 12 > specs/net.nn; label="CNN, 12 conv/bn/relu blocks" ;;
        gestures) sed 's/network Gestures/network Net/' "$root/examples/specs/gestures.nn" > specs/net.nn; label="GRU (examples/specs/gestures.nn)" ;;
    esac
    n=$(nodes specs/net.nn)
    lines=$("$nnspec" emit specs/net.nn | wc -l)
    edit=$(seconds cargo build --release)
    per_node=$(awk -v s="$edit" -v n="$n" 'BEGIN { printf "%.3f", s / n }')
    rows="$rows| $label | $n | $lines | $((lines / n)) | $edit | $per_node |\n"
done
spec 2 8 > specs/net.nn
echo "| build | seconds |"
echo "|---|---|"
echo "| cold \`cargo build --release\` of a program with a 2-layer network (all dependencies) | $cold |"
echo "| rebuild after touching its \`.nn\` file | $touched |"
echo "| rebuild with a 10-layer 512-wide network | $wide |"
echo "| rebuild with a 2-layer 8-wide network | $narrow |"
echo
echo "| network | nodes | generated lines | lines per node | rebuild after the edit (s) | seconds per node |"
echo "|---|---|---|---|---|---|"
printf "%b" "$rows"
