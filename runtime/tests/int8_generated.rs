//! Generated integer-only inference (`include_net!` of an int8 weight file)
//! computes what the runtime's int8 interpreter computes, to the bit, on
//! every op; its f32 convenience `predict` too.

mod signal {
    nnspec::include_net!("tests/data/int8.nn", weights = "tests/data/signal.int8.safetensors", network = "Signal");
}

mod dense {
    nnspec::include_net!("tests/data/int8.nn", weights = "tests/data/dense.int8.safetensors", network = "Dense");
}

mod sequence {
    nnspec::include_net!("tests/data/int8.nn", weights = "tests/data/sequence.int8.safetensors", network = "Sequence");
}

mod streamed {
    nnspec::include_net!("tests/data/int8.nn", weights = "tests/data/streamed.int8.safetensors", network = "Streamed");
}

use nnspec::Model;

fn load(model: &dyn Model, file: &str) -> nnspec::quant::QNetwork {
    let plan = nnspec::Plan::graph(model.name().to_string(), model.nodes().to_vec(), model.loss_kind()).unwrap();
    nnspec::quant::load(&plan, std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file)).unwrap()
}

/// Every int8 input pattern of a simple generator, and f32 rows around the calibration range.
fn samples<const N: usize>(count: usize) -> Vec<([i8; N], [f32; N])> {
    (0..count)
        .map(|s| {
            let mut state = (s as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let q = std::array::from_fn(|_| next() as i8);
            let x = std::array::from_fn(|_| (next() % 4000) as f32 / 1000.0 - 2.0);
            (q, x)
        })
        .collect()
}

#[test]
fn generated_int8_code_matches_the_interpreter_bit_for_bit() {
    let interpreter = load(&signal::Signal::new(), "signal.int8.safetensors");
    for (q, x) in samples::<24>(200) {
        assert_eq!(signal::SignalInt8.predict_q(&q).to_vec(), interpreter.predict_q(&q));
        assert_eq!(signal::SignalInt8::quantize_input(&x).to_vec(), interpreter.quantize_input(&x));
        let (generated, interpreted) = (signal::SignalInt8.predict(&x), interpreter.predict(&x));
        assert_eq!(generated.map(f32::to_bits).to_vec(), interpreted.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(signal::SignalInt8.class_q(&q), nnspec::quant::argmax(&interpreter.predict_q(&q)));
    }
    let interpreter = load(&dense::Dense::new(), "dense.int8.safetensors");
    for (q, x) in samples::<5>(500) {
        assert_eq!(dense::DenseInt8.predict_q(&q).to_vec(), interpreter.predict_q(&q));
        let (generated, interpreted) = (dense::DenseInt8.predict(&x), interpreter.predict(&x));
        assert_eq!(generated.map(f32::to_bits).to_vec(), interpreted.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
    // Streaming: generated `step_q` and `step`, fed one step at a time, end where
    // `predict_q` and `predict` on the whole sequence do, and step as the interpreter does.
    let interpreter = load(&streamed::Streamed::new(), "streamed.int8.safetensors");
    assert_eq!(streamed::StreamedInt8::STATE_LEN, interpreter.state_len());
    for (q, x) in samples::<12>(100) {
        let (mut state, mut interpreted) =
            (streamed::StreamedInt8::initial_state(), vec![0i16; interpreter.state_len()]);
        let mut last = [0i8; 3];
        for x_t in q.chunks_exact(2) {
            last = streamed::StreamedInt8.step_q(&mut state, x_t.try_into().unwrap());
            assert_eq!(last.to_vec(), interpreter.step_q(&mut interpreted, x_t).unwrap());
        }
        assert_eq!(last, streamed::StreamedInt8.predict_q(&q));
        let mut state = streamed::StreamedInt8::initial_state();
        let mut last = [0.0f32; 3];
        for x_t in x.chunks_exact(2) {
            last = streamed::StreamedInt8.step(&mut state, x_t.try_into().unwrap());
        }
        assert_eq!(last.map(f32::to_bits), streamed::StreamedInt8.predict(&x).map(f32::to_bits));
    }
    // Integer GRU and LSTM kernels, from a convolution, bidirectional, stacked.
    let interpreter = load(&sequence::Sequence::new(), "sequence.int8.safetensors");
    for (q, x) in samples::<20>(200) {
        assert_eq!(sequence::SequenceInt8.predict_q(&q).to_vec(), interpreter.predict_q(&q));
        let (generated, interpreted) = (sequence::SequenceInt8.predict(&x), interpreter.predict(&x));
        assert_eq!(generated.map(f32::to_bits).to_vec(), interpreted.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    }
}

#[test]
fn the_int8_struct_states_its_quantisation() {
    assert_eq!(signal::SignalInt8::INPUT, 24);
    assert_eq!(signal::SignalInt8::OUTPUT, 3);
    let interpreter = load(&signal::Signal::new(), "signal.int8.safetensors");
    let (input, output) = (interpreter.input_params(), interpreter.output_params());
    assert_eq!(
        (signal::SignalInt8::INPUT_SCALE, signal::SignalInt8::INPUT_ZERO_POINT),
        (input.scale, input.zero_point)
    );
    assert_eq!(
        (signal::SignalInt8::OUTPUT_SCALE, signal::SignalInt8::OUTPUT_ZERO_POINT),
        (output.scale, output.zero_point)
    );
    assert_eq!(signal::SignalInt8::OUTPUT_SCALES.to_vec(), interpreter.output_scales());
    // `Dense` (a regression network with two outputs) is quantised per output.
    let dense_interpreter = load(&dense::Dense::new(), "dense.int8.safetensors");
    assert_eq!(dense_interpreter.nodes.last().unwrap().unit_scales.len(), 2);
    assert_eq!(dense::DenseInt8::OUTPUT_SCALES.to_vec(), dense_interpreter.output_scales());
    // `predict` is `predict_q` between the input's and the output's quantisations
    // (the network ends at logits, as its f32 `predict` does).
    let x = [0.5; 24];
    let q = signal::SignalInt8.predict_q(&signal::SignalInt8::quantize_input(&x));
    let expected =
        q.map(|v| signal::SignalInt8::OUTPUT_SCALE * (v as i32 - signal::SignalInt8::OUTPUT_ZERO_POINT) as f32);
    assert_eq!(signal::SignalInt8.predict(&x), expected);
}
