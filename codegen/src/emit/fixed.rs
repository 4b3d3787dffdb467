//! The training pass of a spec that trains on its whole data set of a stated
//! size (`batch = full`, `samples = N`), emitted a second time with `N` rows
//! as a constant, and the `Model::descend` that runs every step of plain
//! gradient descent on it in one call.

use super::*;
use nnspec_core::plan::{Plan, Step};

/// The most values (rows × the widths of every slot) a fixed-size training
/// pass keeps on the stack instead of in the workspace: 4 KiB.
const STACK_VALUES: usize = 1024;

/// The most parameters a network may have for its `Model::descend`, which
/// keeps them on the stack beside a copy from before each step: 1,024 (4 KiB).
const DESCEND_PARAMS: usize = 1024;

/// [`BatchPasses`] for a spec that trains on `rows` rows at a time, all of
/// them: `loss_and_grad` takes the fixed-size pass (`__fixed_pass`, every
/// loop bound a constant) for a batch of `rows`, and the general one, its
/// `general` body, for any other; a small network without dropout or batch
/// normalisation also gets `Model::descend`. `pass_over` emits the training
/// pass over the buffer a binding names; `backward_pass` is it over the
/// workspace.
pub(super) fn fixed_size(
    plan: &Plan,
    rows: usize,
    forward_body: TokenStream,
    pass_over: &dyn Fn(TokenStream) -> TokenStream,
    backward_pass: TokenStream,
    general: TokenStream,
) -> BatchPasses {
    let input = usize_lit(plan.input);
    // A whole data set small enough keeps its values in a stack array, where
    // the compiler holds them in registers (W1: a workspace on the heap is
    // read and written through slices it cannot see past). Batch
    // normalisation reads the workspace after the pass, so it keeps it.
    let values = rows * plan.slots.iter().sum::<usize>();
    let batch_norm = plan.forward.iter().any(|s| matches!(s, Step::BatchNorm { .. }));
    let on_stack = values <= STACK_VALUES && !batch_norm;
    let dropout = plan.forward.iter().any(|s| matches!(s, Step::Dropout { .. }));
    let fixed_pass = if on_stack {
        let values = usize_lit(values);
        // Only dropout draws masks from the workspace.
        let masks = dropout.then(|| quote!(let (_, mut masks) = workspace.buffer(0);));
        pass_over(quote! {
            let mut stack = [0.0f32; #values];
            #masks
            let buffer = &mut stack[..total];
        })
    } else {
        backward_pass
    };
    let rows_lit = usize_lit(rows);
    let loss_and_grad = quote! {
        if x.len() == #rows_lit * #input {
            return self.__fixed_pass(x, targets, grad, workspace, training);
        }
        #general
    };
    let methods = quote! {
        /// `Model::loss_and_grad` on a batch of the spec's `samples` rows,
        /// with every size a constant.
        #[doc(hidden)]
        #[inline(always)]
        fn __fixed_pass(
            &self,
            x: &[f32],
            targets: &[f32],
            grad: ::core::option::Option<&mut [f32]>,
            workspace: &mut ::nnspec::Workspace,
            training: bool,
        ) -> f32 {
            let batch = #rows_lit;
            #fixed_pass
        }
    };
    // Dropout draws masks and batch normalisation keeps running statistics
    // beside the parameters: both need the trainer's step by step.
    if !on_stack || dropout || plan.buffer_count > 0 || plan.param_count > DESCEND_PARAMS {
        return BatchPasses { forward: forward_body, loss_and_grad, methods, descend: quote!() };
    }
    let params = usize_lit(plan.param_count);
    // `Model::descend`'s parameters, and the arguments passing them on.
    let inputs = quote! {
        &mut self,
        x: &[f32],
        targets: &[f32],
        lr: f32,
        weight_decay: f32,
        steps: usize,
        workspace: &mut ::nnspec::Workspace,
        after_step: &mut ::nnspec::AfterStep<'_>,
    };
    let arguments = quote!(x, targets, lr, weight_decay, steps, workspace, after_step);
    let descend = quote! {
        fn descend(#inputs) -> ::core::option::Option<::nnspec::Descent> {
            if x.len() != #rows_lit * #input {
                return ::core::option::Option::None;
            }
            #[cfg(target_arch = "x86_64")]
            {
                if ::nnspec::__private_v0_1::has_avx2() {
                    // SAFETY: the processor has AVX2, checked at run time.
                    return ::core::option::Option::Some(unsafe {
                        self.__descend_avx2(#arguments)
                    });
                }
            }
            ::core::option::Option::Some(self.__descend(#arguments))
        }
    };
    let methods = quote! {
        #methods

        /// `Model::descend`'s steps, the same for every instruction set.
        #[doc(hidden)]
        #[inline(always)]
        fn __descend(#inputs) -> ::nnspec::Descent {
            let mut grad = [0.0f32; #params];
            for step in 0..steps {
                let loss = self.__fixed_pass(x, targets, ::core::option::Option::Some(&mut grad[..]), workspace, true);
                let diverged = |cause| ::nnspec::Descent::Diverged { step, cause };
                if !loss.is_finite() {
                    return diverged(::nnspec::Divergence::Loss);
                }
                let before = self.params;
                ::nnspec::__private_v0_1::sgd_update(&mut self.params, &grad, lr, weight_decay);
                // One check per step: a gradient that is not finite makes the
                // parameters it updates infinite or NaN, so it is looked at
                // only then, to tell the two causes apart.
                if !::nnspec::__private_v0_1::all_finite(&self.params) {
                    let after = self.params.to_vec();
                    self.params = before;
                    if !::nnspec::__private_v0_1::all_finite(&grad) {
                        return diverged(::nnspec::Divergence::Gradient(grad.to_vec()));
                    }
                    return diverged(::nnspec::Divergence::Params(after));
                }
                if after_step(loss, &grad, &self.params).is_break() {
                    break;
                }
            }
            ::nnspec::Descent::Ran
        }

        /// `Model::descend`'s steps compiled for AVX2 (the same results: no
        /// fused multiply-adds).
        #[cfg(target_arch = "x86_64")]
        #[doc(hidden)]
        #[target_feature(enable = "avx2")]
        unsafe fn __descend_avx2(#inputs) -> ::nnspec::Descent {
            self.__descend(#arguments)
        }
    };
    BatchPasses { forward: forward_body, loss_and_grad, methods, descend }
}
