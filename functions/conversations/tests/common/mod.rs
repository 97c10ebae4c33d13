//! Helpers for the conversations API tests: a real local table, a Vonage stand-in, requests.
#![allow(dead_code, clippy::unwrap_used)]

use conversations::{Deps, handle};
use lambda_http::{Body, Request};
use shared::config::ConversationConfig;
use shared::model::{NumberState, PoolNumber};
use shared::phone::Msisdn;
use shared::ports::{Conversations, Pool, RouteReader};
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::{fresh_store, mock_config, vonage_mock};
use wiremock::MockServer;

pub fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

pub struct App {
    pub deps: Deps,
    pub vonage: MockServer,
}

impl App {
    pub async fn new(pool: &[(&str, &str)]) -> Self {
        let store = fresh_store().await;
        for (msisdn, country) in pool {
            add_number(&store, msisdn, country, NumberState::Active).await;
        }
        let vonage = vonage_mock().await;
        Self::with(store, vonage)
    }

    pub fn with(store: Store, vonage: MockServer) -> Self {
        Self::configured(store, vonage, &[])
    }

    /// An API with these settings (as environment variables) over the defaults.
    pub fn configured(store: Store, vonage: MockServer, settings: &[(&str, &str)]) -> Self {
        let client = VonageClient::new(&mock_config(&vonage))
            .unwrap()
            .with_backoff(std::time::Duration::from_millis(5));
        let settings: std::collections::HashMap<String, String> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let conversations =
            ConversationConfig::from_source(&move |k: &str| settings.get(k).cloned()).unwrap();
        let deps = Deps {
            store,
            vonage: client,
            conversations,
            application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
            calls: None,
        };
        Self { deps, vonage }
    }

    pub async fn call(&self, req: Request) -> (u16, serde_json::Value, String) {
        let response = handle(&self.deps, req).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap_or(serde_json::Value::Null),
            _ => serde_json::Value::Null,
        };
        (status, body, content_type)
    }

    pub async fn create(&self, body: serde_json::Value) -> (u16, serde_json::Value) {
        let (status, body, _) = self
            .call(json_request("POST", "/conversations", &body.to_string()))
            .await;
        (status, body)
    }
}

pub async fn add_number(store: &Store, msisdn: &str, country: &str, state: NumberState) {
    store
        .add_number(&PoolNumber::new(
            m(msisdn),
            country.parse().unwrap(),
            state,
            0,
        ))
        .await
        .unwrap();
}

pub use testkit::requests::request;

pub fn json_request(method: &str, path: &str, body: &str) -> Request {
    request(method, path, Some("application/json"), body)
}

/// `count` creations between `people` people (`447700900001` on), in overlapping pairs: every
/// participant appears in many requests.
pub fn overlapping_pairs(count: usize, people: usize) -> Vec<(String, String)> {
    let person = |i: usize| format!("4477009000{:02}", i + 1);
    (0..count)
        .map(|k| {
            let a = k % people;
            let b = (a + 1 + (k / people) % (people - 1)) % people;
            (person(a), person(b))
        })
        .collect()
}

/// Creates a conversation for each pair at once; each pair with its answer, in order.
pub async fn create_all(
    app: &std::sync::Arc<App>,
    requests: Vec<(String, String)>,
) -> Vec<(String, String, u16, serde_json::Value)> {
    create_at_most(app, requests, usize::MAX).await
}

