//! The parameters as generated code reads them: a tensor through its
//! accessor, a bias as an `Option`, a range of the flat buffer.

use super::*;
use nnspec_core::plan::Plan;

/// A parameter tensor by its accessor (`self.hidden_weight()`), or by range.
pub(super) fn tensor(plan: &Plan, range: &core::ops::Range<usize>) -> TokenStream {
    match plan.tensors.iter().find(|t| t.range == *range) {
        Some(t) => {
            let accessor = format_ident!("{}", t.name.replace('.', "_"));
            quote!(self.#accessor())
        }
        None => {
            let range = param_range(range);
            quote!(&self.params[#range])
        }
    }
}

/// `Some(bias)` through its accessor, or `None`.
pub(super) fn bias(plan: &Plan, bias: &Option<core::ops::Range<usize>>) -> TokenStream {
    match bias {
        Some(b) => {
            let b = tensor(plan, b);
            quote!(::core::option::Option::Some(#b))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// `start..end` of a flat buffer, as literals.
pub(super) fn param_range(range: &core::ops::Range<usize>) -> TokenStream {
    let (start, end) = (usize_lit(range.start), usize_lit(range.end));
    quote!(#start..#end)
}
