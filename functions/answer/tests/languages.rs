//! Each person hears their own language where the texts catalogue has it: a Spanish-speaking
//! caller hears the Spanish announcement, out-of-service message and access-code prompt; the
//! callee hears the configured whisper in theirs. Every NCCO is checked against
//! `vonage/ncco-schema.json`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashMap;

use answer::{CallHooks, DEFAULT_TIMEOUT, Deps, Outcome, answer, handle};
use lambda_http::Request;
use shared::config::{AccessCodeConfig, CallConfig, ConversationConfig, WebhookMethods};
use shared::hook::Hooks;
use shared::model::{CallSettings, Conversation, Mode};
use shared::seal::Carried;
use shared::signature::WebhookAuth;
use testkit::fakes::MemoryStore;
use testkit::requests::webhook_get as get;

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "0b6c9a52-7d1e-4c3a-9f0e-5a1b2c3d4e5f";
const BASE: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com";
const NOW: i64 = 1_000;

/// The rider (A) speaks Spanish, the driver (B) German; the call settings as creation fills
/// them in from configuration `settings`.
fn ride(settings: &[(&str, &str)]) -> Conversation {
    let mut c = testkit::conversation(ID, (A, PA), (B, PB), 0, 4_000_000_000);
    c.reference = Some("ride-42".parse().unwrap());
    for (p, (label, language)) in c
        .participants
        .iter_mut()
        .zip([("rider", "es-ES"), ("driver", "de-DE")])
    {
        p.label = Some(label.parse().unwrap());
        p.language = Some(language.parse().unwrap());
    }
    c.call = ConversationConfig::from_source(&source(settings))
        .unwrap()
        .call_defaults;
    c
}

fn source(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k: &str| map.get(k).cloned()
}

/// The answer function as `main` builds it from `settings`, on a store holding `c`.
fn deps(c: &Conversation, settings: &[(&str, &str)]) -> Deps<MemoryStore> {
    let src = source(settings);
    Deps {
        store: MemoryStore::with([c.clone()]),
        call: CallConfig::from_source(&src).unwrap(),
        auth: WebhookAuth::Off,
        methods: WebhookMethods::Any,
        hooks: CallHooks {
            hooks: Hooks::default(),
            conversations: ConversationConfig::from_source(&src).unwrap(),
            budget: DEFAULT_TIMEOUT,
        },
        voice: None::<shared::vonage::VoiceClient>,
        codes: AccessCodeConfig::from_source(&src).unwrap(),
    }
}

fn inbound(to: &str, from: &str) -> Request {
    get(
        "/webhooks/answer",
        &[
            ("to", to),
            ("from", from),
            ("uuid", "u1"),
            ("conversation_uuid", "CON-1"),
        ],
    )
}

async fn ncco_of(deps: &Deps<MemoryStore>, to: &str, from: &str) -> (serde_json::Value, Outcome) {
    let (ncco, outcome) = answer(deps, &inbound(to, from), NOW).await;
    let json: serde_json::Value = serde_json::from_str(&ncco.to_json()).unwrap();
    testkit::assert_ncco(&json);
    (json, outcome)
}

#[tokio::test]
async fn a_spanish_caller_hears_the_spanish_announcement() {
    let c = ride(&[]);
    assert_eq!(
        c.call.announcement.as_deref(),
        Some("Connecting your call.")
    );
    let (ncco, outcome) = ncco_of(&deps(&c, &[]), PA, A).await;
    assert_eq!(outcome, Outcome::Connected);
    assert_eq!(
        ncco[0],
        serde_json::json!({"action": "talk", "text": "Estamos conectando su llamada.", "language": "es-ES"})
    );
    assert_eq!(ncco[1]["action"], "connect");

    // The German driver calling back hears German; the catalogue's texts, with the callee's
    // label, from TEXTS.
    let texts = r#"{"es-ES": {"announcement": "Le pasamos con su {callee}."}}"#;
    let settings = [("TEXTS", texts)];
    let c = ride(&settings);
    let deps = deps(&c, &settings);
    let (ncco, _) = ncco_of(&deps, PA, A).await;
    assert_eq!(ncco[0]["text"], "Le pasamos con su driver.");
    let (ncco, _) = ncco_of(&deps, PB, B).await;
    assert_eq!(
        (&ncco[0]["text"], &ncco[0]["language"]),
        (
            &serde_json::json!("Ihr Anruf wird verbunden."),
            &serde_json::json!("de-DE")
        )
    );

    // A conversation's own announcement wins over the catalogue.
    let mut c = ride(&[]);
    c.call.announcement = Some("Calling your {callee}.".into());
    let (ncco, _) = ncco_of(&deps_for(&c), PA, A).await;
    assert_eq!(ncco[0]["text"], "Calling your driver.");
}

