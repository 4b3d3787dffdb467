//! ONNX export checked by an independent runtime: tract loads every exported
//! conformance network, example network and head network
//! (`nnspec_conformance_tests::heads`: each activation in a network of its
//! own, each loss head) and gives the outputs of `forward` on a batch, within
//! the f32 tolerance. The activation networks get identity weights and inputs
//! on the negative side, at and beside the kink, and in saturation.

mod common;

use common::{example_networks, initialised};
use nnspec::{Model, Workspace};
use nnspec_conformance_tests::heads;
use nnspec_testkit::{assert_close, Tolerance};
use tract_onnx::prelude::*;

nnspec::net! {
    /// A layer without bias.
    network NoBias {
        input x: [3];
        dense h: 4, activation = tanh, bias = false;
        dense out: 2, activation = softmax, bias = false;
        loss cross_entropy;
    }
}

mod graphs {
    nnspec::include_net!("tests/data/graphs.nn");
}

#[test]
fn graphs_round_trip() {
    let models: Vec<Box<dyn Model>> = vec![
        Box::new(graphs::Residual::with_seed(2)),
        Box::new(graphs::Wide::with_seed(2)),
        Box::new(graphs::Shared::with_seed(2)),
        Box::new(graphs::SumOut::with_seed(2)),
        Box::new(graphs::NormFirst::with_seed(2)),
        Box::new(graphs::Signal::with_seed(2)),
        Box::new(graphs::Image::with_seed(2)),
        Box::new(trained_normed()),
        Box::new(adapted_scaled()),
        // GRU and LSTM: ONNX's gate order and reset placement, both directions, both outputs.
        Box::new(graphs::Stacked::with_seed(2)),
        Box::new(graphs::Sequences::with_seed(2)),
        Box::new(graphs::ConvGru::with_seed(2)),
        Box::new(graphs::ConvLstm::with_seed(2)),
    ];
    for model in models {
        let worst = round_trip(model.as_ref());
        println!("{}: worst |ONNX − nnspec| {worst:e}", model.name());
    }
}

/// A network with batch normalisations whose running statistics two training
/// passes have moved away from their initial values (which ONNX must carry).
fn trained_normed() -> graphs::Normed {
    let mut model = graphs::Normed::with_seed(2);
    let x: Vec<f32> = (0..6 * graphs::Normed::INPUT).map(|i| ((i * 13 % 17) as f32 - 8.0) / 4.0).collect();
    let y = vec![0.5; 6 * graphs::Normed::OUTPUT];
    let mut workspace = Workspace::default();
    for _ in 0..2 {
        model.loss_and_grad(&x, &y, None, &mut workspace, true);
        model.update_buffers(&mut workspace, 6);
    }
    model
}

/// A network whose `standardize` holds statistics of data far from standard.
fn adapted_scaled() -> graphs::Scaled {
    let mut model = graphs::Scaled::with_seed(2);
    let x: Vec<f32> = (0..9 * graphs::Scaled::INPUT).map(|i| (i * 7 % 13) as f32 * 3.0 + 10.0).collect();
    model.adapt(&x, 9);
    model
}

/// The largest |ONNX − nnspec| over a batch of 7 rows, after checking the tolerance.
fn round_trip(model: &dyn Model) -> f32 {
    let batch = 7;
    let x: Vec<f32> = (0..batch * model.input_size()).map(|i| ((i * 37 % 23) as f32 - 11.0) / 5.0).collect();
    round_trip_on(model, &x)
}

