//! Data sets from ndarray arrays (feature `ndarray`), any memory layout.
#![cfg(feature = "ndarray")]

use ndarray::{array, Array2};
use nnspec::Dataset;

#[test]
fn arrays_become_data_sets_row_by_row() {
    let x = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let y = array![[0.0f32], [1.0]];
    let data = Dataset::from_ndarray(x.view(), y.view()).unwrap();
    assert_eq!(data.x, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(data.x_view(), x);
    assert_eq!(data.y_view(), y);
    // A transposed (column-major) view is read in logical row order.
    let columns: Array2<f32> = array![[1.0f32, 4.0], [2.0, 5.0], [3.0, 6.0]];
    let data = Dataset::from_ndarray(columns.t(), y.view()).unwrap();
    assert_eq!(data.x, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
}

#[test]
fn mismatched_rows_and_nan_are_refused() {
    let x = array![[1.0f32, 2.0], [3.0, 4.0]];
    assert!(Dataset::from_ndarray(x.view(), array![[0.0f32]].view()).is_err());
    let nan = array![[1.0f32, f32::NAN]];
    assert!(Dataset::from_ndarray(nan.view(), array![[0.0f32]].view()).is_err());
}
