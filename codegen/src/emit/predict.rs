//! `predict`: one sample through stack arrays, no heap and no `std`.
//!
//! It runs the plan's forward steps at a batch of one. Nothing reads a
//! pre-activation after its activation at inference, so each activation runs
//! in place on its layer's array, and dropout (the identity at inference) is
//! left out.

use super::params::{bias, param_range, tensor};
use super::*;
use nnspec_core::plan::{Plan, Source, Step};

/// Rust's keywords, which a node's name may be but an array's may not.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "static",
    "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do",
    "final", "gen", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// The stack arrays of `predict`, named after the nodes whose values they hold.
struct Arrays {
    /// The node whose value each workspace slot holds at inference, if any.
    owners: Vec<Option<String>>,
    used: std::collections::HashSet<String>,
}

impl Arrays {
    fn new(plan: &Plan) -> Arrays {
        let mut owners = vec![None; plan.slots.len()];
        for (node, value) in plan.nodes.iter().zip(&plan.values) {
            if let Some(buf) = value.buf(false) {
                owners[buf.slot].get_or_insert_with(|| node.name.to_string());
            }
        }
        for (node, z) in plan.nodes.iter().zip(&plan.pre_activations) {
            if let Some(z) = z {
                owners[z.slot].get_or_insert_with(|| node.name.to_string());
            }
        }
        let used = ["x", "p", "standardized"].into_iter().map(String::from).collect();
        Arrays { owners, used }
    }

    /// A fresh name for the array of `slot` (`suffix` for a node's second array).
    fn name(&mut self, slot: usize, suffix: &str) -> Ident {
        let base = self.owners.get(slot).cloned().flatten().unwrap_or_else(|| "value".into());
        // Automatic names hold a dot (`h.tanh` for an unnamed activation after `h`).
        let base: String = base.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
        let mut name = format!("{base}{suffix}");
        if KEYWORDS.contains(&name.as_str()) || name == "Self" || name.chars().all(|c| c == '_') {
            name.push('_');
        }
        let mut candidate = name.clone();
        let mut n = 2;
        while !self.used.insert(candidate.clone()) {
            candidate = format!("{name}_{n}");
            n += 1;
        }
        format_ident!("{}", candidate)
    }
}

