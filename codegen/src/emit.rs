//! Stage 5: typed IR → Rust tokens, one function per generated item.
//!
//! For each network: a struct owning its parameters in one flat buffer, its
//! consts (sizes, per-tensor offsets, the layout), `predict` on one sample with
//! stack arrays only, batch forward and loss-and-gradient on a reusable
//! workspace, the `::nnspec::Model` impl, and constructors. Every size is a
//! literal, so the runtime's `#[inline(always)]` kernels specialise for it; the
//! amount of code grows with the number of layers, never with their width.
//!
//! Workspace layout for a batch of `B` rows (the same as the runtime's `Mlp`,
//! so the two agree to the bit): per layer `z`, `a`, and for a hidden layer with
//! dropout `mask`, `h`; then two gradient buffers of `B × widest`.

use nnspec_lang::ir::{self, Activation, BatchSize, DenseLayer, Init, Loss, Network, Optimizer, Schedule};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

/// Parameter buffers up to this many elements are inline arrays (no heap, `no_std`-friendly);
/// larger ones are boxed slices so that constructing a network never overflows the stack.
pub const INLINE_PARAMS_MAX: usize = 16 * 1024;

/// The code for every network of a checked program.
pub fn generate(program: &ir::Program) -> TokenStream {
    generate_with(program, None)
}

/// Like [`generate`], with trained weights embedded into one network (its `trained()`).
pub fn generate_with(program: &ir::Program, embedded: Option<&crate::weights::Embedded>) -> TokenStream {
    program.networks.iter().map(|net| network(net, embedded.filter(|e| e.network == net.name))).collect()
}

