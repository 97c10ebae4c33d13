//! Rule 3 under faults: the answer webhook, wired as the deployed function is (start, time budget
//! and fallback included), through the fault-injecting proxy in front of the real local
//! DynamoDB-API server. Whatever the store does, every call and every code typed at the prompt
//! gets `200` and a valid NCCO.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Conversations;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use answer::{DEFAULT_TIMEOUT, Deps, Settings, unavailable};
use lambda_http::{Body, Request, RequestExt, Response};
use shared::config::CallConfig;
use shared::runtime::Service;
use shared::signature::{WebhookAuth, claims_for, sign};
use shared::store::Store;
use testkit::{FaultProxy, add_pool, budget, conversation, fresh_store};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn call_config() -> CallConfig {
    CallConfig::from_source(&|_: &str| None).unwrap()
}

/// The code A types when calling from another phone.
const A_CODE: &str = "4821";
/// A phone no route knows.
const STRANGER: &str = "447700900003";

fn webhook(path: &str, fields: &[(&str, &str)]) -> Request {
    let params: HashMap<String, String> = fields
        .iter()
        .chain(&[("uuid", "leg-1"), ("conversation_uuid", "CON-1")])
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    http::Request::builder()
        .method("GET")
        .uri(format!(
            "https://abc123.execute-api.eu-west-1.amazonaws.com{path}"
        ))
        .header("host", "abc123.execute-api.eu-west-1.amazonaws.com")
        .body(Body::Empty)
        .unwrap()
        .with_query_string_parameters(params)
}

fn call(to: &str, from: &str) -> Request {
    webhook("/webhooks/answer", &[("to", to), ("from", from)])
}

/// `keys` typed at the code prompt by a caller from `from` to `to`.
fn typed(to: &str, from: &str, keys: &str) -> Request {
    webhook(
        "/webhooks/code",
        &[("to", to), ("from", from), ("try", "1"), ("dtmf", keys)],
    )
}

/// The answer's status and NCCO, after checking the NCCO against the schema.
fn read(response: Response<Body>, schema: &jsonschema::Validator) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    let Body::Text(text) = response.body() else {
        panic!("an NCCO is text")
    };
    let ncco: serde_json::Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = schema.iter_errors(&ncco).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "NCCO {ncco} is not valid: {errors:?}");
    (status, ncco)
}

fn connects_to(ncco: &serde_json::Value, number: &str) -> bool {
    ncco.as_array().unwrap().iter().any(|a| {
        a["action"] == "connect" && a["endpoint"][0]["number"] == number && a["from"] == PB
    })
}

fn is_apology(ncco: &serde_json::Value, call: &CallConfig) -> bool {
    ncco.as_array().unwrap().len() == 1
        && ncco[0]["action"] == "talk"
        && ncco[0]["text"] == call.unavailable
}

/// A fresh table with one open conversation: A on PA (code [`A_CODE`]), B on PB.
async fn with_conversation(id: &str) -> Store {
    let store = fresh_store().await;
    add_pool(&store, &[PA, PB], "GB").await;
    let now = shared::now();
    let mut c = conversation(id, (A, PA), (B, PB), now, now + 3600);
    c.participants[0].code = shared::values::AccessCode::typed(A_CODE, 4);
    store.create_conversation(&c).await.unwrap();
    store
}

/// A table with one conversation (A on PA, B on PB), and the same table through the proxy with
/// the deployed answer function's store budget.
async fn setup(proxy: &FaultProxy) -> (Store, Store) {
    let store = with_conversation("c0000000-0000-4000-8000-000000000001").await;
    let via = proxy.store(store.table(), &budget(500, 1000, 3)).await;
    (store, via)
}

