//! The schedule event in `events/` is what the expiry function takes: the handler reads it and
//! its invocation's deadline, and sweeps.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Conversations;
use std::time::Duration;

use expiry::{Deps, ScheduledEvent, handle};
use lambda_runtime::{Context, LambdaEvent};

fn scheduled(deadline_in: Duration) -> LambdaEvent<ScheduledEvent> {
    let path = format!(
        "{}/../../events/expiry-schedule.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: ScheduledEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut context = Context::default();
    context.deadline = now_ms + deadline_in.as_millis() as u64;
    LambdaEvent::new(event, context)
}

#[tokio::test]
async fn the_schedule_event_starts_a_sweep_within_the_invocation_deadline() {
    let store = testkit::fresh_store().await;
    testkit::add_pool(&store, &["447700900101", "447700900102"], "GB").await;
    let now = shared::now();
    let expired = testkit::numbered_conversation(1, ("447700900101", "447700900102"), now - 5);
    store.create_conversation(&expired).await.unwrap();
    let deps: Deps = Deps {
        store,
        closing: shared::domain::conversation::ClosePolicy {
            retention: shared::domain::Retention { seconds: 60 },
            cool_off_seconds: 600,
        },
        max_per_run: 10,
        concurrency: 2,
        safety_margin: Duration::from_secs(1),
        notify: None,
    };

    // An invocation already at its deadline leaves the work to the next run.
    let report = handle(&deps, scheduled(Duration::from_millis(500)))
        .await
        .unwrap();
    assert!(report.stopped_early, "{report:?}");
    assert_eq!(report.closed, 0);

    let report = handle(&deps, scheduled(Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(
        (report.closed, report.stopped_early),
        (1, false),
        "{report:?}"
    );
}
