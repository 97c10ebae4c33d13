//! Attacks on the webhooks, each carried out as an attacker would, against the deployed
//! settings (`POST` only, signatures required, the stack's application):
//! - a Vonage token over an empty body, replayed with `to` and `from` in the query string;
//! - fields in the query string beside a signed body;
//! - a token of another application;
//! - our own URLs' parameters forged, edited, or replayed on another call; the whisper by `GET`;
//! - a thousand wrong codes from rotating caller IDs, in parallel, counted on the wire;
//! - one withheld caller locking out another;
//! - a signature secret rotated while the function is warm.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Conversations;
use std::time::Duration;

use answer::{CallHooks, Deps, Outcome};
use futures::StreamExt;
use lambda_http::{Body, Request, Response};
use secrecy::SecretString;
use shared::config::{AccessCodeConfig, CallConfig, WebhookMethods};
use shared::model::{CallSettings, Conversation};
use shared::ports::AccessCodes;
use shared::seal::Carried;
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use shared::values::AccessCode;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::{FaultProxy, budget, fresh_store};

const SECRET: &str = "the-account-signature-secret";
const KEY: &str = "abcd1234";
const APP: &str = "aaaaaaaa-1111-4000-8000-00000000a99a";
const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "c0000000-0000-4000-8000-000000000001";

/// Webhooks as deployed: `POST` only, signed by the account for the stack's application.
fn deployed() -> WebhookAuth {
    WebhookAuth::Required(
        Verifier::new(SecretString::from(SECRET), Some(KEY.into()), 300)
            .for_application(Some(APP.into()))
            .webhooks(WebhookMethods::Post),
    )
}

/// A and B, each calling the other through their proxy number; the callee hears a whisper and
/// is asked to take the call.
fn ride() -> Conversation {
    let mut c = testkit::conversation(ID, (A, PA), (B, PB), 0, 4_000_000_000);
    c.call = CallSettings {
        whisper: Some("Your {caller} is calling.".into()),
        whisper_accept: true,
        ..CallSettings::default()
    };
    c
}

fn deps<S>(store: S, codes: Option<AccessCodeConfig>) -> Deps<S, FakeVonage> {
    Deps {
        store,
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: deployed(),
        methods: WebhookMethods::Post,
        hooks: CallHooks::off().unwrap(),
        voice: Some(FakeVonage::default()),
        codes,
    }
}

/// Access codes at the default settings but their length (given).
fn codes(digits: &str) -> AccessCodeConfig {
    let digits = digits.to_owned();
    AccessCodeConfig::from_source(&move |name: &str| match name {
        "ACCESS_CODES" => Some("true".into()),
        "ACCESS_CODE_DIGITS" => Some(digits.clone()),
        _ => None,
    })
    .unwrap()
    .unwrap()
}

/// A Vonage token over `body`, for `app`; without `payload_hash` when `hashed` is false (the
/// token of a `GET`, which other applications' webhooks receive).
fn token(body: &str, app: &str, hashed: bool) -> String {
    let mut claims = claims_for(body.as_bytes(), shared::now(), KEY);
    claims.application_id = Some(app.into());
    if !hashed {
        claims.payload_hash = None;
    }
    sign(&claims, SECRET)
}

/// `method` `path_and_query` with `body` (JSON when not empty) and `token`.
fn sent(method: &str, path_and_query: &str, body: &str, token: &str) -> Request {
    let mut req = testkit::requests::request(
        method,
        path_and_query,
        (!body.is_empty()).then_some("application/json"),
        body,
    );
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    req
}

/// A signed `POST` as Vonage makes it.
fn signed(path_and_query: &str, body: &serde_json::Value) -> Request {
    let body = body.to_string();
    sent("POST", path_and_query, &body, &token(&body, APP, true))
}

fn text(response: Response<Body>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    (status, body)
}

#[tokio::test]
async fn an_empty_signed_body_with_the_numbers_in_the_query_routes_nothing() {
    for path in ["/webhooks/answer", "/webhooks/fallback", "/webhooks/code"] {
        let query = format!("{path}?to={PA}&from={A}&uuid=u1&conversation_uuid=CON-1&try=1&dtmf=1");
        for hashed in [false, true] {
            let deps = deps(MemoryStore::with([ride()]), Some(codes("4")));
            let (status, body) = text(
                answer::handle(&deps, sent("POST", &query, "", &token("", APP, hashed))).await,
            );
            assert_eq!(status, 401, "{path}, payload hash {hashed}: {body}");
            assert!(!body.contains(B), "{path}: {body}");
            assert_eq!(deps.store.requests(), 0, "{path}: refused before any read");
        }
    }
}

