//! The batch passes, emitted from the network's [`Plan`]: one kernel call per
//! step with literal sizes, in the plan's order (the interpreter, `nnspec::Interpreter`,
//! runs the same steps), on workspace slots named after the values they hold.

use super::fixed::fixed_size;
use super::params::{bias as bias_slice, named_range, offset, param_range, tensor};
use super::*;
use nnspec_core::plan::{Buf, Plan, Source, Step};

/// The plan being emitted, with the name each workspace slot is bound to and
/// which of them the body being emitted reads or writes.
pub(super) struct Slots<'p> {
    plan: &'p Plan,
    idents: Vec<Ident>,
    used: core::cell::RefCell<Vec<bool>>,
    /// Whether the steps being emitted are inference's (`Model::forward`):
    /// no dropout, batch norm on its running statistics, no pool indices.
    inference: core::cell::Cell<bool>,
}

impl core::ops::Deref for Slots<'_> {
    type Target = Plan;

    fn deref(&self) -> &Plan {
        self.plan
    }
}

impl<'p> Slots<'p> {
    /// The plan's slots named after what they hold (`hidden_z`, `out_grad`):
    /// snake case, unique (a repeated name takes its slot number).
    pub(super) fn new(plan: &'p Plan) -> Slots<'p> {
        let mut seen = std::collections::HashSet::new();
        let idents = plan
            .slot_names
            .iter()
            .enumerate()
            .map(|(slot, name)| {
                let mut ident: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                    .collect();
                if !seen.insert(ident.clone()) {
                    ident = format!("{ident}_{slot}");
                    seen.insert(ident.clone());
                }
                format_ident!("{ident}")
            })
            .collect();
        Slots {
            plan,
            idents,
            used: core::cell::RefCell::new(vec![false; plan.slots.len()]),
            inference: core::cell::Cell::new(false),
        }
    }

    /// The slot's name, marked used by the body being emitted.
    fn ident(&self, slot: usize) -> &Ident {
        self.used.borrow_mut()[slot] = true;
        &self.idents[slot]
    }

    /// `let ([hidden_z, hidden_a, _, …], total) = Slot::layout(batch, [widths…]);`
    /// for the slots used since the last call (the others bound to `_`).
    fn layout(&self, rows: &TokenStream) -> TokenStream {
        let used = core::mem::replace(&mut *self.used.borrow_mut(), vec![false; self.plan.slots.len()]);
        let names = self.idents.iter().zip(used).map(|(ident, used)| if used { quote!(#ident) } else { quote!(_) });
        let widths = self.plan.slots.iter().map(|w| usize_lit(*w));
        quote! {
            let ([#(#names),*], total) = ::nnspec::__private_v0_1::Slot::layout(#rows, [#(#widths),*]);
        }
    }
}

/// The batch passes of a network.
pub(super) struct BatchPasses {
    /// The body of `Model::forward`.
    pub(super) forward: TokenStream,
    /// The body of `Model::loss_and_grad`.
    pub(super) loss_and_grad: TokenStream,
    /// Inherent methods: the fixed-size training pass, when there is one.
    pub(super) methods: TokenStream,
    /// `Model::descend`, when the network has one.
    pub(super) descend: TokenStream,
}

/// The bodies of `Model::forward` and `Model::loss_and_grad`: each binds the
/// workspace slots it uses to their names for the batch at hand, then makes
/// one kernel call per plan step. With `rows` (a spec that trains on the
/// whole data set, `batch = full`, and states its size, `samples = N`), the
/// training pass is emitted a second time, as `__fixed_pass` for a batch of
/// `N`, where every loop bound is a constant the compiler can unroll on; a
/// small network without dropout or batch normalisation also gets a
/// `Model::descend` that runs every epoch of plain gradient descent on it.
pub(super) fn batch_passes(plan: &Plan, rows: Option<usize>) -> BatchPasses {
    let slots = Slots::new(plan);
    let input = usize_lit(plan.input);
    let head = plan.head.expect("a checked network has a layer");
    let width = usize_lit(head.z.width);
    let act = activation(head.activation);
    let loss_tokens = loss(plan.loss);

    // Inference: the same steps with what only training needs left out.
    slots.inference.set(true);
    let forward: Vec<TokenStream> = plan.forward.iter().map(|s| step(&slots, s)).collect();
    let a = range(&slots, head.a);
    slots.inference.set(false);
    let forward_slots = slots.layout(&quote!(batch));
    let forward_body = quote! {
        let batch = x.len() / #input;
        #forward_slots
        let (buffer, _) = workspace.buffer(total);
        #(#forward)*
        out[..batch * #width].copy_from_slice(&buffer[#a]);
    };

    let forward: Vec<TokenStream> = plan.forward.iter().map(|s| step(&slots, s)).collect();
    let (z, a, dz) = (range(&slots, head.z), range(&slots, head.a), range(&slots, head.grad));
    let backward: Vec<TokenStream> = plan.backward.iter().map(|s| step(&slots, s)).collect();
    let training_slots = slots.layout(&quote!(batch));
    // The pass over `buffer` (and `masks`), bound by `binding`.
    let pass_over = |binding: TokenStream| {
        quote! {
            #training_slots
            #binding
            #(#forward)*
        let ::core::option::Option::Some(grad) = grad else {
            return #loss_tokens.evaluate(#act, &buffer[#z], &buffer[#a], targets, #width, ::core::option::Option::None);
        };
        let value = {
            let ([z, a], dz) = ::nnspec::__private_v0_1::view(buffer, #dz, [#z, #a]);
            #loss_tokens.evaluate(#act, z, a, targets, #width, ::core::option::Option::Some(dz))
            };
            #(#backward)*
            value
        }
    };
    let backward_pass = pass_over(quote!(let (buffer, mut masks) = workspace.buffer(total);));
    let general = quote! {
        let batch = x.len() / #input;
        #backward_pass
    };
    let Some(rows) = rows else {
        return BatchPasses { forward: forward_body, loss_and_grad: general, methods: quote!(), descend: quote!() };
    };
    fixed_size(plan, rows, forward_body, &pass_over, backward_pass, general)
}

/// The body of `Model::adapt`: each standardisation without statistics takes them from `x`.
pub(super) fn adapt(plan: &Plan) -> TokenStream {
    plan.forward
        .iter()
        .filter_map(|step| match step {
            Step::Standardize { buffers, width, .. } => {
                let (statistics, count, width) =
                    (param_range(buffers), usize_lit(buffers.start + 2 * width), usize_lit(*width));
                Some(quote! {
                    if self.buffers[#count] == 0.0 {
                        ::nnspec::__private_v0_1::standardize_fit(x, &mut self.buffers[#statistics], rows, #width);
                    }
                })
            }
            _ => None,
        })
        .collect()
}

/// The body of `Model::update_buffers`: each batch normalisation folds the
/// statistics its training-mode forward step kept into its running ones.
pub(super) fn update_buffers(plan: &Plan) -> TokenStream {
    let slots = Slots::new(plan);
    let updates: Vec<TokenStream> = plan
        .forward
        .iter()
        .filter_map(|step| match step {
            Step::BatchNorm { buffers, stats, channels, spatial, momentum, .. } => {
                let (running, stats) = (param_range(buffers), slots.ident(stats.slot));
                let (len, channels, spatial) = (usize_lit(3 * channels), usize_lit(*channels), usize_lit(*spatial));
                let momentum = f32_lit(f64::from(*momentum));
                Some(quote! {
                    ::nnspec::__private_v0_1::batch_norm_update(&mut self.buffers[#running], &scratch[#stats.first(#len)], #channels, rows * #spatial, #momentum);
                })
            }
            _ => None,
        })
        .collect();
    if updates.is_empty() {
        return quote!();
    }
    let layout = slots.layout(&quote!(rows));
    quote! {
        #layout
        let (scratch, _) = workspace.buffer(total);
        #(#updates)*
    }
}

/// The rows of `buf` for the current batch: its slot's name, or the first
/// rows' worth of it when it is narrower than its slot.
fn range(plan: &Slots<'_>, buf: Buf) -> TokenStream {
    let slot = plan.ident(buf.slot);
    if plan.slots[buf.slot] == buf.width {
        quote!(#slot)
    } else {
        let width = usize_lit(buf.width);
        quote!(#slot.first(batch * #width))
    }
}

/// The rows of consecutive slots `first..=last`, written by one kernel.
fn span(plan: &Slots<'_>, first: usize, last: usize) -> TokenStream {
    if first == last {
        let slot = plan.ident(first);
        return quote!(#slot);
    }
    let (first, last) = (plan.ident(first), plan.ident(last));
    quote!(#first.through(#last))
}

/// The workspace range a source reads (not for the input).
fn source_range(plan: &Slots<'_>, source: Source) -> TokenStream {
    match source {
        Source::Input => unreachable!("the input is not in the workspace"),
        Source::Buf(buf) => range(plan, buf),
        Source::Dropout { inference, .. } if plan.inference.get() => range(plan, inference),
        Source::Dropout { training, inference } => {
            let (training, inference) = (range(plan, training), range(plan, inference));
            quote!(if training { #training } else { #inference })
        }
    }
}

/// What a step reads: the pass's input `x`, or a workspace range.
fn read(plan: &Slots<'_>, source: Source) -> Option<TokenStream> {
    match source {
        Source::Input => None,
        source => Some(source_range(plan, source)),
    }
}

/// Binds a step's reads (each `name` to the pass's input or a workspace
/// range) and the range it writes (`written`, if any): one `view` of the
/// workspace, the input by name. The one place the emitter tells the input
/// from the workspace.
fn bind(reads: &[(&str, Option<TokenStream>)], written: Option<(&str, TokenStream)>) -> TokenStream {
    let private = quote!(::nnspec::__private_v0_1);
    let (mut names, mut ranges, mut inputs) = (Vec::new(), Vec::new(), Vec::new());
    for (name, range) in reads {
        let name = format_ident!("{name}");
        match range {
            Some(range) => {
                names.push(name);
                ranges.push(range.clone());
            }
            None if name == "x" => {}
            None => inputs.push(quote!(let #name = x;)),
        }
    }
    let workspace = match written {
        Some((out, range)) if names.is_empty() => {
            let out = format_ident!("{out}");
            quote!(let #out = &mut buffer[#range];)
        }
        Some((out, range)) => {
            let out = format_ident!("{out}");
            quote!(let ([#(#names),*], #out) = #private::view(buffer, #range, [#(#ranges),*]);)
        }
        None => quote!(#(let #names = &buffer[#ranges];)*),
    };
    quote!(#workspace #(#inputs)*)
}

/// Where a backward step writes its input's gradient, if it has one to
/// write: the range bound to `dx` and the kernel's `dx` argument.
fn input_gradient(plan: &Slots<'_>, dx: Option<Buf>) -> (Option<(&'static str, TokenStream)>, TokenStream) {
    match dx {
        Some(dx) => (Some(("dx", range(plan, dx))), quote!(::core::option::Option::Some(dx))),
        None => (None, quote!(::core::option::Option::None)),
    }
}

/// The bias's gradient in `after`, the gradient buffer past the weights.
fn bias_gradient(bias: &Option<core::ops::Range<usize>>, weight: &core::ops::Range<usize>) -> TokenStream {
    match bias {
        Some(b) => {
            let (start, end) = (usize_lit(b.start - weight.end), usize_lit(b.end - weight.end));
            quote!(::core::option::Option::Some(&mut after[#start..#end]))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// One plan step as one kernel call.
fn step(plan: &Slots<'_>, step: &Step) -> TokenStream {
    let private = quote!(::nnspec::__private_v0_1);
    match step {
        Step::Dense { input, weight, bias, output, inputs, outputs } => {
            let w = tensor(plan, weight);
            let bias = bias_slice(plan, bias);
            let (inputs, outputs, z) = (usize_lit(*inputs), usize_lit(*outputs), range(plan, *output));
            let bind = bind(&[("input", read(plan, *input))], Some(("z", z)));
            quote! {
                {
                    #bind
                    #private::dense_forward(input, #w, #bias, z, batch, #inputs, #outputs);
                }
            }
        }
        Step::Activation { activation: f, z, a } => {
            let (act, width, z, a) = (activation(*f), usize_lit(a.width), range(plan, *z), range(plan, *a));
            quote! {
                {
                    let ([z], a) = #private::view(buffer, #a, [#z]);
                    #act.forward(z, a, #width);
                }
            }
        }
        Step::Dropout { .. } if plan.inference.get() => TokenStream::new(),
        Step::Dropout { index, input, mask, output, p, keep } => {
            let (index, p, keep) = (usize_lit(*index), f32_lit(f64::from(*p)), f32_lit(f64::from(*keep)));
            let (a, mask, h) = (range(plan, *input), range(plan, *mask), range(plan, *output));
            quote! {
                if training {
                    masks.fill(#index, &mut buffer[#mask], #p);
                    let ([a, m], h) = #private::view(buffer, #h, [#a, #mask]);
                    h.copy_from_slice(a);
                    #private::apply_dropout(h, m, #keep);
                }
            }
        }
        Step::DenseBackward { input, weight, bias, dz, dx, inputs, outputs } => {
            let (w, w_start, w_end) = (tensor(plan, weight), offset(plan, weight.start), offset(plan, weight.end));
            let db = bias_gradient(bias, weight);
            let (inputs, outputs, dz) = (usize_lit(*inputs), usize_lit(*outputs), range(plan, *dz));
            let reads = [("input", read(plan, *input)), ("dz", Some(dz))];
            let (written, dx) = input_gradient(plan, *dx);
            let bind = bind(&reads, written);
            let call = quote! {
                #bind
                #private::dense_backward(input, #w, dz, dw, #db, #dx, batch, #inputs, #outputs);
            };
            quote! {
                {
                    let (before, after) = grad.split_at_mut(#w_end);
                    let dw = &mut before[#w_start..#w_end];
                    #call
                }
            }
        }
        Step::Conv { input, weight, bias, output, geometry } => {
            let w = tensor(plan, weight);
            let bias = bias_slice(plan, bias);
            let (z, geometry) = (range(plan, *output), conv_geometry_of(plan, geometry));
            let bind = bind(&[("input", read(plan, *input))], Some(("z", z)));
            quote! {
                {
                    #bind
                    #private::conv_forward(input, #w, #bias, z, batch, &#geometry);
                }
            }
        }
        Step::ConvBackward { input, weight, bias, dz, dx, geometry } => {
            let (w, w_start, w_end) = (tensor(plan, weight), offset(plan, weight.start), offset(plan, weight.end));
            let db = bias_gradient(bias, weight);
            let (dz, geometry) = (range(plan, *dz), conv_geometry_of(plan, geometry));
            let reads = [("input", read(plan, *input)), ("dz", Some(dz))];
            let (written, dx) = input_gradient(plan, *dx);
            let bind = bind(&reads, written);
            let call = quote! {
                #bind
                #private::conv_backward(input, #w, dz, dw, #db, #dx, batch, &#geometry);
            };
            quote! {
                {
                    let (before, after) = grad.split_at_mut(#w_end);
                    let dw = &mut before[#w_start..#w_end];
                    #call
                }
            }
        }
        Step::Recurrent { input, params, output, cache, geometry } => {
            let output_len = usize_lit(geometry.output_len());
            let (p, geometry) = (named_range(plan, params), recurrent_geometry(geometry));
            // The output and the cache lie one after the other in the workspace.
            let written = span(plan, output.slot, cache.slot);
            let call = quote! {
                let (y, kept) = written.split_at_mut(batch * #output_len);
                #private::recurrent_forward(x, &self.params[#p], y, ::core::option::Option::Some(kept), batch, &#geometry);
            };
            let bind = bind(&[("x", read(plan, *input))], Some(("written", written)));
            quote! {
                {
                    #bind
                    #call
                }
            }
        }
        Step::RecurrentBackward { input, params, cache, dout, dx, geometry } => {
            let (p, geometry) = (named_range(plan, params), recurrent_geometry(geometry));
            let (kept, dout) = (range(plan, *cache), range(plan, *dout));
            let w = quote!(&self.params[#p]);
            let reads = [("input", read(plan, *input)), ("kept", Some(kept)), ("dout", Some(dout))];
            let (written, dx) = input_gradient(plan, *dx);
            let bind = bind(&reads, written);
            let call = quote! {
                #bind
                #private::recurrent_backward(input, #w, kept, dout, dw, #dx, batch, &#geometry);
            };
            quote! {
                {
                    let dw = &mut grad[#p];
                    #call
                }
            }
        }
        Step::Pool { input, output, argmax, geometry } => {
            // Inference reads no argmax: the pool writes none.
            let argmax = argmax.filter(|_| !plan.inference.get());
            let output_len = usize_lit(geometry.output_len());
            let geometry = pool_geometry_of(plan, geometry);
            let written = span(plan, output.slot, argmax.map_or(output.slot, |a| a.slot));
            let split = match argmax {
                Some(_) => quote! {
                    let (y, indices) = written.split_at_mut(batch * #output_len);
                    let indices = ::core::option::Option::Some(indices);
                },
                None => quote! {
                    let (y, indices) = (written, ::core::option::Option::None);
                },
            };
            let bind = bind(&[("x", read(plan, *input))], Some(("written", written)));
            quote! {
                {
                    #bind
                    #split
                    #private::pool_forward(x, y, indices, batch, &#geometry);
                }
            }
        }
        Step::PoolBackward { grad, argmax, dx, geometry } => {
            let geometry = pool_geometry_of(plan, geometry);
            let (g, dx) = (range(plan, *grad), range(plan, *dx));
            let indices = match argmax {
                Some(a) => range(plan, *a),
                None => quote!(#g.first(0)),
            };
            quote! {
                {
                    let ([g, indices], dx) = #private::view(buffer, #dx, [#g, #indices]);
                    #private::pool_backward(g, indices, dx, batch, &#geometry);
                }
            }
        }
        Step::LayerNorm { input, scale, shift, output, xhat, rstd, eps } => {
            debug_assert!(xhat.slot == output.slot + 1 && rstd.slot == output.slot + 2, "consecutive slots");
            let (scale, shift, width, eps) =
                (tensor(plan, scale), tensor(plan, shift), usize_lit(output.width), f32_lit(f64::from(*eps)));
            let written = span(plan, output.slot, rstd.slot);
            let read = bind(&[("x", read(plan, *input))], Some(("written", written)));
            quote! {
                {
                    #read
                    let (y, rest) = written.split_at_mut(batch * #width);
                    let (xhat, rstd) = rest.split_at_mut(batch * #width);
                    #private::layer_norm_forward(x, #scale, #shift, y, xhat, rstd, #width, #eps);
                }
            }
        }
        Step::LayerNormBackward { grad, scale, shift, xhat, rstd, dx } => {
            let (scale_range, shift_start, shift_len) =
                (named_range(plan, scale), offset(plan, shift.start), usize_lit(shift.len()));
            let gamma = tensor(plan, scale);
            let width = usize_lit(grad.width);
            let (g, xh, r) = (range(plan, *grad), range(plan, *xhat), range(plan, *rstd));
            let call = match dx {
                Some(dx) => {
                    let dx = range(plan, *dx);
                    quote! {
                        let ([g, xh, r], dx) = #private::view(buffer, #dx, [#g, #xh, #r]);
                        #private::layer_norm_backward(g, #gamma, xh, r, dgamma, dbeta, ::core::option::Option::Some(dx), #width);
                    }
                }
                None => quote! {
                    #private::layer_norm_backward(&buffer[#g], #gamma, &buffer[#xh], &buffer[#r], dgamma, dbeta, ::core::option::Option::None, #width);
                },
            };
            quote! {
                {
                    let (before, after) = grad.split_at_mut(#shift_start);
                    let (dgamma, dbeta) = (&mut before[#scale_range], &mut after[..#shift_len]);
                    #call
                }
            }
        }
        Step::BatchNorm { input, scale, shift, buffers, output, xhat, stats, channels, spatial, eps, .. } => {
            debug_assert!(xhat.slot == output.slot + 1 && stats.slot == output.slot + 2, "consecutive slots");
            let (scale, shift, running) = (tensor(plan, scale), tensor(plan, shift), param_range(buffers));
            let (width, eps) = (usize_lit(output.width), f32_lit(f64::from(*eps)));
            let (channels, spatial) = (usize_lit(*channels), usize_lit(*spatial));
            let written = span(plan, output.slot, stats.slot);
            let training = if plan.inference.get() { quote!(false) } else { quote!(training) };
            let read = bind(&[("x", read(plan, *input))], Some(("written", written)));
            quote! {
                {
                    #read
                    let (y, rest) = written.split_at_mut(batch * #width);
                    let (xhat, stats) = rest.split_at_mut(batch * #width);
                    #private::batch_norm_forward(x, #scale, #shift, &self.buffers[#running], y, xhat, stats, batch, #channels, #spatial, #eps, #training);
                }
            }
        }
        Step::BatchNormBackward { grad, scale, shift, xhat, stats, dx, channels, spatial } => {
            let (scale_range, shift_start, shift_len) =
                (named_range(plan, scale), offset(plan, shift.start), usize_lit(shift.len()));
            let gamma = tensor(plan, scale);
            let (channels, spatial) = (usize_lit(*channels), usize_lit(*spatial));
            let (g, xh, st) = (range(plan, *grad), range(plan, *xhat), range(plan, *stats));
            let call = match dx {
                Some(dx) => {
                    let dx = range(plan, *dx);
                    quote! {
                        let ([g, xh, st], dx) = #private::view(buffer, #dx, [#g, #xh, #st]);
                        #private::batch_norm_backward(g, #gamma, xh, st, dgamma, dbeta, ::core::option::Option::Some(dx), #channels, #spatial, training);
                    }
                }
                None => quote! {
                    #private::batch_norm_backward(&buffer[#g], #gamma, &buffer[#xh], &buffer[#st], dgamma, dbeta, ::core::option::Option::None, #channels, #spatial, training);
                },
            };
            quote! {
                {
                    let (before, after) = grad.split_at_mut(#shift_start);
                    let (dgamma, dbeta) = (&mut before[#scale_range], &mut after[..#shift_len]);
                    #call
                }
            }
        }
        Step::Standardize { input, buffers, output, width } => {
            let (statistics, width, y) = (param_range(buffers), usize_lit(*width), range(plan, *output));
            let bind = bind(&[("x", read(plan, *input))], Some(("y", y)));
            quote! {
                {
                    #bind
                    #private::standardize(x, &self.buffers[#statistics], y, #width);
                }
            }
        }
        Step::Copy { from, to } => {
            let to = range(plan, *to);
            let bind = bind(&[("from", read(plan, *from))], Some(("to", to)));
            quote! {
                {
                    #bind
                    to.copy_from_slice(from);
                }
            }
        }
        Step::Accumulate { from, into } => {
            let into = range(plan, *into);
            let bind = bind(&[("from", read(plan, *from))], Some(("into", into)));
            quote! {
                {
                    #bind
                    #private::accumulate(from, into);
                }
            }
        }
        Step::PlaceColumns { from, width, to, offset } => {
            let (width, to_width, offset, to) =
                (usize_lit(*width), usize_lit(to.width), usize_lit(*offset), range(plan, *to));
            let bind = bind(&[("from", read(plan, *from))], Some(("to", to)));
            quote! {
                {
                    #bind
                    #private::place_columns(from, to, batch, #width, #to_width, #offset);
                }
            }
        }
        Step::TakeColumns { from, to, offset, accumulate } => {
            let (width, from_width, offset) = (usize_lit(to.width), usize_lit(from.width), usize_lit(*offset));
            let (from, to) = (range(plan, *from), range(plan, *to));
            quote! {
                {
                    let ([from], to) = #private::view(buffer, #to, [#from]);
                    #private::take_columns(from, to, batch, #width, #from_width, #offset, #accumulate);
                }
            }
        }
        Step::DropoutBackward { mask, grad, keep } => {
            let (mask, grad, keep) = (range(plan, *mask), range(plan, *grad), f32_lit(f64::from(*keep)));
            quote! {
                if training {
                    let ([m], dx) = #private::view(buffer, #grad, [#mask]);
                    #private::apply_dropout(dx, m, #keep);
                }
            }
        }
        Step::ActivationBackward { activation: f, z, a, grad } => {
            let act = activation(*f);
            let width = usize_lit(grad.width);
            let (z, a, grad) = (range(plan, *z), range(plan, *a), range(plan, *grad));
            quote! {
                {
                    let ([z, a], dx) = #private::view(buffer, #grad, [#z, #a]);
                    #act.backward(z, a, dx, #width);
                }
            }
        }
    }
}
