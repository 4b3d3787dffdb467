//! Shared pieces of the benchmarks: timing with medians, the data of each
//! workload, and the hand-written Rust each workload is compared with.
//!
//! Timing: every measurement is repeated (`NNSPEC_BENCH_REPS`, default 11) and
//! the median is reported; competitors run interleaved in one process so they
//! see the same machine. `NNSPEC_BENCH_QUICK=1` runs one repetition of a
//! shortened workload (CI's smoke mode).

pub mod hand;
pub mod hand_cnn;
pub mod hand_gru;

use std::time::{Duration, Instant};

/// True in CI's smoke mode.
pub fn quick() -> bool {
    std::env::var_os("NNSPEC_BENCH_QUICK").is_some()
}

/// Repetitions per measurement.
pub fn repetitions() -> usize {
    if quick() {
        1
    } else {
        std::env::var("NNSPEC_BENCH_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(11)
    }
}

/// Runs each competitor `repetitions()` times, interleaved; returns the median time of each.
pub fn race(competitors: &mut [(&str, &mut dyn FnMut())]) -> Vec<(String, Duration)> {
    let names: Vec<String> = competitors.iter().map(|(name, _)| name.to_string()).collect();
    names.into_iter().zip(race_times(competitors)).map(|(name, t)| (name, median(t))).collect()
}

/// [`race`]'s every time of each competitor, in the order they ran (after one warm-up run each).
pub fn race_times(competitors: &mut [(&str, &mut dyn FnMut())]) -> Vec<Vec<Duration>> {
    let reps = repetitions();
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(reps); competitors.len()];
    for (_, run) in competitors.iter_mut() {
        run(); // warm-up
    }
    for _ in 0..reps {
        for (i, (_, run)) in competitors.iter_mut().enumerate() {
            let start = Instant::now();
            run();
            times[i].push(start.elapsed());
        }
    }
    times
}

/// The median of some durations.
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A deterministic pseudo-random generator for synthetic data (xorshift).
pub struct XorShift(pub u64);

impl XorShift {
    /// A value in [−1, 1).
    pub fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}
