//! The statistics the trainer and the CLI report, against
//! `datasets/references.json`: the standardiser's train-row mean and
//! population std for every data set, and R² and MSE of a least-squares fit on
//! every regression set (the fit is solved here in f64; `r2_and_mse` scores its
//! f32 predictions, and the reference is scikit-learn's `LinearRegression`
//! scored by `r2_score`). Cases are read from the file.

use nnspec::data::{CsvOptions, Standardizer};
use nnspec::train::r2_and_mse;
use nnspec::Dataset;
use nnspec_testkit::{self as kit, assert_close, flat, Tolerance, F32};
use serde_json::Value;

fn indices(entry: &Value, key: &str) -> Vec<usize> {
    flat(&entry[key]).into_iter().map(|i| i as usize).collect()
}

fn load(entry: &Value) -> Dataset {
    let path = kit::dir().join("datasets").join(entry["csv"].as_str().expect("csv"));
    Dataset::from_csv(&path, &CsvOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_standardiser_fits_the_references_statistics() {
    let references = kit::json("datasets/references.json");
    let entries = references["datasets"].as_object().expect("datasets");
    assert!(!entries.is_empty());
    for (name, entry) in entries {
        let train = load(entry).subset(&indices(entry, "train_indices")).expect("train rows");
        let standardizer = Standardizer::fit(&train);
        let reference = &entry["standardization"];
        assert_close(&format!("{name}.mean"), &standardizer.mean, &flat(&reference["mean"]), F32);
        assert_close(&format!("{name}.std"), &standardizer.std, &flat(&reference["std"]), F32);
    }
}

/// Least squares with an intercept on `x` (`[rows][features]`), by the normal equations in f64.
fn least_squares(x: &[f64], y: &[f64], features: usize) -> Vec<f64> {
    let n = features + 1;
    let mut a = vec![0.0; n * (n + 1)];
    for (row, target) in x.chunks(features).zip(y) {
        let extended: Vec<f64> = row.iter().copied().chain([1.0]).collect();
        for i in 0..n {
            for j in 0..n {
                a[i * (n + 1) + j] += extended[i] * extended[j];
            }
            a[i * (n + 1) + n] += extended[i] * target;
        }
    }
    // Gauss–Jordan elimination with partial pivoting.
    for column in 0..n {
        let pivot = (column..n).max_by(|p, q| a[p * (n + 1) + column].abs().total_cmp(&a[q * (n + 1) + column].abs()));
        let pivot = pivot.expect("a pivot");
        for k in 0..=n {
            a.swap(column * (n + 1) + k, pivot * (n + 1) + k);
        }
        for row in 0..n {
            if row != column {
                let factor = a[row * (n + 1) + column] / a[column * (n + 1) + column];
                for k in 0..=n {
                    a[row * (n + 1) + k] -= factor * a[column * (n + 1) + k];
                }
            }
        }
    }
    (0..n).map(|i| a[i * (n + 1) + n] / a[i * (n + 1) + i]).collect()
}

#[test]
fn r2_and_mse_score_a_least_squares_fit_as_the_references_do() {
    let references = kit::json("datasets/references.json");
    let regressions: Vec<(&String, &Value)> = references["datasets"]
        .as_object()
        .expect("datasets")
        .iter()
        .filter(|(_, e)| e["task"] == "regression")
        .collect();
    assert!(!regressions.is_empty());
    for (name, entry) in regressions {
        let data = load(entry);
        let mut train = data.subset(&indices(entry, "train_indices")).expect("train rows");
        let mut test = data.subset(&indices(entry, "test_indices")).expect("test rows");
        let standardizer = Standardizer::fit(&train);
        standardizer.apply(&mut train);
        standardizer.apply(&mut test);
        let wide = |values: &[f32]| values.iter().map(|v| f64::from(*v)).collect::<Vec<f64>>();
        let coefficients = least_squares(&wide(&train.x), &wide(&train.y), train.features);
        let predicted: Vec<f32> = test
            .x
            .chunks(test.features)
            .map(|row| {
                let (weights, intercept) = coefficients.split_at(test.features);
                (row.iter().zip(weights).map(|(x, w)| f64::from(*x) * w).sum::<f64>() + intercept[0]) as f32
            })
            .collect();
        let (r2, mse) = r2_and_mse(&predicted, &test.y, 1);
        let reference = &entry["linear_regression_test"];
        // The predictions are rounded to f32 once; the scores keep about six digits.
        let tolerance = Tolerance { rtol: 1e-5, atol: 1e-6 };
        assert_close(&format!("{name}.r2"), &[r2 as f32], &[reference["r2"].as_f64().unwrap()], tolerance);
        assert_close(&format!("{name}.mse"), &[mse as f32], &[reference["mse"].as_f64().unwrap()], tolerance);
    }
}
