//! The networks of the examples, for tests that check every one of them.

use nnspec::Model;

/// `model` with its spec's initializers and `seed`.
pub fn initialised<M: Model>(mut model: M, seed: u64) -> M {
    model.init_params(seed);
    model
}

/// Every network the examples define, initialised.
pub fn example_networks() -> Vec<Box<dyn Model>> {
    use nnspec_examples::{cubic, flower, optimizers, overfitting, student, truth_tables, xor};
    vec![
        Box::new(initialised(xor::Xor::zeroed(), 1)),
        Box::new(initialised(truth_tables::Gate::zeroed(), 1)),
        Box::new(initialised(truth_tables::Perceptron::zeroed(), 1)),
        Box::new(initialised(truth_tables::XorMlp::zeroed(), 1)),
        Box::new(initialised(cubic::Cubic::zeroed(), 1)),
        Box::new(initialised(student::PassFail::zeroed(), 1)),
        Box::new(initialised(student::Score::zeroed(), 1)),
        Box::new(initialised(flower::Logistic::zeroed(), 1)),
        Box::new(initialised(flower::Planar::zeroed(), 1)),
        Box::new(initialised(flower::Hidden1::zeroed(), 1)),
        Box::new(initialised(flower::Hidden2::zeroed(), 1)),
        Box::new(initialised(flower::Hidden3::zeroed(), 1)),
        Box::new(initialised(flower::Hidden5::zeroed(), 1)),
        Box::new(initialised(flower::Hidden20::zeroed(), 1)),
        Box::new(initialised(flower::Hidden50::zeroed(), 1)),
        Box::new(initialised(optimizers::Flower16::zeroed(), 1)),
        Box::new(initialised(overfitting::Plain::zeroed(), 1)),
        Box::new(initialised(overfitting::WithL2::zeroed(), 1)),
        Box::new(initialised(overfitting::WithL1::zeroed(), 1)),
        Box::new(initialised(overfitting::WithDropout::zeroed(), 1)),
    ]
}
