//! The answer webhook's CPU cost per call: from the raw API Gateway event (JSON text, as Lambda
//! hands it over) to the serialized NCCO, with the route answered from memory so only our code
//! is measured. Budget: 20 µs per call. `scripts/bench` runs it and records the figures.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use answer::{CallHooks, Deps, handle};
use criterion::{Criterion, criterion_group, criterion_main};
use lambda_http::Body;
use shared::config::{CallConfig, HookConfig};
use shared::hook::Hooks;
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use testkit::fakes::MemoryStore;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn conversation() -> shared::model::Conversation {
    testkit::conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        0,
        i64::MAX / 2,
    )
}

fn routes() -> MemoryStore {
    MemoryStore::with([conversation()])
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
        .enable_all()
        .build()
        .unwrap();
    let call = CallConfig::from_source(&|_: &str| None).unwrap();
    let unsigned = Deps {
        store: routes(),
        call: call.clone(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
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
        store: routes(),
        call: call.clone(),
        auth: WebhookAuth::Required(Verifier::new(
            secret.into(),
            Some("abcd1234".into()),
            86_400,
        )),
        methods: shared::config::WebhookMethods::Post,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
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

    // Every call setting on: labels, a reference, both languages, an announcement naming the
    // callee, a whisper (the callee's endpoint gets its onAnswer URL).
    let mut full = conversation();
    full.reference = Some("ride-42".parse().unwrap());
    for (p, (label, language)) in full
        .participants
        .iter_mut()
        .zip([("rider", "es-MX"), ("driver", "de-DE")])
    {
        p.label = Some(label.parse().unwrap());
        p.language = Some(language.parse().unwrap());
    }
    full.call = shared::model::CallSettings {
        announcement: Some("Connecting you to your {callee}.".into()),
        whisper: Some("Your {caller} is calling about {reference}.".into()),
        whisper_accept: true,
        record: true,
        missed_call: shared::model::MissedCallMode::Message,
        ..Default::default()
    };
    let every_setting = Deps {
        store: MemoryStore::with([full]),
        call: call.clone(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let raw = event("answer-known.json");
    group.bench_function("known caller (GET), every call setting on", |b| {
        b.to_async(&rt).iter(|| async {
            let req = lambda_http::request::from_str(&raw).unwrap();
            let response = handle(&every_setting, req).await;
            let Body::Text(ncco) = response.body() else {
                unreachable!()
            };
            assert!(ncco.contains("onAnswer"));
        })
    });
    group.finish();
    hook(c, &rt, call);
}

/// The out-of-session hook's added time: an unknown caller without a hook, then the same call
/// put to a local hook that answers `say` after 50 ms. What the second takes beyond the first
/// and the 50 ms is the hook call's own cost (the connection, signing, reading the answer).
fn hook(c: &mut Criterion, rt: &tokio::runtime::Runtime, call: CallConfig) {
    let server = rt.block_on(MockServer::start());
    rt.block_on(
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_delay(Duration::from_millis(50))
                    .set_body_json(
                        serde_json::json!({"action": "say", "text": "Call the help desk."}),
                    ),
            )
            .mount(&server),
    );
    let config = HookConfig {
        out_of_session_url: Some(format!("{}/hooks/out-of-session", server.uri())),
        intercept_url: None,
        timeout: Duration::from_millis(1500),
    };
    let mut hooks = CallHooks::off().unwrap();
    hooks.hooks = Hooks::new(&config, "hook-secret".into()).unwrap();
    let with_hook = Deps {
        store: routes(),
        call: call.clone(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks,
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let without = Deps {
        store: routes(),
        call,
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    let raw = event("answer-unknown.json");
    let mut group = c.benchmark_group("out-of-session hook answering in 50 ms");
    group.sample_size(20);
    for (label, deps) in [("no hook", &without), ("hook", &with_hook)] {
        group.bench_function(label, |b| {
            b.to_async(rt).iter(|| async {
                let req = lambda_http::request::from_str(&raw).unwrap();
                let response = handle(deps, req).await;
                assert_eq!(response.status(), 200);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
