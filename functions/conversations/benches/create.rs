//! Creating a conversation with every Vonage request delayed by 100 ms, against the local
//! DynamoDB-API server. New participants cost one Identity Insights round trip (both lookups
//! run together, each signed with the application's key; the SMS are sent later, from the
//! change stream): budget 130 ms. Participants seen before cost none (their answers are kept):
//! budget 40 ms.
//! Needs the local DynamoDB-API server (`scripts/bench` starts it).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use conversations::{Deps, handle};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use lambda_http::Body;
use shared::config::ConversationConfig;
use shared::vonage::{NumberCheck, VonageClient};
use testkit::requests::json as request;
use testkit::{fresh_store, mock_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const DELAY: Duration = Duration::from_millis(100);

async fn slow_vonage() -> MockServer {
    let server = MockServer::start().await;
    /// Identity Insights as Vonage answers for a valid mobile: the number it was asked about.
    struct Slow;
    impl Respond for Slow {
        fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
            let asked: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let number = asked["phone_number"].as_str().unwrap();
            let ok = serde_json::json!({"code": "OK"});
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"insights": {
                    "format": {"country_code": "GB", "number_international": format!("+{number}"),
                               "time_zones": ["Europe/London"], "is_format_valid": true,
                               "status": ok},
                    "original_carrier": {"network_type": "MOBILE", "status": ok},
                }}))
                .set_delay(DELAY)
        }
    }
    Mock::given(method("POST"))
        .and(path("/requests"))
        .respond_with(Slow)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"message-count": "1", "messages": [{"status": "0", "message-id": "x"}]}))
                .set_delay(DELAY),
        )
        .mount(&server)
        .await;
    server
}

/// The conversations function on a fresh table with four pool numbers, Vonage slowed.
async fn app(vonage: &MockServer) -> Deps {
    let store = fresh_store().await;
    testkit::add_pool(
        &store,
        &[
            "447700900101",
            "447700900102",
            "447700900103",
            "447700900104",
        ],
        "GB",
    )
    .await;
    let (private, _) = testkit::application_key_pair();
    let insights = testkit::identity_insights_client(
        &vonage.uri(),
        "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
        &private,
        Duration::from_secs(2),
    );
    Deps {
        store,
        vonage: VonageClient::new(&mock_config(vonage))
            .unwrap()
            .with_number_check(NumberCheck::IdentityInsights(insights)),
        conversations: ConversationConfig::from_source(&|_: &str| None).unwrap(),
        application_id: None,
        calls: None,
    }
}

/// Creates a conversation between `rider` and `driver`: how long that took, then closes it
/// (untimed), so every run starts from the same pool.
async fn create_and_close(deps: &Deps, rider: String, driver: String) -> Duration {
    let body = serde_json::json!({"participants": [
        {"number": rider, "label": "rider"},
        {"number": driver, "label": "driver"}
    ]});
    let started = Instant::now();
    let response = handle(deps, request("POST", "/conversations", Some(body))).await;
    let took = started.elapsed();
    assert_eq!(response.status(), 201);
    let Body::Text(text) = response.body() else {
        panic!("a created conversation")
    };
    let created: serde_json::Value = serde_json::from_str(text).unwrap();
    let id = created["id"].as_str().unwrap();
    handle(
        deps,
        request("DELETE", &format!("/conversations/{id}"), None),
    )
    .await;
    took
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let vonage = rt.block_on(slow_vonage());
    // Short runs: the local DynamoDB-API server answers an index query by reading its whole
    // table, so a long run would time the stand-in's growing table (DynamoDB reads only the
    // items asked for).
    let mut group = c.benchmark_group("create a conversation, Vonage delayed 100 ms");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    // Fresh participants each time: both are looked up.
    let deps = rt.block_on(app(&vonage));
    let next = AtomicU64::new(0);
    group.bench_function("new participants", |b| {
        b.to_async(&rt).iter_custom(|iterations| {
            let (deps, next) = (&deps, &next);
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let k = next.fetch_add(2, Ordering::Relaxed);
                    let (rider, driver) = (
                        format!("4477{:08}", 10_000_000 + k),
                        format!("4477{:08}", 10_000_001 + k),
                    );
                    total += create_and_close(deps, rider, driver).await;
                }
                total
            }
        })
    });

    // The same two people again and again: their Identity Insights answers are kept.
    let deps = rt.block_on(app(&vonage));
    let (rider, driver) = ("447790000001".to_owned(), "447790000002".to_owned());
    rt.block_on(create_and_close(&deps, rider.clone(), driver.clone()));
    group.bench_function("participants seen before", |b| {
        b.to_async(&rt).iter_custom(|iterations| {
            let (deps, rider, driver) = (&deps, rider.clone(), driver.clone());
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    total += create_and_close(deps, rider.clone(), driver.clone()).await;
                }
                total
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
