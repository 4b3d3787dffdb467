//! The pools (`max_pool1d`, `max_pool2d`, `avg_pool1d`, `avg_pool2d`), and
//! `global_avg_pool` and `flatten`, which reshape a channel-first sample.

use super::*;
use nnspec_core::conv::{output_size, PoolGeometry};

pub(crate) const POOL_KEYS: &[&str] = &["kernel", "stride", "padding"];

impl<'a> Checker<'a, '_> {
    /// `max_pool1d NAME, kernel = K, stride = S;` and the other pools.
    pub(in crate::check) fn pool(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        let one_d = keyword.ends_with("1d");
        let axes = if one_d { 1 } else { 2 };
        self.no_args(statement);
        self.check_duplicate_keys(&statement.options);
        let name = self.spatial_name(statement);
        self.no_value(statement, format!("write `{keyword} NAME, kernel = 2;`"));
        let (mut kernel, mut stride) = (None, None);
        for option in &statement.options {
            let value = &option.value;
            match option.key.text.as_str() {
                "kernel" => kernel = self.per_axis(value, axes, "a pooling window", 1),
                "stride" => stride = self.per_axis(value, axes, "a stride", 1),
                "padding" => {
                    if self.per_axis(value, axes, "a padding", 0).is_some_and(|p| p != [0, 0]) {
                        self.diagnostics
                            .error(Code::OUT_OF_RANGE, value.span, "pools take no padding")
                            .help("every window lies inside the input; pad with a convolution before the pool");
                    }
                }
                _ => self.unknown_key(&option.key, POOL_KEYS, &format!("`{keyword}`")),
            }
        }
        let input = self.single_input(statement, pending);
        let shape = self.spatial_input(statement, pending, input, axes);
        let Some(kernel) = kernel else {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.span, "a pool needs its window size")
                .help(format!("write `{keyword} NAME, kernel = 2;`"));
            return;
        };
        let stride = stride.unwrap_or(kernel);
        let (Some(name), Some([channels, in_h, in_w])) = (name, shape) else { return };
        let (Some(out_h), Some(out_w)) =
            (output_size(in_h, kernel[0], stride[0], 0, 1), output_size(in_w, kernel[1], stride[1], 0, 1))
        else {
            self.diagnostics
                .error(
                    Code::BAD_SIZE,
                    statement.span,
                    format!("the window of `{}` is larger than its input", name.text),
                )
                .help("use a smaller window");
            return;
        };
        let geometry =
            PoolGeometry { channels, in_h, in_w, out_h, out_w, kernel, stride, max: keyword.starts_with("max") };
        let shape: Vec<usize> = if one_d { vec![channels, out_w] } else { vec![channels, out_h, out_w] };
        let node = Node::new(name.text.clone(), Op::Pool { geometry, one_d }, &[input], 0).with_shape(&shape);
        self.push_node(statement, node, pending);
    }

    /// `global_avg_pool NAME;` and `flatten NAME;`.
    pub(in crate::check) fn reshape(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let keyword = statement.keyword.text.as_str();
        self.no_args(statement);
        self.no_options(statement, &format!("write `{keyword} NAME;`"));
        self.no_value(statement, format!("write `{keyword} NAME;`"));
        let name = self.spatial_name(statement);
        let input = self.single_input(statement, pending);
        let shape = pending.nodes[input].shape.to_vec();
        let Some(name) = name else { return };
        let node = if keyword == "flatten" {
            Node::new(name.text.clone(), Op::Flatten, &[input], shape.iter().product())
        } else {
            let [channels, in_h, in_w] = match shape[..] {
                [c, l] => [c, 1, l],
                [c, h, w] => [c, h, w],
                _ => {
                    self.diagnostics
                        .error(
                            Code::SHAPE_MISMATCH,
                            statement.keyword.span,
                            format!(
                                "`global_avg_pool` reads [C, L] or [C, H, W] samples, but `{}` is {shape:?}",
                                pending.nodes[input].name
                            ),
                        )
                        .help("it averages each channel over its positions; a flat input has none");
                    return;
                }
            };
            let geometry = PoolGeometry {
                channels,
                in_h,
                in_w,
                out_h: 1,
                out_w: 1,
                kernel: [in_h, in_w],
                stride: [1, 1],
                max: false,
            };
            Node::new(name.text.clone(), Op::GlobalAvgPool(geometry), &[input], channels)
        };
        self.push_node(statement, node, pending);
    }
}