#[tokio::test]
async fn fields_beside_a_signed_body_are_not_read() {
    // A signed body that names no numbers (another webhook's), and one from a stranger: the
    // query's numbers would connect A to B.
    for body in [
        serde_json::json!({"uuid": "u1", "conversation_uuid": "CON-1", "status": "started"}),
        serde_json::json!({"to": PA, "uuid": "u1", "conversation_uuid": "CON-1"}),
    ] {
        let deps = deps(MemoryStore::with([ride()]), None);
        let (status, ncco) = text(
            answer::handle(
                &deps,
                signed(&format!("/webhooks/answer?to={PA}&from={A}"), &body),
            )
            .await,
        );
        assert_eq!(status, 200);
        assert!(!ncco.contains(B), "{body}: {ncco}");
        assert!(!ncco.contains("connect"), "{body}: {ncco}");
    }
}

#[tokio::test]
async fn a_token_of_another_application_is_refused() {
    let deps = deps(MemoryStore::with([ride()]), None);
    let body = serde_json::json!({"to": PA, "from": A, "uuid": "u1", "conversation_uuid": "CON-1"})
        .to_string();
    let other = token(&body, "bbbbbbbb-2222-4000-8000-00000000b00b", true);
    let (status, ncco) =
        text(answer::handle(&deps, sent("POST", "/webhooks/answer", &body, &other)).await);
    assert_eq!((status, ncco.contains(B)), (401, false), "{ncco}");
    assert_eq!(deps.store.requests(), 0);
    // The same call for the stack's application connects.
    let (status, ncco) = text(
        answer::handle(
            &deps,
            sent("POST", "/webhooks/answer", &body, &token(&body, APP, true)),
        )
        .await,
    );
    assert_eq!((status, ncco.contains(B)), (200, true), "{ncco}");
}

