//! Rule 2 under load: many creations at once over a small pool, against the real local
//! DynamoDB-API server. Afterwards no (proxy number, participant) pair belongs to two active
//! conversations, every created conversation routes both ways, every refusal is a clean
//! `pool_exhausted`, and the pool's usage counts match the routes.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use common::{App, pair};
use shared::phone::Msisdn;
use shared::testing::all_items;

const POOL: [&str; 3] = ["447700900101", "447700900102", "447700900103"];
const CREATIONS: usize = 60;
const PEOPLE: usize = 8;

fn person(i: usize) -> String {
    format!("4477009000{:02}", i + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creations_hold_rule_two() {
    let pool: Vec<(&str, &str)> = POOL.iter().map(|n| (*n, "GB")).collect();
    let app = Arc::new(App::new(&pool).await);

    // Overlapping pairs: every participant appears in many requests.
    let requests: Vec<(String, String)> = (0..CREATIONS)
        .map(|k| {
            let a = k % PEOPLE;
            let b = (a + 1 + (k / PEOPLE) % (PEOPLE - 1)) % PEOPLE;
            (person(a), person(b))
        })
        .collect();
    let tasks: Vec<_> = requests
        .iter()
        .cloned()
        .map(|(a, b)| {
            let app = Arc::clone(&app);
            tokio::spawn(async move { app.create(pair(&a, &b)).await })
        })
        .collect();
    let mut created = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
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

    // No (proxy, participant) pair in two created conversations.
    let mut pairs = HashSet::new();
    for c in &created {
        for p in c["participants"].as_array().unwrap() {
            let key = (
                p["proxy_number"].as_str().unwrap().to_owned(),
                p["number"].as_str().unwrap().to_owned(),
            );
            assert!(pairs.insert(key.clone()), "{key:?} assigned twice");
        }
    }

    // Every created conversation routes correctly both ways.
    let store = &app.deps.store;
    for c in &created {
        let p = c["participants"].as_array().unwrap();
        let m = |v: &serde_json::Value| Msisdn::from_digits(v.as_str().unwrap()).unwrap();
        for (me, other) in [(&p[0], &p[1]), (&p[1], &p[0])] {
            let route = store
                .get_route(&m(&me["proxy_number"]), &m(&me["number"]))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(route.conversation_id, c["id"].as_str().unwrap());
            assert_eq!(route.callee, m(&other["number"]));
            assert_eq!(route.callee_proxy, m(&other["proxy_number"]));
        }
    }

    // Nothing half-written: exactly the items of the created conversations and the pool.
    let items = all_items(store).await;
    let kind = |prefix: &str| {
        items
            .iter()
            .filter(|i| {
                i["pk"].as_s().unwrap().starts_with(prefix) && i["sk"].as_s().unwrap() != "MEMBER"
            })
            .count()
    };
    let conversations = items
        .iter()
        .filter(|i| i["sk"].as_s().unwrap() == "CONV")
        .count();
    let members = items
        .iter()
        .filter(|i| i["sk"].as_s().unwrap().starts_with("MEMBER#"))
        .count();
    assert_eq!(conversations, created.len());
    assert_eq!(members, 2 * created.len());
    assert_eq!(kind("ROUTE#"), 2 * created.len());
    assert_eq!(kind("NUMBER#"), POOL.len());
    assert_eq!(items.len(), 5 * created.len() + POOL.len());

    // Usage counts match the routes on each number.
    let mut uses: HashMap<String, i64> = HashMap::new();
    for (proxy, _) in &pairs {
        *uses.entry(proxy.clone()).or_default() += 1;
    }
    for n in store.list_pool().await.unwrap() {
        assert_eq!(
            n.active_count,
            uses.get(n.msisdn.as_str()).copied().unwrap_or(0),
            "{:?}",
            n.msisdn
        );
    }
}
