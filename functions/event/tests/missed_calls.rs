//! Missed calls on the in-memory call log: for each way the callee's leg can end untaken, with
//! and without ringing first, and each `missed_call` setting, what the caller hears next (the
//! NCCO answered for the connect's synchronous event), whether the callee is to be texted (the
//! notice the notifier sends from), the call log's entry and the event the change stream
//! publishes. The notice's write against the real local DynamoDB-API server is in
//! `shared/tests/store.rs`; the SMS itself in the notifier's tests and `e2e/tests/events.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use event::{Deps, Outcome, handle, parse, record};
use lambda_http::{Body, Request};
use serde_json::json;
use shared::config::NotifyConfig;
use shared::domain::events::derive;
use shared::domain::notify;
use shared::model::Change;
use shared::model::{Conversation, Interaction, Missed, MissedCallMode, NotificationStatus};
use shared::ports::CallLog;
use shared::signature::WebhookAuth;
use testkit::fakes::{FakeVonage, MemoryStore};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "5d0f1a2b-0000-4000-8000-000000000002";
const NOW: i64 = 1_800_000_000;

/// How the callee's leg can end without the call being taken.
const REASONS: [&str; 5] = ["busy", "unanswered", "rejected", "failed", "timeout"];

/// The rider (A, Spanish) and the driver (B), on a ride, open for an hour from `NOW`.
fn ride(missed_call: MissedCallMode) -> Conversation {
    let mut c = testkit::conversation(ID, (A, PA), (B, PB), NOW, NOW + 3600);
    // A voicemail is recorded: only a conversation that allows recording has one.
    c.call.record = missed_call == MissedCallMode::Voicemail;
    c.participants[0].label = Some("rider".parse().unwrap());
    c.participants[1].label = Some("driver".parse().unwrap());
    c.participants[0].language = Some("es-ES".parse().unwrap());
    c.reference = Some("ride-42".parse().unwrap());
    c.call.missed_call = missed_call;
    c
}

fn deps(c: Conversation) -> Deps<MemoryStore> {
    Deps {
        store: MemoryStore::with([c]),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        retention: shared::domain::Retention { seconds: 86_400 },
        missed: Default::default(),
        timers: None,
    }
}

/// An event of call `call`'s leg to the callee: the driver (B) when the rider calls, shown the
/// rider's proxy; the rider (A) when the driver calls.
fn callee_leg(call: &str, caller: usize, status: &str, second: u32) -> Request {
    let (from, to) = if caller == 0 { (PB, B) } else { (PA, A) };
    let body = json!({
        "from": from, "to": to, "uuid": format!("{call}-out"), "conversation_uuid": call,
        "status": status, "direction": "outbound",
        "timestamp": format!("2026-11-24T10:00:{second:02}.000Z"),
    });
    http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap()
}

fn ncco_of(response: &lambda_http::Response<Body>) -> serde_json::Value {
    let Body::Text(text) = response.body() else {
        panic!("no NCCO")
    };
    let ncco: serde_json::Value = serde_json::from_str(text).unwrap();
    testkit::assert_ncco(&ncco);
    ncco
}