/// The whisper URL the answer webhook gave for a call from A (`CON-1`, leg `u1`).
async fn whisper_url(deps: &Deps<MemoryStore, FakeVonage>) -> String {
    let body = serde_json::json!({"to": PA, "from": A, "uuid": "u1", "conversation_uuid": "CON-1"});
    let (_, ncco) = text(answer::handle(deps, signed("/webhooks/answer", &body)).await);
    let ncco: serde_json::Value = serde_json::from_str(&ncco).unwrap();
    let url = ncco
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "connect")
        .map(|c| {
            c["endpoint"][0]["onAnswer"]["url"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .unwrap();
    let path = url
        .split_once("amazonaws.com")
        .map_or(url.as_str(), |(_, p)| p);
    let path = path.split_once("://").map_or(path, |(_, p)| p);
    path[path.find("/webhooks").unwrap()..].to_owned()
}

#[tokio::test]
async fn our_own_parameters_cannot_be_forged_edited_or_replayed() {
    let deps = deps(MemoryStore::with([ride()]), None);
    let url = whisper_url(&deps).await;
    assert!(url.starts_with("/webhooks/whisper?s="), "{url}");
    let callee = |call: &str| serde_json::json!({"uuid": "callee-leg", "conversation_uuid": call});

    // On its own call, the whisper is said.
    let (status, ncco) = text(answer::handle(&deps, signed(&url, &callee("CON-1"))).await);
    assert_eq!(status, 200);
    assert!(
        ncco.contains("Your rider is calling") || ncco.contains("is calling"),
        "{ncco}"
    );

    // Replayed on another call, edited, or cut: refused.
    let sealed = url.split_once("?s=").unwrap().1;
    let (payload, tag) = sealed.split_once('.').unwrap();
    let mut edited = payload.to_owned();
    let last = edited.pop().unwrap();
    edited.push(if last == 'A' { 'B' } else { 'A' });
    for (what, url, call) in [
        ("replayed on another call", url.clone(), "CON-2"),
        (
            "edited",
            format!("/webhooks/whisper?s={edited}.{tag}"),
            "CON-1",
        ),
        ("cut", format!("/webhooks/whisper?s={payload}"), "CON-1"),
    ] {
        let (status, body) = text(answer::handle(&deps, signed(&url, &callee(call))).await);
        assert_eq!(status, 401, "{what}: {body}");
    }

    // Plain parameters, as the URLs once carried them, choosing which legs a refusal ends and
    // transfers: nothing is touched.
    let forged =
        format!("/webhooks/whisper?conversation_id={ID}&caller=0&leg=victim-leg&step=accept");
    let press = serde_json::json!({"uuid": "victim-callee", "conversation_uuid": "CON-9",
        "dtmf": {"digits": "2", "timed_out": false}});
    let (status, ncco) = text(answer::handle(&deps, signed(&forged, &press)).await);
    assert_eq!(status, 200);
    assert!(!ncco.contains("is calling"), "{ncco}");
    assert!(
        deps.voice.as_ref().unwrap().legs().is_empty(),
        "no leg was hung up or transferred"
    );

    // A sealed parameter of the same call, moved to another of our URLs: it carries nothing
    // that URL can use.
    let recording = deps.auth.seal().url(
        "/webhooks/whisper",
        "CON-1",
        &Carried {
            conversation_id: Some(ID.into()),
            ..Carried::default()
        },
    );
    let (status, ncco) = text(answer::handle(&deps, signed(&recording, &callee("CON-1"))).await);
    assert_eq!(status, 200);
    assert!(!ncco.contains("is calling"), "{ncco}");

    // The event webhook: a forged routing in the query is not read; a broken seal is refused.
    let event = serde_json::json!({"uuid": "leg-9", "conversation_uuid": "CON-9",
        "status": "answered", "direction": "outbound", "to": B, "from": PB});
    let forged = signed(
        &format!("/webhooks/event?conversation_id={ID}&caller=0&routed=code"),
        &event,
    );
    let incoming = event::parse_signed(&forged, &deployed()).unwrap().unwrap();
    assert_eq!(incoming.routed, None);
    let replayed = signed(&format!("/webhooks/event?s={sealed}"), &event);
    assert_eq!(
        event::parse_signed(&replayed, &deployed())
            .unwrap_err()
            .into_response()
            .status(),
        401
    );

    // The whisper is fetched by POST only.
    let get = sent("GET", &url, "", &token("", APP, false));
    assert_eq!(answer::handle(&deps, get).await.status(), 405);
}

/// A table with two deliveries of one courier on `proxy`, each with a code of `digits` digits:
/// two live codes on the number.
async fn shared_number(proxy: &str, digits: usize) -> (shared::store::Store, [String; 2]) {
    let store = fresh_store().await;
    testkit::add_pool(&store, &[proxy, PB], "GB").await;
    let codes = [format!("{:0digits$}", 1), format!("{:0digits$}", 2)];
    for (i, code) in codes.iter().enumerate() {
        let mut c = testkit::conversation(
            &format!("c000000{i}-0000-4000-8000-000000000001"),
            ("447700900004", proxy),
            (&format!("44770090001{i}"), PB),
            0,
            4_000_000_000,
        );
        c.participants[0].code = AccessCode::typed(code, digits as u8);
        c.participants[0].shared = i > 0;
        c.participants[1].code = AccessCode::typed(&format!("9{}", &code[1..]), digits as u8);
        store.create_conversation(&c).await.unwrap();
    }
    (store, codes)
}

/// Keys typed at the code prompt of call `call` from `from` (empty: withheld) to `proxy`.
fn typed(
    deps: &Deps<impl AccessCodes, FakeVonage>,
    proxy: &str,
    from: &str,
    call: &str,
    keys: &str,
) -> Request {
    let url = deps.auth.seal().url(
        "/webhooks/code",
        call,
        &Carried {
            attempt: Some(1),
            ..Carried::default()
        },
    );
    signed(
        &url,
        &serde_json::json!({"to": proxy, "from": from, "uuid": format!("{call}-leg"),
            "conversation_uuid": call, "dtmf": {"digits": keys, "timed_out": false}}),
    )
}

#[tokio::test]
async fn a_thousand_wrong_codes_from_rotating_caller_ids_look_up_no_more_than_the_bound() {
    const P: &str = "447700900121";
    let proxy = FaultProxy::start();
    let (store, codes_held) = shared_number(P, 6).await;
    let via = proxy.store(store.table(), &budget(2000, 5000, 3)).await;
    let config = codes("6");
    // The bound at the defaults: 10^6 codes / (1,000 + 1) a day, each guess costing the
    // number's 2 live codes.
    assert_eq!(config.daily_budget, 999);
    let allowed = usize::try_from(config.daily_budget / 2).unwrap();
    let deps = deps(via, Some(config));
    proxy.set(1, serde_json::json!([])).await;

    let outcomes: Vec<Outcome> = futures::stream::iter(0..1000)
        .map(|i| {
            let deps = &deps;
            let codes_held = &codes_held;
            async move {
                // Every guess wrong: none of the number's codes.
                let mut guess = format!("{:06}", 100_000 + i);
                if codes_held.contains(&guess) {
                    guess = "999999".into();
                }
                let caller = format!("4477009{:05}", 10_000 + i);
                let req = typed(deps, P, &caller, &format!("CON-guess-{i}"), &guess);
                let response = answer::handle(deps, req).await;
                assert_eq!(response.status(), 200);
                let (_, ncco) = text(response);
                assert!(!ncco.contains("connect"), "{ncco}");
                if ncco.contains("Too many wrong codes") {
                    Outcome::CodeLocked
                } else {
                    Outcome::CodeRetried
                }
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let counts = proxy.counts().await;
    let lookups = counts["requests"]["GetItem"].as_u64().unwrap_or(0)
        + counts["requests"]["BatchGetItem"].as_u64().unwrap_or(0);
    assert_eq!(
        lookups, allowed as u64,
        "codes looked up on the wire: {counts}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::CodeLocked)
            .count(),
        1000 - allowed
    );
}

#[tokio::test]
async fn one_withheld_caller_does_not_lock_out_another() {
    const P: &str = "447700900122";
    let (store, codes_held) = shared_number(P, 6).await;
    let deps = deps(store, Some(codes("6")));
    let max = deps.codes.as_ref().unwrap().max_failures;
    let wrong = "888888";
    for n in 0..max + 2 {
        let (_, ncco) = text(answer::handle(&deps, typed(&deps, P, "", "CON-w1", wrong)).await);
        if n + 1 >= max {
            assert!(ncco.contains("Too many wrong codes"), "{n}: {ncco}");
        }
    }
    // Another withheld caller, on a call of their own, with the right code.
    let (status, ncco) =
        text(answer::handle(&deps, typed(&deps, P, "", "CON-w2", &codes_held[0])).await);
    assert_eq!(status, 200);
    assert!(ncco.contains("connect"), "{ncco}");
}

#[tokio::test]
async fn a_rotated_signature_secret_is_taken_without_a_restart() {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let name = format!("voice-proxy-{}", uuid::Uuid::new_v4());
    let fields = |secret: &str| {
        serde_json::json!({"signature_secret": secret, "application_id": APP}).to_string()
    };
    secrets
        .create_secret()
        .name(&name)
        .secret_string(fields(SECRET))
        .send()
        .await
        .unwrap();
    let arn = name.clone();
    let src = move |k: &str| match k {
        "VONAGE_SECRET_ARN" => Some(arn.clone()),
        "VONAGE_API_KEY" => Some(KEY.into()),
        "WEBHOOK_METHODS" => Some("post".into()),
        other => std::env::var(other).ok(),
    };
    let auth = shared::signature::webhook_auth(&src)
        .await
        .unwrap()
        .refetching_after(Duration::ZERO);
    let deps = Deps {
        auth,
        ..deps(MemoryStore::with([ride()]), None)
    };
    let body = serde_json::json!({"to": PA, "from": A, "uuid": "u1", "conversation_uuid": "CON-1"})
        .to_string();
    let signed_with = |secret: &str| {
        let mut claims = claims_for(body.as_bytes(), shared::now(), KEY);
        claims.application_id = Some(APP.into());
        sent("POST", "/webhooks/answer", &body, &sign(&claims, secret))
    };
    assert_eq!(
        answer::handle(&deps, signed_with(SECRET)).await.status(),
        200
    );

    let rotated = "the-rotated-signature-secret";
    secrets
        .put_secret_value()
        .secret_id(&name)
        .secret_string(fields(rotated))
        .send()
        .await
        .unwrap();
    let (status, ncco) = text(answer::handle(&deps, signed_with(rotated)).await);
    assert_eq!((status, ncco.contains(B)), (200, true), "{ncco}");
    assert_eq!(
        answer::handle(&deps, signed_with(SECRET)).await.status(),
        401,
        "the old secret no longer signs"
    );
}
