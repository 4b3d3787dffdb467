//! Reading node attributes and constants.

use super::*;

pub(super) fn int_attr(node: &Node, name: &str, default: i64) -> i64 {
    match node.attribute(name) {
        Some(Attribute::Int(v)) => *v,
        _ => default,
    }
}

pub(super) fn float_attr(node: &Node, name: &str, default: f32) -> f32 {
    match node.attribute(name) {
        Some(Attribute::Float(v)) => *v,
        _ => default,
    }
}

pub(super) fn ints_attr(node: &Node, name: &str) -> Option<Vec<i64>> {
    match node.attribute(name) {
        Some(Attribute::Ints(v)) => Some(v.clone()),
        _ => None,
    }
}

pub(super) fn text_attr(node: &Node, name: &str) -> Option<String> {
    match node.attribute(name) {
        Some(Attribute::Text(v)) => Some(v.clone()),
        _ => None,
    }
}

/// Whether every value of `values` is within `tolerance` of `target`.
pub(super) fn all_near(values: &[f32], target: f32, tolerance: f32) -> bool {
    !values.is_empty() && values.iter().all(|v| (v - target).abs() <= tolerance)
}

/// A constant's values broadcast to `width` features, if it is a scalar or has `width` values.
pub(super) fn per_feature(tensor: &Tensor, width: usize) -> Option<Vec<f32>> {
    let values = tensor.floats();
    match values.len() {
        1 => Some(vec![values[0]; width]),
        n if n == width && tensor.dims.iter().filter(|&&d| d != 1).count() <= 1 => Some(values),
        _ => None,
    }
}
