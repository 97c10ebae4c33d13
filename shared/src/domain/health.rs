//! Number health (PRODUCT.md, "Number health"): per proxy number, the calls in which it was
//! shown to the callee as caller ID and how many the callee answered, over a rolling window,
//! counted from the change stream; a number whose answer rate is clearly below the rest of the
//! pool's is flagged, and cleared when it recovers or an operator clears it.
//!
//! The test (docs/features.md, "Number health", states it for operators): with `n` calls and
//! `k` answered on the number over the last [`WINDOW_DAYS`] days, and the rest of the pool's
//! answer rate `r` over the same days, the one-sided exact binomial test of
//! H0: "the number's answer rate is at least [`MARGIN`] × `r`" against "it is lower". The number
//! is flagged when `n` ≥ [`MIN_CALLS`], the rest of the pool has at least [`MIN_REST_CALLS`]
//! calls, and P(X ≤ k) < [`FLAG_P`] for X ~ Binomial(n, [`MARGIN`] × `r`). A flagged number
//! recovers when, with the same minimums, P(X ≤ k) ≥ [`RECOVER_P`]. The test is run after every
//! batch of calls, so the threshold is far below the usual 5 %: a healthy number is tested
//! hundreds of times a week, and must almost never cross it (BENCHMARKS.md, "Number health",
//! measures how rarely, and how soon a labelled number is found).

use std::collections::BTreeSet;

use crate::model::{
    CallEvent, ClearReason, CountedCall, Direction, HealthCleared, HealthFlag, PoolNumber,
    StoreError, Tally,
};
use crate::phone::Msisdn;
use crate::ports::{NumberHealth, Pool};

/// The rolling window, in days (today and the six before it, UTC).
pub const WINDOW_DAYS: i64 = crate::model::HEALTH_WINDOW_DAYS;
/// Calls a number needs in the window before it is tested at all.
pub const MIN_CALLS: u64 = 20;
/// Calls the rest of the pool needs in the window for its rate to be compared against.
pub const MIN_REST_CALLS: u64 = 100;
/// "Clearly below": the rate tested against is this share of the rest of the pool's.
pub const MARGIN: f64 = 0.9;
/// The p-value under which a number is flagged.
pub const FLAG_P: f64 = 1e-5;
/// The p-value at or above which a flagged number has recovered.
pub const RECOVER_P: f64 = 0.05;

/// What number health uses of the store.
pub trait HealthStore: NumberHealth + Pool {}
impl<T: NumberHealth + Pool> HealthStore for T {}

/// The day (since the epoch, UTC) of unix milliseconds `at_ms`.
pub fn day_of_ms(at_ms: i64) -> i64 {
    at_ms.div_euclid(86_400_000)
}

/// The window's first and last day at `now` (unix seconds).
pub fn window(now: i64) -> (i64, i64) {
    let today = now.div_euclid(86_400);
    (today - (WINDOW_DAYS - 1), today)
}

/// What a call event says for number health: `Some(true)` when the callee answered,
/// `Some(false)` when their leg ended untaken (busy, unanswered, rejected, timed out, or
/// the caller gave up while it rang), `None` for every other event: the caller's leg, a leg
/// still under way or ended after an answer, and `failed` (the call never reached the callee's
/// phone, so it says nothing of whether they would take it).
pub fn outcome(event: &CallEvent) -> Option<bool> {
    if event.direction != Some(Direction::Outbound) {
        return None;
    }
    if event.status.is_answered() {
        return Some(true);
    }
    (event.status.is_missed() && event.status.as_str() != "failed").then_some(false)
}

/// The call an event counts as, if it counts.
pub fn counted(event: &CallEvent) -> Option<CountedCall> {
    let answered = outcome(event)?;
    Some(CountedCall {
        shown_number: event.shown_number.clone()?,
        call_id: event.call_id.clone(),
        leg: event.leg.clone(),
        day: day_of_ms(event.at_ms),
        answered,
    })
}

/// P(X ≤ k) for X ~ Binomial(n, p), summed in log space (no underflow for large `n`).
pub fn binomial_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n || p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let f = |x: u64| x as f64;
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    let mut term = f(n) * lq;
    let mut terms = Vec::with_capacity(usize::try_from(k).unwrap_or(0) + 1);
    terms.push(term);
    for i in 0..k {
        term += (f(n - i)).ln() - (f(i + 1)).ln() + lp - lq;
        terms.push(term);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
    (max + sum.ln()).exp().min(1.0)
}

