//! Small generated networks that between them use every activation (as a
//! hidden layer and as the output) and every loss, for the tests that must
//! cover each one: generated code against the interpreter bit for bit, the
//! generated `predict` against the batch forward, finite differences, ONNX.

use nnspec::Model;

nnspec::net! {
    /// Identity weights make the inputs the activation's inputs.
    #[allow(regression_loss_on_classifier)]
    network ActSigmoid { input x: [9]; dense a: 9, activation = sigmoid; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActTanh { input x: [9]; dense a: 9, activation = tanh; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActRelu { input x: [9]; dense a: 9, activation = relu; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActLeakyRelu { input x: [9]; dense a: 9, activation = leaky_relu(0.2); loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActElu { input x: [9]; dense a: 9, activation = elu(0.7); loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActSoftplus { input x: [9]; dense a: 9, activation = softplus; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActGelu { input x: [9]; dense a: 9, activation = gelu; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    #[allow(step_has_no_gradient)]
    network ActStep { input x: [9]; dense a: 9, activation = step; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActIdentity { input x: [9]; dense a: 9, activation = identity; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    #[allow(regression_loss_on_classifier)]
    network ActSoftmax { input x: [9]; dense a: 9, activation = softmax; loss mse; }
    /// Identity weights make the inputs the activation's inputs.
    network ActLogSoftmax { input x: [9]; dense a: 9, activation = log_softmax; loss mse; }

    /// Kinked hidden activations under a summed squared error.
    network KinkedSse {
        input x: [3];
        dense a: 6, activation = leaky_relu(0.2);
        dense b: 5, activation = elu(0.7);
        dense out: 2;
        loss sse;
    }
    /// Smooth hidden activations and a log-softmax output under MSE.
    network SmoothMse {
        input x: [3];
        dense a: 6, activation = softplus;
        dense b: 5, activation = gelu;
        dense out: 3, activation = log_softmax;
        loss mse;
    }
    /// A hidden step layer under half the summed squared error.
    #[allow(step_has_no_gradient)]
    network StepSseHalf {
        input x: [3];
        dense a: 6, activation = tanh;
        dense s: 5, activation = step;
        dense out: 2;
        loss sse_half;
    }
    /// Binary cross-entropy on logits, two outputs.
    network LogitsBinary {
        input x: [3];
        dense a: 6, activation = relu;
        dense out: 2;
        loss binary_cross_entropy_with_logits;
    }
    /// Binary cross-entropy on a sigmoid's probabilities.
    network ProbabilityBinary {
        input x: [3];
        dense a: 6, activation = tanh;
        dense out: 1, activation = sigmoid;
        loss binary_cross_entropy;
    }
    /// Softmax cross-entropy on logits.
    network LogitsSoftmax {
        input x: [3];
        dense a: 6, activation = tanh;
        dense out: 3;
        loss softmax_cross_entropy;
    }
    /// Cross-entropy on a softmax's probabilities.
    network ProbabilitySoftmax {
        input x: [3];
        dense a: 6, activation = sigmoid;
        dense out: 3, activation = softmax;
        loss cross_entropy;
    }
}

/// A generated network and its `predict`.
pub struct Head {
    /// The network, initialised from its spec with seed 3.
    pub model: Box<dyn Model>,
    /// The generated `predict` of one row, on a network with these parameters.
    pub predict: fn(params: &[f32], x: &[f32]) -> Vec<f32>,
}

macro_rules! heads {
    ($($network:ident),* $(,)?) => {
        /// Every network of this module.
        pub fn heads() -> Vec<Head> {
            vec![$(Head {
                model: {
                    let mut model = $network::zeroed();
                    model.init_params(3);
                    Box::new(model)
                },
                predict: |params, x| {
                    let network = $network::from_params(params).expect("the network's parameter count");
                    network.predict(x.try_into().expect("the network's input width")).to_vec()
                },
            }),*]
        }
    };
}

heads!(
    ActSigmoid,
    ActTanh,
    ActRelu,
    ActLeakyRelu,
    ActElu,
    ActSoftplus,
    ActGelu,
    ActStep,
    ActIdentity,
    ActSoftmax,
    ActLogSoftmax,
    KinkedSse,
    SmoothMse,
    StepSseHalf,
    LogitsBinary,
    ProbabilityBinary,
    LogitsSoftmax,
    ProbabilitySoftmax,
);

/// The width of the activation networks' identity layer.
pub const ACTIVATION_WIDTH: usize = 9;

/// Inputs on the negative side, near and at the kink, and in saturation.
pub const ACTIVATION_INPUTS: [f32; ACTIVATION_WIDTH] = [-40.0, -6.0, -1.5, -1e-3, 0.0, 1e-3, 0.75, 6.0, 40.0];

/// True for the networks whose one layer is a `[9] → [9]` activation.
pub fn is_activation_network(model: &dyn Model) -> bool {
    model.name().starts_with("Act")
}

/// Identity weights and zero biases for an activation network, so its inputs reach the activation unchanged.
pub fn identity_params(model: &mut dyn Model) {
    let params = model.params_mut();
    params.fill(0.0);
    for i in 0..ACTIVATION_WIDTH {
        params[i * ACTIVATION_WIDTH + i] = 1.0;
    }
}
