//! The answer webhook's CPU cost per call: from the raw API Gateway event (JSON text, as Lambda
//! hands it over) to the serialized NCCO, with the route answered from memory so only our code
//! is measured. Budget: 20 µs per call. `scripts/bench` runs it and records the figures.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use answer::{Deps, handle};
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::Body;
use shared::config::CallConfig;
use shared::model::Route;
use shared::phone::Msisdn;
use shared::ports::RouteReader;
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use shared::store::StoreError;

struct InMemory(HashMap<(Msisdn, Msisdn), Route>);

impl RouteReader for InMemory {
    async fn route(&self, proxy: &Msisdn, caller: &Msisdn) -> Result<Option<Route>, StoreError> {
        Ok(self.0.get(&(proxy.clone(), caller.clone())).cloned())
    }
}

fn routes() -> InMemory {
    let c = testkit::conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        0,
        i64::MAX / 2,
    );
    InMemory(
        c.routes()
            .into_iter()
            .map(|r| ((r.proxy_number.clone(), r.caller.clone()), r))
            .collect(),
    )
}

fn event(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../events/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let call = CallConfig::from_source(&|_: &str| None).unwrap();
    let unsigned = Deps {
        routes: routes(),
        call: call.clone(),
        auth: WebhookAuth::Off,
    };

    let mut group = c.benchmark_group("answer webhook, raw event to NCCO");
    for (label, file) in [
        ("known caller (GET)", "answer-known.json"),
        ("known caller (POST JSON)", "answer-post.json"),
        ("unknown caller", "answer-unknown.json"),
    ] {
        let raw = event(file);
        group.bench_function(label, |b| {
            b.to_async(&rt).iter(|| async {
                let req = lambda_http::request::from_str(&raw).unwrap();
                let response = handle(&unsigned, req).await;
                let Body::Text(ncco) = response.body() else {
                    unreachable!()
                };
                assert!(ncco.len() > 10);
            })
        });
    }

    // With signature verification on, as deployed: the event carries a fresh Vonage token.
    let secret = "the-account-signature-secret";
    let signed = Deps {
        routes: routes(),
        call,
        auth: WebhookAuth::Required(Verifier::new(
            secret.into(),
            Some("abcd1234".into()),
            86_400,
        )),
    };
    let mut raw: serde_json::Value = serde_json::from_str(&event("answer-post.json")).unwrap();
    let body = raw["body"].as_str().unwrap().to_owned();
    let token = sign(
        &claims_for(body.as_bytes(), shared::now(), "abcd1234"),
        secret,
    );
    raw["headers"]["authorization"] = serde_json::Value::String(format!("Bearer {token}"));
    let raw = raw.to_string();
    group.bench_function("known caller (POST JSON), signed", |b| {
        b.to_async(&rt).iter(|| async {
            let req = lambda_http::request::from_str(&raw).unwrap();
            let response = handle(&signed, req).await;
            assert_eq!(response.status(), 200);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
