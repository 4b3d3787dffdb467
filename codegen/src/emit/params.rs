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

/// The const generated code declares for the offset of `node`'s tensor of `role` (`OUT_WEIGHT`).
pub(super) fn tensor_const(node: &str, role: nnspec_core::plan::Role) -> Ident {
    const_name(node, &role.suffix().to_uppercase())
}

/// An offset of the flat buffer through the consts generated code declares:
/// the tensor that starts there (`Self::OUT_WEIGHT`), the end of the buffer
/// (`Self::PARAM_COUNT`), else the literal.
pub(super) fn offset(plan: &Plan, at: usize) -> TokenStream {
    match plan.tensors.iter().find(|t| t.range.start == at) {
        Some(t) => {
            let name = tensor_const(&plan.nodes[t.node].name, t.role);
            quote!(Self::#name)
        }
        None if at == plan.param_count => quote!(Self::PARAM_COUNT),
        None => {
            let at = usize_lit(at);
            quote!(#at)
        }
    }
}

/// `start..end` of the flat buffer through [`offset`]'s consts.
pub(super) fn named_range(plan: &Plan, range: &core::ops::Range<usize>) -> TokenStream {
    let (start, end) = (offset(plan, range.start), offset(plan, range.end));
    quote!(#start..#end)
}
