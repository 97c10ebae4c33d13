//! An inbound call costs exactly one DynamoDB request, counted on the wire by an SDK interceptor
//! (every attempt, retries included), whatever the call's outcome.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Conversations;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use answer::{Deps, Outcome, answer};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use lambda_http::{Body, RequestExt};
use shared::config::CallConfig;
use shared::model::{Conversation, ConversationStatus, ExpiryMode, Participant};
use shared::phone::Msisdn;
use shared::signature::WebhookAuth;
use shared::store::Store;

#[derive(Debug, Clone, Default)]
struct Counter(Arc<AtomicUsize>);

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "request counter"
    }
    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

fn call(to: &str, from: &str) -> lambda_http::Request {
    let q: HashMap<String, String> = [
        ("to", to),
        ("from", from),
        ("uuid", "u"),
        ("conversation_uuid", "CON-1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    http::Request::builder()
        .uri("/webhooks/answer")
        .body(Body::Empty)
        .unwrap()
        .with_query_string_parameters(q)
}

#[tokio::test]
async fn every_inbound_call_is_one_dynamodb_request() {
    let setup = testkit::fresh_store().await;
    testkit::add_pool(&setup, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let p = |n: &str, proxy: &str| Participant {
        number: m(n),
        label: None,
        proxy_number: m(proxy),
        country: "GB".parse().unwrap(),
        notification: None,
        language: None,
        code: None,
        shared: false,
        checked: Default::default(),
        facts: Default::default(),
        time_zone: None,
        quiet_hours: None,
    };
    let conversation = |id: &str, a: &str, b: &str, expires_at: i64| Conversation {
        id: id.parse().unwrap(),
        status: ConversationStatus::Active,
        created_at: now,
        expires_at,
        reference: None,
        participants: [p(a, "447700900101"), p(b, "447700900102")],
        closed_at: None,
        close_reason: None,
        expiry_mode: ExpiryMode::Absolute,
        ttl_seconds: 3600,
        last_activity: None,
        mode: Default::default(),
        intercept: false,
        call: Default::default(),
    };
    setup
        .create_conversation(&conversation(
            "live",
            "447700900001",
            "447700900002",
            now + 3600,
        ))
        .await
        .unwrap();
    setup
        .create_conversation(&conversation(
            "old",
            "447700900003",
            "447700900004",
            now - 1,
        ))
        .await
        .unwrap();

    let counter = Counter::default();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(counter.clone())
        .build();
    let counted = Store::new(aws_sdk_dynamodb::Client::from_conf(config), setup.table());
    let deps = Deps {
        store: counted,
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: answer::CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };

    for (to, from, expected) in [
        ("447700900101", "447700900001", Outcome::Connected),
        ("447700900102", "447700900002", Outcome::Connected),
        ("447700900101", "447700900009", Outcome::UnknownCaller),
        ("447700900101", "447700900003", Outcome::Expired),
    ] {
        let before = counter.0.load(Ordering::SeqCst);
        let (_, outcome) = answer(&deps, &call(to, from), now).await;
        assert_eq!(outcome, expected);
        assert_eq!(
            counter.0.load(Ordering::SeqCst) - before,
            1,
            "{expected:?} cost other than one request"
        );
    }
}

/// With the out-of-session hook set, a call no conversation takes costs the route, the freed
/// pair, the conversation it names (when there is one) and the record of the hook's answer; a
/// known call still costs one request.
#[tokio::test]
async fn a_call_put_to_the_hook_reads_its_last_conversation_once() {
    use shared::config::HookConfig;
    use shared::hook::Hooks;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let setup = testkit::fresh_store().await;
    testkit::add_pool(&setup, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let c = |id: &str, a: &str, b: &str| {
        testkit::conversation(
            id,
            (a, "447700900101"),
            (b, "447700900102"),
            now,
            now + 3600,
        )
    };
    let id = "5d0f1a2b-0000-4000-8000-000000000042";
    setup
        .create_conversation(&c(id, "447700900001", "447700900002"))
        .await
        .unwrap();
    setup
        .close_conversation(
            &id.parse().unwrap(),
            &testkit::closing(shared::model::CloseReason::Closed, now, now + 86_400),
        )
        .await
        .unwrap();
    setup
        .create_conversation(&c("open", "447700900005", "447700900006"))
        .await
        .unwrap();

    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"action": "say", "text": "Ask in the app."})),
        )
        .mount(&hook)
        .await;
    let config = HookConfig {
        out_of_session_url: Some(hook.uri()),
        intercept_url: None,
        timeout: std::time::Duration::from_millis(1500),
    };
    let counter = Counter::default();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config_with_counter = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(counter.clone())
        .build();
    let mut hooks = answer::CallHooks::off().unwrap();
    hooks.hooks = Hooks::new(&config, "hook-secret".into()).unwrap();
    let deps = Deps {
        store: Store::new(
            aws_sdk_dynamodb::Client::from_conf(config_with_counter),
            setup.table(),
        ),
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks,
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    };
    for (to, from, expected, requests) in [
        ("447700900101", "447700900005", Outcome::Connected, 1),
        ("447700900101", "447700900001", Outcome::HookSaid, 4),
        ("447700900101", "447700900009", Outcome::HookSaid, 3),
    ] {
        let before = counter.0.load(Ordering::SeqCst);
        let (_, outcome) = answer(&deps, &call(to, from), now).await;
        assert_eq!(outcome, expected, "{from}");
        assert_eq!(
            counter.0.load(Ordering::SeqCst) - before,
            requests,
            "{from}"
        );
    }
}