fn deps_for(c: &Conversation) -> Deps<MemoryStore> {
    deps(c, &[])
}

#[tokio::test]
async fn a_spanish_caller_hears_the_spanish_out_of_service_message() {
    let spanish = serde_json::json!([{"action": "talk",
        "text": "El número al que ha llamado no está en servicio.", "language": "es-ES"}]);
    // Their conversation here has expired.
    let mut c = ride(&[]);
    c.expires_at = NOW - 1;
    let (ncco, outcome) = ncco_of(&deps_for(&c), PA, A).await;
    assert_eq!((ncco, outcome), (spanish.clone(), Outcome::Expired));
    // It relays texts only.
    let mut c = ride(&[]);
    c.mode = Mode::Sms;
    let (ncco, outcome) = ncco_of(&deps_for(&c), PA, A).await;
    assert_eq!((ncco, outcome), (spanish, Outcome::VoiceOff));
    // A stranger, whose language nobody knows, hears the default language.
    let (ncco, outcome) = ncco_of(&deps_for(&ride(&[])), PA, "447700900999").await;
    assert_eq!(outcome, Outcome::UnknownCaller);
    assert_eq!(
        ncco,
        serde_json::json!([{"action": "talk", "text": "The number you have called is not in service."}])
    );
}

#[tokio::test]
async fn a_spanish_caller_hears_the_spanish_access_code_prompt() {
    let settings = [("ACCESS_CODES", "true"), ("ACCESS_CODE_DIGITS", "4")];
    // The rider holds this number in more than one conversation: caller ID cannot route them.
    let mut c = ride(&settings);
    c.participants[0].shared = true;
    c.participants[0].code = Some("4821".to_owned().try_into().unwrap());
    let (ncco, outcome) = ncco_of(&deps(&c, &settings), PA, A).await;
    assert_eq!(outcome, Outcome::CodeAsked);
    assert_eq!(
        (&ncco[0]["action"], &ncco[0]["text"], &ncco[0]["language"]),
        (
            &serde_json::json!("talk"),
            &serde_json::json!("Introduzca su código de acceso y pulse la tecla almohadilla."),
            &serde_json::json!("es-ES")
        ),
        "{ncco}"
    );
    assert_eq!(ncco[1]["action"], "input");
}

#[tokio::test]
async fn the_callee_hears_the_configured_whisper_in_their_language() {
    let settings = [(
        "WHISPER_TEXT",
        "Your {caller} is calling about {reference}.",
    )];
    let c = ride(&settings);
    let deps = deps(&c, &settings);
    let heard = whisper_of(&deps, 0).await;
    assert_eq!(
        (&heard[0]["text"], &heard[0]["language"]),
        (
            &serde_json::json!("Sie haben einen Anruf von rider zum Thema ride-42."),
            &serde_json::json!("de-DE")
        )
    );
    // The driver calling the rider: the Spanish whisper.
    let heard = whisper_of(&deps, 1).await;
    assert_eq!(
        heard[0]["text"],
        "Tiene una llamada de su driver sobre ride-42."
    );

    // A conversation's own whisper is said as it was asked for.
    let mut c = ride(&settings);
    c.call = CallSettings {
        whisper: Some("Your {caller} is on the line.".into()),
        ..c.call
    };
    let heard = whisper_of(&self::deps(&c, &settings), 0).await;
    assert_eq!(heard[0]["text"], "Your rider is on the line.");
}

/// What the callee hears on picking up a call from participant `caller`.
async fn whisper_of(deps: &Deps<MemoryStore>, caller: u8) -> serde_json::Value {
    let url = deps.auth.seal().url(
        &format!("{BASE}/webhooks/whisper"),
        "CON-1",
        &Carried {
            conversation_id: Some(ID.into()),
            caller: Some(caller),
            leg: Some("u1".into()),
            ..Carried::default()
        },
    );
    let body = serde_json::json!({"uuid": "callee-leg", "conversation_uuid": "CON-1"});
    let (status, ncco) = testkit::requests::read(
        handle(
            deps,
            testkit::requests::json("POST", url.trim_start_matches(BASE), Some(body)),
        )
        .await,
    );
    assert_eq!(status, 200);
    testkit::assert_ncco(&ncco);
    ncco
}