#[tokio::test]
async fn each_reason_in_each_mode_tells_the_caller_texts_the_callee_and_logs_why() {
    let mut checked = 0;
    for mode in [
        MissedCallMode::Message,
        MissedCallMode::Voicemail,
        MissedCallMode::Silent,
    ] {
        for reason in REASONS {
            for rang in [false, true] {
                let deps = deps(ride(mode));
                let call = format!("CON-{reason}-{rang}");
                let case = format!("{mode:?} {reason} rang={rang}");
                let mut statuses = vec!["started"];
                if rang {
                    statuses.push("ringing");
                }
                for (second, status) in statuses.into_iter().enumerate() {
                    let response = handle(&deps, callee_leg(&call, 0, status, second as u32)).await;
                    assert_eq!(response.status(), 204, "{case}: {status}");
                }
                let response = handle(&deps, callee_leg(&call, 0, reason, 30)).await;
                let notice = deps.store.missed_call_now(&ID.parse().unwrap(), 0);
                // What the notifier sends from the notice: the callee's SMS, from the number
                // they call back on.
                if let Some(notice) = &notice {
                    let sms = FakeVonage::default();
                    let settings = NotifyConfig::from_source(&|_: &str| None).unwrap();
                    notify::missed_call(&deps.store, &sms, notice, &settings, NOW)
                        .await
                        .unwrap();
                    let sent = sms.sent();
                    assert_eq!(sent.len(), 1, "{case}");
                    assert_eq!((sent[0].from.as_str(), sent[0].to.as_str()), (PB, B));
                    assert_eq!(
                        sent[0].text,
                        format!("Your rider tried to call you. Call back on +{PB}."),
                        "{case}"
                    );
                    assert!(!sent[0].text.contains(A));
                }
                match mode {
                    MissedCallMode::Message => {
                        // The caller hears why, in their language; the callee is to be texted.
                        assert_eq!(response.status(), 200, "{case}");
                        let ncco = ncco_of(&response);
                        assert_eq!(
                            ncco,
                            json!([{"action": "talk", "language": "es-ES",
                                "text": "Sorry, your driver could not take your call. We have let them know you called."}]),
                            "{case}"
                        );
                        let notice = notice.unwrap();
                        assert_eq!(
                            (
                                notice.caller_index,
                                notice.call_id.as_str(),
                                notice.reason.as_str()
                            ),
                            (0, call.as_str(), reason),
                            "{case}"
                        );
                        assert_eq!(notice.notification.status, NotificationStatus::Pending);
                        let told = deps.store.missed_call_now(&ID.parse().unwrap(), 0).unwrap();
                        assert_eq!(told.notification.status, NotificationStatus::Sent);
                    }
                    MissedCallMode::Voicemail => {
                        // The caller is asked for a message, which is recorded for the
                        // recordings webhook to keep; the callee is texted all the same.
                        assert_eq!(response.status(), 200, "{case}");
                        let ncco = ncco_of(&response);
                        assert_eq!(
                            ncco[0],
                            json!({"action": "talk", "language": "es-ES",
                                "text": "Sorry, your driver could not take your call. Please leave a message after the tone."}),
                            "{case}"
                        );
                        let record = &ncco[1];
                        assert_eq!(record["action"], "record");
                        assert_eq!(record["beepStart"], true);
                        let url = record["eventUrl"][0].as_str().unwrap();
                        let (path, sealed) = url.split_once("?s=").unwrap();
                        assert!(path.ends_with("/webhooks/recording"), "{record}");
                        let carried = shared::seal::Seal::local().open(&call, sealed).unwrap();
                        assert_eq!(
                            (carried.conversation_id.as_deref(), carried.kind.as_deref()),
                            (Some(ID), Some("voicemail")),
                            "sealed for the call: {record}"
                        );
                        assert!(notice.is_some(), "{case}: the callee is texted");
                    }
                    MissedCallMode::Silent => {
                        assert_eq!(response.status(), 204, "{case}: today's behaviour");
                        assert_eq!(notice, None, "{case}: nobody is texted");
                    }
                }

                // The call log shows it missed, why, and whether the phone rang first.
                let events = deps.store.call_events(&ID.parse().unwrap()).await.unwrap();
                let log = Interaction::fold(&events);
                assert_eq!(log.len(), 1, "{case}");
                assert_eq!(log[0].status, reason);
                assert_eq!(
                    log[0].missed,
                    Some(Missed {
                        reason: reason.parse().unwrap(),
                        rang
                    }),
                    "{case}"
                );

                // The change stream publishes `call.missed` with the reason.
                let last = events.iter().find(|e| e.status == reason).unwrap();
                let published = derive(
                    &Change::CallEvent {
                        conversation_id: ID.parse().unwrap(),
                        event: last.clone(),
                    },
                    "change-1",
                    NOW,
                );
                assert_eq!(published.len(), 1, "{case}");
                assert_eq!(published[0].detail_type, "call.missed");
                assert_eq!(published[0].detail["reason"], reason);
                assert_eq!(
                    (
                        &published[0].detail["from_index"],
                        &published[0].detail["to_index"]
                    ),
                    (&json!(0), &json!(1))
                );
                testkit::assert_event(&published[0], &[A, B]);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 30);
}

/// A callee is texted about one caller's missed calls at most once in ten minutes, however
/// often the caller tries and however often Vonage delivers the event; each caller has their
/// own interval. The caller is told every time.
#[tokio::test]
async fn a_callee_is_texted_at_most_once_per_caller_in_ten_minutes() {
    let deps = deps(ride(MissedCallMode::Message));
    let id = ID.parse().unwrap();
    let missed = |call: &str, caller: usize| {
        let request = callee_leg(call, caller, "busy", 0);
        parse(&request).unwrap().unwrap()
    };
    let texted = |r: event::Recorded| match r.outcome {
        Outcome::Missed { texted } => {
            assert!(r.caller_hears.is_some(), "the caller is told every time");
            texted
        }
        other => panic!("not followed up: {other:?}"),
    };
    let first = missed("CON-1", 0);
    assert!(texted(record(&deps, &first, NOW).await.unwrap()));
    assert!(
        !texted(record(&deps, &first, NOW + 1).await.unwrap()),
        "the same event delivered again"
    );
    assert!(!texted(
        record(&deps, &missed("CON-2", 0), NOW + 300).await.unwrap()
    ));
    assert!(
        texted(record(&deps, &missed("CON-3", 1), NOW + 300).await.unwrap()),
        "the other participant's missed call has its own interval"
    );
    assert!(!texted(
        record(&deps, &missed("CON-4", 0), NOW + 599).await.unwrap()
    ));
    assert!(texted(
        record(&deps, &missed("CON-5", 0), NOW + 600).await.unwrap()
    ));
    assert_eq!(
        deps.store.missed_call_now(&id, 0).unwrap().call_id,
        "CON-5",
        "the notice of the call the callee is texted about"
    );
    assert_eq!(deps.store.missed_call_now(&id, 1).unwrap().call_id, "CON-3");
}

/// Nothing follows a call the caller gave up on (`cancelled`), the caller's own leg, an
/// answered call, or a call of a conversation that has closed or expired meanwhile: those are
/// recorded and answered `204` as before.
#[tokio::test]
async fn only_an_untaken_call_of_an_open_conversation_is_followed_up() {
    let deps = deps(ride(MissedCallMode::Message));
    for (request, what) in [
        (callee_leg("CON-1", 0, "cancelled", 1), "the caller hung up"),
        (callee_leg("CON-2", 0, "answered", 1), "an answered call"),
        (callee_leg("CON-2", 0, "completed", 9), "a completed call"),
    ] {
        let incoming = parse(&request).unwrap().unwrap();
        let recorded = record(&deps, &incoming, NOW).await.unwrap();
        assert_eq!(recorded.outcome, Outcome::Recorded, "{what}");
        assert_eq!(recorded.caller_hears, None, "{what}");
    }
    let caller_leg = http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", "application/json")
        .body(Body::Text(
            json!({"from": A, "to": PA, "uuid": "in-1", "conversation_uuid": "CON-3",
                   "status": "failed", "direction": "inbound"})
            .to_string(),
        ))
        .unwrap();
    assert_eq!(handle(&deps, caller_leg).await.status(), 204);
    let expired = parse(&callee_leg("CON-4", 0, "busy", 1)).unwrap().unwrap();
    let recorded = record(&deps, &expired, NOW + 3600).await.unwrap();
    assert_eq!(recorded.outcome, Outcome::Recorded, "expired meanwhile");
    assert_eq!(deps.store.missed_call_now(&ID.parse().unwrap(), 0), None);
}

/// A store that cannot keep the event, or the notice, answers `503` so that Vonage delivers it
/// again; the next delivery is followed up as if it were the first.
#[tokio::test]
async fn a_failing_store_answers_503_and_the_retry_is_followed_up() {
    let deps = deps(ride(MissedCallMode::Message));
    deps.store.fail(true);
    assert_eq!(
        handle(&deps, callee_leg("CON-1", 0, "busy", 1))
            .await
            .status(),
        503
    );
    deps.store.fail(false);
    let response = handle(&deps, callee_leg("CON-1", 0, "busy", 1)).await;
    assert_eq!(response.status(), 200);
    ncco_of(&response);
    assert!(
        deps.store
            .missed_call_now(&ID.parse().unwrap(), 0)
            .is_some()
    );
}

/// Every connect hangs up on a machine that answers the callee's phone: their leg's `machine`
/// is a missed call like any other, whether or not Vonage said `answered` first. The caller
/// hears what the missed-call setting says, the callee is texted, the call log says why, and
/// `call.missed` is published with the reason `machine`.
#[tokio::test]
async fn a_machine_that_answers_is_a_missed_call() {
    for (mode, answered_first) in [
        (MissedCallMode::Message, false),
        (MissedCallMode::Message, true),
        (MissedCallMode::Voicemail, false),
    ] {
        let case = format!("{mode:?} answered first: {answered_first}");
        let deps = deps(ride(mode));
        let call = format!("CON-machine-{answered_first}-{mode:?}");
        let mut before = vec!["started", "ringing"];
        if answered_first {
            before.push("answered");
        }
        for (second, status) in before.into_iter().enumerate() {
            let response = handle(&deps, callee_leg(&call, 0, status, second as u32)).await;
            assert_eq!(response.status(), 204, "{case}: {status}");
        }
        let response = handle(&deps, callee_leg(&call, 0, "machine", 10)).await;
        assert_eq!(response.status(), 200, "{case}");
        let ncco = ncco_of(&response);
        match mode {
            MissedCallMode::Voicemail => {
                assert_eq!(ncco[1]["action"], "record", "{case}: {ncco}");
                assert_eq!(ncco[1]["beepStart"], true);
            }
            _ => assert_eq!(
                ncco,
                json!([{"action": "talk", "language": "es-ES",
                    "text": "Sorry, your driver could not take your call. We have let them know you called."}]),
                "{case}"
            ),
        }
        let notice = deps.store.missed_call_now(&ID.parse().unwrap(), 0).unwrap();
        assert_eq!(notice.reason, "machine", "{case}");
        assert_eq!(notice.call_id, call);
        // Vonage ends the leg after hanging up: recorded, nothing more to say.
        let response = handle(&deps, callee_leg(&call, 0, "completed", 11)).await;
        assert_eq!(response.status(), 204, "{case}");

        let events = deps.store.call_events(&ID.parse().unwrap()).await.unwrap();
        let log = Interaction::fold(&events);
        assert_eq!(log.len(), 1, "{case}");
        assert_eq!(
            log[0].missed,
            Some(Missed {
                reason: "machine".parse().unwrap(),
                rang: true
            }),
            "{case}"
        );
        let machine = events.iter().find(|e| e.status == "machine").unwrap();
        let published = derive(
            &Change::CallEvent {
                conversation_id: ID.parse().unwrap(),
                event: machine.clone(),
            },
            "change-1",
            NOW,
        );
        assert_eq!(published.len(), 1, "{case}");
        assert_eq!(published[0].detail_type, "call.missed");
        assert_eq!(published[0].detail["reason"], "machine");
        testkit::assert_event(&published[0], &[A, B]);
    }
}