/// tract's output for the rows `x` (`inputs` values each) of the ONNX model `bytes`.
fn tract_outputs(name: &str, bytes: &[u8], inputs: usize, x: Vec<f32>) -> Vec<f32> {
    let batch = x.len() / inputs;
    let runnable = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .and_then(|m| m.with_input_fact(0, f32::fact([batch, inputs]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .unwrap_or_else(|e| panic!("{name}: tract cannot load the export: {e:?}"));
    let input: Tensor = tract_ndarray::Array2::from_shape_vec((batch, inputs), x).unwrap().into();
    let outputs = runnable.run(tvec!(input.into())).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    outputs[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
}

/// The largest |ONNX − nnspec| on the rows of `x`, after checking the tolerance.
fn round_trip_on(model: &dyn Model, x: &[f32]) -> f32 {
    let batch = x.len() / model.input_size();
    let x = x.to_vec();
    let mut expected = vec![0.0; batch * model.output_size()];
    model.forward(&x, &mut expected, &mut Workspace::default());
    let bytes = nnspec::onnx::export(model);
    let got = tract_outputs(model.name(), &bytes, model.input_size(), x);
    let reference: Vec<f64> = expected.iter().map(|v| f64::from(*v)).collect();
    // Two f32 implementations of the same graph: the README's f32 tolerance, with
    // the absolute part scaled for outputs that go through several layers.
    assert_close(model.name(), &got, &reference, Tolerance { rtol: 1e-5, atol: 1e-5 });
    got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
}

#[test]
fn every_conformance_network_round_trips() {
    for (stem, dropout, make) in nnspec_conformance_tests::registry() {
        let mut model = make();
        model.init_params(5);
        let worst = round_trip(model.as_ref());
        println!("{stem}{}: worst |onnx − nnspec| = {worst:e}", if dropout { " (dropout)" } else { "" });
    }
}

#[test]
fn every_example_network_round_trips() {
    for model in &example_networks() {
        let worst = round_trip(model.as_ref());
        println!("{}: worst |onnx − nnspec| = {worst:e}", model.name());
    }
}

#[test]
fn every_activation_and_loss_head_round_trips() {
    let mut activations = 0;
    for mut head in heads::heads() {
        let model = head.model.as_mut();
        let worst = if heads::is_activation_network(model) {
            activations += 1;
            heads::identity_params(model);
            let negated = heads::ACTIVATION_INPUTS.map(|v| -v * 0.5);
            round_trip_on(model, &[heads::ACTIVATION_INPUTS, negated].concat())
        } else {
            round_trip(model)
        };
        println!("{}: worst |onnx − nnspec| = {worst:e}", model.name());
    }
    assert!(activations > 0);
    let no_bias = initialised(NoBias::zeroed(), 3);
    println!("NoBias: worst |onnx − nnspec| = {:e}", round_trip(&no_bias));
}

/// With the standardisation a network was trained with, the exported model
/// takes raw inputs: its outputs on raw rows are the network's on the
/// standardised rows.
#[test]
fn a_standardised_network_exports_for_raw_inputs() {
    let model = initialised(NoBias::zeroed(), 3);
    let standardizer = nnspec::data::Standardizer { mean: vec![10.0, -4.0, 0.5], std: vec![2.0, 0.25, 8.0] };
    let batch = 5;
    let raw: Vec<f32> = (0..batch * 3).map(|i| ((i * 7 % 11) as f32 - 5.0) * 3.0).collect();
    let mut standardized = nnspec::Dataset::new(raw.clone(), vec![0.0; batch], 3, 1).unwrap();
    standardizer.apply(&mut standardized);
    let mut expected = vec![0.0; batch * model.output_size()];
    model.forward(&standardized.x, &mut expected, &mut Workspace::default());
    let bytes = nnspec::onnx::export_standardized(&model, Some(&standardizer));
    let got = tract_outputs("standardised export", &bytes, 3, raw);
    let reference: Vec<f64> = expected.iter().map(|v| f64::from(*v)).collect();
    assert_close("standardised export", &got, &reference, Tolerance { rtol: 1e-5, atol: 1e-6 });
}

/// With `probabilities`, a network whose loss takes logits ends in the softmax
/// (or sigmoid) `nnspec predict` applies: tract's output is the probabilities.
#[test]
fn an_export_with_probabilities_ends_where_predict_does() {
    let mut checked = 0;
    for model in example_networks().iter().map(|m| m.as_ref()) {
        let loss = model.loss_kind();
        if !matches!(loss, nnspec::Loss::SoftmaxCrossEntropy | nnspec::Loss::BinaryCrossEntropyWithLogits) {
            continue;
        }
        let (batch, width) = (5, model.output_size());
        let x: Vec<f32> = (0..batch * model.input_size()).map(|i| ((i * 31 % 19) as f32 - 9.0) / 4.0).collect();
        let mut logits = vec![0.0; batch * width];
        model.forward(&x, &mut logits, &mut Workspace::default());
        let mut expected = logits.clone();
        if loss == nnspec::Loss::SoftmaxCrossEntropy {
            expected.chunks_mut(width).for_each(nnspec::activation::softmax_row_in_place);
        } else {
            expected.iter_mut().for_each(|z| *z = nnspec::activation::sigmoid(*z));
        }
        let bytes = nnspec::onnx::export_with(model, None, true);
        let got = tract_outputs(model.name(), &bytes, model.input_size(), x);
        let reference: Vec<f64> = expected.iter().map(|v| f64::from(*v)).collect();
        assert_close(model.name(), &got, &reference, Tolerance { rtol: 1e-5, atol: 1e-6 });
        checked += 1;
    }
    assert!(checked >= 2, "only {checked} networks with a loss on logits");
}
