//! The event-webhook files in `events/`, played against the real local store.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use event::{Deps, Outcome, handle, parse, record};
use shared::model::Interaction;
use shared::phone::Msisdn;
use shared::ports::{CallLog, Conversations};
use shared::signature::WebhookAuth;
use testkit::fresh_store;

fn load(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    lambda_http::request::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn every_status_event_plays_as_named() {
    let _m = |d: &str| Msisdn::from_digits(d).unwrap();
    let store = fresh_store().await;
    testkit::add_pool(&store, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let c = testkit::conversation(
        "5d0f1a2b-0000-4000-8000-000000000002",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        now,
        now + 3600,
    );
    store.create_conversation(&c).await.unwrap();
    let deps = Deps {
        store: store.clone(),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        retention: shared::domain::Retention { seconds: 86_400 },
        missed: Default::default(),
        timers: None,
    };

    let statuses = [
        "started",
        "ringing",
        "answered",
        "completed",
        "busy",
        "cancelled",
        "failed",
        "rejected",
        "timeout",
        "unanswered",
        "machine",
    ];
    // The callee's leg: a status that says the callee did not take the call is followed up
    // (the caller hears why, with a 200 and an NCCO); the first of them writes the notice that
    // texts the callee, the later ones fall in its quiet interval.
    let mut texted = 0;
    for status in statuses {
        let req = load(&format!("event-{status}.json"));
        let incoming = parse(&req).unwrap().unwrap();
        assert_eq!(incoming.event.status, status);
        let recorded = record(&deps, &incoming, now).await.unwrap();
        // Only the callee's leg says the callee did not take the call.
        let missed = incoming.event.status.is_missed_by_callee()
            && incoming.event.direction == Some(shared::model::Direction::Outbound);
        match recorded.outcome {
            Outcome::Missed { texted: t } => {
                assert!(missed, "{status}");
                texted += usize::from(t);
                testkit::assert_ncco(
                    &serde_json::from_str(&recorded.caller_hears.unwrap().to_json()).unwrap(),
                );
            }
            outcome => {
                assert!(!missed, "{status}");
                assert_eq!(outcome, Outcome::Recorded, "{status}");
                assert_eq!(recorded.caller_hears, None);
            }
        }
        assert_eq!(
            handle(&deps, load(&format!("event-{status}.json")))
                .await
                .status(),
            if missed { 200 } else { 204 },
            "{status}"
        );
    }
    assert_eq!(
        texted, 1,
        "one text for the caller's missed calls in ten minutes"
    );
    let log = Interaction::fold(&store.call_events(&c.id).await.unwrap());
    assert_eq!(log.len(), 1, "one call, however many events");
    assert_eq!(log[0].statuses.len(), statuses.len());

    let unknown = parse(&load("event-unknown-call.json")).unwrap().unwrap();
    assert_eq!(
        record(&deps, &unknown, now).await.unwrap(),
        Outcome::UnknownCall.into()
    );
    assert!(
        parse(&load("event-input-result.json")).unwrap().is_none(),
        "an action result is no status"
    );
    assert_eq!(
        handle(&deps, load("event-input-result.json"))
            .await
            .status(),
        204
    );
}
