//! `predict`: one sample through stack arrays, no heap and no `std`.

use super::*;

/// `predict`: straight-line layer calls on stack arrays; with embedded weights
/// trained on standardised inputs, it standardises `x` first.
pub(super) fn predict(net: &Network, standardized: bool) -> TokenStream {
    let mut statements = Vec::new();
    let mut previous = quote!(x);
    if standardized {
        let input = usize_lit(net.input_size);
        statements.push(quote! {
            let mut standardized = [0.0f32; #input];
            for ((z, x), (mean, std)) in
                standardized.iter_mut().zip(x).zip(Self::INPUT_MEAN.iter().zip(&Self::INPUT_STD))
            {
                *z = (x - mean) / std;
            }
        });
        previous = quote!(standardized);
    }
    let mut previous_width = net.input_size;
    for (index, layer) in net.layers.iter().enumerate() {
        let var = format_ident!("a{}", index + 1);
        let units = usize_lit(layer.units);
        let inputs = usize_lit(previous_width);
        let (w_start, w_end) =
            (usize_lit(layer.weight_offset), usize_lit(layer.weight_offset + layer.inputs * layer.units));
        let bias = match layer.bias_offset {
            Some(offset) => {
                let (start, end) = (usize_lit(offset), usize_lit(offset + layer.units));
                quote!(::core::option::Option::Some(&p[#start..#end]))
            }
            None => quote!(::core::option::Option::None),
        };
        let act = activation(layer.activation);
        statements.push(quote! {
            let mut #var = [0.0f32; #units];
            ::nnspec::__private_v0_1::dense_forward(&#previous[..], &p[#w_start..#w_end], #bias, &mut #var, 1usize, #inputs, #units);
            #act.forward_in_place(&mut #var, #units);
        });
        previous = quote!(#var);
        previous_width = layer.units;
    }
    quote! {
        let p = &self.params[..];
        #(#statements)*
        #previous
    }
}
