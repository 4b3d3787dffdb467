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
