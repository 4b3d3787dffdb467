//! Literals and names: sizes, f32 and f64 values, const names, layer docs.

use super::*;

pub(super) fn usize_lit(n: usize) -> Literal {
    Literal::usize_suffixed(n)
}

pub(super) fn f32_lit(value: f64) -> TokenStream {
    let value = value as f32;
    if value.is_finite() {
        let lit = Literal::f32_suffixed(value);
        quote!(#lit)
    } else if value > 0.0 {
        quote!(f32::INFINITY)
    } else {
        quote!(f32::NEG_INFINITY)
    }
}

pub(super) fn f64_lit(value: f64) -> TokenStream {
    let lit = Literal::f64_suffixed(value);
    quote!(#lit)
}

pub(super) fn const_name(layer: &str, suffix: &str) -> Ident {
    format_ident!("{}_{}", layer.to_uppercase(), suffix)
}

/// A doc line for a node: its shapes and formula.
pub(super) fn node_doc(net: &Network, node: &Node) -> String {
    let reads = |i: &usize| format!("`{}`", net.nodes[*i].name);
    let inputs: Vec<String> = node.inputs.iter().map(reads).collect();
    match node.op {
        Op::Input => format!("`{}`: input, `[{}]`.", node.name, node.width),
        Op::Dense { activation, bias } => {
            let (units, width) = (node.width, net.nodes[node.inputs[0]].width);
            let bias = if bias { " + b" } else { "" };
            format!(
                "`{}`: `[{width}] → [{units}]` from {}, `A = {}(X·W{bias})`; `W` is `[{width}][{units}]` (row i holds the weights leaving input i).",
                node.name,
                inputs.join(""),
                activation.name(),
            )
        }
        Op::Dropout(p) => format!("`{}`: dropout(p = {p}) on {} while training.", node.name, inputs.join("")),
        Op::Add => format!("`{}`: the sum of {}, `[{}]`.", node.name, inputs.join(", "), node.width),
        Op::Concat => format!("`{}`: {} side by side, `[{}]`.", node.name, inputs.join(", "), node.width),
        Op::Activation(f) => format!("`{}`: {} of {}.", node.name, f.name(), inputs.join("")),
        Op::Conv { geometry: g, bias, .. } => format!(
            "`{}`: {} of {} into {} channels, kernel {:?}, stride {:?}, padding {:?}, dilation {:?}, groups {}{}, `{:?}`.",
            node.name,
            node.op.name(),
            inputs.join(""),
            g.out_channels,
            g.kernel,
            g.stride,
            g.padding,
            g.dilation,
            g.groups,
            if bias { ", with bias" } else { "" },
            node.shape
        ),
        Op::Pool { geometry: g, .. } => format!(
            "`{}`: {} of {}, window {:?}, stride {:?}, `{:?}`.",
            node.name,
            node.op.name(),
            inputs.join(""),
            g.kernel,
            g.stride,
            node.shape
        ),
        Op::GlobalAvgPool(_) => format!("`{}`: the mean of each channel of {}, `[{}]`.", node.name, inputs.join(""), node.width),
        Op::Flatten => format!("`{}`: {} flattened, `[{}]`.", node.name, inputs.join(""), node.width),
        Op::Recurrent(g) => format!(
            "`{}`: {}{} of {} ({} steps of {}) into {} units, {}, `[{}]`.",
            node.name,
            if g.bidirectional { "bidirectional " } else { "" },
            node.op.name(),
            inputs.join(""),
            g.steps,
            g.features,
            g.hidden,
            if g.sequence { "every step's state" } else { "the last state" },
            node.width
        ),
        Op::LayerNorm { eps } => {
            format!("`{}`: layer normalisation of {} (eps = {eps}), `[{}]`.", node.name, inputs.join(""), node.width)
        }
        Op::Standardize => format!(
            "`{}`: {} standardised feature by feature with the training data's statistics, `[{}]`.",
            node.name,
            inputs.join(""),
            node.width
        ),
        Op::BatchNorm { channels, eps, momentum } => format!(
            "`{}`: batch normalisation of {} over {channels} channels (eps = {eps}, momentum = {momentum}), `{:?}`.",
            node.name,
            inputs.join(""),
            node.shape
        ),
    }
}

/// Method `name(&self, x: &INPUT) -> OUTPUT` (public, with `attributes`) that
/// runs an AVX2 build of `body` where the processor has AVX2 and the portable
/// build elsewhere: one body, compiled twice. The builds give the same results:
/// Rust never fuses a multiply and an add on its own, and the kernels sum in
/// source order.
pub(super) fn avx2_dispatched(
    attributes: TokenStream,
    name: &str,
    input: TokenStream,
    output: TokenStream,
    body: TokenStream,
) -> TokenStream {
    let (public, portable, avx2) = (format_ident!("{name}"), format_ident!("__{name}"), format_ident!("__{name}_avx2"));
    let (portable_doc, avx2_doc) =
        (format!(" `{name}`'s body, the same for every instruction set."), format!(" `{name}` compiled for AVX2."));
    quote! {
        #attributes
        pub fn #public(&self, x: &#input) -> #output {
            #[cfg(target_arch = "x86_64")]
            {
                if ::nnspec::__private_v0_1::has_avx2() {
                    // SAFETY: the processor has AVX2, checked at run time.
                    return unsafe { self.#avx2(x) };
                }
            }
            self.#portable(x)
        }

        #[doc = #portable_doc]
        #[doc(hidden)]
        #[inline(always)]
        #[allow(clippy::identity_op, clippy::erasing_op)]
        fn #portable(&self, x: &#input) -> #output {
            #body
        }

        #[doc = #avx2_doc]
        #[cfg(target_arch = "x86_64")]
        #[doc(hidden)]
        #[target_feature(enable = "avx2")]
        unsafe fn #avx2(&self, x: &#input) -> #output {
            self.#portable(x)
        }
    }
}
