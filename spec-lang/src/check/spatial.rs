//! Statements on channel-first samples: `conv1d`, `conv2d`, the pools,
//! `global_avg_pool` and `flatten`, with PyTorch's attributes and shape rules.

use super::*;
use nnspec_core::conv::{output_size, ConvGeometry, PoolGeometry};

const CONV_KEYS: &[&str] = &["kernel", "stride", "padding", "dilation", "groups", "bias"];
const POOL_KEYS: &[&str] = &["kernel", "stride", "padding"];

impl<'a> Checker<'a, '_> {
    /// `[kh, kw]` from a number (both axes) or a pair; a 1-D value gives `[min, k]`
    /// (the height axis of a 1-D sample has length 1: no padding, unit kernel and steps).
    fn per_axis(&mut self, value: &Value, axes: usize, what: &str, min: usize) -> Option<[usize; 2]> {
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
    fn spatial_input(
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

    fn spatial_name(&mut self, statement: &'a Statement) -> Option<&'a Ident> {
        let keyword = &statement.keyword.text;
        if statement.target.is_none() {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.keyword.span, format!("`{keyword}` needs a name"))
                .help(format!("write `{keyword} NAME, …;`"));
        }
        statement.target.as_ref()
    }

    /// `conv1d NAME: OUT, kernel = K, stride, padding, dilation, groups, bias;` and `conv2d`.
    pub(super) fn conv(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
        let one_d = statement.keyword.text == "conv1d";
        let axes = if one_d { 1 } else { 2 };
        self.no_args(statement);
        self.check_duplicate_keys(&statement.options);
        let name = self.spatial_name(statement);
        let out_channels = match &statement.value {
            Some(value) => self.size(value, "a convolution's output channels"),
            None => {
                self.diagnostics
                    .error(Code::MISSING_ARGUMENT, statement.span, "a convolution needs its number of output channels")
                    .help(format!("write `{} NAME: 16, kernel = 3;`", statement.keyword.text));
                None
            }
        };
        let (mut kernel, mut stride, mut padding, mut dilation, mut groups, mut bias): (_, _, [usize; 2], _, _, _) =
            (None, [1, 1], [0, 0], [1, 1], 1, true);
        for option in &statement.options {
            let value = &option.value;
            match option.key.text.as_str() {
                "kernel" => kernel = self.per_axis(value, axes, "a kernel size", 1),
                "stride" => stride = self.per_axis(value, axes, "a stride", 1).unwrap_or(stride),
                "padding" => padding = self.per_axis(value, axes, "a padding", 0).unwrap_or(padding),
                "dilation" => dilation = self.per_axis(value, axes, "a dilation", 1).unwrap_or(dilation),
                "groups" => groups = self.count(value, "groups", 1).unwrap_or(groups),
                "bias" => bias = self.boolean(value).unwrap_or(bias),
                _ => self.unknown_key(&option.key, CONV_KEYS, &format!("`{}`", statement.keyword.text)),
            }
        }
        let input = self.single_input(statement, pending);
        let shape = self.spatial_input(statement, pending, input, axes);
        if kernel.is_none() {
            self.diagnostics
                .error(Code::MISSING_ARGUMENT, statement.span, "a convolution needs a kernel size")
                .help(format!("write `{} NAME: 16, kernel = 3;`", statement.keyword.text));
        }
        let (Some(name), Some(out_channels), Some(kernel), Some([in_channels, in_h, in_w])) =
            (name, out_channels, kernel, shape)
        else {
            return;
        };
        if in_channels % groups != 0 || out_channels % groups != 0 {
            self.diagnostics
                .error(
                    Code::OUT_OF_RANGE,
                    statement.span,
                    format!(
                        "groups = {groups} must divide both {in_channels} input and {out_channels} output channels"
                    ),
                )
                .help("a depthwise convolution has `groups` equal to the input channels");
            return;
        }
        let out_h = output_size(in_h, kernel[0], stride[0], padding[0], dilation[0]);
        let out_w = output_size(in_w, kernel[1], stride[1], padding[1], dilation[1]);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            self.diagnostics
                .error(
                    Code::BAD_SIZE,
                    statement.span,
                    format!("the kernel of `{}` (with its dilation) is larger than its padded input", name.text),
                )
                .help("use a smaller kernel or dilation, or more padding");
            return;
        };
        let geometry = ConvGeometry {
            in_channels,
            in_h,
            in_w,
            out_channels,
            out_h,
            out_w,
            kernel,
            stride,
            padding,
            dilation,
            groups,
        };
        if geometry.output_len() > MAX_UNITS {
            self.diagnostics
                .error(Code::BAD_SIZE, statement.span, format!("`{}` is too large", name.text))
                .help(format!("at most {MAX_UNITS} values per sample"));
            return;
        }
        let shape: Vec<usize> = if one_d { vec![out_channels, out_w] } else { vec![out_channels, out_h, out_w] };
        let node = Node::new(name.text.clone(), Op::Conv { geometry, bias, one_d }, &[input], 0).with_shape(&shape);
        self.push_node(statement, node, pending);
    }

    /// `max_pool1d NAME, kernel = K, stride = S;` and the other pools.
    pub(super) fn pool(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
    pub(super) fn reshape(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
