//! Every case of `tutorial/truth_tables.json` (gates, models, inits, learning
//! rates and iteration counts read from the file) reproduces its truth table,
//! outputs and final loss; a single neuron cannot learn XOR.

use nnspec::Model;
use nnspec_examples::truth_tables::{self, Gate};
use nnspec_testkit::{self as kit, assert_close, flat, flat32, Tolerance};

#[test]
fn truth_tables_match_the_reference() {
    let reference = kit::json("tutorial/truth_tables.json");
    let cases = reference["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    for case in cases {
        let gate = case["gate"].as_str().unwrap();
        let table: [f32; 4] = flat32(&case["truth_table"]).try_into().expect("four rows");
        let init = &case["init"];
        let mut model: Box<dyn Model> = if init.get("W1").is_some() {
            let hidden = kit::shape(&init["W1"])[1];
            truth_tables::mlp(hidden)
        } else {
            Box::new(Gate::zeroed())
        };
        let order: &[&str] = if init.get("W1").is_some() { &["W1", "b1", "W2", "b2"] } else { &["W", "b"] };
        let params: Vec<f32> = order.iter().flat_map(|k| flat32(&init[*k])).collect();
        model.params_mut().copy_from_slice(&params);
        let lr = case["lr"].as_f64().unwrap();
        let iterations = case["iterations"].as_u64().unwrap() as usize;
        let outcome = truth_tables::train(model.as_mut(), &table, lr, iterations);
        // Thousands of f32 steps from the f64 reference: outputs agree to ~1e-5 absolute.
        let tolerance = Tolerance { rtol: 1e-3, atol: 1e-5 };
        assert_close(&format!("{gate} outputs"), &outcome.outputs, &flat(&case["outputs"]), tolerance);
        assert_close(
            &format!("{gate} final loss"),
            &[outcome.final_loss as f32],
            &[case["final_loss"].as_f64().unwrap()],
            tolerance,
        );
        let expected: Vec<u8> = flat(&case["predicted_threshold_0.5"]).iter().map(|v| *v as u8).collect();
        assert_eq!(outcome.classes, expected, "{gate}");
    }
}

#[test]
fn a_single_neuron_cannot_learn_xor() {
    let xor = [0.0, 1.0, 1.0, 0.0];
    let mut neuron = Gate::zeroed();
    let outcome = truth_tables::train(&mut neuron, &xor, 1.0, 5000);
    let correct = outcome.classes.iter().zip(&xor).filter(|(c, t)| f32::from(**c) == **t).count();
    assert!(correct <= 3, "one line separated XOR: {:?}", outcome.classes);
    assert!(outcome.final_loss > 0.45, "loss {}", outcome.final_loss);
    let (_, classes) = truth_tables::perceptron(&xor, 1.0, 200);
    assert_ne!(classes, [0, 1, 1, 0], "the perceptron rule cannot learn XOR");
}

#[test]
fn the_perceptron_rule_learns_and_and_or() {
    for table in [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0]] {
        let (epochs, classes) = truth_tables::perceptron(&table, 1.0, 100);
        assert!(epochs < 100);
        assert_eq!(classes.map(f32::from), table);
    }
}
