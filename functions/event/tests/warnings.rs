//! A call's warning before its limit, on the local AWS stand-in's EventBridge Scheduler: the
//! callee's leg answered makes a one-time schedule for the answer's time plus the limit less
//! the warning, with both legs and each party's text in its input; a leg's end deletes it; a
//! call that ends before it is answered, or a conversation without a warning, leaves none.
#![cfg(feature = "services")] // needs the local AWS stand-in: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use event::{Deps, handle};
use lambda_http::Request;
use serde_json::json;
use shared::model::CallWarning;
use shared::scheduler::Scheduler;
use shared::signature::WebhookAuth;
use testkit::fakes::MemoryStore;
use testkit::{conversation, fresh_timers, schedule};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "5d0f1a2b-0000-4000-8000-000000000007";

async fn app(warned: bool) -> Deps<MemoryStore> {
    let now = shared::now();
    let mut c = conversation(ID, (A, PA), (B, PB), now, now + 3600);
    c.participants[1].language = Some("es-ES".parse().unwrap());
    if warned {
        c.call.limit_seconds = Some(600);
        c.call.warn_before_seconds = Some(60);
    }
    Deps {
        store: MemoryStore::with([c]),
        auth: WebhookAuth::Off,
        methods: shared::config::WebhookMethods::Any,
        retention: shared::domain::Retention { seconds: 86_400 },
        // Every built-in language, as the function reads them at start.
        missed: shared::config::MissedCallConfig::from_source(&|_: &str| None).unwrap(),
        timers: Some(fresh_timers().await),
    }
}

/// An event of call `call`: the rider's leg in, or the driver's leg out, at Unix second `at`.
fn event(call: &str, leg: &str, status: &str, at: i64) -> Request {
    let (from, to, direction, uuid) = match leg {
        "in" => (A, PA, "inbound", format!("{call}-in")),
        _ => (PB, B, "outbound", format!("{call}-out")),
    };
    let timestamp = chrono::DateTime::from_timestamp(at, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    testkit::requests::json(
        "POST",
        "/webhooks/event",
        Some(json!({
            "from": from, "to": to, "uuid": uuid, "conversation_uuid": call,
            "status": status, "direction": direction, "timestamp": timestamp,
        })),
    )
}

fn timers(deps: &Deps<MemoryStore>) -> &Scheduler {
    deps.timers.as_ref().unwrap()
}

#[tokio::test]
async fn the_callee_answering_sets_the_warning_and_the_call_ending_deletes_it() {
    let deps = app(true).await;
    let call = "CON-warn-1";
    let now = shared::now();
    for (leg, status) in [("in", "started"), ("in", "answered"), ("out", "ringing")] {
        assert_eq!(
            handle(&deps, event(call, leg, status, now)).await.status(),
            204
        );
    }
    let name = Scheduler::warning_name(call);
    assert!(
        schedule(timers(&deps), &name).await.is_none(),
        "not before the answer"
    );
    let answered = now + 5;
    assert_eq!(
        handle(&deps, event(call, "out", "answered", answered))
            .await
            .status(),
        204
    );
    let found = schedule(timers(&deps), &name)
        .await
        .expect("set on the answer");
    assert_eq!(
        found.schedule_expression().unwrap(),
        Scheduler::at_expression(Scheduler::goes_off(answered + 600 - 60, shared::now()))
    );
    let input: CallWarning =
        serde_json::from_str(found.target().unwrap().input().unwrap()).unwrap();
    assert_eq!(input.call_id, call);
    assert_eq!(input.conversation_id.to_string(), ID);
    assert_eq!(input.at, answered + 540);
    let legs: Vec<(&str, &str, Option<String>)> = input
        .legs
        .iter()
        .map(|l| {
            (
                l.leg.as_str(),
                l.text.as_str(),
                l.language.as_ref().map(ToString::to_string),
            )
        })
        .collect();
    assert_eq!(
        legs,
        [
            ("CON-warn-1-in", "This call will end in 60 seconds.", None),
            (
                "CON-warn-1-out",
                "Esta llamada terminará en 60 segundos.",
                Some("es-ES".into())
            ),
        ]
    );
    // The same answer again sets nothing more.
    assert_eq!(
        handle(&deps, event(call, "out", "answered", answered))
            .await
            .status(),
        204
    );
    assert_eq!(
        handle(&deps, event(call, "out", "completed", answered + 30))
            .await
            .status(),
        204
    );
    assert!(
        schedule(timers(&deps), &name).await.is_none(),
        "deleted at the end"
    );
    // The other leg's end finds nothing to delete.
    assert_eq!(
        handle(&deps, event(call, "in", "completed", answered + 31))
            .await
            .status(),
        204
    );
    // The answer delivered again after the end sets nothing: the call is over.
    assert_eq!(
        handle(&deps, event(call, "out", "answered", answered))
            .await
            .status(),
        204
    );
    assert!(
        schedule(timers(&deps), &name).await.is_none(),
        "no warning for a call that has ended"
    );
}

#[tokio::test]
async fn a_call_that_ends_first_or_has_no_warning_leaves_no_schedule() {
    let deps = app(true).await;
    let now = shared::now();
    let call = "CON-warn-2";
    for (leg, status) in [
        ("in", "answered"),
        ("out", "ringing"),
        ("out", "unanswered"),
    ] {
        handle(&deps, event(call, leg, status, now)).await;
    }
    assert!(
        schedule(timers(&deps), &Scheduler::warning_name(call))
            .await
            .is_none()
    );

    let unwarned = app(false).await;
    let call = "CON-warn-3";
    for (leg, status) in [("in", "answered"), ("out", "answered")] {
        assert_eq!(
            handle(&unwarned, event(call, leg, status, now))
                .await
                .status(),
            204
        );
    }
    assert!(
        schedule(timers(&unwarned), &Scheduler::warning_name(call))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_machine_answering_the_callee_s_phone_deletes_the_warning() {
    let deps = app(true).await;
    let now = shared::now();
    let call = "CON-warn-4";
    for (leg, status) in [("in", "answered"), ("out", "ringing"), ("out", "answered")] {
        handle(&deps, event(call, leg, status, now)).await;
    }
    let name = Scheduler::warning_name(call);
    assert!(
        schedule(timers(&deps), &name).await.is_some(),
        "set on the answer"
    );
    // Every connect hangs up on a machine: the callee's leg says so before it completes.
    handle(&deps, event(call, "out", "machine", now + 2)).await;
    assert!(
        schedule(timers(&deps), &name).await.is_none(),
        "deleted when a machine answered"
    );
}
