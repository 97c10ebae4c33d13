//! Call settings as the caller and the callee hear them: the announcement (with the callee's
//! label) in the caller's language, the whisper through the connect's `onAnswer` (with the
//! caller's label and the reference) in the callee's language, and the caller ID, which is the
//! callee's view of the caller's proxy number whatever the settings. Every NCCO is checked
//! against `vonage/ncco-schema.json`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use answer::{CallHooks, Deps, Outcome, answer, handle};
use lambda_http::{Body, Request};
use shared::config::{CallConfig, WebhookMethods};
use shared::model::{CallSettings, Conversation, ConversationStatus, MissedCallMode};
use shared::ncco::{Action, Endpoint, Ncco};
use shared::signature::WebhookAuth;
use testkit::fakes::MemoryStore;
use testkit::requests::webhook_get as get;

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "0b6c9a52-7d1e-4c3a-9f0e-5a1b2c3d4e5f";
const BASE: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com";

fn conversation(call: CallSettings, languages: [Option<&str>; 2]) -> Conversation {
    let mut c = testkit::conversation(ID, (A, PA), (B, PB), 0, 4_000_000_000);
    c.reference = Some("ride-42".parse().unwrap());
    for (p, (label, language)) in c
        .participants
        .iter_mut()
        .zip([("rider", languages[0]), ("driver", languages[1])])
    {
        p.label = Some(label.parse().unwrap());
        p.language = language.map(|l| l.parse().unwrap());
    }
    c.call = call;
    c
}

