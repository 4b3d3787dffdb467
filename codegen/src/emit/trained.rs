//! `trained()`: a network whose parameters come from an embedded weights file.

use super::*;

/// `trained()`: the parameters decoded from an embedded weights file.
pub(super) fn trained(net: &Network, embedded: &crate::weights::Embedded) -> TokenStream {
    let path = &embedded.path;
    let decodes = embedded.tensors.iter().map(|(offset, len, start)| {
        let (offset, end, start) = (usize_lit(*offset), usize_lit(offset + len), usize_lit(*start));
        quote!(::nnspec::__private_v0_1::decode_f32_le(BYTES, #start, &mut network.params[#offset..#end]);)
    });
    let buffers = embedded.buffers.iter().map(|(offset, len, start)| {
        let (offset, end, start) = (usize_lit(*offset), usize_lit(offset + len), usize_lit(*start));
        quote!(::nnspec::__private_v0_1::decode_f32_le(BYTES, #start, &mut network.buffers[#offset..#end]);)
    });
    let doc = format!(" `{}` with the trained weights of `{}`, embedded at compile time (checked then against the spec's names, shapes and dtype).", net.name, embedded.display);
    quote! {
        #[doc = #doc]
        pub fn trained() -> Self {
            const BYTES: &[u8] = ::core::include_bytes!(#path);
            let mut network = Self::zeroed();
            #(#decodes)*
            #(#buffers)*
            network
        }
    }
}
