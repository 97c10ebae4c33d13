//! Quiet hours: a call that would ring a participant inside their window, on their own clock,
//! is not connected; the caller is told in their own language, and the conversation's
//! missed-call setting follows as for a call the callee did not take. Every NCCO is checked
//! against `vonage/ncco-schema.json`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use answer::{CallHooks, Deps, Outcome, answer};
use serde_json::Value;
use shared::config::CallConfig;
use shared::model::{CallSettings, Conversation, MissedCallMode, QuietHours};
use shared::ncco::Ncco;
use shared::ports::MissedCalls;
use shared::signature::WebhookAuth;
use testkit::fakes::MemoryStore;
use testkit::requests::webhook_get as get;

/// The rider, in Tokyo (UTC+9 all year).
const A: &str = "447700900001";
/// The driver, in Los Angeles (UTC-8 in winter, UTC-7 in summer).
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

// Instants (unix seconds, UTC) just before and at each edge of a 22:00-07:00 window.
/// 2026-12-06T05:59Z: 21:59 in Los Angeles, 14:59 in Tokyo.
const LA_2159: i64 = 1_796_536_740;
/// 2026-12-06T06:00Z: 22:00 in Los Angeles, 15:00 in Tokyo.
const LA_2200: i64 = 1_796_536_800;
/// 2026-12-06T14:59Z: 06:59 in Los Angeles, 23:59 in Tokyo.
const LA_0659: i64 = 1_796_569_140;
/// 2026-12-06T15:00Z: 07:00 in Los Angeles, 00:00 in Tokyo.
const LA_0700: i64 = 1_796_569_200;
/// 2026-12-06T12:59Z: 21:59 in Tokyo, 04:59 in Los Angeles.
const TOKYO_2159: i64 = 1_796_561_940;
/// 2026-12-06T13:00Z: 22:00 in Tokyo, 05:00 in Los Angeles.
const TOKYO_2200: i64 = 1_796_562_000;
/// 2026-12-05T21:59Z: 06:59 in Tokyo (the 6th), 13:59 in Los Angeles.
const TOKYO_0659: i64 = 1_796_507_940;
/// 2026-12-05T22:00Z: 07:00 in Tokyo, 14:00 in Los Angeles.
const TOKYO_0700: i64 = 1_796_508_000;
/// 2026-07-02T05:00Z: 22:00 in Los Angeles on summer time (21:00 on winter time).
const LA_SUMMER_2200: i64 = 1_782_968_400;
/// 2026-07-02T04:59Z: 21:59 in Los Angeles on summer time.
const LA_SUMMER_2159: i64 = 1_782_968_340;

fn night() -> QuietHours {
    QuietHours {
        start: "22:00".parse().unwrap(),
        end: "07:00".parse().unwrap(),
    }
}

/// The rider (in Tokyo by the number check, speaking Spanish) and the driver (in Los Angeles,
/// given at creation), both with quiet hours 22:00 to 07:00, open until 2027.
fn conversation(missed_call: MissedCallMode, record: bool) -> Conversation {
    let mut c = testkit::conversation("c1", (A, PA), (B, PB), 0, 1_830_000_000);
    c.reference = Some("ride-42".parse().unwrap());
    c.call = CallSettings {
        record,
        missed_call,
        ..Default::default()
    };
    let [rider, driver] = &mut c.participants;
    rider.label = "rider".parse().ok();
    driver.label = "driver".parse().ok();
    for p in [&mut *rider, &mut *driver] {
        p.quiet_hours = Some(night());
    }
    rider.language = Some("es-ES".parse().unwrap());
    rider.facts.time_zone = Some("Asia/Tokyo".into());
    // Given at creation: it wins over the number check's.
    driver.facts.time_zone = Some("Europe/London".into());
    driver.time_zone = Some("America/Los_Angeles".parse().unwrap());
    c
}

fn deps_of(c: &Conversation) -> Deps<MemoryStore> {
    Deps {
        store: MemoryStore::with([c.clone()]),
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    }
}

/// A call from `from` to `to`, call `id`.
fn inbound(to: &str, from: &str, id: &str) -> lambda_http::Request {
    get(
        "/webhooks/answer",
        &[
            ("to", to),
            ("from", from),
            ("uuid", &format!("leg-{id}")),
            ("conversation_uuid", &format!("CON-{id}")),
        ],
    )
}

fn checked(ncco: &Ncco) -> Value {
    let json: Value = serde_json::from_str(&ncco.to_json()).unwrap();
    testkit::assert_ncco(&json);
    json
}

