//! The runtime's vocabulary as tokens: activations, losses, initializers,
//! optimizers, schedules and the train configuration of a spec.

use super::*;
use nnspec_core::plan::Plan;

pub(super) fn activation(activation: Activation) -> TokenStream {
    match activation {
        Activation::Step => quote!(::nnspec::Activation::Step),
        Activation::Identity => quote!(::nnspec::Activation::Identity),
        Activation::Sigmoid => quote!(::nnspec::Activation::Sigmoid),
        Activation::Tanh => quote!(::nnspec::Activation::Tanh),
        Activation::Relu => quote!(::nnspec::Activation::Relu),
        Activation::LeakyRelu(alpha) => {
            let alpha = f32_lit(f64::from(alpha));
            quote!(::nnspec::Activation::LeakyRelu(#alpha))
        }
        Activation::Elu(alpha) => {
            let alpha = f32_lit(f64::from(alpha));
            quote!(::nnspec::Activation::Elu(#alpha))
        }
        Activation::Softplus => quote!(::nnspec::Activation::Softplus),
        Activation::Gelu => quote!(::nnspec::Activation::Gelu),
        Activation::Softmax => quote!(::nnspec::Activation::Softmax),
        Activation::LogSoftmax => quote!(::nnspec::Activation::LogSoftmax),
    }
}

pub(super) fn loss(loss: Loss) -> TokenStream {
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

pub(super) fn init(init: Init) -> TokenStream {
    match init {
        Init::Zeros => quote!(::nnspec::Init::Zeros),
        Init::Constant(c) => {
            let c = f32_lit(f64::from(c));
            quote!(::nnspec::Init::Constant(#c))
        }
        Init::Uniform { low, high } => {
            let (low, high) = (f32_lit(f64::from(low)), f32_lit(f64::from(high)));
            quote!(::nnspec::Init::Uniform { low: #low, high: #high })
        }
        Init::Normal { mean, std } => {
            let (mean, std) = (f32_lit(f64::from(mean)), f32_lit(f64::from(std)));
            quote!(::nnspec::Init::Normal { mean: #mean, std: #std })
        }
        Init::XavierUniform => quote!(::nnspec::Init::XavierUniform),
        Init::XavierNormal => quote!(::nnspec::Init::XavierNormal),
        Init::HeUniform => quote!(::nnspec::Init::HeUniform),
        Init::HeNormal => quote!(::nnspec::Init::HeNormal),
        Init::TorchDefault => quote!(::nnspec::Init::TorchDefault),
    }
}

pub(super) fn optional_f64(value: Option<f64>) -> TokenStream {
    match value {
        Some(v) => {
            let v = f64_lit(v);
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    }
}

pub(super) fn optimizer(optimizer: &Optimizer) -> TokenStream {
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

pub(super) fn schedule(schedule: &Option<Schedule>) -> TokenStream {
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
            quote!(::nnspec::Schedule::MultiStep { milestones: ::nnspec::__private_v0_1::vec![#(#milestones),*], gamma: #gamma })
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

pub(super) fn train_config(train: &ir::TrainConfig) -> TokenStream {
    let optimizer = optimizer(&train.run.optimizer);
    let batch = match train.run.batch {
        None => quote!(::core::option::Option::None),
        Some(n) => {
            let n = usize_lit(n);
            quote!(::core::option::Option::Some(#n))
        }
    };
    let epochs = usize_lit(train.run.epochs);
    let seed = Literal::u64_suffixed(train.run.seed);
    let shuffle = train.run.shuffle;
    let schedule = schedule(&train.run.schedule);
    let clip_norm = optional_f64(train.run.clip_grad_norm);
    let clip_value = optional_f64(train.run.clip_grad_value);
    let early_stopping = match train.run.early_stopping {
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

/// The associated const holding a node's geometry (`CONV1_GEOMETRY`).
fn geometry_const(node: &str) -> Ident {
    const_name(&node.replace('.', "_"), "GEOMETRY")
}

/// Every convolution's and pool's geometry as an associated const of the
/// network's struct, named after the first node that has it: kernel calls
/// read `Self::CONV1_GEOMETRY` instead of repeating the literal.
pub(super) fn geometry_consts(plan: &Plan) -> TokenStream {
    let mut consts = Vec::new();
    for node in plan.nodes.iter() {
        let (ty, value, doc) = match node.op {
            Op::Conv { geometry, .. } if conv_owner(plan, &geometry) == Some(&*node.name) => {
                (quote!(::nnspec::conv::ConvGeometry), conv_geometry(&geometry), "convolution")
            }
            Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry)
                if pool_owner(plan, &geometry) == Some(&*node.name) =>
            {
                (quote!(::nnspec::conv::PoolGeometry), pool_geometry(&geometry), "pool")
            }
            _ => continue,
        };
        let (name, doc) = (geometry_const(&node.name), format!(" The sizes of the {doc} `{}`.", node.name));
        consts.push(quote! {
            #[doc = #doc]
            pub const #name: #ty = #value;
        });
    }
    quote!(#(#consts)*)
}

/// The first node of `plan` convolving with `g`.
fn conv_owner<'p>(plan: &'p Plan, g: &nnspec_core::conv::ConvGeometry) -> Option<&'p str> {
    plan.nodes.iter().find(|n| matches!(n.op, Op::Conv { geometry, .. } if geometry == *g)).map(|n| &*n.name)
}

/// The first node of `plan` pooling with `g`.
fn pool_owner<'p>(plan: &'p Plan, g: &nnspec_core::conv::PoolGeometry) -> Option<&'p str> {
    plan.nodes
        .iter()
        .find(|n| matches!(n.op, Op::Pool { geometry, .. } | Op::GlobalAvgPool(geometry) if geometry == *g))
        .map(|n| &*n.name)
}

/// A geometry as the const [`geometry_consts`] declares for the node that owns it, else as `literal`.
fn const_or(owner: Option<&str>, literal: impl FnOnce() -> TokenStream) -> TokenStream {
    match owner {
        Some(node) => {
            let name = geometry_const(node);
            quote!(Self::#name)
        }
        None => literal(),
    }
}

/// `g` as the const [`geometry_consts`] declares for it.
pub(super) fn conv_geometry_of(plan: &Plan, g: &nnspec_core::conv::ConvGeometry) -> TokenStream {
    const_or(conv_owner(plan, g), || conv_geometry(g))
}

/// `g` as the const [`geometry_consts`] declares for it.
pub(super) fn pool_geometry_of(plan: &Plan, g: &nnspec_core::conv::PoolGeometry) -> TokenStream {
    const_or(pool_owner(plan, g), || pool_geometry(g))
}

pub(super) fn conv_geometry(g: &nnspec_core::conv::ConvGeometry) -> TokenStream {
    let [in_channels, in_h, in_w, out_channels, out_h, out_w, groups] =
        [g.in_channels, g.in_h, g.in_w, g.out_channels, g.out_h, g.out_w, g.groups].map(usize_lit);
    let pair = |p: [usize; 2]| {
        let [a, b] = p.map(usize_lit);
        quote!([#a, #b])
    };
    let (kernel, stride, padding, dilation) = (pair(g.kernel), pair(g.stride), pair(g.padding), pair(g.dilation));
    quote! {
        ::nnspec::conv::ConvGeometry {
            in_channels: #in_channels, in_h: #in_h, in_w: #in_w,
            out_channels: #out_channels, out_h: #out_h, out_w: #out_w,
            kernel: #kernel, stride: #stride, padding: #padding, dilation: #dilation, groups: #groups,
        }
    }
}

pub(super) fn recurrent_geometry(g: &nnspec_core::recurrent::RecurrentGeometry) -> TokenStream {
    let [steps, features, hidden] = [g.steps, g.features, g.hidden].map(usize_lit);
    let cell = match g.cell {
        nnspec_core::recurrent::Cell::Gru => quote!(Gru),
        nnspec_core::recurrent::Cell::Lstm => quote!(Lstm),
    };
    let (bidirectional, sequence, channels_first) = (g.bidirectional, g.sequence, g.channels_first);
    quote! {
        ::nnspec::recurrent::RecurrentGeometry {
            cell: ::nnspec::recurrent::Cell::#cell, steps: #steps, features: #features, hidden: #hidden,
            bidirectional: #bidirectional, sequence: #sequence, channels_first: #channels_first,
        }
    }
}

pub(super) fn pool_geometry(g: &nnspec_core::conv::PoolGeometry) -> TokenStream {
    let [channels, in_h, in_w, out_h, out_w] = [g.channels, g.in_h, g.in_w, g.out_h, g.out_w].map(usize_lit);
    let pair = |p: [usize; 2]| {
        let [a, b] = p.map(usize_lit);
        quote!([#a, #b])
    };
    let (kernel, stride, max) = (pair(g.kernel), pair(g.stride), g.max);
    quote! {
        ::nnspec::conv::PoolGeometry {
            channels: #channels, in_h: #in_h, in_w: #in_w, out_h: #out_h, out_w: #out_w,
            kernel: #kernel, stride: #stride, max: #max,
        }
    }
}
