//! The batch passes: forward, loss and gradient, and the workspace offsets.

use super::*;

/// The batch forward pass, loss-and-gradient, and the workspace offsets function.
pub(super) fn batch_passes(net: &Network) -> (TokenStream, TokenStream, TokenStream) {
    let (widths, slots, gradients) = plan(net);
    let count = widths.len();
    let offsets_len = usize_lit(count + 1);
    let offset_steps = widths.iter().enumerate().map(|(i, width)| {
        let (i, next, width) = (usize_lit(i), usize_lit(i + 1), usize_lit(*width));
        quote!(o[#next] = o[#i] + batch * #width;)
    });
    let offsets_fn = quote! {
        /// Start of each workspace slot for a batch of `batch` rows; the last entry is the total.
        #[doc(hidden)]
        #[inline(always)]
        fn __offsets(batch: usize) -> [usize; #offsets_len] {
            let mut o = [0usize; #offsets_len];
            #(#offset_steps)*
            o
        }
    };
    let total = usize_lit(count);
    let input = usize_lit(net.input_size);

    // Forward statements shared by both passes; `training` switches dropout on.
    let mut forward = Vec::new();
    let mut dropout_index = 0usize;
    let mut outputs: Vec<TokenStream> = Vec::new();
    for (index, (layer, slot)) in net.layers.iter().zip(&slots).enumerate() {
        let (w_start, w_end) =
            (usize_lit(layer.weight_offset), usize_lit(layer.weight_offset + layer.inputs * layer.units));
        let bias = match layer.bias_offset {
            Some(offset) => {
                let (start, end) = (usize_lit(offset), usize_lit(offset + layer.units));
                quote!(::core::option::Option::Some(&p[#start..#end]))
            }
            None => quote!(::core::option::Option::None),
        };
        let (inputs, units) = (usize_lit(layer.inputs), usize_lit(layer.units));
        let z = range(slot.z);
        let a = range(slot.a);
        let act = activation(layer.activation);
        let dense = if index == 0 {
            quote!(::nnspec::__private_v0_1::dense_forward(x, &p[#w_start..#w_end], #bias, &mut buffer[#z], batch, #inputs, #units);)
        } else {
            let previous_output = &outputs[index - 1];
            quote! {
                {
                    let ([input], z) = ::nnspec::__private_v0_1::view(buffer, #z, [#previous_output]);
                    ::nnspec::__private_v0_1::dense_forward(input, &p[#w_start..#w_end], #bias, z, batch, #inputs, #units);
                }
            }
        };
        forward.push(quote! {
            #dense
            {
                let ([z], a) = ::nnspec::__private_v0_1::view(buffer, #a, [#z]);
                #act.forward(z, a, #units);
            }
        });
        let output = match slot.dropout {
            Some((mask, h, p)) => {
                let (mask, h) = (range(mask), range(h));
                let p = f32_lit(p);
                let keep = f32_lit(1.0 - slot_p(layer));
                let index_lit = usize_lit(dropout_index);
                dropout_index += 1;
                forward.push(quote! {
                    if training {
                        masks.fill(#index_lit, &mut buffer[#mask], #p);
                        let ([a, m], h) = ::nnspec::__private_v0_1::view(buffer, #h, [#a, #mask]);
                        h.copy_from_slice(a);
                        ::nnspec::__private_v0_1::apply_dropout(h, m, #keep);
                    }
                });
                quote!(if training { #h } else { #a })
            }
            None => a.clone(),
        };
        outputs.push(output);
    }

    let last = slots.last().expect("a checked network has a layer");
    let last_layer = net.layers.last().expect("a checked network has a layer");
    let (last_z, last_a) = (range(last.z), range(last.a));
    let last_units = usize_lit(last.units);
    let last_act = activation(last_layer.activation);
    let loss_tokens = loss(net.loss);

    let forward_body = quote! {
        let batch = x.len() / #input;
        let o = Self::__offsets(batch);
        let p = &self.params[..];
        let training = false;
        let (buffer, mut masks) = workspace.buffer(o[#total]);
        #(#forward)*
        out[..batch * #last_units].copy_from_slice(&buffer[#last_a]);
    };

    // Backward, layer by layer from the output.
    let [g0, g1] = gradients;
    let mut backward = Vec::new();
    for index in (0..net.layers.len()).rev() {
        let layer = &net.layers[index];
        let (current, next) = if (net.layers.len() - 1 - index) % 2 == 0 { (g0, g1) } else { (g1, g0) };
        let (w_start, w_end) =
            (usize_lit(layer.weight_offset), usize_lit(layer.weight_offset + layer.inputs * layer.units));
        let (inputs, units) = (usize_lit(layer.inputs), usize_lit(layer.units));
        let current_start = usize_lit(current);
        let next_start = usize_lit(next);
        let dz = quote!(o[#current_start]..o[#current_start] + batch * #units);
        let db = match layer.bias_offset {
            Some(offset) => {
                let (start, end) =
                    (usize_lit(offset - w_end_value(layer)), usize_lit(offset + layer.units - w_end_value(layer)));
                quote!(::core::option::Option::Some(&mut after[#start..#end]))
            }
            None => quote!(::core::option::Option::None),
        };
        let split = quote! {
            let (before, after) = grad.split_at_mut(#w_end);
            let dw = &mut before[#w_start..#w_end];
        };
        if index == 0 {
            backward.push(quote! {
                {
                    #split
                    ::nnspec::__private_v0_1::dense_backward(x, &p[#w_start..#w_end], &buffer[#dz], dw, #db, ::core::option::Option::None, batch, #inputs, #units);
                }
            });
            continue;
        }
        let previous = &slots[index - 1];
        let previous_layer = &net.layers[index - 1];
        let previous_output = &outputs[index - 1];
        let dx = quote!(o[#next_start]..o[#next_start] + batch * #inputs);
        let dropout = match previous.dropout {
            Some((mask, _, _)) => {
                let mask = range(mask);
                let keep = f32_lit(1.0 - slot_p(previous_layer));
                quote! {
                    if training {
                        let ([m], dx) = ::nnspec::__private_v0_1::view(buffer, #dx, [#mask]);
                        ::nnspec::__private_v0_1::apply_dropout(dx, m, #keep);
                    }
                }
            }
            None => quote!(),
        };
        let (pz, pa) = (range(previous.z), range(previous.a));
        let previous_act = activation(previous_layer.activation);
        let previous_units = usize_lit(previous.units);
        backward.push(quote! {
            {
                #split
                let ([input, dz], dx) = ::nnspec::__private_v0_1::view(buffer, #dx, [#previous_output, #dz]);
                ::nnspec::__private_v0_1::dense_backward(input, &p[#w_start..#w_end], dz, dw, #db, ::core::option::Option::Some(dx), batch, #inputs, #units);
            }
            #dropout
            {
                let ([z, a], dx) = ::nnspec::__private_v0_1::view(buffer, #dx, [#pz, #pa]);
                #previous_act.backward(z, a, dx, #previous_units);
            }
        });
    }
    let g0_start = usize_lit(g0);
    let backward_body = quote! {
        let batch = x.len() / #input;
        let o = Self::__offsets(batch);
        let p = &self.params[..];
        let (buffer, mut masks) = workspace.buffer(o[#total]);
        #(#forward)*
        let ::core::option::Option::Some(grad) = grad else {
            let ([z, a], _) = ::nnspec::__private_v0_1::view(buffer, o[#g0_start]..o[#g0_start], [#last_z, #last_a]);
            return #loss_tokens.evaluate(#last_act, z, a, targets, #last_units, ::core::option::Option::None);
        };
        let value = {
            let ([z, a], dz) = ::nnspec::__private_v0_1::view(buffer, o[#g0_start]..o[#g0_start] + batch * #last_units, [#last_z, #last_a]);
            #loss_tokens.evaluate(#last_act, z, a, targets, #last_units, ::core::option::Option::Some(dz))
        };
        #(#backward)*
        value
    };
    (forward_body, backward_body, offsets_fn)
}
