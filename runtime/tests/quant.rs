//! int8 networks follow their f32 networks on every op with an int8 kernel,
//! survive a weight-file round trip, and refuse what they cannot do.

use nnspec::quant::{self, QuantError};
use nnspec::{Model, Workspace};

nnspec::include_net!("tests/data/int8.nn");

fn plan_of(model: &dyn Model) -> nnspec::Plan {
    nnspec::Plan::graph(model.name().to_string(), model.nodes().to_vec(), model.loss_kind()).unwrap()
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

/// `Signal` with its standardisation adapted and running statistics away
/// from their initial values, as training leaves them; its calibration rows.
fn trained_signal() -> (Signal, Vec<f32>) {
    let mut signal = Signal::with_seed(3);
    let calibration = rows(64, 24, 1);
    signal.adapt(&calibration, 64);
    for tensor in signal.buffer_tensors().to_vec() {
        if tensor.name.ends_with("running_mean") || tensor.name.ends_with("running_var") {
            let buffers = signal.buffers_mut();
            for (i, v) in buffers[tensor.range()].iter_mut().enumerate() {
                *v = if tensor.name.ends_with("mean") { 0.1 * i as f32 - 0.2 } else { 0.5 + 0.25 * i as f32 };
            }
        }
    }
    (signal, calibration)
}

#[test]
fn int8_follows_f32_on_every_op() {
    let (signal, calibration) = trained_signal();
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

/// GRU and LSTM layers (bidirectional, every step or the last, stacked, read
/// from a convolution) in integers follow their f32 layers; the LSTM's cell
/// state takes the format its calibrated range needs.
#[test]
fn int8_recurrent_layers_follow_f32() {
    let sequence = Sequence::with_seed(3);
    let network = quant::quantize(&sequence, &rows(64, 20, 1), None).unwrap();
    // Four requantised layers before small logits: each layer alone is within
    // about one output step of f32, the stack within 7 steps (5.3%).
    let gap = relative_gap(&sequence, &network, &rows(32, 20, 7));
    assert!(gap < 0.08, "Sequence: int8 is {gap} of the output range away from f32");
    let lstm = Lstm::with_seed(4);
    let network = quant::quantize(&lstm, &rows(64, 12, 2), None).unwrap();
    let gap = relative_gap(&lstm, &network, &rows(32, 12, 9));
    assert!(gap < 0.05, "Lstm: int8 is {gap} of the output range away from f32");
    let cell_bits = network.nodes.iter().find_map(|n| match &n.kind {
        quant::QKind::Recurrent(layer) => Some(layer.cell_bits),
        _ => None,
    });
    // Six steps of |c| < 1 + |c| reach at most 6; calibration finds far less.
    assert!(cell_bits.is_some_and(|bits| bits >= 13), "{cell_bits:?}");
}

/// A network whose recurrent layers come first streams in integers: fed one
/// quantised step at a time, `step_q` ends where `predict_q` on the whole
/// sequence does; a network with a convolution first, or a bidirectional
/// layer, does not stream.
#[test]
fn int8_recurrent_layers_stream_step_by_step() {
    let streamed = Streamed::with_seed(6);
    let network = quant::quantize(&streamed, &rows(64, 12, 3), None).unwrap();
    assert_eq!(network.streaming_layers(), Some(vec![1, 2]));
    assert_eq!(network.state_len(), 5 + 2 * 4);
    for row in rows(16, 12, 8).chunks_exact(12) {
        let q = network.quantize_input(row);
        let mut state = vec![0i16; network.state_len()];
        let mut last = Vec::new();
        for x_t in q.chunks_exact(2) {
            last = network.step_q(&mut state, x_t).unwrap();
        }
        assert_eq!(last, network.predict_q(&q));
    }
    let sequence = quant::quantize(&Sequence::with_seed(3), &rows(16, 20, 1), None).unwrap();
    assert_eq!(sequence.streaming_layers(), None);
    assert_eq!(sequence.step_q(&mut [], &[0; 3]), None);
    let bidirectional = quant::quantize(&Lstm::with_seed(4), &rows(16, 12, 2), None).unwrap();
    assert_eq!(bidirectional.streaming_layers(), None);
}

/// A recurrent layer cannot go to ONNX in int8 (ONNX's GRU and LSTM are
/// float): the export says which node and what to do instead; a file whose
/// cell state format no quantisation writes is refused.
#[test]
fn int8_recurrent_layers_refuse_qdq_and_bad_files() {
    let sequence = Sequence::with_seed(3);
    let network = quant::quantize(&sequence, &rows(16, 20, 1), None).unwrap();
    let plan = plan_of(&sequence);
    let error = nnspec::onnx::export_int8(&plan, &network).unwrap_err().to_string();
    assert!(error.contains("`g` is a recurrent layer") && error.contains("export the f32 network"), "{error}");
    let mut tensors = network.tensors();
    assert!(tensors.iter().any(|t| t.name == "l.cell_bits") && !tensors.iter().any(|t| t.name == "g.cell_bits"));
    for tensor in &mut tensors {
        if tensor.name == "l.cell_bits" {
            tensor.data = quant::QData::I32(vec![16]);
        }
    }
    let error = quant::QNetwork::from_tensors(&plan, |name| tensors.iter().find(|t| t.name == name).cloned());
    assert!(error.unwrap_err().to_string().contains("`l.cell_bits` is 16"));
    let tensors = network.tensors();
    let read = quant::QNetwork::from_tensors(&plan, |name| tensors.iter().find(|t| t.name == name).cloned());
    assert_eq!(read.unwrap(), network);
}

/// The int8 files `tests/int8_generated.rs` compiles in load for today's
/// networks and follow their f32 networks; `NNSPEC_BLESS=1` rewrites them.
#[test]
fn the_int8_files_of_the_generated_code_test_are_current() {
    let (signal, calibration) = trained_signal();
    let dense = Dense::with_seed(5);
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let sequence = Sequence::with_seed(3);
    let streamed = Streamed::with_seed(6);
    let cases: [(&dyn Model, Vec<f32>, &str); 4] = [
        (&signal, calibration, "signal.int8.safetensors"),
        (&dense, rows(64, 5, 2), "dense.int8.safetensors"),
        (&sequence, rows(64, 20, 1), "sequence.int8.safetensors"),
        (&streamed, rows(64, 12, 3), "streamed.int8.safetensors"),
    ];
    for (model, calibration, file) in cases {
        let allowed = if model.name() == "Sequence" { 0.08 } else { 0.05 };
        let path = data.join(file);
        if std::env::var_os("NNSPEC_BLESS").is_some() {
            quant::save(&quant::quantize(model, &calibration, None).unwrap(), &path).unwrap();
        }
        let network =
            quant::load(&plan_of(model), &path).unwrap_or_else(|e| panic!("{e} (NNSPEC_BLESS=1 rewrites it)"));
        let gap = relative_gap(model, &network, &rows(16, model.input_size(), 11));
        assert!(gap < allowed, "{file}: int8 is {gap} of the output range away from f32");
    }
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

#[test]
fn a_softmax_output_is_left_to_predict() {
    let model = Probabilities::with_seed(2);
    let network = quant::quantize(&model, &rows(64, 4, 3), None).unwrap();
    assert_eq!(network.finish, quant::Finish::Softmax);
    let x = rows(16, 4, 5);
    assert!(relative_gap(&model, &network, &x) < 0.05);
    for row in x.chunks_exact(4) {
        let p = network.predict(row);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{p:?}");
    }
}

/// Every field of an int8 file is checked as the f32 loader checks shapes: a
/// scale that is NaN, zero or negative, a zero point outside int8, a
/// requantisation zeroed or disagreeing with the file's own scales, a
/// reversed clamp or a bias that leaves the accumulator no room is refused by
/// name (each was once loaded and exported: −96 for a zero point of 100,000).
#[test]
fn every_field_of_an_int8_file_is_validated() {
    let (signal, calibration) = trained_signal();
    let dense = Dense::with_seed(5);
    let cases: [(&dyn Model, Vec<f32>); 2] = [(&signal, calibration), (&dense, rows(64, 5, 2))];
    for (model, calibration) in cases {
        let plan = plan_of(model);
        let network = quant::quantize(model, &calibration, None).unwrap();
        let tensors = network.tensors();
        let load = |tensors: &[quant::QTensor]| {
            quant::QNetwork::from_tensors(&plan, |name| tensors.iter().find(|t| t.name == name).cloned())
        };
        assert_eq!(load(&tensors).unwrap(), network, "an untouched file loads");
        let mut refused = 0;
        for (index, tensor) in tensors.iter().enumerate() {
            let suffix = tensor.name.rsplit('.').next().unwrap();
            let corruptions: Vec<quant::QData> = match (&tensor.data, suffix) {
                (quant::QData::F32(v), "scale" | "weight_scale" | "pre_scale" | "std") => {
                    [f32::NAN, 0.0, -1.0, f32::INFINITY]
                        .iter()
                        .map(|&bad| {
                            let mut v = v.clone();
                            if let Some(last) = v.last_mut() {
                                *last = bad;
                            }
                            quant::QData::F32(v)
                        })
                        .collect()
                }
                (quant::QData::I32(_), "zero_point" | "pre_zero_point") => {
                    [100_000, -129, 128].iter().map(|&z| quant::QData::I32(vec![z])).collect()
                }
                (quant::QData::I32(v), "requant") => {
                    let zeroed = quant::QData::I32(vec![0; v.len()]);
                    let mut off = v.clone();
                    off[0] = off[0].wrapping_add(1 << 20);
                    let mut shifted = v.clone();
                    shifted[1] -= 1;
                    // A batch norm's multipliers come from parameters not in the file: only their form is checked.
                    let affine = tensors.iter().any(|t| t.name == tensor.name.replace("requant", "offset"));
                    let mut cases = vec![quant::QData::I32(vec![i32::MIN; v.len()])];
                    if !affine {
                        cases.extend([zeroed, quant::QData::I32(off), quant::QData::I32(shifted)]);
                    }
                    cases
                }
                (quant::QData::I32(v), "clamp") => {
                    vec![quant::QData::I32(vec![v[1], v[0] - 1]), quant::QData::I32(vec![-200, 127])]
                }
                (quant::QData::I32(v), "bias") => {
                    let mut v = v.clone();
                    v[0] = i32::MAX - 1;
                    vec![quant::QData::I32(v)]
                }
                (quant::QData::I32(v), "offset") => {
                    let mut v = v.clone();
                    v[0] = i32::MAX;
                    vec![quant::QData::I32(v)]
                }
                _ => Vec::new(),
            };
            for data in corruptions {
                let mut altered = tensors.clone();
                altered[index].data = data.clone();
                match load(&altered) {
                    Err(error) => {
                        let node = tensor.name.split('.').next().unwrap();
                        assert!(error.to_string().contains(node), "`{}` = {data:?}: {error}", tensor.name);
                        refused += 1;
                    }
                    Ok(_) => panic!("`{}` = {data:?} was accepted", tensor.name),
                }
            }
        }
        assert!(refused > 20, "{refused} corruptions tried on `{}`", model.name());
    }
}

/// A `relu` statement after a layer that requantises is fused into it as
/// `activation = relu` is (no table, no second rounding): the two spellings
/// give the same int8 network, bit for bit; after a sum it is a clamp in the
/// sum's quantisation.
#[test]
fn a_relu_statement_is_fused_into_the_layer_before_it() {
    let separate = SeparateRelu::with_seed(4);
    let mut fused = FusedRelu::with_seed(4);
    fused.params_mut().copy_from_slice(separate.params());
    let calibration = rows(64, 5, 3);
    let (a, b) =
        (quant::quantize(&separate, &calibration, None).unwrap(), quant::quantize(&fused, &calibration, None).unwrap());
    assert_eq!(a.weight_bytes(), b.weight_bytes(), "no table for the statement");
    for row in rows(32, 5, 8).chunks_exact(5) {
        assert_eq!(a.predict(row), b.predict(row));
    }

    let mut rectified = Rectified::with_seed(6);
    let calibration = rows(64, 16, 5);
    let targets = vec![0.5; 64 * 2];
    let mut workspace = Workspace::default();
    rectified.loss_and_grad(&calibration, &targets, None, &mut workspace, true);
    rectified.update_buffers(&mut workspace, 64);
    let network = quant::quantize(&rectified, &calibration, None).unwrap();
    let gap = relative_gap(&rectified, &network, &rows(32, 16, 9));
    assert!(gap < 0.05, "Rectified: int8 is {gap} of the output range away from f32");
    for (node, q) in rectified.nodes().iter().zip(&network.nodes) {
        if !matches!(node.op, nnspec::Op::Activation(_)) {
            continue;
        }
        assert_eq!(q.kind, quant::QKind::Relu, "`{}`", q.name);
        let producer = &network.nodes[node.inputs[0]];
        assert_eq!(producer.params, q.params, "`{}` keeps its input's quantisation", q.name);
        let store = match &producer.kind {
            quant::QKind::Dense { output, .. }
            | quant::QKind::Conv { output, .. }
            | quant::QKind::Affine { output, .. } => Some(*output),
            _ => None,
        };
        match store {
            Some(store) => assert_eq!(store.min, producer.params.zero_point, "`{}` clamps at zero", producer.name),
            None => assert!(matches!(producer.kind, quant::QKind::Add { .. }), "`{}`", producer.name),
        }
    }
    // The int8 file keeps the fusion.
    let path = std::env::temp_dir().join(format!("nnspec-rectified-{}.int8.safetensors", std::process::id()));
    quant::save(&network, &path).unwrap();
    assert_eq!(quant::load(&plan_of(&rectified), &path).unwrap(), network);
    std::fs::remove_file(&path).unwrap();
}

/// A regression network whose outputs differ in range (3 to 6 beside 25 to
/// 350) gets one scale per output: each keeps more than 32 levels over its
/// range and follows f32 (R² above 0.999), where one scale for both left the
/// small output three levels. A classifier's logits keep one scale (their
/// argmax compares them).
#[test]
fn outputs_of_different_ranges_are_quantised_one_by_one() {
    let params = [3.0, 325.0, 3.0, 25.0]; // out.weight [1, 2], out.bias [2]
    let regression = nnspec::Interpreter::new("Two", 1, &[("out", 2, nnspec::Activation::Identity)], nnspec::Loss::Mse)
        .with_params(&params)
        .unwrap();
    let calibration: Vec<f32> = (0..64).map(|i| i as f32 / 63.0).collect();
    let network = quant::quantize(&regression, &calibration, None).unwrap();
    let scales = network.output_scales();
    assert!(scales[0] < scales[1] / 20.0, "{scales:?}");
    let rows: Vec<f32> = (0..200).map(|i| i as f32 / 199.0).collect();
    let mut expected = vec![0.0; 400];
    regression.forward(&rows, &mut expected, &mut Workspace::default());
    let got: Vec<f32> = rows.iter().flat_map(|&x| network.predict(&[x])).collect();
    for o in 0..2 {
        let column = |v: &[f32]| v.iter().skip(o).step_by(2).map(|&x| f64::from(x)).collect::<Vec<f64>>();
        let (e, g) = (column(&expected), column(&got));
        let mean = e.iter().sum::<f64>() / e.len() as f64;
        let total: f64 = e.iter().map(|v| (v - mean).powi(2)).sum();
        let residual: f64 = e.iter().zip(&g).map(|(a, b)| (a - b).powi(2)).sum();
        let r2 = 1.0 - residual / total;
        let mut levels: Vec<i64> = g.iter().map(|v| (v * 1e4).round() as i64).collect();
        levels.sort_unstable();
        levels.dedup();
        assert!(r2 > 0.999 && levels.len() > 32, "output {o}: R² {r2}, {} levels", levels.len());
    }
    // The per-output scales survive the weight file.
    let path = std::env::temp_dir().join(format!("nnspec-two-{}.int8.safetensors", std::process::id()));
    quant::save(&network, &path).unwrap();
    assert_eq!(quant::load(&plan_of(&regression), &path).unwrap(), network);
    std::fs::remove_file(&path).unwrap();

    let classifier = nnspec::Interpreter::new(
        "Two",
        1,
        &[("out", 2, nnspec::Activation::Identity)],
        nnspec::Loss::SoftmaxCrossEntropy,
    )
    .with_params(&params)
    .unwrap();
    let network = quant::quantize(&classifier, &calibration, None).unwrap();
    assert!(network.nodes.last().unwrap().unit_scales.is_empty(), "logits share one scale");
}