#[tokio::test]
async fn every_call_gets_a_valid_ncco_whatever_the_store_does() {
    let proxy = FaultProxy::start();
    let (_, via) = setup(&proxy).await;
    let schema = testkit::ncco_schema();
    let config = call_config();
    let apology = config.clone();
    let service = Service::new(
        || async {
            Ok::<_, lambda_http::Error>(Deps {
                store: via.clone(),
                call: config.clone(),
                auth: WebhookAuth::Off,
                methods: shared::config::WebhookMethods::Any,
                hooks: answer::CallHooks::off()?,
                voice: None::<shared::vonage::VoiceClient>,
                codes: shared::config::AccessCodeConfig::from_source(&|name: &str| match name {
                    "ACCESS_CODES" => Some("true".into()),
                    "ACCESS_CODE_DIGITS" => Some("4".into()),
                    _ => None,
                })?,
            })
        },
        move |_| unavailable(&apology),
        DEFAULT_TIMEOUT,
    );

    // Healthy: the call connects, and so does A's code typed from another phone.
    let (status, ncco) = read(service.call(call(PA, A)).await, &schema);
    assert_eq!(status, 200);
    assert!(connects_to(&ncco, B), "{ncco}");
    let (status, ncco) = read(service.call(typed(PA, STRANGER, A_CODE)).await, &schema);
    assert_eq!(status, 200);
    assert!(connects_to(&ncco, B), "{ncco}");

    // Each fault on every request: the caller hears the apology, never an error.
    let faults = [
        serde_json::json!({"fault": "hang"}),
        serde_json::json!({"fault": "latency", "latency_ms": 5000}),
        serde_json::json!({"fault": "throttle"}),
        serde_json::json!({"fault": "provisioned"}),
        serde_json::json!({"fault": "internal"}),
        serde_json::json!({"fault": "drop"}),
    ];
    let mut slowest = Duration::ZERO;
    for rule in faults {
        proxy.set(1, serde_json::json!([rule])).await;
        let started = Instant::now();
        // Five calls, and five codes typed at the prompt.
        let answers = futures::future::join_all((0..10).map(|i| {
            service.call(if i % 2 == 0 {
                call(PA, A)
            } else {
                typed(PA, STRANGER, A_CODE)
            })
        }))
        .await;
        slowest = slowest.max(started.elapsed());
        for response in answers {
            let (status, ncco) = read(response, &schema);
            assert_eq!(status, 200, "{rule}");
            assert!(is_apology(&ncco, &config), "{rule}: {ncco}");
        }
        let counts = proxy.counts().await;
        assert!(
            counts["injected"][rule["fault"].as_str().unwrap()]
                .as_u64()
                .unwrap()
                >= 10,
            "{rule}: {counts}"
        );
        // A hang still holds the store's connections: the calls were answered without it.
        if rule["fault"] == "hang" {
            assert_eq!(counts["forwarded"], 0, "{counts}");
        }
        proxy.clear().await;
    }
    eprintln!("slowest answer under a failing store: {slowest:?}");

    // Throttling on 30% of requests: the SDK's retries absorb most; every call is answered.
    proxy
        .set(7, serde_json::json!([{"fault": "throttle", "rate": 0.3}]))
        .await;
    let mut connected = 0;
    for _ in 0..60 {
        let (status, ncco) = read(service.call(call(PA, A)).await, &schema);
        assert_eq!(status, 200);
        if connects_to(&ncco, B) {
            connected += 1;
        } else {
            assert!(is_apology(&ncco, &config), "{ncco}");
        }
    }
    let counts = proxy.counts().await;
    eprintln!("30% throttling: {connected} of 60 connected; proxy counts {counts}");
    assert!(counts["injected"]["throttle"].as_u64().unwrap() > 0);
    assert!(connected > 0);

    // And once the store is back, calls connect again.
    proxy.clear().await;
    let (_, ncco) = read(service.call(call(PA, A)).await, &schema);
    assert!(connects_to(&ncco, B), "{ncco}");
}

/// A function whose secret cannot be read plays the apology; the first request after the secret
/// is there works, in the same execution environment.
#[tokio::test]
async fn an_unreadable_secret_gets_the_apology_then_recovers() {
    let store = with_conversation("c0000000-0000-4000-8000-000000000002").await;
    let name = format!("voice-proxy-{}", uuid::Uuid::new_v4());
    let settings: HashMap<&str, String> = [
        ("TABLE_NAME", store.table().to_owned()),
        ("VONAGE_SECRET_ARN", name.clone()),
        ("VONAGE_API_KEY", "abcd1234".to_owned()),
        // The calls below are signed GETs, as a local stack takes them.
        ("WEBHOOK_METHODS", "any".to_owned()),
    ]
    .into();
    let src = move |k: &str| settings.get(k).cloned();
    let config = call_config();
    let apology = config.clone();
    let settings = Settings {
        call: config.clone(),
        ..Settings::from_source(&src).unwrap()
    };
    let service = Service::new(
        || settings.build_from(&src),
        move |_| unavailable(&apology),
        DEFAULT_TIMEOUT,
    );
    let schema = testkit::ncco_schema();
    let signed = |secret: &str| {
        let mut req = call(PA, A);
        let token = sign(&claims_for(b"", shared::now(), "abcd1234"), secret);
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        req
    };

    // No such secret yet: the caller hears the apology, Vonage gets a 200.
    let (status, ncco) = read(service.call(signed("signing-key")).await, &schema);
    assert_eq!(status, 200);
    assert!(is_apology(&ncco, &config), "{ncco}");

    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&name)
        .secret_string(r#"{"api_secret":"abcdef0123456789","signature_secret":"signing-key"}"#)
        .send()
        .await
        .unwrap();

    let (status, ncco) = read(service.call(signed("signing-key")).await, &schema);
    assert_eq!(status, 200);
    assert!(connects_to(&ncco, B), "{ncco}");
    // The secret is the one that was read: a token signed with another is refused.
    assert_eq!(service.call(signed("another-key")).await.status(), 401);
}
