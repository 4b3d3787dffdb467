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

/// A doc line for a layer: its shapes and formula.
pub(super) fn layer_doc(layer: &DenseLayer) -> String {
    let bias = if layer.bias { " + b" } else { "" };
    let dropout = layer.dropout.map_or(String::new(), |p| format!(", then dropout(p = {p}) while training"));
    format!(
        "`{}`: `[{}] → [{}]`, `A = {}(X·W{bias})`{dropout}; `W` is `[{}][{}]` (row i holds the weights leaving input i).",
        layer.name,
        layer.inputs,
        layer.units,
        layer.activation.name(),
        layer.inputs,
        layer.units
    )
}
