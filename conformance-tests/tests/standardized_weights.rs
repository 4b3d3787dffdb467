//! Weights trained on standardised inputs keep their standardisation when
//! compiled in: `include_net!(…, weights = …)` reads the mean and std from the
//! file's metadata, and the generated `predict` takes raw inputs, giving
//! exactly the batch forward of the standardised rows.

use nnspec::data::Standardizer;
use nnspec::{Dataset, Model, Workspace};

nnspec::include_net!("tests/data/standardized.nn", weights = "tests/data/standardized.safetensors");

#[test]
fn the_generated_predict_standardises_raw_inputs() {
    let network = Standardized::trained();
    let standardizer = Standardizer { mean: Standardized::INPUT_MEAN.to_vec(), std: Standardized::INPUT_STD.to_vec() };
    assert_eq!(standardizer.mean, [10.5, -3.25]);
    assert_eq!(standardizer.std, [2.0, 0.5]);
    let raw: Vec<f32> = (0..12).map(|i| (i * 7 % 9) as f32 * 1.5 - 4.0).collect();
    let mut standardized = Dataset::new(raw.clone(), vec![0.0; 6], 2, 1).unwrap();
    standardizer.apply(&mut standardized);
    let mut expected = vec![0.0; 6];
    network.forward(&standardized.x, &mut expected, &mut Workspace::default());
    for (row, expected) in raw.chunks(2).zip(&expected) {
        let got = network.predict(&[row[0], row[1]]);
        assert_eq!(got[0], *expected, "predict({row:?})");
    }
}

mod buffered {
    nnspec::include_net!("tests/data/buffered.nn", weights = "tests/data/buffered.safetensors");
}

/// Buffers compile in with the weights: `trained()` holds the file's
/// standardisation statistics and running statistics, the interpreter loading
/// the same file agrees to the bit, and `predict` takes raw inputs.
#[test]
fn compiled_in_weights_carry_the_buffers() {
    let network = buffered::Buffered::trained();
    let program = nnspec_lang::check_source(include_str!("data/buffered.nn")).unwrap().program;
    let mut interpreter = nnspec_cli::convert::network(&program.networks[0]);
    nnspec::weights::load(&mut interpreter, "tests/data/buffered.safetensors").unwrap();
    assert_eq!(network.params(), interpreter.params());
    assert_eq!(network.buffers(), interpreter.buffers());
    let count = |name: &str| network.buffer_tensors().iter().find(|b| b.name == name).unwrap().offset;
    assert!(network.buffers()[count("scaled.count")] > 0.0, "the statistics of the training rows");
    assert!(network.buffers()[count("norm.num_batches_tracked")] > 0.0, "running statistics that moved");
    let raw = [1.25f32, -3.5];
    let mut expected = [0.0];
    interpreter.forward(&raw, &mut expected, &mut Workspace::default());
    assert_eq!(network.predict(&raw), expected);
}