/// `predict`: straight-line layer calls on stack arrays named after their
/// nodes, parameters through their accessors; with embedded weights trained
/// on standardised inputs, it standardises `x` first.
pub(super) fn predict(plan: &Plan, standardized: bool) -> TokenStream {
    let mut names = Arrays::new(plan);
    let mut statements = Vec::new();
    let input = if standardized {
        let width = usize_lit(plan.input);
        statements.push(quote! {
            let mut standardized = [0.0f32; #width];
            for ((z, x), (mean, std)) in
                standardized.iter_mut().zip(x).zip(Self::INPUT_MEAN.iter().zip(&Self::INPUT_STD))
            {
                *z = (x - mean) / std;
            }
        });
        quote!(standardized)
    } else {
        quote!(x)
    };
    let arrays: Vec<Option<Ident>> = vec![None; plan.slots.len()];
    body(plan, input, &mut names, statements, arrays, 0)
}

/// The streaming form of a network whose first steps are a chain of
/// unidirectional recurrent layers reading the input (each but the last
/// returning its whole sequence, the last its last state, nothing after them
/// reading the input or an earlier one: `nnspec_core::recurrent::streaming_layers`): the length of
/// its state (each layer's `h`, then `c` for an LSTM) and the body of
/// `step(&self, state, x)`, which advances every layer by one time step `x`
/// and runs the rest of the network on the last layer's new state. `None`
/// for any other network.
pub(super) fn streaming(plan: &Plan, standardized: bool) -> Option<(usize, usize, TokenStream)> {
    let geometry = |k: usize| match plan.nodes[k].op {
        nnspec_core::Op::Recurrent(g) => Some(g),
        _ => None,
    };
    let layers = nnspec_core::recurrent::streaming_layers(plan.nodes.len(), |k| &plan.nodes[k].inputs, geometry)?;
    // The layers' forward steps, the plan's first.
    let chain: Vec<_> = plan
        .forward
        .iter()
        .map_while(|step| match step {
            Step::Recurrent { input, params, output, geometry, .. } => {
                Some((*input, params.clone(), *output, *geometry))
            }
            _ => None,
        })
        .collect();
    let (first, last) = (chain.first()?, chain.last()?);
    if standardized || chain.len() != layers.len() || first.0 != Source::Input {
        return None;
    }
    let mut names = Arrays::new(plan);
    names.used.insert("state".into());
    let mut statements = Vec::new();
    let mut offset = 0;
    let mut read = quote!(x);
    for (k, (_, params, _, geometry)) in chain.iter().enumerate() {
        let (p, len) = (param_range(params), nnspec_core::recurrent::state_len(geometry));
        let (start, end) = (usize_lit(offset), usize_lit(offset + len));
        let tokens = recurrent_geometry(geometry);
        let rows = usize_lit(geometry.gates() * geometry.hidden);
        statements.push(quote! {
            ::nnspec::__private_v0_1::recurrent_step_sized::<#rows>(&#read[..], &self.params[#p], &mut state[#start..#end], &#tokens);
        });
        // The next layer reads this one's new h, copied out of the state it updates.
        let hidden = usize_lit(geometry.hidden);
        let h_end = usize_lit(offset + geometry.hidden);
        let copy = format_ident!("layer{k}_h");
        names.used.insert(copy.to_string());
        statements.push(quote! {
            let mut #copy = [0.0f32; #hidden];
            #copy.copy_from_slice(&state[#start..#h_end]);
        });
        read = quote!(#copy);
        offset += len;
    }
    let mut arrays: Vec<Option<Ident>> = vec![None; plan.slots.len()];
    arrays[last.2.slot] = Some(format_ident!("layer{}_h", chain.len() - 1));
    let features = first.3.features;
    Some((offset, features, body(plan, quote!(x), &mut names, statements, arrays, chain.len())))
}

/// The statements of the plan's forward steps from step `from` on, after
/// `statements`, with the slots `arrays` already holds, and the output.
fn body(
    plan: &Plan,
    input: TokenStream,
    names: &mut Arrays,
    mut statements: Vec<TokenStream>,
    mut arrays: Vec<Option<Ident>>,
    from: usize,
) -> TokenStream {
    let read = |arrays: &[Option<Ident>], source: &Source| match source.buf(false) {
        None => input.clone(),
        Some(buf) => {
            let array = arrays[buf.slot].as_ref().expect("the plan writes a slot before reading it");
            quote!(#array)
        }
    };
    let dense_outputs: Vec<usize> = plan
        .forward
        .iter()
        .filter_map(|step| match step {
            Step::Dense { output, .. } => Some(output.slot),
            _ => None,
        })
        .collect();
    // How many nodes read the value each slot holds (at inference).
    let mut readers = vec![0usize; plan.slots.len()];
    for node in &plan.nodes {
        for buf in node.inputs.iter().filter_map(|&i| plan.values[i].buf(false)) {
            readers[buf.slot] += 1;
        }
    }
    for step in &plan.forward[from..] {
        match step {
            Step::Dense { input, weight, bias, output, inputs, outputs } => {
                let array = names.name(output.slot, "");
                let source = read(&arrays, input);
                let (weight, bias) = (tensor(plan, weight), self::bias(plan, bias));
                let (inputs, outputs) = (usize_lit(*inputs), usize_lit(*outputs));
                statements.push(quote! {
                    let mut #array = [0.0f32; #outputs];
                    ::nnspec::__private_v0_1::dense_forward(&#source[..], #weight, #bias, &mut #array, 1usize, #inputs, #outputs);
                });
                arrays[output.slot] = Some(array);
            }
            Step::Recurrent { input, params, output, geometry, .. } => {
                let array = names.name(output.slot, "");
                let source = read(&arrays, input);
                let (p, outputs) = (param_range(params), usize_lit(geometry.output_len()));
                let geometry = recurrent_geometry(geometry);
                // One sample needs no cache: nothing runs backward after `predict`.
                statements.push(quote! {
                    let mut #array = [0.0f32; #outputs];
                    ::nnspec::__private_v0_1::recurrent_forward(&#source[..], &self.params[#p], &mut #array, ::core::option::Option::None, 1usize, &#geometry);
                });
                arrays[output.slot] = Some(array);
            }
            Step::Activation { activation: f, z, a } => {
                let source = arrays[z.slot].clone().expect("the plan writes a slot before reading it");
                let (act, width) = (activation(*f), usize_lit(a.width));
                // A dense layer's pre-activations are read by nothing else: activate them in
                // place. So is another node's output that this activation alone reads
                // (unless the activation is the network's output, which `predict`
                // returns by value): activate it in place under the activation's
                // name, a borrow rather than a copy. Otherwise activate a copy.
                let output = plan.head.is_some_and(|head| head.a.slot == a.slot);
                let array = if dense_outputs.contains(&z.slot) {
                    statements.push(quote!(#act.forward_in_place(&mut #source, #width);));
                    source
                } else if readers[z.slot] <= 1 && !output {
                    let alias = names.name(a.slot, "");
                    statements.push(quote! {
                        let #alias = &mut #source;
                        #act.forward_in_place(#alias, #width);
                    });
                    alias
                } else {
                    let copy = names.name(a.slot, "");
                    statements.push(quote! {
                        let mut #copy = #source;
                        #act.forward_in_place(&mut #copy, #width);
                    });
                    copy
                };
                arrays[a.slot] = Some(array);
            }
            Step::Copy { from, to } => {
                let array = names.name(to.slot, "");
                let (source, width) = (read(&arrays, from), usize_lit(to.width));
                statements.push(quote! {
                    let mut #array = [0.0f32; #width];
                    #array.copy_from_slice(&#source[..]);
                });
                arrays[to.slot] = Some(array);
            }
            Step::Accumulate { from, into } => {
                let source = read(&arrays, from);
                let array = arrays[into.slot].clone().expect("the plan writes a slot before adding to it");
                statements.push(quote!(::nnspec::__private_v0_1::accumulate(&#source[..], &mut #array);));
            }
            Step::PlaceColumns { from, width, to, offset } => {
                let source = read(&arrays, from);
                let array = match &arrays[to.slot] {
                    Some(array) => array.clone(),
                    None => {
                        let array = names.name(to.slot, "");
                        let to_width = usize_lit(to.width);
                        statements.push(quote!(let mut #array = [0.0f32; #to_width];));
                        arrays[to.slot] = Some(array.clone());
                        array
                    }
                };
                let (width, to_width, offset) = (usize_lit(*width), usize_lit(to.width), usize_lit(*offset));
                statements.push(quote! {
                    ::nnspec::__private_v0_1::place_columns(&#source[..], &mut #array, 1usize, #width, #to_width, #offset);
                });
            }
            Step::LayerNorm { input, scale, shift, output, eps, .. } => {
                let (array, xhat, rstd) =
                    (names.name(output.slot, ""), names.name(output.slot, "_xhat"), names.name(output.slot, "_rstd"));
                let source = read(&arrays, input);
                let (scale, shift) = (tensor(plan, scale), tensor(plan, shift));
                let (width, eps) = (usize_lit(output.width), f32_lit(f64::from(*eps)));
                statements.push(quote! {
                    let mut #array = [0.0f32; #width];
                    let mut #xhat = [0.0f32; #width];
                    let mut #rstd = [0.0f32; 1];
                    ::nnspec::__private_v0_1::layer_norm_forward(&#source[..], #scale, #shift, &mut #array, &mut #xhat, &mut #rstd, #width, #eps);
                });
                arrays[output.slot] = Some(array);
            }
            Step::BatchNorm { input, scale, shift, buffers, output, channels, spatial, eps, .. } => {
                let (array, xhat, stats) =
                    (names.name(output.slot, ""), names.name(output.slot, "_xhat"), names.name(output.slot, "_stats"));
                let source = read(&arrays, input);
                let (scale, shift, running) = (tensor(plan, scale), tensor(plan, shift), param_range(buffers));
                let (width, eps) = (usize_lit(output.width), f32_lit(f64::from(*eps)));
                let (stats_len, channels, spatial) =
                    (usize_lit(3 * channels), usize_lit(*channels), usize_lit(*spatial));
                statements.push(quote! {
                    let mut #array = [0.0f32; #width];
                    let mut #xhat = [0.0f32; #width];
                    let mut #stats = [0.0f32; #stats_len];
                    ::nnspec::__private_v0_1::batch_norm_forward(&#source[..], #scale, #shift, &self.buffers[#running], &mut #array, &mut #xhat, &mut #stats, 1usize, #channels, #spatial, #eps, false);
                });
                arrays[output.slot] = Some(array);
            }
            Step::Standardize { input, buffers, output, width } => {
                let array = names.name(output.slot, "");
                let source = read(&arrays, input);
                let (statistics, width) = (param_range(buffers), usize_lit(*width));
                statements.push(quote! {
                    let mut #array = [0.0f32; #width];
                    ::nnspec::__private_v0_1::standardize(&#source[..], &self.buffers[#statistics], &mut #array, #width);
                });
                arrays[output.slot] = Some(array);
            }
            Step::Conv { input, weight, bias, output, geometry } => {
                let array = names.name(output.slot, "");
                let source = read(&arrays, input);
                let (weight, bias) = (tensor(plan, weight), self::bias(plan, bias));
                let (width, geometry) = (usize_lit(output.width), conv_geometry_of(plan, geometry));
                statements.push(quote! {
                    let mut #array = [0.0f32; #width];
                    ::nnspec::__private_v0_1::conv_forward(&#source[..], #weight, #bias, &mut #array, 1usize, &#geometry);
                });
                arrays[output.slot] = Some(array);
            }
            Step::Pool { input, output, geometry, .. } => {
                let array = names.name(output.slot, "");
                let source = read(&arrays, input);
                let (width, geometry) = (usize_lit(output.width), pool_geometry_of(plan, geometry));
                statements.push(quote! {
                    let mut #array = [0.0f32; #width];
                    ::nnspec::__private_v0_1::pool_forward(&#source[..], &mut #array, ::core::option::Option::None, 1usize, &#geometry);
                });
                arrays[output.slot] = Some(array);
            }
            Step::Dropout { .. }
            | Step::ConvBackward { .. }
            | Step::RecurrentBackward { .. }
            | Step::PoolBackward { .. }
            | Step::LayerNormBackward { .. }
            | Step::BatchNormBackward { .. }
            | Step::TakeColumns { .. }
            | Step::DenseBackward { .. }
            | Step::DropoutBackward { .. }
            | Step::ActivationBackward { .. } => {}
        }
    }
    let output = plan.head.map_or(input.clone(), |head| read(&arrays, &Source::Buf(head.a)));
    quote! {
        #(#statements)*
        #output
    }
}