fn deps(c: &Conversation, methods: WebhookMethods) -> Deps<MemoryStore> {
    Deps {
        store: MemoryStore::with([c.clone()]),
        call: CallConfig::from_source(&|_: &str| None).unwrap(),
        auth: WebhookAuth::Off,
        methods,
        hooks: CallHooks::off().unwrap(),
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

fn json(ncco: &Ncco) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(&ncco.to_json()).unwrap();
    testkit::assert_ncco(&json);
    json
}

async fn whisper_of(deps: &Deps<MemoryStore>, caller: &str) -> serde_json::Value {
    let response = handle(
        deps,
        get(
            "/webhooks/whisper",
            &[("conversation_id", ID), ("caller", caller)],
        ),
    )
    .await;
    assert_eq!(response.status(), 200);
    let Body::Text(text) = response.body() else {
        panic!("no NCCO")
    };
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    testkit::assert_ncco(&json);
    json
}

#[tokio::test]
async fn every_setting_does_what_it_says_and_the_caller_id_is_always_the_proxy() {
    let announcements = [
        (None, Some("Connecting your call.")),
        (Some(""), None),
        (
            Some("Connecting you to your {callee}."),
            Some("Connecting you to your driver."),
        ),
    ];
    let whispers = [None, Some("Your {caller} is calling about {reference}.")];
    let languages = [[None, None], [Some("de-DE"), Some("es-MX")]];
    let missed = [MissedCallMode::Message, MissedCallMode::Silent];
    let mut checked = 0;
    for (announcement, spoken) in announcements {
        for whisper in whispers {
            for (langs, missed_call) in languages.into_iter().zip(missed) {
                let call = CallSettings {
                    announcement: announcement.map(str::to_owned),
                    whisper: whisper.map(str::to_owned),
                    missed_call,
                };
                let c = conversation(call, langs);
                let deps = deps(&c, WebhookMethods::Any);
                // The rider (A) calls the driver (B) through A's proxy number.
                let (ncco, outcome) = answer(&deps, &inbound(PA, A), 1_000).await;
                assert_eq!(outcome, Outcome::Connected);
                let body = json(&ncco);
                let actions = ncco.actions();
                match spoken {
                    Some(text) => {
                        let Action::Talk(talk) = &actions[0] else {
                            panic!("no announcement in {body}")
                        };
                        assert_eq!(talk.text, text);
                        assert_eq!(
                            talk.language.as_ref().map(|l| l.as_str()),
                            langs[0],
                            "in the caller's language"
                        );
                    }
                    None => assert_eq!(actions.len(), 1, "no announcement: {body}"),
                }
                let Some(Action::Connect(connect)) = actions.last() else {
                    panic!("no connect in {body}")
                };
                assert_eq!(
                    connect.from, PB,
                    "the callee sees the caller's proxy number"
                );
                assert_eq!(connect.event_url, [format!("{BASE}/webhooks/event")]);
                assert_eq!(
                    connect.event_type,
                    missed_call.follows_up().then_some("synchronous"),
                    "a missed call can be followed up only when the connect reports it as it happens"
                );
                let Endpoint::Phone { number, on_answer } = &connect.endpoint[0];
                assert_eq!(number, B);
                assert_eq!(
                    on_answer.as_ref().map(|o| o.url.clone()),
                    whisper
                        .map(|_| format!("{BASE}/webhooks/whisper?conversation_id={ID}&caller=0"))
                );
                assert!(
                    !ncco.to_json().contains(A),
                    "the caller's number stays hidden"
                );

                // What the driver hears on picking up.
                let heard = whisper_of(&deps, "0").await;
                match whisper {
                    Some(_) => {
                        assert_eq!(heard[0]["text"], "Your rider is calling about ride-42.");
                        assert_eq!(heard[0]["language"].as_str(), langs[1]);
                    }
                    None => assert_eq!(heard[0]["text"], shared::ncco::SILENCE),
                }
                assert!(!heard.to_string().contains(A) && !heard.to_string().contains(B));

                // And the other way, from the driver to the rider.
                let (ncco, _) = answer(&deps, &inbound(PB, B), 1_000).await;
                json(&ncco);
                let Some(Action::Connect(connect)) = ncco.actions().last() else {
                    panic!("no connect")
                };
                assert_eq!(connect.from, PA);
                if whisper.is_some() {
                    let heard = whisper_of(&deps, "1").await;
                    assert_eq!(heard[0]["text"], "Your driver is calling about ride-42.");
                    assert_eq!(heard[0]["language"].as_str(), langs[0]);
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}

/// The whisper is silence, and the call is bridged all the same, whenever it cannot be said:
/// a conversation that is gone or closed, a store that does not answer, a URL that names no
/// conversation. It takes GET even where the other webhooks take POST only, and it is signed
/// like them.
#[tokio::test]
async fn a_whisper_that_cannot_be_said_is_silence() {
    let call = CallSettings {
        announcement: None,
        whisper: Some("Your {caller} is calling.".into()),
        missed_call: MissedCallMode::Message,
    };
    let open = conversation(call.clone(), [None, None]);
    let strict = deps(&open, WebhookMethods::Post);
    assert_eq!(
        whisper_of(&strict, "1").await[0]["text"],
        "Your driver is calling."
    );
    assert_eq!(
        handle(&strict, inbound(PA, A)).await.status(),
        405,
        "the answer webhook still takes POST only"
    );

    let mut closed = open.clone();
    closed.status = ConversationStatus::Closed;
    let broken = deps(&open, WebhookMethods::Any);
    broken.store.fail(true);
    for deps in [deps(&closed, WebhookMethods::Any), broken] {
        assert_eq!(
            whisper_of(&deps, "0").await[0]["text"],
            shared::ncco::SILENCE
        );
    }
    let deps = deps(&open, WebhookMethods::Any);
    for query in [
        vec![("conversation_id", "not-a-uuid"), ("caller", "0")],
        vec![("conversation_id", ID), ("caller", "2")],
        vec![("caller", "0")],
    ] {
        let response = handle(&deps, get("/webhooks/whisper", &query)).await;
        let Body::Text(text) = response.body() else {
            panic!("no NCCO")
        };
        assert!(text.contains("break time"), "{query:?}: {text}");
    }

    let signed = Deps {
        auth: WebhookAuth::Required(shared::signature::Verifier::new(
            "secret".to_owned().into(),
            None,
            300,
        )),
        ..deps
    };
    let response = handle(
        &signed,
        get(
            "/webhooks/whisper",
            &[("conversation_id", ID), ("caller", "0")],
        ),
    )
    .await;
    assert_eq!(
        response.status(),
        401,
        "an unsigned whisper request is refused"
    );
}
