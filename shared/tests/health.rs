//! Number health's test on simulated traffic, run in-process with the same decision code the
//! consumer runs (`domain::health::assess`), over many seeds: a pool of 20 numbers whose
//! callees answer 65 % of calls, one of them "labelled" (15 %). The labelled number must be
//! flagged within 60 of its calls; no healthy number may ever be flagged. The figures printed
//! (`--nocapture`) are BENCHMARKS.md's "Number health". The same traffic through the real
//! change stream is `functions/health/tests/stream.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::domain::health::{Verdict, assess};
use shared::model::Tally;

const NUMBERS: usize = 20;
const CALLS: usize = 10_000;
const HEALTHY: f64 = 0.65;
const LABELLED: f64 = 0.15;

/// What one seeded run came to.
#[derive(Debug)]
pub struct Run {
    /// The labelled number's calls when it was flagged (`None`: never).
    pub detected_after: Option<u64>,
    /// Healthy numbers flagged.
    pub false_flags: usize,
}

/// `CALLS` calls spread at random over the pool (number 0 labelled when `labelled`), each
/// number tested after each of its calls, as the consumer does after each batch.
fn run(seed: u64, labelled: bool) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut numbers = [Tally::default(); NUMBERS];
    let mut flagged = [false; NUMBERS];
    let mut pool = Tally::default();
    let mut result = Run {
        detected_after: None,
        false_flags: 0,
    };
    for _ in 0..CALLS {
        let i = rng.random_range(0..NUMBERS);
        let rate = if labelled && i == 0 {
            LABELLED
        } else {
            HEALTHY
        };
        let answered = u64::from(rng.random_bool(rate));
        let call = Tally { answered, calls: 1 };
        numbers[i].add(&call);
        pool.add(&call);
        if assess(&numbers[i], &pool, flagged[i]) == Verdict::Flag {
            flagged[i] = true;
            if labelled && i == 0 {
                result.detected_after = Some(numbers[i].calls);
            } else {
                result.false_flags += 1;
            }
        }
    }
    result
}

#[test]
fn the_labelled_number_is_found_within_60_calls_and_no_healthy_one_is_flagged() {
    const SEEDS: u64 = 1_000;
    let mut delays = Vec::new();
    let mut false_flags = 0;
    for seed in 0..SEEDS {
        let r = run(seed, true);
        let after = r.detected_after.unwrap_or(u64::MAX);
        assert!(
            after <= 60,
            "seed {seed}: labelled number found after {after} calls"
        );
        assert_eq!(r.false_flags, 0, "seed {seed}: a healthy number flagged");
        delays.push(after);
        false_flags += r.false_flags;
    }
    delays.sort_unstable();
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
    let mean = delays.iter().sum::<u64>() as f64 / delays.len() as f64;
    println!(
        "number health, {SEEDS} seeds x {CALLS} calls: detection after {mean:.1} calls on average, median {}, p95 {}, max {}; healthy numbers flagged: {false_flags} of {}",
        at(0.5),
        at(0.95),
        at(1.0),
        SEEDS as usize * (NUMBERS - 1)
    );
}

#[test]
fn a_pool_of_healthy_numbers_is_never_flagged() {
    const SEEDS: u64 = 1_000;
    let flagged: usize = (0..SEEDS)
        .map(|seed| run(1_000_000 + seed, false).false_flags)
        .sum();
    println!(
        "number health, {SEEDS} seeds x {CALLS} calls, all healthy: {flagged} of {} numbers flagged",
        SEEDS as usize * NUMBERS
    );
    assert_eq!(flagged, 0);
}
