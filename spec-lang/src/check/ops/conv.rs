//! `conv1d` and `conv2d`, with PyTorch's attributes and shape rule.

use super::*;
use nnspec_core::conv::{output_size, ConvGeometry};

pub(crate) const CONV_KEYS: &[&str] =
    &["kernel", "stride", "padding", "dilation", "groups", "bias", "init", "bias_init", "l1", "l2"];

impl<'a> Checker<'a, '_> {
    /// `conv1d NAME: OUT, kernel = K, stride, padding, dilation, groups, bias, init, bias_init, l1, l2;` and `conv2d`.
    pub(in crate::check) fn conv(&mut self, statement: &'a Statement, pending: &mut Pending<'a>) {
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
        let mut settings = ParamSettings::default();
        for option in &statement.options {
            if self.param_option(option, &mut settings) {
                continue;
            }
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
        // Sizes are multiplied checked: a huge padding must not wrap to a small output.
        let len = out_channels.checked_mul(out_h).and_then(|n| n.checked_mul(out_w));
        if !matches!(len, Some(len) if len <= MAX_UNITS) {
            self.diagnostics
                .error(Code::BAD_SIZE, statement.span, format!("`{}` is too large", name.text))
                .help(format!("at most {MAX_UNITS} values per sample"));
            return;
        }
        let shape: Vec<usize> = if one_d { vec![out_channels, out_w] } else { vec![out_channels, out_h, out_w] };
        let node = Node::new(name.text.clone(), Op::Conv { geometry, bias, one_d }, &[input], 0)
            .with_shape(&shape)
            .with_params(settings);
        self.push_node(statement, node, pending);
    }
}