fn actions(ncco: &Value) -> Vec<&str> {
    ncco.as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn each_participant_s_window_is_kept_on_their_own_clock_across_midnight() {
    let c = conversation(MissedCallMode::Silent, false);
    let deps = deps_of(&c);
    // The rider calls the driver (Los Angeles); the driver calls the rider (Tokyo).
    let cases = [
        (PA, A, LA_2159, Outcome::Connected),
        (PA, A, LA_2200, Outcome::QuietHours),
        (PA, A, LA_0659, Outcome::QuietHours),
        (PA, A, LA_0700, Outcome::Connected),
        (PA, A, LA_SUMMER_2159, Outcome::Connected),
        (PA, A, LA_SUMMER_2200, Outcome::QuietHours),
        (PB, B, TOKYO_2159, Outcome::Connected),
        (PB, B, TOKYO_2200, Outcome::QuietHours),
        (PB, B, TOKYO_0659, Outcome::QuietHours),
        (PB, B, TOKYO_0700, Outcome::Connected),
        // The driver's night is the rider's afternoon, and the other way round.
        (PB, B, LA_2200, Outcome::Connected),
        (PA, A, TOKYO_0700, Outcome::Connected),
    ];
    for (i, (to, from, now, expected)) in cases.into_iter().enumerate() {
        let (ncco, outcome) = answer(&deps, &inbound(to, from, &i.to_string()), now).await;
        let json = checked(&ncco);
        assert_eq!(outcome, expected, "call {i} at {now}: {json}");
        match expected {
            Outcome::Connected => assert!(actions(&json).contains(&"connect"), "{json}"),
            _ => assert!(!actions(&json).contains(&"connect"), "{json}"),
        }
    }
}

#[tokio::test]
async fn the_caller_hears_it_in_their_own_language_and_the_callee_is_texted() {
    let c = conversation(MissedCallMode::Message, false);
    let deps = deps_of(&c);
    // The rider speaks Spanish; the driver's window is in Los Angeles.
    let (ncco, outcome) = answer(&deps, &inbound(PA, A, "q1"), LA_2200).await;
    assert_eq!(outcome, Outcome::QuietHours);
    let json = checked(&ncco);
    assert_eq!(actions(&json), ["talk"], "{json}");
    assert_eq!(
        json[0]["text"],
        "Lo sentimos, su driver no atiende llamadas en este momento."
    );
    assert_eq!(json[0]["language"], "es-ES");
    // The notice that texts the driver, as for a call they did not answer.
    let notice = deps.store.missed_call(&c.id, 0).await.unwrap().unwrap();
    assert_eq!(notice.reason, "quiet_hours");
    assert_eq!(notice.call_id, "CON-q1");
    assert_eq!(notice.at, LA_2200);
    // A second try in the quiet interval is told the same, and texts nobody again.
    let (again, _) = answer(&deps, &inbound(PA, A, "q2"), LA_2200 + 60).await;
    assert_eq!(checked(&again), json);
    let notice = deps.store.missed_call(&c.id, 0).await.unwrap().unwrap();
    assert_eq!(notice.call_id, "CON-q1");

    // The driver, calling into the rider's night, hears English (the default language).
    let (ncco, outcome) = answer(&deps, &inbound(PB, B, "q3"), TOKYO_2200).await;
    assert_eq!(outcome, Outcome::QuietHours);
    let json = checked(&ncco);
    assert_eq!(
        json[0]["text"],
        "Sorry, your rider is not taking calls at this time."
    );
    let notice = deps.store.missed_call(&c.id, 1).await.unwrap().unwrap();
    assert_eq!(notice.reason, "quiet_hours");
}

#[tokio::test]
async fn with_voicemail_the_caller_leaves_a_message_and_with_none_hears_the_message_alone() {
    let c = conversation(MissedCallMode::Voicemail, true);
    let deps = deps_of(&c);
    let (ncco, outcome) = answer(&deps, &inbound(PB, B, "v1"), TOKYO_2200).await;
    assert_eq!(outcome, Outcome::QuietHours);
    let json = checked(&ncco);
    assert_eq!(actions(&json), ["talk", "talk", "record"], "{json}");
    assert_eq!(
        json[0]["text"],
        "Sorry, your rider is not taking calls at this time."
    );
    assert_eq!(
        json[1]["text"],
        "Sorry, your rider could not take your call. Please leave a message after the tone."
    );
    assert_eq!(json[2]["beepStart"], true);
    let url = json[2]["eventUrl"][0].as_str().unwrap();
    assert!(url.contains("/webhooks/recording"), "{url}");
    assert!(deps.store.missed_call(&c.id, 1).await.unwrap().is_some());

    let c = conversation(MissedCallMode::Silent, false);
    let silent = deps_of(&c);
    let (ncco, outcome) = answer(&silent, &inbound(PB, B, "n1"), TOKYO_2200).await;
    assert_eq!(outcome, Outcome::QuietHours);
    let json = checked(&ncco);
    assert_eq!(actions(&json), ["talk"], "{json}");
    assert_eq!(
        silent.store.missed_call(&c.id, 1).await.unwrap(),
        None,
        "none: nobody is texted"
    );
}