/// Like [`create_all`], with no more than `in_flight` creations running at any moment.
pub async fn create_at_most(
    app: &std::sync::Arc<App>,
    requests: Vec<(String, String)>,
    in_flight: usize,
) -> Vec<(String, String, u16, serde_json::Value)> {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(in_flight.min(10_000)));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(a, b)| {
            let app = std::sync::Arc::clone(app);
            let limit = std::sync::Arc::clone(&limit);
            tokio::spawn(async move {
                let _slot = limit.acquire().await.unwrap();
                let (status, body) = app.create(pair(&a, &b)).await;
                (a, b, status, body)
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

pub fn pair(a: &str, b: &str) -> serde_json::Value {
    serde_json::json!({"participants": [{"number": a, "label": "rider"}, {"number": b, "label": "driver"}]})
}

/// A body that is not UTF-8, as API Gateway hands it over (base64-decoded into bytes).
pub fn binary_request(method: &str, path: &str, body: &[u8]) -> Request {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::Binary(body.to_vec()))
        .unwrap()
}

/// Rule 2 and a whole table after many creations (and no closes), read from the table itself
/// (never through a fault proxy): every `created` conversation is there; no (proxy number,
/// participant) pair is in two conversations; each conversation routes both ways and has
/// exactly its items (nothing half-written); usage counts match the routes. Returns every
/// conversation in the table: under faults a write can be applied while its answer is lost
/// (the client got a `503`), and such a conversation must be whole too.
pub async fn assert_consistent(
    store: &Store,
    created: &[serde_json::Value],
    pool_size: usize,
) -> Vec<shared::model::Conversation> {
    use std::collections::{HashMap, HashSet};
    let items = testkit::all_items(store).await;
    let mut written = Vec::new();
    for i in items.iter().filter(|i| i["sk"].as_s().unwrap() == "CONV") {
        let id = i["pk"].as_s().unwrap().trim_start_matches("CONV#");
        written.push(
            store
                .conversation(&id.parse().unwrap())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    for c in created {
        let id = c["id"].as_str().unwrap();
        assert!(
            written.iter().any(|w| w.id == id),
            "{id} was answered 201 but is not in the table"
        );
    }

    let mut pairs = HashSet::new();
    for c in &written {
        for p in &c.participants {
            let key = (p.proxy_number.clone(), p.number.clone());
            assert!(pairs.insert(key.clone()), "{key:?} assigned twice");
        }
        // Each routes correctly both ways.
        for route in c.routes() {
            let stored = store
                .route(&route.proxy_number, &route.caller)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(stored, route);
        }
    }

    // Nothing half-written: exactly the items of the conversations and the pool.
    let kind = |prefix: &str| {
        items
            .iter()
            .filter(|i| {
                i["pk"].as_s().unwrap().starts_with(prefix) && i["sk"].as_s().unwrap() != "MEMBER"
            })
            .count()
    };
    let sk_count =
        |f: &dyn Fn(&str) -> bool| items.iter().filter(|i| f(i["sk"].as_s().unwrap())).count();
    assert_eq!(sk_count(&|sk| sk.starts_with("MEMBER#")), 2 * written.len());
    assert_eq!(kind("ROUTE#"), 2 * written.len());
    assert_eq!(kind("NUMBER#"), pool_size);
    // Number Insight's answers are kept only for participants of written conversations (and
    // keeping one may fail with the store: it only saves a later lookup).
    let participants: std::collections::HashSet<String> = written
        .iter()
        .flat_map(|c| {
            c.participants
                .iter()
                .map(|p| format!("INSIGHT#{}", p.number.as_str()))
        })
        .collect();
    for item in &items {
        let pk = item["pk"].as_s().unwrap();
        if pk.starts_with("INSIGHT#") {
            assert!(
                participants.contains(pk),
                "{pk} kept without its conversation"
            );
        }
    }
    // A creation that found no number leaves only its record for `pool.exhausted`.
    assert_eq!(
        items.len(),
        5 * written.len() + pool_size + kind("INSIGHT#") + kind("EXHAUSTED#")
    );

    // Usage counts match the routes on each number.
    let mut uses: HashMap<Msisdn, i64> = HashMap::new();
    for (proxy, _) in &pairs {
        *uses.entry(proxy.clone()).or_default() += 1;
    }
    for n in store.list_pool().await.unwrap() {
        assert_eq!(
            n.active_count,
            uses.get(&n.msisdn).copied().unwrap_or(0),
            "{:?}",
            n.msisdn
        );
    }
    written
}

/// The conversations function on the in-memory store and fake Vonage, with click-to-call's
/// Voice API (fake too) and the default settings; `pool` holds active GB numbers.
pub fn in_memory_with_calls(
    pool: &[&str],
) -> Deps<testkit::fakes::MemoryStore, testkit::fakes::FakeVonage, testkit::fakes::FakeVonage> {
    let none = |_: &str| None;
    Deps {
        store: testkit::fakes::MemoryStore::with_pool(pool, "GB"),
        vonage: testkit::fakes::FakeVonage::default(),
        conversations: ConversationConfig::from_source(&none).unwrap(),
        application_id: None,
        calls: Some(conversations::calls::Calls {
            voice: testkit::fakes::FakeVonage::default(),
            call: shared::config::CallConfig::from_source(&none).unwrap(),
            seal: shared::seal::Seal::local(),
        }),
    }
}
