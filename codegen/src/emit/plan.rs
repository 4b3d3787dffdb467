//! The workspace plan: a slot per layer output (and dropout mask), two
//! gradient buffers, and the offsets that locate them for a batch.

use super::*;

/// Per-layer workspace slots: indices into the offsets array.
pub(super) struct Slots {
    pub(super) z: usize,
    pub(super) a: usize,
    /// (mask, h, p) for hidden layers with dropout.
    pub(super) dropout: Option<(usize, usize, f64)>,
    pub(super) units: usize,
}

/// Plans the workspace: the per-row width of each slot in order, and the slots.
pub(super) fn plan(net: &Network) -> (Vec<usize>, Vec<Slots>, [usize; 2]) {
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
pub(super) fn range(slot: usize) -> TokenStream {
    let (start, end) = (usize_lit(slot), usize_lit(slot + 1));
    quote!(o[#start]..o[#end])
}

pub(super) fn slot_p(layer: &DenseLayer) -> f64 {
    layer.dropout.unwrap_or(0.0)
}

pub(super) fn w_end_value(layer: &DenseLayer) -> usize {
    layer.weight_offset + layer.inputs * layer.units
}
