//! Seed 001: the student model. Three inputs (lectures attended, homework
//! hours, connection losses) predict pass/fail (classification: sigmoid output,
//! binary cross-entropy) and the exam score (regression: linear output, mean
//! squared error). The data are synthetic and seeded; the learning-rate table
//! shows a rate too small to move, a good one, and one that diverges.

use crate::synthetic::Random;
use nnspec::data::Standardizer;
use nnspec::{Dataset, Error, Trainer};

nnspec::net! {
    /// Pass or fail from lectures, homework hours and connection losses.
    network PassFail {
        input student: [3];
        dense hidden: 8, activation = relu, init = he_uniform;
        dense pass: 1, activation = sigmoid;
        loss binary_cross_entropy;
        train { optimizer = sgd(lr = 0.5), batch = 32, epochs = 200, seed = 7 }
    }

    /// The exam score (in points / 100) from the same three inputs.
    network Score {
        input student: [3];
        dense hidden: 8, activation = relu, init = he_uniform;
        dense score: 1;
        loss mse;
        train { optimizer = sgd(lr = 0.05), batch = 32, epochs = 200, seed = 7 }
    }
}

/// The tutorial's student A: 21 lectures, 90 hours of homework, 7 connection losses.
pub const STUDENT_A: [f32; 3] = [21.0, 90.0, 7.0];

/// The score the data's generator gives a student, before noise (points out of 100).
pub fn true_score(s: &[f32; 3]) -> f32 {
    (1.2 * s[0] + 0.35 * s[1] - 2.5 * s[2] + 20.0).clamp(0.0, 100.0)
}

/// `count` seeded students: features, pass/fail (score ≥ 50) and score / 100.
pub fn students(count: usize, seed: u64) -> (Dataset, Dataset) {
    let mut random = Random::new(seed);
    let mut x = Vec::with_capacity(count * 3);
    let (mut pass, mut score) = (Vec::new(), Vec::new());
    for _ in 0..count {
        let s = [random.range(0.0, 31.0).floor(), random.range(0.0, 100.0), random.range(0.0, 11.0).floor()];
        let points = (true_score(&s) + 5.0 * random.normal()).clamp(0.0, 100.0);
        x.extend_from_slice(&s);
        pass.push(f32::from(u8::from(points >= 50.0)));
        score.push(points / 100.0);
    }
    let classification = Dataset::new(x.clone(), pass, 3, 1).expect("three features");
    let regression = Dataset::new(x, score, 3, 1).expect("three features");
    (classification, regression)
}

/// The two trained models, the standardiser they share, and their held-out metrics.
pub struct Trained {
    /// The classifier.
    pub pass_fail: PassFail,
    /// The regressor.
    pub score: Score,
    /// Input standardisation, fitted on the training rows.
    pub standardizer: Standardizer,
    /// Test accuracy of the classifier.
    pub accuracy: f64,
    /// Test R² of the regressor.
    pub r2: f64,
}

impl Trained {
    /// Probability of passing and predicted score (points) for one student.
    pub fn predict(&self, student: &[f32; 3]) -> (f32, f32) {
        let z: [f32; 3] = core::array::from_fn(|i| (student[i] - self.standardizer.mean[i]) / self.standardizer.std[i]);
        (self.pass_fail.predict(&z)[0], 100.0 * self.score.predict(&z)[0])
    }
}

fn standardized(seed: u64) -> (Dataset, Dataset, Dataset, Dataset, Standardizer) {
    let (mut classes, mut scores) = students(600, seed);
    let train_rows: Vec<usize> = (0..500).collect();
    let test_rows: Vec<usize> = (500..600).collect();
    let standardizer = Standardizer::fit(&classes.subset(&train_rows).expect("rows"));
    standardizer.apply(&mut classes);
    standardizer.apply(&mut scores);
    let split = |d: &Dataset| (d.subset(&train_rows).expect("rows"), d.subset(&test_rows).expect("rows"));
    let ((c_train, c_test), (s_train, s_test)) = (split(&classes), split(&scores));
    (c_train, c_test, s_train, s_test, standardizer)
}

/// Trains both models with their spec's settings on seeded data.
pub fn train(seed: u64) -> Result<Trained, Error> {
    let (c_train, c_test, s_train, s_test, standardizer) = standardized(seed);
    let mut pass_fail = PassFail::new();
    Trainer::new(PassFail::train_config()).fit(&mut pass_fail, &c_train, None)?;
    let mut score = Score::new();
    Trainer::new(Score::train_config()).fit(&mut score, &s_train, None)?;
    let mut workspace = nnspec::Workspace::default();
    let accuracy = nnspec::train::evaluate(&pass_fail, &c_test, &mut workspace).accuracy.unwrap_or(0.0);
    let r2 = nnspec::train::evaluate(&score, &s_test, &mut workspace).r2.unwrap_or(f64::NAN);
    Ok(Trained { pass_fail, score, standardizer, accuracy, r2 })
}

/// The regression's training loss after `epochs` at learning rate `lr`, or the divergence error.
pub fn learning_rate_trial(lr: f64, epochs: usize, seed: u64) -> Result<f64, Error> {
    let (_, _, s_train, _, _) = standardized(seed);
    let mut model = Score::new();
    let mut config = Score::train_config();
    config.optimizer = config.optimizer.with_lr(lr);
    config.epochs = epochs;
    let history = Trainer::new(config).fit(&mut model, &s_train, None)?;
    Ok(history.epochs.last().map_or(f64::NAN, |e| e.loss))
}
