//! Bad data gets an error naming the file, line and column; nothing panics.

use nnspec::data::{CsvOptions, Standardizer, Target};
use nnspec::{Dataset, Error};
use std::path::PathBuf;

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nnspec-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn error_of(name: &str, text: &str) -> String {
    let path = write(name, text);
    match Dataset::from_csv(&path, &CsvOptions::default()) {
        Ok(_) => panic!("{name} was accepted"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn good_csv_loads_features_and_last_column_as_target() {
    let path = write("good.csv", "a,b,label\n1,2,0\n3.5,-4,1\n");
    let data = Dataset::from_csv(&path, &CsvOptions::default()).unwrap();
    assert_eq!((data.len(), data.features, data.target_width), (2, 2, 1));
    assert_eq!(data.x, [1.0, 2.0, 3.5, -4.0]);
    assert_eq!(data.y, [0.0, 1.0]);
    assert_eq!(data.feature_names, ["a", "b"]);
    let named = CsvOptions { target: Target::Named(vec!["a".into()]), features: vec!["b".into()] };
    let data = Dataset::from_csv(&path, &named).unwrap();
    assert_eq!((data.x.as_slice(), data.y.as_slice()), (&[2.0, -4.0][..], &[1.0, 3.5][..]));
}

#[test]
fn wrong_field_count_names_the_line() {
    let message = error_of("short.csv", "a,b,label\n1,2,0\n3,1\n");
    assert!(message.contains("short.csv:3") && message.contains("2 fields") && message.contains("3"), "{message}");
}

#[test]
fn non_numeric_cell_names_line_and_column() {
    let message = error_of("text.csv", "a,b,label\n1,2,0\n3,abc,1\n");
    assert!(
        message.contains("text.csv:3:2") && message.contains("`abc`") && message.contains("column `b`"),
        "{message}"
    );
}

#[test]
fn nan_and_infinity_are_refused() {
    let message = error_of("nan.csv", "a,b,label\n1,NaN,0\n");
    assert!(message.contains("nan.csv:2:2") && message.contains("not finite"), "{message}");
    let message = error_of("inf.csv", "a,b,label\n1,2,0\ninf,2,0\n");
    assert!(message.contains("inf.csv:3:1"), "{message}");
}

#[test]
fn empty_files_are_refused() {
    let message = error_of("empty.csv", "");
    assert!(message.contains("empty.csv") && message.contains("empty"), "{message}");
    let message = error_of("header.csv", "a,b,label\n");
    assert!(message.contains("no data rows"), "{message}");
}

#[test]
fn missing_file_and_unknown_column_are_errors() {
    let error = Dataset::from_csv("/nonexistent/nope.csv", &CsvOptions::default()).unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    let path = write("cols.csv", "a,b\n1,2\n");
    let options = CsvOptions { target: Target::Named(vec!["label".into()]), features: Vec::new() };
    let message = Dataset::from_csv(&path, &options).unwrap_err().to_string();
    assert!(message.contains("no column `label`") && message.contains("a, b"), "{message}");
}

#[test]
fn labels_out_of_range_are_refused() {
    let data = Dataset::new(vec![0.0, 1.0, 2.0], vec![0.0, 3.0, 1.0], 1, 1).unwrap();
    let message = data.check_labels(3).unwrap_err().to_string();
    assert!(message.contains("label 3 in row 2"), "{message}");
    assert!(data.one_hot(3).is_err());
    assert_eq!(data.one_hot(4).unwrap().y, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn sizes_are_checked() {
    assert!(Dataset::new(vec![1.0, 2.0, 3.0], vec![0.0], 2, 1).is_err());
    assert!(Dataset::new(vec![1.0, 2.0], vec![0.0, 1.0], 2, 1).is_err());
    assert!(Dataset::new(vec![f32::NAN, 2.0], vec![0.0], 2, 1).is_err());
}

#[test]
fn standardisation_uses_population_std_and_leaves_constants_alone() {
    let mut data = Dataset::new(vec![1.0, 5.0, 3.0, 5.0], vec![0.0, 1.0], 2, 1).unwrap();
    let s = Standardizer::fit(&data);
    assert_eq!(s.mean, [2.0, 5.0]);
    assert_eq!(s.std, [1.0, 1.0]);
    s.apply(&mut data);
    assert_eq!(data.x, [-1.0, 0.0, 1.0, 0.0]);
}

#[test]
fn splits_are_seeded_and_complete() {
    let data = Dataset::new((0..100).map(|i| i as f32).collect(), vec![0.0; 100], 1, 1).unwrap();
    let (a, b) = data.split(0.2, 7);
    let (c, _) = data.split(0.2, 7);
    assert_eq!((a.len(), b.len()), (80, 20));
    assert_eq!(a, c);
    let mut all: Vec<f32> = a.x.iter().chain(&b.x).copied().collect();
    all.sort_by(f32::total_cmp);
    assert_eq!(all, data.x);
}

#[test]
fn a_column_name_twice_or_a_target_among_the_features_is_refused() {
    let message = error_of("twice.csv", "a,b,a,y\n1,2,3,0\n");
    assert!(message.contains("`a` appears twice (columns 1 and 3)"), "{message}");
    let path = write("leak.csv", "a,b,y\n1,2,0\n3,4,1\n");
    let options = CsvOptions { target: Target::Named(vec!["y".into()]), features: vec!["a".into(), "y".into()] };
    let message = Dataset::from_csv(&path, &options).unwrap_err().to_string();
    assert!(message.contains("`y` is both a feature and a target"), "{message}");
}

/// A wide file (200,000 columns) is read, and its duplicate column found, in
/// one pass over the header; the message about a missing column lists the
/// first columns and their count, not every name.
#[test]
fn a_wide_header_is_checked_in_one_pass_and_named_briefly() {
    let columns = 200_000;
    let header: Vec<String> = (0..columns).map(|i| format!("c{i}")).chain(["y".to_string()]).collect();
    let row: Vec<&str> = (0..=columns).map(|_| "1").collect();
    let path = write("wide.csv", &format!("{}\n{}\n", header.join(","), row.join(",")));
    let data = Dataset::from_csv(&path, &CsvOptions::default()).unwrap();
    assert_eq!(data.features, columns);
    let mut twice = header.clone();
    twice[columns - 1] = "c7".into();
    let message = error_of("wide_twice.csv", &format!("{}\n{}\n", twice.join(","), row.join(",")));
    assert!(message.contains(&format!("`c7` appears twice (columns 8 and {columns})")), "{message}");
    let options = CsvOptions { target: Target::Named(vec!["label".into()]), ..CsvOptions::default() };
    let message = Dataset::from_csv(&path, &options).unwrap_err().to_string();
    assert!(message.contains("(200001 columns)") && message.len() < 1000, "{}", &message[..message.len().min(300)]);
}

/// A file without line breaks is refused once a line passes the limit, not
/// read until memory runs out.
#[cfg(unix)]
#[test]
fn a_line_longer_than_the_limit_is_refused() {
    let message = Dataset::from_csv("/dev/zero", &CsvOptions::default()).unwrap_err().to_string();
    assert!(message.contains("a line is longer than 64 MiB"), "{message}");
}

/// A huge cell or column name is cut in the message, with its length.
#[test]
fn messages_cut_a_huge_cell() {
    let cell = "x".repeat(1 << 20);
    let message = error_of("huge_cell.csv", &format!("a,label\n{cell},1\n"));
    assert!(message.len() < 300, "{} bytes of message", message.len());
    assert!(message.contains(&format!("… ({} bytes)", 1 << 20)), "{message}");
}
