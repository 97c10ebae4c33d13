//! The expiry sweep on the in-memory store and Vonage: no server needed. The same sweep against
//! the real local DynamoDB-API server and its expiry index is in `sweep.rs` and `events.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use expiry::{Deps, Notify, ScheduledEvent, SweepReport, handle, sweep};
use lambda_runtime::{Context, LambdaEvent};
use shared::domain::Retention;
use shared::domain::conversation::ClosePolicy;
use shared::model::{CloseReason, ConversationStatus};
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::numbered_conversation;

const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn deps(store: MemoryStore, notify: Option<Notify<FakeVonage>>) -> Deps<MemoryStore, FakeVonage> {
    Deps {
        store,
        closing: ClosePolicy {
            retention: Retention { seconds: 60 },
            cool_off_seconds: 600,
        },
        max_per_run: 100,
        concurrency: 4,
        safety_margin: Duration::ZERO,
        notify,
    }
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(600)
}

#[tokio::test]
async fn the_sweep_closes_what_expired_and_tells_the_participants() {
    let now = shared::now();
    let store = MemoryStore::with([
        numbered_conversation(1, (PA, PB), now - 10),
        numbered_conversation(2, (PA, PB), now - 5),
        numbered_conversation(3, (PA, PB), now + 3600),
    ]);
    let notify = Notify {
        vonage: FakeVonage::default(),
        template: "Your conversation with the {other} has ended.".into(),
        texts: shared::config::Texts::default(),
    };
    let deps = deps(store, Some(notify));
    let report = sweep(&deps, now, far()).await;
    assert_eq!(
        report,
        SweepReport {
            closed: 2,
            read: 2,
            ..SweepReport::default()
        }
    );
    for c in deps.store.conversations_now() {
        let expired = c.expires_at <= now;
        assert_eq!(c.status == ConversationStatus::Closed, expired, "{}", c.id);
        if expired {
            assert_eq!(c.close_reason, Some(CloseReason::Expired));
        }
    }
    let sent = deps.notify.as_ref().unwrap().vonage.sent();
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter()
            .any(|s| s.text == "Your conversation with the driver has ended.")
    );
    // A second run finds nothing left.
    assert_eq!(sweep(&deps, now, far()).await.closed, 0);
}

#[tokio::test]
async fn work_per_run_is_bounded_and_a_failing_store_is_left_for_the_next_run() {
    let now = shared::now();
    let store = MemoryStore::with((0..5).map(|i| numbered_conversation(i, (PA, PB), now - 1)));
    let mut bounded = deps(store, None);
    bounded.max_per_run = 3;
    let report = sweep(&bounded, now, far()).await;
    assert_eq!((report.closed, report.stopped_early), (3, true));

    bounded.store.fail(true);
    let report = sweep(&bounded, now, far()).await;
    assert_eq!(report.closed, 0);
    assert!(report.failed > 0);
    bounded.store.fail(false);
    assert_eq!(sweep(&bounded, now, far()).await.closed, 2);
}

#[tokio::test]
async fn the_schedule_event_runs_a_sweep() {
    let now = shared::now();
    let deps = deps(
        MemoryStore::with([numbered_conversation(1, (PA, PB), now - 1)]),
        None,
    );
    let path = format!(
        "{}/../../events/expiry-schedule.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: ScheduledEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut context = Context::default();
    context.deadline = (now as u64 + 60) * 1000;
    let report = handle(&deps, LambdaEvent::new(event, context))
        .await
        .unwrap();
    assert_eq!(report.closed, 1);
}
