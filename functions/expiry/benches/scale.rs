//! Flat with scale. Against the local stack (`cargo lambda watch` in front of the local
//! DynamoDB-API server), with the table holding 100 and then 100,000 active conversations:
//!   - the answer webhook's latency, p50 and p99 over 2,000 calls by participants picked at
//!     random, measured by a client on this machine (request sent to NCCO received), in three
//!     rounds;
//!   - the expiry-index entries one sweep reads, at 1,000 and at 100,000 active conversations
//!     with the same number expired.
//!
//! `scripts/bench` starts the stack and runs this with `SCALE_API_URL` (the stack) and
//! `TABLE_NAME` (its table, freshly created); the figures are printed as one JSON object at the end, and
//! written to `SCALE_OUT` when set.
#![allow(clippy::unwrap_used)] // a benchmark that cannot run stops

use std::time::{Duration, Instant};

use expiry::{Deps, sweep};
use futures::StreamExt;
use rand::Rng;
use shared::model::Conversation;
use shared::store::Store;
use testkit::numbered_conversation;

const PA: &str = "447700900101";
const PB: &str = "447700900102";
const CALLS: usize = 2_000;
const WARM_UP: usize = 200;
const ROUNDS: usize = 3;
const EXPIRED: usize = 1_000;
const DAY: i64 = 86_400;

/// Conversations `from..to`, expiring at `expires_at`, written straight to the table.
async fn load(store: &Store, from: usize, to: usize, expires_at: i64) {
    let started = Instant::now();
    let all: Vec<Conversation> = (from..to)
        .map(|i| numbered_conversation(i, (PA, PB), expires_at))
        .collect();
    futures::stream::iter(all.chunks(500))
        .map(|chunk| store.load_unchecked(chunk))
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    eprintln!(
        "loaded conversations {from}..{to} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// p50 and p99 in milliseconds of `CALLS` answer-webhook calls, each by one side of a random
/// conversation among `active` (conversations `0..active`), after `WARM_UP` unmeasured calls.
/// Measured `ROUNDS` times: the middle round is reported, and the spread of all of them shows
/// the noise.
async fn answer_latency(http: &reqwest::Client, api: &str, active: usize) -> serde_json::Value {
    let mut rng = rand::rng();
    let mut rounds = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let mut took = Vec::with_capacity(CALLS);
        for n in 0..WARM_UP + CALLS {
            let c = numbered_conversation(rng.random_range(0..active), (PA, PB), 0);
            let side = rng.random_range(0..2);
            let (caller, callee) = (&c.participants[side], &c.participants[1 - side]);
            let url = format!(
                "{api}/webhooks/answer?to={}&from={}&uuid=u-{round}-{n}&conversation_uuid=CON-{n}",
                caller.proxy_number.as_str(),
                caller.number.as_str()
            );
            let started = Instant::now();
            let response = http.get(&url).send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            let elapsed = started.elapsed();
            assert!(
                status.is_success() && body.contains(callee.number.as_str()),
                "call {n} was not connected to the other side: {status} {body}"
            );
            if n >= WARM_UP {
                took.push(elapsed);
            }
        }
        took.sort();
        rounds.push((took[CALLS / 2], took[CALLS * 99 / 100]));
    }
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let middle = |mut v: Vec<Duration>| {
        v.sort();
        (ms(v[ROUNDS / 2]), ms(v[0]), ms(v[ROUNDS - 1]))
    };
    let (p50, p50_low, p50_high) = middle(rounds.iter().map(|r| r.0).collect());
    let (p99, p99_low, p99_high) = middle(rounds.iter().map(|r| r.1).collect());
    serde_json::json!({
        "active": active,
        "calls": CALLS,
        "rounds": ROUNDS,
        "p50_ms": p50,
        "p50_range_ms": [p50_low, p50_high],
        "p99_ms": p99,
        "p99_range_ms": [p99_low, p99_high],
    })
}

/// One sweep with `EXPIRED` conversations past their end among `active` open ones.
async fn sweep_reads(store: &Store, active: usize) -> serde_json::Value {
    let deps: Deps = Deps {
        store: store.clone(),
        closing: shared::domain::conversation::ClosePolicy {
            retention: shared::domain::Retention { seconds: 30 * DAY },
            cool_off_seconds: 600,
        },
        max_per_run: 100_000,
        concurrency: 8,
        safety_margin: Duration::ZERO,
        notify: None,
    };
    let started = Instant::now();
    let report = sweep(
        &deps,
        shared::now(),
        Instant::now() + Duration::from_secs(900),
    )
    .await;
    eprintln!(
        "sweep at {active} active: {report:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!((report.closed, report.failed), (EXPIRED, 0), "{report:?}");
    serde_json::json!({ "active": active, "expired": EXPIRED, "read": report.read, "closed": report.closed })
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; there is nothing to choose here.
    let api = std::env::var("SCALE_API_URL").unwrap_or_else(|_| "http://127.0.0.1:9200".into());
    let table = std::env::var("TABLE_NAME").expect("TABLE_NAME: the stack's table");
    // Loading 100,000 conversations into the local server takes long requests.
    let budget = shared::config::AwsBudget {
        connect: Duration::from_secs(5),
        attempt: Duration::from_secs(120),
        operation: Duration::from_secs(120),
        max_attempts: 3,
    };
    let store = Store::from_env(table, &budget).await;
    let http = reqwest::Client::new();
    let now = shared::now();
    let (live, past) = (now + DAY, now - 60);
    testkit::add_pool(&store, &[PA, PB], "GB").await;

    // 100 active.
    load(&store, 0, 100, live).await;
    let small = answer_latency(&http, &api, 100).await;
    eprintln!("answer at 100 active: {small}");

    // 1,000 active and 1,000 expired: one sweep.
    load(&store, 100, 1_000, live).await;
    load(&store, 1_000_000, 1_000_000 + EXPIRED, past).await;
    let sweep_small = sweep_reads(&store, 1_000).await;

    // 100,000 active and another 1,000 expired.
    load(&store, 1_000, 100_000, live).await;
    let large = answer_latency(&http, &api, 100_000).await;
    eprintln!("answer at 100,000 active: {large}");
    load(&store, 2_000_000, 2_000_000 + EXPIRED, past).await;
    let sweep_large = sweep_reads(&store, 100_000).await;

    let ratio = |key: &str| {
        let r = large[key].as_f64().unwrap() / small[key].as_f64().unwrap();
        (r * 100.0).round() / 100.0
    };
    let figures = serde_json::json!({
        "answer": [small, large],
        "answer_ratio": { "p50": ratio("p50_ms"), "p99": ratio("p99_ms") },
        "sweep": [sweep_small, sweep_large],
    });
    println!("{figures}");
    if let Ok(path) = std::env::var("SCALE_OUT") {
        std::fs::write(path, figures.to_string()).unwrap();
    }
}