/// The test's p-value for a number's tally against the rest of the pool's; `None` when either
/// has too few calls to say anything.
pub fn p_value(number: &Tally, rest: &Tally) -> Option<f64> {
    if number.calls < MIN_CALLS || rest.calls < MIN_REST_CALLS {
        return None;
    }
    let p0 = MARGIN * rest.rate()?;
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let (k, n) = (number.answered as f64, number.calls as f64);
    // At or above the expected count, P(X ≤ k) is about one half or more: far above either
    // threshold, so the sum is not needed.
    if k >= p0 * n {
        return Some(1.0);
    }
    Some(binomial_cdf(number.answered, number.calls, p0))
}

/// What the test says of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Flag,
    Clear,
    Keep,
}

/// The test on a number's tally and the whole pool's (the number's own calls included; they
/// are taken out before comparing), given whether it is flagged now.
pub fn assess(number: &Tally, pool: &Tally, flagged: bool) -> Verdict {
    let Some(p) = p_value(number, &pool.without(number)) else {
        return Verdict::Keep;
    };
    match flagged {
        false if p < FLAG_P => Verdict::Flag,
        true if p >= RECOVER_P => Verdict::Clear,
        _ => Verdict::Keep,
    }
}

/// A number's tally over the window at `now`.
pub async fn tally<S: NumberHealth>(
    store: &S,
    msisdn: &Msisdn,
    now: i64,
) -> Result<Tally, StoreError> {
    let (from, to) = window(now);
    store.number_tally(msisdn, from, to).await
}

/// The days the test looks at for `number` at `now`: the window, but after an operator cleared
/// it only the days after the clear, so the calls that flagged it do not flag it again at once.
pub fn tested_days(number: &PoolNumber, now: i64) -> (i64, i64) {
    let (from, to) = window(now);
    match number.health_cleared {
        Some(c) if number.health_flag.is_none() && c.reason == ClearReason::Cleared => {
            (from.max(c.at.div_euclid(86_400) + 1), to)
        }
        _ => (from, to),
    }
}

/// Runs the test on one pool number at `now` and carries out its verdict (conditionally: a
/// number flagged or cleared meanwhile is left as it is). The verdict carried out, if any.
pub async fn evaluate<S: HealthStore>(
    store: &S,
    msisdn: &Msisdn,
    now: i64,
) -> Result<Option<Verdict>, StoreError> {
    let Some(current) = store.get_number(msisdn).await? else {
        return Ok(None);
    };
    let (from, to) = tested_days(&current, now);
    if from > to {
        return Ok(None);
    }
    let (number, pool) = futures::try_join!(
        store.number_tally(msisdn, from, to),
        store.pool_tally(from, to)
    )?;
    let changed = match assess(&number, &pool, current.health_flag.is_some()) {
        Verdict::Keep => return Ok(None),
        Verdict::Flag => {
            let flag = HealthFlag {
                at: now,
                number,
                rest: pool.without(&number),
            };
            let flagged = store.flag_number(msisdn, &flag).await?;
            if flagged {
                crate::telemetry::count("NumbersFlagged", &[]);
                tracing::warn!(msisdn = %msisdn.masked(), answered = number.answered, calls = number.calls, "number flagged: callees answer it clearly less than the rest of the pool");
            }
            flagged.then_some(Verdict::Flag)
        }
        Verdict::Clear => {
            let cleared = HealthCleared {
                at: now,
                reason: ClearReason::Recovered,
            };
            let done = store.clear_flag(msisdn, &cleared).await?;
            if done {
                crate::telemetry::count("NumbersCleared", &[("Reason", "recovered")]);
                tracing::info!(msisdn = %msisdn.masked(), "number's health flag cleared: it recovered");
            }
            done.then_some(Verdict::Clear)
        }
    };
    Ok(changed)
}

/// What one batch of calls came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Calls that changed a tally (a repeat changes none).
    pub counted: usize,
    pub flagged: Vec<Msisdn>,
    pub cleared: Vec<Msisdn>,
}

/// Counts each call once, then runs the test once on each number the calls were shown from.
/// Stops at the first failure: what was counted stays counted, and counting again changes
/// nothing, so the caller can hand the same calls over again.
pub async fn observe<S: HealthStore>(
    store: &S,
    calls: &[CountedCall],
    now: i64,
) -> Result<Observed, StoreError> {
    let mut observed = Observed::default();
    let mut numbers: BTreeSet<&Msisdn> = BTreeSet::new();
    // The store's futures are boxed: nested in a Lambda's loop, they go past the compiler's
    // layout depth limit.
    for call in calls {
        if Box::pin(store.count_call(call)).await? {
            observed.counted += 1;
        }
        numbers.insert(&call.shown_number);
    }
    for msisdn in numbers {
        match Box::pin(evaluate(store, msisdn, now)).await? {
            Some(Verdict::Flag) => observed.flagged.push(msisdn.clone()),
            Some(Verdict::Clear) => observed.cleared.push(msisdn.clone()),
            _ => {}
        }
    }
    Ok(observed)
}

