//! Rule 2 under load: many creations at once over a small pool, against the real local
//! DynamoDB-API server. Afterwards no (proxy number, participant) pair belongs to two active
//! conversations, every created conversation routes both ways, every refusal is a clean
//! `pool_exhausted`, and the pool's usage counts match the routes.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::sync::Arc;

use common::{App, assert_consistent, create_all, overlapping_pairs};

const POOL: [&str; 3] = ["447700900101", "447700900102", "447700900103"];
const CREATIONS: usize = 60;
const PEOPLE: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creations_hold_rule_two() {
    let pool: Vec<(&str, &str)> = POOL.iter().map(|n| (*n, "GB")).collect();
    let app = Arc::new(App::new(&pool).await);

    // Overlapping pairs: every participant appears in many requests.
    let answers = create_all(&app, overlapping_pairs(CREATIONS, PEOPLE)).await;
    let mut created = Vec::new();
    let mut refused = 0;
    for (_, _, status, body) in answers {
        match status {
            201 => created.push(body),
            409 => {
                assert_eq!(body["code"], "pool_exhausted", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len() + refused, CREATIONS);
    // 8 people with 3 numbers each can hold at most 8 * 3 / 2 = 12 conversations.
    assert!(
        created.len() <= PEOPLE * POOL.len() / 2,
        "{} created",
        created.len()
    );
    assert!(created.len() >= 6, "only {} created", created.len());
    assert!(refused > 0);

    assert_consistent(&app.deps.store, &created, POOL.len()).await;
}
