//! The schedule event in `events/` is what the expiry function takes.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::{Duration, Instant};

use expiry::{Deps, ScheduledEvent, SweepReport, sweep};

#[tokio::test]
async fn the_schedule_event_parses_and_starts_a_sweep() {
    let path = format!(
        "{}/../../events/expiry-schedule.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: ScheduledEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    let deps = Deps {
        store: shared::testing::fresh_store().await,
        retention_seconds: 60,
        max_per_run: 10,
        concurrency: 2,
        safety_margin: Duration::from_secs(1),
        notify: None,
    };
    let report = sweep(
        &deps,
        shared::now(),
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        report,
        SweepReport::default(),
        "an empty table: nothing to do"
    );
}