/// `trained()`: the parameters decoded from an embedded weights file.
fn trained(net: &Network, embedded: &crate::weights::Embedded) -> TokenStream {
    let path = &embedded.path;
    let decodes = embedded.tensors.iter().map(|(offset, len, start)| {
        let (offset, end, start) = (usize_lit(*offset), usize_lit(offset + len), usize_lit(*start));
        quote!(::nnspec::__private::decode_f32_le(BYTES, #start, &mut network.params[#offset..#end]);)
    });
    let doc = format!(" `{}` with the trained weights of `{}`, embedded at compile time (checked then against the spec's names, shapes and dtype).", net.name, embedded.display);
    quote! {
        #[doc = #doc]
        pub fn trained() -> Self {
            const BYTES: &[u8] = ::core::include_bytes!(#path);
            let mut network = Self::zeroed();
            #(#decodes)*
            network
        }
    }
}

fn usize_lit(n: usize) -> Literal {
    Literal::usize_suffixed(n)
}

fn f32_lit(value: f64) -> TokenStream {
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

fn f64_lit(value: f64) -> TokenStream {
    let lit = Literal::f64_suffixed(value);
    quote!(#lit)
}

fn const_name(layer: &str, suffix: &str) -> Ident {
    format_ident!("{}_{}", layer.to_uppercase(), suffix)
}

/// A doc line for a layer: its shapes and formula.
fn layer_doc(layer: &DenseLayer) -> String {
    let bias = if layer.bias { " + b" } else { "" };
    let dropout = layer.dropout.map_or(String::new(), |p| format!(", then dropout(p = {p}) while training"));
    format!(
        "`{}`: [{}] → [{}], A = {}(X·W{bias}){dropout}; W is [{}][{}] (row i holds the weights leaving input i).",
        layer.name,
        layer.inputs,
        layer.units,
        layer.activation.name(),
        layer.inputs,
        layer.units
    )
}

fn activation(activation: Activation) -> TokenStream {
    match activation {
        Activation::Step => quote!(::nnspec::Activation::Step),
        Activation::Identity => quote!(::nnspec::Activation::Identity),
        Activation::Sigmoid => quote!(::nnspec::Activation::Sigmoid),
        Activation::Tanh => quote!(::nnspec::Activation::Tanh),
        Activation::Relu => quote!(::nnspec::Activation::Relu),
        Activation::LeakyRelu(alpha) => {
            let alpha = f32_lit(alpha);
            quote!(::nnspec::Activation::LeakyRelu(#alpha))
        }
        Activation::Elu(alpha) => {
            let alpha = f32_lit(alpha);
            quote!(::nnspec::Activation::Elu(#alpha))
        }
        Activation::Softplus => quote!(::nnspec::Activation::Softplus),
        Activation::Gelu => quote!(::nnspec::Activation::Gelu),
        Activation::Softmax => quote!(::nnspec::Activation::Softmax),
        Activation::LogSoftmax => quote!(::nnspec::Activation::LogSoftmax),
    }
}

fn loss(loss: Loss) -> TokenStream {
    match loss {
        Loss::Mse => quote!(::nnspec::Loss::Mse),
        Loss::Sse => quote!(::nnspec::Loss::Sse),
        Loss::SseHalf => quote!(::nnspec::Loss::SseHalf),
        Loss::BinaryCrossEntropy => quote!(::nnspec::Loss::BinaryCrossEntropy),
        Loss::BinaryCrossEntropyWithLogits => quote!(::nnspec::Loss::BinaryCrossEntropyWithLogits),
        Loss::SoftmaxCrossEntropy => quote!(::nnspec::Loss::SoftmaxCrossEntropy),
        Loss::CrossEntropy => quote!(::nnspec::Loss::CrossEntropy),
    }
}

fn init(init: Init) -> TokenStream {
    match init {
        Init::Zeros => quote!(::nnspec::Init::Zeros),
        Init::Constant(c) => {
            let c = f32_lit(c);
            quote!(::nnspec::Init::Constant(#c))
        }
        Init::Uniform { low, high } => {
            let (low, high) = (f32_lit(low), f32_lit(high));
            quote!(::nnspec::Init::Uniform { low: #low, high: #high })
        }
        Init::Normal { mean, std } => {
            let (mean, std) = (f32_lit(mean), f32_lit(std));
            quote!(::nnspec::Init::Normal { mean: #mean, std: #std })
        }
        Init::XavierUniform => quote!(::nnspec::Init::XavierUniform),
        Init::XavierNormal => quote!(::nnspec::Init::XavierNormal),
        Init::HeUniform => quote!(::nnspec::Init::HeUniform),
        Init::HeNormal => quote!(::nnspec::Init::HeNormal),
        Init::TorchDefault => quote!(::nnspec::Init::TorchDefault),
    }
}

fn optional_f64(value: Option<f64>) -> TokenStream {
    match value {
        Some(v) => {
            let v = f64_lit(v);
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn optimizer(optimizer: &Optimizer) -> TokenStream {
    match *optimizer {
        Optimizer::Sgd { lr, momentum, dampening, nesterov, weight_decay } => {
            let (lr, momentum, dampening, weight_decay) =
                (f64_lit(lr), f64_lit(momentum), f64_lit(dampening), f64_lit(weight_decay));
            quote!(::nnspec::OptimizerConfig::Sgd {
                lr: #lr, momentum: #momentum, dampening: #dampening, nesterov: #nesterov, weight_decay: #weight_decay
            })
        }
        Optimizer::Adagrad { lr, lr_decay, weight_decay, initial_accumulator_value, eps } => {
            let (lr, lr_decay, weight_decay, initial, eps) = (
                f64_lit(lr),
                f64_lit(lr_decay),
                f64_lit(weight_decay),
                f64_lit(initial_accumulator_value),
                f64_lit(eps),
            );
            quote!(::nnspec::OptimizerConfig::Adagrad {
                lr: #lr, lr_decay: #lr_decay, weight_decay: #weight_decay, initial_accumulator_value: #initial, eps: #eps
            })
        }
        Optimizer::RmsProp { lr, alpha, eps, weight_decay, momentum, centered } => {
            let (lr, alpha, eps, weight_decay, momentum) =
                (f64_lit(lr), f64_lit(alpha), f64_lit(eps), f64_lit(weight_decay), f64_lit(momentum));
            quote!(::nnspec::OptimizerConfig::RmsProp {
                lr: #lr, alpha: #alpha, eps: #eps, weight_decay: #weight_decay, momentum: #momentum, centered: #centered
            })
        }
        Optimizer::Adam { lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled } => {
            let (lr, beta1, beta2, eps, weight_decay) =
                (f64_lit(lr), f64_lit(beta1), f64_lit(beta2), f64_lit(eps), f64_lit(weight_decay));
            quote!(::nnspec::OptimizerConfig::Adam {
                lr: #lr, beta1: #beta1, beta2: #beta2, eps: #eps, weight_decay: #weight_decay,
                amsgrad: #amsgrad, decoupled: #decoupled
            })
        }
    }
}

fn schedule(schedule: &Option<Schedule>) -> TokenStream {
    let Some(schedule) = schedule else {
        return quote!(::core::option::Option::None);
    };
    let inner = match schedule {
        Schedule::Step { step_size, gamma } => {
            let (step_size, gamma) = (usize_lit(*step_size), f64_lit(*gamma));
            quote!(::nnspec::Schedule::Step { step_size: #step_size, gamma: #gamma })
        }
        Schedule::MultiStep { milestones, gamma } => {
            let milestones = milestones.iter().map(|m| usize_lit(*m));
            let gamma = f64_lit(*gamma);
            quote!(::nnspec::Schedule::MultiStep { milestones: ::nnspec::__private::vec![#(#milestones),*], gamma: #gamma })
        }
        Schedule::Exponential { gamma } => {
            let gamma = f64_lit(*gamma);
            quote!(::nnspec::Schedule::Exponential { gamma: #gamma })
        }
        Schedule::Cosine { t_max, eta_min } => {
            let (t_max, eta_min) = (usize_lit(*t_max), f64_lit(*eta_min));
            quote!(::nnspec::Schedule::Cosine { t_max: #t_max, eta_min: #eta_min })
        }
        Schedule::Linear { start_factor, end_factor, total_iters } => {
            let (start, end, total) = (f64_lit(*start_factor), f64_lit(*end_factor), usize_lit(*total_iters));
            quote!(::nnspec::Schedule::Linear { start_factor: #start, end_factor: #end, total_iters: #total })
        }
    };
    quote!(::core::option::Option::Some(#inner))
}

fn train_config(train: &ir::TrainConfig) -> TokenStream {
    let optimizer = optimizer(&train.optimizer);
    let batch = match train.batch {
        BatchSize::Full => quote!(::core::option::Option::None),
        BatchSize::Size(n) => {
            let n = usize_lit(n);
            quote!(::core::option::Option::Some(#n))
        }
    };
    let epochs = usize_lit(train.epochs);
    let seed = Literal::u64_suffixed(train.seed);
    let shuffle = train.shuffle;
    let schedule = schedule(&train.schedule);
    let clip_norm = optional_f64(train.clip_grad_norm);
    let clip_value = optional_f64(train.clip_grad_value);
    let early_stopping = match train.early_stopping {
        Some(stopping) => {
            let monitor = stopping.monitor_validation;
            let patience = usize_lit(stopping.patience);
            let min_delta = f64_lit(stopping.min_delta);
            let restore = stopping.restore_best;
            quote!(::core::option::Option::Some(::nnspec::train::EarlyStopping {
                monitor_validation: #monitor, patience: #patience, min_delta: #min_delta, restore_best: #restore
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    quote!(::nnspec::TrainConfig {
        optimizer: #optimizer,
        batch: #batch,
        epochs: #epochs,
        seed: #seed,
        shuffle: #shuffle,
        schedule: #schedule,
        clip_grad_norm: #clip_norm,
        clip_grad_value: #clip_value,
        early_stopping: #early_stopping,
        progress: false,
    })
}

/// Per-layer workspace slots: indices into the offsets array.
struct Slots {
    z: usize,
    a: usize,
    /// (mask, h, p) for hidden layers with dropout.
    dropout: Option<(usize, usize, f64)>,
    units: usize,
}

/// Plans the workspace: the per-row width of each slot in order, and the slots.
fn plan(net: &Network) -> (Vec<usize>, Vec<Slots>, [usize; 2]) {
    let mut widths = Vec::new();
    let mut take = |width: usize| {
        widths.push(width);
        widths.len() - 1
    };
    let last = net.layers.len().saturating_sub(1);
    let slots = net
        .layers
        .iter()
        .enumerate()
        .map(|(index, layer)| {
            let (z, a) = (take(layer.units), take(layer.units));
            let dropout =
                layer.dropout.filter(|p| index != last && *p > 0.0).map(|p| (take(layer.units), take(layer.units), p));
            Slots { z, a, dropout, units: layer.units }
        })
        .collect();
    let widest = net.layers.iter().map(|l| l.units).max().unwrap_or(0);
    let gradients = [take(widest), take(widest)];
    (widths, slots, gradients)
}

/// `o[i]..o[i + 1]`: the range of slot `i` for the current batch.
fn range(slot: usize) -> TokenStream {
    let (start, end) = (usize_lit(slot), usize_lit(slot + 1));
    quote!(o[#start]..o[#end])
}

fn network(net: &Network, embedded: Option<&crate::weights::Embedded>) -> TokenStream {
    let name = format_ident!("{}", net.name);
    let input = usize_lit(net.input_size);
    let output = usize_lit(net.output_size());
    let param_count = usize_lit(net.param_count);
    let name_str = &net.name;
    let inline = net.param_count <= INLINE_PARAMS_MAX;
    let (params_type, zeroed) = if inline {
        (quote!([f32; #param_count]), quote!([0.0f32; #param_count]))
    } else {
        (
            quote!(::nnspec::__private::Box<[f32]>),
            quote!(::nnspec::__private::vec![0.0f32; #param_count].into_boxed_slice()),
        )
    };

    // Docs: the spec's doc comment, then what the network is.
    let mut docs: Vec<String> = net.doc.iter().map(|line| format!(" {line}")).collect();
    if !docs.is_empty() {
        docs.push(String::new());
    }
    docs.push(format!(
        " Generated by nnspec from network `{}`: {} input{}, {} output{}, {} parameters, loss `{}`.",
        net.name,
        net.input_size,
        if net.input_size == 1 { "" } else { "s" },
        net.output_size(),
        if net.output_size() == 1 { "" } else { "s" },
        net.param_count,
        net.loss.name()
    ));
    docs.push(String::new());
    docs.extend(net.layers.iter().map(|layer| format!(" - {}", layer_doc(layer))));

    let mut consts = Vec::new();
    let mut accessors = Vec::new();
    let mut tensor_infos = Vec::new();
    let mut layer_infos = Vec::new();
    for layer in &net.layers {
        let doc = format!(" {}", layer_doc(layer));
        let weight_const = const_name(&layer.name, "WEIGHT");
        let weight_offset = usize_lit(layer.weight_offset);
        consts.push(quote! {
            #[doc = #doc]
            pub const #weight_const: usize = #weight_offset;
        });
        let weight_end = usize_lit(layer.weight_offset + layer.inputs * layer.units);
        let weight_fn = format_ident!("{}_weight", layer.name);
        let weight_doc = format!(" The weights of `{}`, `[{}][{}]` row-major.", layer.name, layer.inputs, layer.units);
        accessors.push(quote! {
            #[doc = #weight_doc]
            pub fn #weight_fn(&self) -> &[f32] { &self.params[#weight_offset..#weight_end] }
        });
        let (fan_in, fan_out) = (usize_lit(layer.inputs), usize_lit(layer.units));
        let (l1, l2) = (f32_lit(layer.l1), f32_lit(layer.l2));
        let weight_init = init(layer.init);
        let weight_name = format!("{}.weight", layer.name);
        tensor_infos.push(quote! {
            ::nnspec::TensorInfo {
                name: ::nnspec::__private::Cow::Borrowed(#weight_name),
                shape: ::nnspec::__private::Cow::Borrowed(&[#fan_in, #fan_out]),
                offset: #weight_offset,
                is_weight: true,
                init: #weight_init,
                fans: (#fan_in, #fan_out),
                l1: #l1,
                l2: #l2,
            }
        });
        if let Some(bias_offset) = layer.bias_offset {
            let bias_const = const_name(&layer.name, "BIAS");
            let offset = usize_lit(bias_offset);
            let end = usize_lit(bias_offset + layer.units);
            let bias_doc = format!(" Offset of the bias of `{}`, `[{}]`.", layer.name, layer.units);
            consts.push(quote! {
                #[doc = #bias_doc]
                pub const #bias_const: usize = #offset;
            });
            let bias_fn = format_ident!("{}_bias", layer.name);
            let doc = format!(" The bias of `{}`, `[{}]`.", layer.name, layer.units);
            accessors.push(quote! {
                #[doc = #doc]
                pub fn #bias_fn(&self) -> &[f32] { &self.params[#offset..#end] }
            });
            let bias_init = init(layer.bias_init);
            let bias_name = format!("{}.bias", layer.name);
            tensor_infos.push(quote! {
                ::nnspec::TensorInfo {
                    name: ::nnspec::__private::Cow::Borrowed(#bias_name),
                    shape: ::nnspec::__private::Cow::Borrowed(&[#fan_out]),
                    offset: #offset,
                    is_weight: false,
                    init: #bias_init,
                    fans: (#fan_in, #fan_out),
                    l1: 0.0f32,
                    l2: 0.0f32,
                }
            });
        }
        let layer_name = &layer.name;
        let act = activation(layer.activation);
        let has_bias = layer.bias;
        let dropout = match layer.dropout {
            Some(p) => {
                let p = f32_lit(p);
                quote!(::core::option::Option::Some(#p))
            }
            None => quote!(::core::option::Option::None),
        };
        layer_infos.push(quote! {
            ::nnspec::LayerInfo {
                name: ::nnspec::__private::Cow::Borrowed(#layer_name),
                inputs: #fan_in,
                units: #fan_out,
                activation: #act,
                bias: #has_bias,
                dropout: #dropout,
            }
        });
    }

    let predict_body = predict(net);
    let (forward_body, backward_body, offsets_fn) = batch_passes(net);
    let train = train_config(&net.train);
    let validation_split = f64_lit(net.train.validation_split);
    let seed = Literal::u64_suffixed(net.train.seed);
    let loss_tokens = loss(net.loss);
    let docs = docs.iter().map(|d| quote!(#[doc = #d]));

    let trained = embedded.map(|e| trained(net, e));
    quote! {
        #(#docs)*
        #[derive(Clone, Debug, PartialEq)]
        pub struct #name {
            params: #params_type,
        }

        #[allow(clippy::all, clippy::pedantic, unused_qualifications, unused_variables, dead_code)]
        impl #name {
            /// Input features per sample.
            pub const INPUT: usize = #input;
            /// Outputs per sample.
            pub const OUTPUT: usize = #output;
            /// Number of parameters in the flat buffer.
            pub const PARAM_COUNT: usize = #param_count;
            #(#consts)*

            /// A network with every parameter zero.
            pub fn zeroed() -> Self {
                Self { params: #zeroed }
            }

            /// The flat parameter buffer.
            pub fn params(&self) -> &[f32] {
                &self.params[..]
            }

            #(#accessors)*

            /// The outputs for one sample: stack memory only, no allocation.
            #[inline]
            pub fn predict(&self, x: &[f32; #input]) -> [f32; #output] {
                #predict_body
            }

            #trained
        }

            #[::nnspec::__private::std_only]
            #[allow(clippy::all, clippy::pedantic, unused_qualifications, unused_variables, dead_code)]
            impl #name {
                /// The parameter tensors in buffer order.
                pub const TENSORS: &'static [::nnspec::TensorInfo] = &[#(#tensor_infos),*];
                /// The dense layers in order.
                pub const LAYERS: &'static [::nnspec::LayerInfo] = &[#(#layer_infos),*];
                /// The fraction of the data `fit` holds out for validation (from the spec).
                pub const VALIDATION_SPLIT: f64 = #validation_split;

                /// A network initialised with the spec's initializers and seed.
                pub fn new() -> Self {
                    Self::with_seed(#seed)
                }

                /// A network initialised with the spec's initializers and this seed.
                pub fn with_seed(seed: u64) -> Self {
                    let mut network = Self::zeroed();
                    <Self as ::nnspec::Model>::init_params(&mut network, seed);
                    network
                }

                /// A network with these parameters (laid out as [`Self::TENSORS`]).
                pub fn from_params(params: &[f32]) -> ::core::result::Result<Self, ::nnspec::Error> {
                    if params.len() != #param_count {
                        return ::core::result::Result::Err(::nnspec::Error::Shape(::nnspec::__private::format!(
                            "{} parameters given, `{}` has {}", params.len(), #name_str, #param_count
                        )));
                    }
                    let mut network = Self::zeroed();
                    network.params.copy_from_slice(params);
                    ::core::result::Result::Ok(network)
                }

                /// The training settings of the spec's `train { … }` block.
                pub fn train_config() -> ::nnspec::TrainConfig {
                    #train
                }

                /// Trains on `data` with the spec's settings, holding out
                /// [`Self::VALIDATION_SPLIT`] of it for validation.
                pub fn fit(&mut self, data: &::nnspec::Dataset) -> ::core::result::Result<::nnspec::History, ::nnspec::Error> {
                    ::nnspec::train::fit_split(self, &Self::train_config(), data, Self::VALIDATION_SPLIT)
                }

                #offsets_fn
            }

            #[::nnspec::__private::std_only]
            #[automatically_derived]
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }

            #[::nnspec::__private::std_only]
            #[automatically_derived]
            #[allow(clippy::all, clippy::pedantic, unused_qualifications, unused_variables, unused_mut)]
            impl ::nnspec::Model for #name {
                fn name(&self) -> &str { #name_str }
                fn input_size(&self) -> usize { #input }
                fn output_size(&self) -> usize { #output }
                fn loss_kind(&self) -> ::nnspec::Loss { #loss_tokens }
                fn layers(&self) -> &[::nnspec::LayerInfo] { Self::LAYERS }
                fn tensors(&self) -> &[::nnspec::TensorInfo] { Self::TENSORS }
                fn params(&self) -> &[f32] { &self.params[..] }
                fn params_mut(&mut self) -> &mut [f32] { &mut self.params[..] }
                fn forward(&self, x: &[f32], out: &mut [f32], workspace: &mut ::nnspec::Workspace) {
                    #forward_body
                }
                fn loss_and_grad(
                    &self,
                    x: &[f32],
                    targets: &[f32],
                    grad: ::core::option::Option<&mut [f32]>,
                    workspace: &mut ::nnspec::Workspace,
                    training: bool,
                ) -> f32 {
                    #backward_body
                }
            }
    }
}

/// `predict`: straight-line layer calls on stack arrays.
fn predict(net: &Network) -> TokenStream {
    let mut statements = Vec::new();
    let mut previous = quote!(x);
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
            ::nnspec::__private::dense_forward(&#previous[..], &p[#w_start..#w_end], #bias, &mut #var, 1usize, #inputs, #units);
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

/// The batch forward pass, loss-and-gradient, and the workspace offsets function.
fn batch_passes(net: &Network) -> (TokenStream, TokenStream, TokenStream) {
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
            quote!(::nnspec::__private::dense_forward(x, &p[#w_start..#w_end], #bias, &mut buffer[#z], batch, #inputs, #units);)
        } else {
            let previous_output = &outputs[index - 1];
            quote! {
                {
                    let ([input], z) = ::nnspec::__private::view(buffer, #z, [#previous_output]);
                    ::nnspec::__private::dense_forward(input, &p[#w_start..#w_end], #bias, z, batch, #inputs, #units);
                }
            }
        };
        forward.push(quote! {
            #dense
            {
                let ([z], a) = ::nnspec::__private::view(buffer, #a, [#z]);
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
                        let ([a, m], h) = ::nnspec::__private::view(buffer, #h, [#a, #mask]);
                        h.copy_from_slice(a);
                        ::nnspec::__private::apply_dropout(h, m, #keep);
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
                    ::nnspec::__private::dense_backward(x, &p[#w_start..#w_end], &buffer[#dz], dw, #db, ::core::option::Option::None, batch, #inputs, #units);
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
                        let ([m], dx) = ::nnspec::__private::view(buffer, #dx, [#mask]);
                        ::nnspec::__private::apply_dropout(dx, m, #keep);
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
                let ([input, dz], dx) = ::nnspec::__private::view(buffer, #dx, [#previous_output, #dz]);
                ::nnspec::__private::dense_backward(input, &p[#w_start..#w_end], dz, dw, #db, ::core::option::Option::Some(dx), batch, #inputs, #units);
            }
            #dropout
            {
                let ([z, a], dx) = ::nnspec::__private::view(buffer, #dx, [#pz, #pa]);
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
            let ([z, a], _) = ::nnspec::__private::view(buffer, o[#g0_start]..o[#g0_start], [#last_z, #last_a]);
            return #loss_tokens.evaluate(#last_act, z, a, targets, #last_units, ::core::option::Option::None);
        };
        let value = {
            let ([z, a], dz) = ::nnspec::__private::view(buffer, o[#g0_start]..o[#g0_start] + batch * #last_units, [#last_z, #last_a]);
            #loss_tokens.evaluate(#last_act, z, a, targets, #last_units, ::core::option::Option::Some(dz))
        };
        #(#backward)*
        value
    };
    (forward_body, backward_body, offsets_fn)
}

fn slot_p(layer: &DenseLayer) -> f64 {
    layer.dropout.unwrap_or(0.0)
}

fn w_end_value(layer: &DenseLayer) -> usize {
    layer.weight_offset + layer.inputs * layer.units
}
