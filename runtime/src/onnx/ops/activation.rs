//! An activation: one ONNX op where opset 17 has it (`Sigmoid`, `Tanh`,
//! `Relu`, `LeakyRelu`, `Elu`, `Softplus`, `Softmax`, `LogSoftmax`), exact
//! GELU as `0.5·x·(1 + Erf(x/√2))`, the step function as
//! `Cast(GreaterOrEqual(x, 0))`.

use super::*;
use crate::activation::Activation;

/// Softmax and log-softmax take the whole sample, as nnspec does; the other
/// activations keep their input's form.
pub(super) fn write(w: &mut Writer<'_>, node: &GraphNode, f: Activation, out: Out) -> (String, bool) {
    let shaped = w.values.shaped[node.inputs[0]] && !f.is_rowwise();
    let x = w.input(node.inputs[0], shaped);
    nodes(&node.name, f, &x, &out.name, &mut w.nodes, &mut w.initializers);
    (out.name, shaped)
}

/// The ONNX nodes of `activation` on value `z`, writing `out`; `name` prefixes their names.
pub(in crate::onnx) fn nodes(
    name: &str,
    activation: Activation,
    z: &str,
    out: &str,
    nodes: &mut Vec<Node>,
    initializers: &mut Vec<Message>,
) {
    let z = z.to_string();
    let act = |op: &str| Node::new(op, &format!("{name}.{}", op.to_lowercase()), &[&z], &[out]);
    match activation {
        Activation::Identity => nodes.push(Node::new("Identity", &format!("{name}.identity"), &[&z], &[out])),
        Activation::Sigmoid => nodes.push(act("Sigmoid")),
        Activation::Tanh => nodes.push(act("Tanh")),
        Activation::Relu => nodes.push(act("Relu")),
        Activation::Softplus => nodes.push(act("Softplus")),
        Activation::LeakyRelu(alpha) => nodes.push(act("LeakyRelu").float_attribute("alpha", alpha)),
        Activation::Elu(alpha) => nodes.push(act("Elu").float_attribute("alpha", alpha)),
        Activation::Softmax => nodes.push(act("Softmax").int_attribute("axis", -1)),
        Activation::LogSoftmax => nodes.push(act("LogSoftmax").int_attribute("axis", -1)),
        Activation::Gelu => {
            // 0.5 · x · (1 + erf(x / √2))
            let constant = |suffix: &str, value: f32, initializers: &mut Vec<Message>| {
                let c = format!("{name}.gelu.{suffix}");
                initializers.push(tensor(&c, &[], &[value]));
                c
            };
            let sqrt2 = constant("sqrt2", core::f32::consts::SQRT_2, initializers);
            let one = constant("one", 1.0, initializers);
            let half = constant("half", 0.5, initializers);
            let [scaled, erf, plus, half_x] = ["scaled", "erf", "plus", "half_x"].map(|s| format!("{name}.gelu.{s}"));
            nodes.push(Node::new("Div", &scaled, &[&z, &sqrt2], &[&scaled]));
            nodes.push(Node::new("Erf", &erf, &[&scaled], &[&erf]));
            nodes.push(Node::new("Add", &plus, &[&erf, &one], &[&plus]));
            nodes.push(Node::new("Mul", &half_x, &[&z, &half], &[&half_x]));
            nodes.push(Node::new("Mul", &format!("{name}.gelu"), &[&half_x, &plus], &[out]));
        }
        Activation::Step => {
            let zero = format!("{name}.step.zero");
            initializers.push(tensor(&zero, &[], &[0.0]));
            let test = format!("{name}.step.test");
            nodes.push(Node::new("GreaterOrEqual", &test, &[&z, &zero], &[&test]));
            nodes.push(Node::new("Cast", &format!("{name}.step"), &[&test], &[out]).int_attribute("to", 1));
        }
    }
}
