//! int8 networks follow their f32 networks on every op with an int8 kernel,
//! survive a weight-file round trip, and refuse what they cannot do.

use nnspec::quant::{self, QuantError};
use nnspec::{Model, Workspace};

nnspec::net! {
    /// Convolutions, pools, a residual sum, a concatenation of channels, a
    /// batch norm and a standardisation that alone reads the input.
    #[allow(pool_drops_positions, batch_norm_single_row)]
    network Signal {
        input x: [2, 12];
        standardize s;
        conv1d c1: 4, kernel = 3, padding = 1;
        batch_norm bn, momentum = 0.3;
        relu r1;
        max_pool1d p1, kernel = 2;
        conv1d c2: 4, kernel = 3, dilation = 2, padding = 2, groups = 2;
        add res(c2, p1);
        tanh t;
        concat both(t, p1);
        avg_pool1d p2, kernel = 3, stride = 2;
        flatten f;
        dense out: 3;
        loss softmax_cross_entropy;
    }

    /// Dense layers with every kind of activation: fused ReLU, tables, the identity.
    network Dense {
        input x: [5];
        dense a: 8, activation = relu;
        dense b: 6, activation = sigmoid;
        dense c(x): 4, activation = gelu;
        concat both(b, c);
        dropout(0.2) d;
        dense e: 5, activation = leaky_relu(0.1);
        add skip(e, x);
        elu g;
        dense out: 2;
        loss mse;
    }

    network Normed {
        input x: [3];
        layer_norm n;
        dense out: 2;
        loss mse;
    }
}

fn plan_of(model: &dyn Model) -> nnspec::Plan {
    let (nodes, layers) = (model.nodes().to_vec(), model.layers().to_vec());
    nnspec::Plan::graph(model.name().to_string(), nodes, layers, model.loss_kind()).unwrap()
}

fn rows(count: usize, width: usize, seed: u32) -> Vec<f32> {
    (0..count * width)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 16_777_216.0 * 4.0 - 1.5)
        .collect()
}

/// The largest gap between the int8 and the f32 outputs, over the output range.
fn relative_gap(model: &dyn Model, network: &quant::QNetwork, x: &[f32]) -> f32 {
    let (input, output) = (model.input_size(), model.output_size());
    let mut expected = vec![0.0; x.len() / input * output];
    model.forward(x, &mut expected, &mut Workspace::default());
    let got: Vec<f32> = x.chunks_exact(input).flat_map(|row| network.predict(row)).collect();
    let range = expected.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-3);
    expected.iter().zip(&got).map(|(e, g)| (e - g).abs()).fold(0.0, f32::max) / range
}

#[test]
fn int8_follows_f32_on_every_op() {
    let mut signal = Signal::with_seed(3);
    let calibration = rows(64, 24, 1);
    signal.adapt(&calibration, 64);
    // Running statistics away from their initial values, as training leaves them.
    for tensor in signal.buffer_tensors().to_vec() {
        if tensor.name.ends_with("running_mean") || tensor.name.ends_with("running_var") {
            let buffers = signal.buffers_mut();
            for (i, v) in buffers[tensor.range()].iter_mut().enumerate() {
                *v = if tensor.name.ends_with("mean") { 0.1 * i as f32 - 0.2 } else { 0.5 + 0.25 * i as f32 };
            }
        }
    }
    let network = quant::quantize(&signal, &calibration, None).unwrap();
    let gap = relative_gap(&signal, &network, &rows(32, 24, 7));
    assert!(gap < 0.05, "Signal: int8 is {gap} of the output range away from f32");
    assert!(network.input_standardization.is_some(), "the standardisation is part of the input's quantisation");

    let dense = Dense::with_seed(5);
    let calibration = rows(64, 5, 2);
    let network = quant::quantize(&dense, &calibration, None).unwrap();
    let gap = relative_gap(&dense, &network, &rows(32, 5, 9));
    assert!(gap < 0.05, "Dense: int8 is {gap} of the output range away from f32");
}

#[test]
fn int8_weight_files_round_trip_and_check_the_network() {
    let signal = Signal::with_seed(3);
    let network = quant::quantize(&signal, &rows(16, 24, 1), None).unwrap();
    let directory = std::env::temp_dir().join(format!("nnspec-quant-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("signal.int8.safetensors");
    quant::save(&network, &path).unwrap();
    let plan = plan_of(&signal);
    assert_eq!(quant::load(&plan, &path).unwrap(), network);

    let dense = plan_of(&Dense::new());
    let error = quant::load(&dense, &path).unwrap_err().to_string();
    assert!(error.contains("holds network `Signal`"), "{error}");

    let f32_file = directory.join("signal.safetensors");
    nnspec::weights::save(&signal, &f32_file).unwrap();
    let error = quant::load(&plan, &f32_file).unwrap_err().to_string();
    assert!(error.contains("not an int8 weight file"), "{error}");

    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&path, &bytes).unwrap();
    let error = quant::load(&plan, &path).unwrap_err().to_string();
    assert!(error.contains("safetensors"), "{error}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn ops_without_an_int8_kernel_and_bad_calibration_are_refused() {
    let normed = Normed::with_seed(1);
    let error = quant::quantize(&normed, &rows(8, 3, 1), None).unwrap_err().to_string();
    assert!(error.contains("`n` is a `layer_norm`, which has no int8 kernel"), "{error}");
    let dense = Dense::with_seed(5);
    let error = quant::quantize(&dense, &rows(3, 4, 1)[..11], None).unwrap_err().to_string();
    assert!(error.contains("not a whole number of rows"), "{error}");
    let error = quant::quantize(&dense, &[f32::NAN; 5], None).unwrap_err().to_string();
    assert!(error.contains("NaN"), "{error}");
    assert!(matches!(
        nnspec::quant::network::quantize(
            &plan_of(&normed),
            normed.params(),
            normed.buffers(),
            None,
            &quant::Ranges::unit(&plan_of(&normed)),
        ),
        Err(QuantError::Unsupported { .. })
    ));
}