/// An operator clears a number's flag (`POST /numbers/{msisdn}/health/clear`): the number as it
/// is afterwards, `None` when it is not in the pool. Clearing a number that is not flagged
/// changes nothing.
pub async fn clear<S: HealthStore>(
    store: &S,
    msisdn: &Msisdn,
    now: i64,
) -> Result<Option<PoolNumber>, StoreError> {
    let cleared = HealthCleared {
        at: now,
        reason: ClearReason::Cleared,
    };
    if store.clear_flag(msisdn, &cleared).await? {
        crate::telemetry::count("NumbersCleared", &[("Reason", "cleared")]);
        tracing::info!(msisdn = %msisdn.masked(), "number's health flag cleared by an operator");
    }
    store.get_number(msisdn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(answered: u64, calls: u64) -> Tally {
        Tally { answered, calls }
    }

    #[test]
    fn the_binomial_tail_matches_a_direct_sum() {
        // P(X ≤ 2) for Binomial(10, 0.5) = (1 + 10 + 45) / 1024.
        assert!((binomial_cdf(2, 10, 0.5) - 56.0 / 1024.0).abs() < 1e-12);
        assert!((binomial_cdf(0, 3, 0.2) - 0.512).abs() < 1e-12);
        assert_eq!(binomial_cdf(10, 10, 0.3), 1.0);
        // Large counts neither underflow to nothing nor exceed one.
        let tail = binomial_cdf(4_000, 10_000, 0.5);
        assert!(tail > 0.0 && tail < 1e-80, "{tail}");
        assert!(binomial_cdf(5_100, 10_000, 0.5) < 1.0);
    }

    #[test]
    fn a_number_is_tested_only_with_enough_calls_on_it_and_in_the_rest_of_the_pool() {
        let pool = t(650, 1_000);
        assert_eq!(assess(&t(0, MIN_CALLS - 1), &pool, false), Verdict::Keep);
        assert_eq!(assess(&t(0, 30), &t(60, 110), false), Verdict::Keep);
        assert_eq!(assess(&t(0, 30), &t(650, 1_030), false), Verdict::Flag);
    }

    #[test]
    fn a_number_clearly_below_the_pool_is_flagged_and_one_near_it_is_not() {
        let pool = t(6_500, 10_000);
        assert_eq!(assess(&t(6, 40), &pool, false), Verdict::Flag);
        assert_eq!(assess(&t(20, 40), &pool, false), Verdict::Keep);
        // A flagged number with a rate near the pool's recovers; one still low stays flagged.
        assert_eq!(assess(&t(25, 40), &pool, true), Verdict::Clear);
        assert_eq!(assess(&t(12, 40), &pool, true), Verdict::Keep);
        assert_eq!(assess(&t(6, 40), &pool, true), Verdict::Keep);
    }

    #[test]
    fn only_the_callees_leg_with_an_outcome_counts() {
        use crate::values::CallStatus;
        let proxy = Msisdn::from_digits("447700900010").unwrap();
        let event = |status: &str, direction| CallEvent {
            call_id: "c".into(),
            leg: "l".into(),
            direction: Some(direction),
            shown_number: Some(proxy.clone()),
            status: status.parse::<CallStatus>().unwrap(),
            at_ms: 86_400_000 * 3 + 5,
            caller_index: 0,
            duration: None,
            rate: None,
            price: None,
            detail: None,
            routed_by: Default::default(),
            initiated_by: Default::default(),
        };
        let answered = counted(&event("answered", Direction::Outbound)).unwrap();
        assert!(answered.answered);
        assert_eq!(answered.day, 3);
        for missed in ["unanswered", "busy", "rejected", "timeout", "cancelled"] {
            assert!(
                !counted(&event(missed, Direction::Outbound))
                    .unwrap()
                    .answered
            );
        }
        for nothing in ["started", "ringing", "completed", "failed"] {
            assert_eq!(counted(&event(nothing, Direction::Outbound)), None);
        }
        assert_eq!(counted(&event("answered", Direction::Inbound)), None);
    }
}
