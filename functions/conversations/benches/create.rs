//! Creating a conversation with every Vonage request delayed by 100 ms, against the local
//! DynamoDB-API server: the two Number Insight lookups run together, and so do the two SMS, so
//! creation costs about two Vonage round trips, not four. Budget: under 350 ms.
//! Needs the local DynamoDB-API server (`scripts/bench` starts it).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use conversations::{Deps, handle};
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::Body;
use shared::config::ConversationConfig;
use shared::vonage::VonageClient;
use testkit::{EchoInsight, fresh_store, mock_config};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

const DELAY: Duration = Duration::from_millis(100);

async fn slow_vonage() -> MockServer {
    let server = MockServer::start().await;
    struct Slow;
    impl Respond for Slow {
        fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
            EchoInsight.respond(request).set_delay(DELAY)
        }
    }
    Mock::given(method("GET"))
        .and(path("/ni/basic/json"))
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

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (deps, _vonage) = rt.block_on(async {
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
        let vonage = slow_vonage().await;
        let deps = Deps {
            store,
            vonage: VonageClient::new(&mock_config(&vonage)).unwrap(),
            conversations: ConversationConfig::from_source(&|_: &str| None).unwrap(),
            application_id: None,
        };
        (deps, vonage)
    });
    // Fresh participants each time, so every creation does the whole work.
    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("create a conversation, Vonage delayed 100 ms");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("POST /conversations", |b| {
        b.to_async(&rt).iter(|| async {
            let k = next.fetch_add(2, Ordering::Relaxed);
            let body = serde_json::json!({"participants": [
                {"number": format!("4477{:08}", 10_000_000 + k), "label": "rider"},
                {"number": format!("4477{:08}", 10_000_001 + k), "label": "driver"}
            ]});
            let req = http::Request::builder()
                .method("POST")
                .uri("/conversations")
                .header("content-type", "application/json")
                .body(Body::Text(body.to_string()))
                .unwrap();
            let response = handle(&deps, req).await;
            assert_eq!(response.status(), 201);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
