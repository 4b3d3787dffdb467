//! `{Network}Int8`: integer-only inference from an int8 weight file, each
//! node of the quantised network one call of its kernel in
//! `nnspec_core::quant` with its tensors as `static` arrays (flash on a
//! microcontroller) and its values as stack arrays named after the node.
//! The calls, in order, are those `QNetwork::run` makes, so generated code and
//! the runtime's int8 interpreter agree to the bit.

use super::*;
use nnspec_core::quant::{Finish, QKind, QNetwork, Requant};
use nnspec_core::recurrent::state_len;

fn i32_lit(value: i32) -> Literal {
    Literal::i32_suffixed(value)
}

fn requants(requant: &[Requant]) -> TokenStream {
    let items = requant.iter().map(|r| {
        let (m, s) = (i32_lit(r.multiplier), i32_lit(r.shift));
        quote!(::nnspec::__private_v0_1::int8::Requant { multiplier: #m, shift: #s })
    });
    quote!([#(#items),*])
}

fn output(zero_point: i32, min: i32, max: i32) -> TokenStream {
    let (z, lo, hi) = (i32_lit(zero_point), i32_lit(min), i32_lit(max));
    quote!(::nnspec::__private_v0_1::int8::Output { zero_point: #z, min: #lo, max: #hi })
}

fn array<T: Copy>(values: &[T], lit: impl Fn(T) -> Literal) -> TokenStream {
    let items = values.iter().map(|&v| lit(v));
    quote!([#(#items),*])
}

/// The struct, its consts and its methods for the int8 network `q` of `net`.
pub(super) fn int8(net: &Network, q: &QNetwork, display: &str) -> TokenStream {
    let name = format_ident!("{}Int8", net.name);
    let (input, out) = (usize_lit(q.input_size()), usize_lit(q.output_size()));
    let value = |k: usize| format_ident!("v_{}", q.nodes[k].name.replace('.', "_"));
    let int8 = quote!(::nnspec::__private_v0_1::int8);
    let mut body = Vec::new();
    // Every node's tensors, as `static` items beside the struct: one copy in
    // flash, read by `predict_q` and `step_q` alike.
    let mut statics: Vec<TokenStream> = Vec::new();
    // `step_q`'s statements for the recurrent layers, and where each one's state starts.
    let (mut stepped, mut state_offset): (Vec<TokenStream>, usize) = (Vec::new(), 0);
    for (k, node) in q.nodes.iter().enumerate() {
        let v = value(k);
        let width = usize_lit(node.width);
        let source = node.inputs.first().map(|&i| value(i));
        let zero_of = |i: usize| i32_lit(q.nodes[i].params.zero_point);
        let constant = |suffix: &str| {
            format_ident!("{}_INT8_{}_{}", net.name.to_uppercase(), node.name.replace('.', "_").to_uppercase(), suffix)
        };
        let step = match &node.kind {
            QKind::Input => quote!(let #v: [i8; #width] = *x;),
            QKind::Copy => quote!(let #v: [i8; #width] = #source;),
            QKind::Dense { weight, bias, requant, output: o, table: lookup, .. } => {
                let (w, b, r) = (constant("WEIGHT"), constant("BIAS"), constant("REQUANT"));
                let (wl, bl, rl) = (usize_lit(weight.len()), usize_lit(bias.len()), usize_lit(requant.len()));
                let (wv, bv, rv) = (array(weight, Literal::i8_suffixed), array(bias, i32_lit), requants(requant));
                let store = output(o.zero_point, o.min, o.max);
                let table = lookup.as_ref().map(|(_, entries)| {
                    let t = constant("TABLE");
                    let tv = array(entries, Literal::i8_suffixed);
                    statics.push(quote!(static #t: [i8; 256] = #tv;));
                    quote! {
                        let pre = #v;
                        #int8::table(&pre, &#t, &mut #v);
                    }
                });
                statics.push(quote! {
                    static #w: [i8; #wl] = #wv;
                    static #b: [i32; #bl] = #bv;
                    static #r: [#int8::Requant; #rl] = #rv;
                });
                quote! {
                    let mut #v = [0i8; #width];
                    #int8::dense(&#source, &#w, &#b, &#r, #store, &mut #v);
                    #table
                }
            }
            QKind::Conv { geometry, weight, bias, requant, output: o, .. } => {
                let (w, b, r) = (constant("WEIGHT"), constant("BIAS"), constant("REQUANT"));
                let (wl, bl, rl) = (usize_lit(weight.len()), usize_lit(bias.len()), usize_lit(requant.len()));
                let (wv, bv, rv) = (array(weight, Literal::i8_suffixed), array(bias, i32_lit), requants(requant));
                let store = output(o.zero_point, o.min, o.max);
                let zero = zero_of(node.inputs[0]);
                let g = conv_geometry(geometry);
                let plane = usize_lit(geometry.out_h * geometry.out_w);
                statics.push(quote! {
                    static #w: [i8; #wl] = #wv;
                    static #b: [i32; #bl] = #bv;
                    static #r: [#int8::Requant; #rl] = #rv;
                });
                quote! {
                    let mut #v = [0i8; #width];
                    let mut acc = [0i32; #plane];
                    #int8::conv(&#source, &#w, &#b, &#r, #zero, #store, &#g, &mut acc, &mut #v);
                }
            }
            QKind::Pool(geometry) => {
                let g = pool_geometry(geometry);
                quote! {
                    let mut #v = [0i8; #width];
                    #int8::pool(&#source, &mut #v, &#g);
                }
            }
            QKind::GlobalAvgPool => quote! {
                let mut #v = [0i8; #width];
                #int8::global_avg_pool(&#source, &mut #v);
            },
            QKind::Table(entries) => {
                let t = constant("TABLE");
                let tv = array(entries, Literal::i8_suffixed);
                statics.push(quote!(static #t: [i8; 256] = #tv;));
                quote! {
                    let mut #v = [0i8; #width];
                    #int8::table(&#source, &#t, &mut #v);
                }
            }
            QKind::Relu => {
                let zero = zero_of(node.inputs[0]);
                quote! {
                    let mut #v = [0i8; #width];
                    #int8::relu(&#source, #zero, &mut #v);
                }
            }
            QKind::Add { inputs, output: o } => {
                let adds = inputs.iter().enumerate().map(|(i, r)| {
                    let (from, zero) = (value(node.inputs[i]), zero_of(node.inputs[i]));
                    let r = requants(std::slice::from_ref(r));
                    quote!(#int8::add_into(&#from, #zero, #r[0], &mut acc);)
                });
                let r = requants(std::slice::from_ref(o));
                let store = output(node.params.zero_point, -128, 127);
                quote! {
                    let mut acc = [0i32; #width];
                    #(#adds)*
                    let mut #v = [0i8; #width];
                    #int8::add_store(&acc, #r[0], #store, &mut #v);
                }
            }
            QKind::Concat(requant) => {
                let store = output(node.params.zero_point, -128, 127);
                let mut start = 0;
                let parts: Vec<TokenStream> = requant
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let from = value(node.inputs[i]);
                        let (zero, end) = (zero_of(node.inputs[i]), start + q.nodes[node.inputs[i]].width);
                        let (s, e) = (usize_lit(start), usize_lit(end));
                        start = end;
                        let r = requants(std::slice::from_ref(r));
                        quote!(#int8::rescale(&#from, #zero, #r[0], #store, &mut #v[#s..#e]);)
                    })
                    .collect();
                quote! {
                    let mut #v = [0i8; #width];
                    #(#parts)*
                }
            }
            QKind::Recurrent(layer) => {
                let g = recurrent_geometry(&layer.geometry);
                let (wi, wh, bi, bh, ri, rh) = (
                    constant("WEIGHT_IH"),
                    constant("WEIGHT_HH"),
                    constant("BIAS_IH"),
                    constant("BIAS_HH"),
                    constant("REQUANT_IH"),
                    constant("REQUANT_HH"),
                );
                let (wil, whl, rows) = (
                    usize_lit(layer.weight_ih.len()),
                    usize_lit(layer.weight_hh.len()),
                    usize_lit(layer.bias_ih.len()),
                );
                let (wiv, whv) =
                    (array(&layer.weight_ih, Literal::i8_suffixed), array(&layer.weight_hh, Literal::i8_suffixed));
                let (biv, bhv) = (array(&layer.bias_ih, i32_lit), array(&layer.bias_hh, i32_lit));
                let (riv, rhv) = (requants(&layer.requant_ih), requants(&layer.requant_hh));
                let out = requants(std::slice::from_ref(&layer.output));
                let cell_bits = Literal::u32_suffixed(layer.cell_bits);
                let sizes = &layer.geometry;
                let (gate_rows, features) = (usize_lit(sizes.gates() * sizes.hidden), usize_lit(sizes.features));
                let store = output(node.params.zero_point, -128, 127);
                statics.push(quote! {
                    static #wi: [i8; #wil] = #wiv;
                    static #wh: [i8; #whl] = #whv;
                    static #bi: [i32; #rows] = #biv;
                    static #bh: [i32; #rows] = #bhv;
                    static #ri: [#int8::Requant; #rows] = #riv;
                    static #rh: [#int8::Requant; #rows] = #rhv;
                });
                let layer = quote! {
                    let layer = #int8::QRecurrent {
                        geometry: #g,
                        weight_ih: &#wi,
                        weight_hh: &#wh,
                        bias_ih: &#bi,
                        bias_hh: &#bh,
                        requant_ih: &#ri,
                        requant_hh: &#rh,
                        cell_bits: #cell_bits,
                        output: #out[0],
                    };
                };
                // The same layer one time step at a time, for `step_q`.
                let (start, end) = (usize_lit(state_offset), usize_lit(state_offset + state_len(sizes)));
                let hidden = usize_lit(sizes.hidden);
                let read = if node.inputs[0] == 0 {
                    quote!(x)
                } else {
                    let previous = value(node.inputs[0]);
                    quote!(#previous)
                };
                stepped.push(quote! {
                    #layer
                    let mut #v = [0i8; #hidden];
                    #int8::recurrent_step_sized::<#gate_rows>(&#read[..], &layer, &mut state[#start..#end], #store, &mut #v);
                });
                state_offset += state_len(sizes);
                quote! {
                    #layer
                    let mut #v = [0i8; #width];
                    #int8::recurrent_sized::<#gate_rows, #features>(&#source, &layer, #store, &mut #v);
                }
            }
            QKind::Affine { requant, offset, output: o } => {
                let r = constant("REQUANT");
                let (rl, ol) = (usize_lit(requant.len()), usize_lit(offset.len()));
                let (rv, ov) = (requants(requant), array(offset, i32_lit));
                let zero = zero_of(node.inputs[0]);
                let store = output(o.zero_point, o.min, o.max);
                let o = constant("OFFSET");
                statics.push(quote! {
                    static #r: [#int8::Requant; #rl] = #rv;
                    static #o: [i32; #ol] = #ov;
                });
                quote! {
                    let mut #v = [0i8; #width];
                    #int8::affine(&#source, #zero, &#r, &#o, #store, &mut #v);
                }
            }
        };
        body.push(step);
    }
    let last = value(q.nodes.len() - 1);
    let input_params = q.input_params();
    let output_params = q.output_params();
    let (in_scale, in_zero) = (f32_lit(f64::from(input_params.scale)), i32_lit(input_params.zero_point));
    let out_zero = i32_lit(output_params.zero_point);
    let out_scales = q.output_scales().into_iter().map(|s| f32_lit(f64::from(s)));
    // One scale for every output (`OUTPUT_SCALE`), unless the network is quantised per output.
    let uniform = q.nodes.last().is_none_or(|n| n.unit_scales.is_empty()).then(|| {
        let out_scale = f32_lit(f64::from(output_params.scale));
        quote! {
            /// The output's quantisation: `y ≈ OUTPUT_SCALE · (q − OUTPUT_ZERO_POINT)`.
            pub const OUTPUT_SCALE: f32 = #out_scale;
        }
    });
    let standardize = q.input_standardization.as_ref().map(|(mean, std)| {
        let mean = mean.iter().map(|&m| f32_lit(f64::from(m)));
        let std = std.iter().map(|&s| f32_lit(f64::from(s)));
        quote! {
            const MEAN: [f32; #input] = [#(#mean),*];
            const STD: [f32; #input] = [#(#std),*];
            let x = ::core::array::from_fn::<f32, #input, _>(|i| (x[i] - MEAN[i]) / STD[i]);
        }
    });
    let finish = match q.finish {
        Finish::None => None,
        Finish::Softmax => Some(quote!(#int8::softmax_row_in_place(&mut y);)),
        Finish::LogSoftmax => Some(quote!(#int8::log_softmax_row_in_place(&mut y);)),
    };
    let doc = format!(
        " `{}` in integers only, from the int8 weight file `{display}` (embedded at compile time): int8 values, i32 accumulators, fixed-point requantisation; {} bytes of weights, tables and requantisation constants.",
        net.name,
        q.weight_bytes()
    );
    let finish_doc = match q.finish {
        Finish::None => " The dequantised output of [`Self::predict_q`].",
        Finish::Softmax => " The dequantised logits of [`Self::predict_q`], through softmax.",
        Finish::LogSoftmax => " The dequantised logits of [`Self::predict_q`], through log-softmax.",
    };
    let standardized_doc = if q.input_standardization.is_some() {
        " A raw sample, standardised as in training and quantised (the standardisation is part of the input's quantisation)."
    } else {
        " A sample quantised as the network's input."
    };
    // Streaming, where the network streams: the recurrent layers one step at a
    // time on the state, then the nodes after them as `predict_q` runs them.
    let streaming = q.streaming_layers().map(|layers| {
        let last = *layers.last().unwrap_or(&0);
        let rest = &body[last + 1..];
        let result = value(q.nodes.len() - 1);
        let len = usize_lit(q.state_len());
        let features = usize_lit(match &q.nodes[layers[0]].kind {
            QKind::Recurrent(layer) => layer.geometry.features,
            _ => 0,
        });
        let steps = &stepped[..layers.len()];
        quote! {
            /// Values of the state [`Self::step_q`] carries from one time step to the
            /// next: each recurrent layer's Q0.15 `h`, then its cell state for an LSTM.
            pub const STATE_LEN: usize = #len;

            /// The state before the first time step: zeros, as in training.
            pub const fn initial_state() -> [i16; #len] {
                [0i16; #len]
            }

            /// Streaming integer inference: advances every recurrent layer by one
            /// quantised time step `x` and returns the network's int8 outputs on the
            /// new state. Fed a sequence step by step from [`Self::initial_state`],
            /// the outputs after the last step are [`Self::predict_q`]'s on the
            /// whole sequence, to the bit. Integers and stack memory only.
            pub fn step_q(&self, state: &mut [i16; #len], x: &[i8; #features]) -> [i8; #out] {
                #(#steps)*
                #(#rest)*
                #result
            }

            /// [`Self::step_q`] on one f32 time step: quantised with the input's
            /// quantisation, the outputs dequantised (and finished as `predict`'s).
            pub fn step(&self, state: &mut [i16; #len], x: &[f32; #features]) -> [f32; #out] {
                let x = ::core::array::from_fn(|i| #int8::quantize_value(x[i], Self::INPUT_SCALE, Self::INPUT_ZERO_POINT));
                let q = self.step_q(state, &x);
                #[allow(unused_mut)]
                let mut y = ::core::array::from_fn(|i| #int8::dequantize_value(q[i], Self::OUTPUT_SCALES[i], Self::OUTPUT_ZERO_POINT));
                #finish
                y
            }
        }
    });
    let predict_q = avx2_dispatched(
        quote!(#[doc = " The network on a quantised sample, in integer arithmetic only."]),
        "predict_q",
        quote!([i8; #input]),
        quote!([i8; #out]),
        quote! {
            #(#body)*
            #last
        },
    );
    quote! {
        #(#statics)*

        #[doc = #doc]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct #name;

        impl #name {
            /// Input features per sample.
            pub const INPUT: usize = #input;
            /// Outputs per sample.
            pub const OUTPUT: usize = #out;
            /// The input's quantisation: `x ≈ INPUT_SCALE · (q − INPUT_ZERO_POINT)`.
            pub const INPUT_SCALE: f32 = #in_scale;
            /// The int8 value of a real 0 input.
            pub const INPUT_ZERO_POINT: i32 = #in_zero;
            #uniform
            /// Each output's scale: `y[i] ≈ OUTPUT_SCALES[i] · (q[i] − OUTPUT_ZERO_POINT)`.
            pub const OUTPUT_SCALES: [f32; #out] = [#(#out_scales),*];
            /// The int8 value of a real 0 output.
            pub const OUTPUT_ZERO_POINT: i32 = #out_zero;

            #predict_q

            #streaming

            /// The class a classifier gives a quantised sample: the first largest output, in integers.
            pub fn class_q(&self, x: &[i8; #input]) -> usize {
                #int8::argmax(&self.predict_q(x))
            }

            #[doc = #standardized_doc]
            pub fn quantize_input(x: &[f32; #input]) -> [i8; #input] {
                #standardize
                ::core::array::from_fn(|i| #int8::quantize_value(x[i], Self::INPUT_SCALE, Self::INPUT_ZERO_POINT))
            }

            #[doc = #finish_doc]
            pub fn predict(&self, x: &[f32; #input]) -> [f32; #out] {
                let q = self.predict_q(&Self::quantize_input(x));
                #[allow(unused_mut)]
                let mut y = ::core::array::from_fn(|i| #int8::dequantize_value(q[i], Self::OUTPUT_SCALES[i], Self::OUTPUT_ZERO_POINT));
                #finish
                y
            }
        }
    }
}
