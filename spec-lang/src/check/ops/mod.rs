//! One module per op kind, as in `nnspec_core::plan::ops`: each checks its
//! statement (arguments, options, the shape rule, each mistake with its span
//! and help) and adds its node. `Checker::statement` dispatches on the
//! statement's keyword. Below, what the statements on channel-first samples
//! share (the convolutions, the pools and reshapes): per-axis sizes, the
//! input's `[C, H, W]` form, the statement's name.

use super::*;

mod activation;
pub(crate) mod conv;
pub(crate) mod dense;
mod dropout;
mod join;
pub(crate) mod norm;
pub(crate) mod pool;
pub(crate) mod recurrent;

impl<'a> Checker<'a, '_> {
    /// Reads `init`, `bias_init`, `l1` or `l2` into `settings`; false for any other key.
    pub(super) fn param_option(&mut self, option: &KeyValue, settings: &mut ParamSettings) -> bool {
        match option.key.text.as_str() {
            "init" => {
                if let Some(init) = self.init(&option.value) {
                    settings.init = Some(init);
                }
            }
            "bias_init" => {
                if let Some(init) = self.init(&option.value) {
                    settings.bias_init = Some(init);
                }
            }
            "l1" | "l2" => {
                if let Some(coef) = self.ranged(&option.value, 0.0, f64::INFINITY, true, "a penalty coefficient") {
                    if option.key.text == "l1" {
                        settings.l1 = coef as f32;
                    } else {
                        settings.l2 = coef as f32;
                    }
                }
            }
            _ => return false,
        }
        true
    }

    /// `[kh, kw]` from a number (both axes) or a pair; a 1-D value gives `[min, k]`
    /// (the height axis of a 1-D sample has length 1: no padding, unit kernel and steps).
    pub(super) fn per_axis(&mut self, value: &Value, axes: usize, what: &str, min: usize) -> Option<[usize; 2]> {
        let items: Vec<&Value> = match &value.kind {
            ValueKind::Tuple(args) => args
                .iter()
                .map(|a| match a {
                    Argument::Positional(v) => Some(v),
                    Argument::Named(kv) => Some(&kv.value),
                })
                .collect::<Option<_>>()?,
            ValueKind::List(items) => items.iter().collect(),
            _ => vec![value],
        };
        match items.as_slice() {
            [one] => {
                let n = self.count(one, what, min)?;
                Some(if axes == 1 { [min, n] } else { [n, n] })
            }
            [h, w] if axes == 2 => Some([self.count(h, what, min)?, self.count(w, what, min)?]),
            _ => {
                self.diagnostics
                    .error(Code::WRONG_TYPE, value.span, format!("{what} takes one number per spatial axis ({axes})"))
                    .help(if axes == 1 {
                        "write e.g. `kernel = 3`"
                    } else {
                        "write e.g. `kernel = 3` or `kernel = (3, 2)`"
                    });
                None
            }
        }
    }

    /// The input's `[C, H, W]` (height 1 for 1-D) when its rank fits `axes` spatial axes.
    pub(super) fn spatial_input(
        &mut self,
        statement: &Statement,
        pending: &Pending<'a>,
        input: usize,
        axes: usize,
    ) -> Option<[usize; 3]> {
        let node = &pending.nodes[input];
        match (axes, &node.shape[..]) {
            (1, &[c, l]) => Some([c, 1, l]),
            (2, &[c, h, w]) => Some([c, h, w]),
            (_, shape) => {
                let wanted = if axes == 1 { "[C, L]" } else { "[C, H, W]" };
                self.diagnostics
                    .error(
                        Code::SHAPE_MISMATCH,
                        statement.keyword.span,
                        format!(
                            "`{}` reads {wanted} samples, but `{}` is {shape:?}",
                            statement.keyword.text, node.name
                        ),
                    )
                    .help(format!("declare the input with its channels first, e.g. `input x: {wanted};`"));
                None
            }
        }
    }

    pub(super) fn spatial_name(&mut self, statement: &'a Statement) -> Option<&'a Ident> {
        let keyword = &statement.keyword.text;
        if statement.target.is_none() {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.keyword.span, format!("`{keyword}` needs a name"))
                .help(format!("write `{keyword} NAME, …;`"));
        }
        statement.target.as_ref()
    }
}