/// With access codes on, a call caller ID routes still costs one request; a call by code costs
/// two in all (the route, then the code with the caller's wrong codes in one `BatchGetItem`),
/// one for a withheld number; a wrong code adds the one write that counts it.
#[tokio::test]
async fn a_call_by_access_code_costs_a_known_number_of_requests() {
    let setup = testkit::fresh_store().await;
    testkit::add_pool(&setup, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let mut c = testkit::conversation(
        "coded",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        now,
        now + 3600,
    );
    c.participants[0].code = shared::values::AccessCode::typed("4821", 4);
    c.participants[1].code = shared::values::AccessCode::typed("0317", 4);
    setup.create_conversation(&c).await.unwrap();

    let counter = Counter::default();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(counter.clone())
        .build();
    let deps = Deps {
        store: Store::new(aws_sdk_dynamodb::Client::from_conf(config), setup.table()),
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: answer::CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: shared::config::AccessCodeConfig::from_source(&|name: &str| match name {
            "ACCESS_CODES" => Some("true".to_owned()),
            "ACCESS_CODE_DIGITS" => Some("4".to_owned()),
            _ => None,
        })
        .unwrap(),
    };
    let typed = |from: &str, keys: &str| {
        testkit::requests::json(
            "POST",
            "/webhooks/code?try=1",
            Some(serde_json::json!({
                "to": "447700900101", "from": from, "uuid": "u", "conversation_uuid": "CON-2",
                "dtmf": {"digits": keys, "timed_out": false},
            })),
        )
    };
    let cost = |before: usize| counter.0.load(Ordering::SeqCst) - before;

    let before = counter.0.load(Ordering::SeqCst);
    let (_, outcome) = answer(&deps, &call("447700900101", "447700900001"), now).await;
    assert_eq!((outcome, cost(before)), (Outcome::Connected, 1));

    // A code typed is spent before it is looked up: the caller's count and the number's live
    // codes at once, then the number's budget, then the lookup; a right code is given back
    // (both counts at once).
    for (from, asked_cost) in [("447700900009", 1), ("", 0)] {
        let before = counter.0.load(Ordering::SeqCst);
        let (_, outcome) = answer(&deps, &call("447700900101", from), now).await;
        assert_eq!(outcome, Outcome::CodeAsked);
        let (_, outcome) = answer::code(&deps, &typed(from, "4821"), now).await;
        assert_eq!(outcome, Outcome::CodeConnected);
        assert_eq!(cost(before), asked_cost + 6, "{from:?}");
    }

    let before = counter.0.load(Ordering::SeqCst);
    let (_, outcome) = answer::code(&deps, &typed("447700900009", "1111"), now).await;
    assert_eq!((outcome, cost(before)), (Outcome::CodeRetried, 4));
}
