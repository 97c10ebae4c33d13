//! The call timers on the local AWS stand-in's EventBridge Scheduler: a warning is a one-time
//! `at(...)` schedule named after its call, invoking the warning function through its role
//! with the warning as input and deleting itself once it has run; set twice it is set once,
//! and cancelling one that is not there is fine.
#![cfg(feature = "services")] // needs the local AWS stand-in: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::model::{CallWarning, SpokenLeg};
use shared::ports::CallTimers;
use shared::scheduler::Scheduler;
use testkit::{fresh_timers, schedule};

fn warning(call_id: &str, at: i64) -> CallWarning {
    CallWarning {
        conversation_id: "0d8f3c1e-1f2a-4b5c-9d8e-7f6a5b4c3d2e".parse().unwrap(),
        call_id: call_id.into(),
        at,
        legs: vec![
            SpokenLeg {
                leg: "aaaaaaaa-0000-4000-8000-000000000001".into(),
                text: "This call will end in 60 seconds.".into(),
                language: None,
            },
            SpokenLeg {
                leg: "aaaaaaaa-0000-4000-8000-000000000002".into(),
                text: "Esta llamada terminará en 60 segundos.".into(),
                language: Some("es-ES".parse().unwrap()),
            },
        ],
    }
}

#[tokio::test]
async fn a_warning_is_a_one_time_schedule_named_after_its_call() {
    let timers = fresh_timers().await;
    // 2030-01-01T10:09:00Z
    let w = warning("CON-6a1f1c8e-1b4b-4a57-9c34-2f6c3d9b8e10", 1_893_492_540);
    timers.set_warning(&w).await.unwrap();
    let name = Scheduler::warning_name(&w.call_id);
    assert_eq!(name, "warning-CON-6a1f1c8e-1b4b-4a57-9c34-2f6c3d9b8e10");
    let found = schedule(&timers, &name)
        .await
        .expect("the schedule is there");
    // It goes off in the minute before: Scheduler is precise to the minute.
    assert_eq!(found.schedule_expression(), Some("at(2030-01-01T10:08:00)"));
    assert_eq!(found.schedule_expression_timezone(), Some("UTC"));
    let target = found.target().unwrap();
    assert_eq!(
        target.arn(),
        "arn:aws:lambda:us-east-1:123456789012:function:warn"
    );
    assert_eq!(
        target.role_arn(),
        "arn:aws:iam::123456789012:role/warn-schedules"
    );
    let input: CallWarning = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input, w);

    // Set again (an event delivered again): still the one schedule.
    timers.set_warning(&w).await.unwrap();
    timers.cancel_warning(&w.call_id).await.unwrap();
    assert!(schedule(&timers, &name).await.is_none());
    // Cancelled again, or never set: fine.
    timers.cancel_warning(&w.call_id).await.unwrap();
    timers.cancel_warning("CON-never-set").await.unwrap();
}

#[test]
fn names_and_times_are_schedulers() {
    let name = Scheduler::warning_name(&format!("{}/../{}", "a".repeat(80), "b"));
    assert!(name.len() <= 64, "{name}");
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    );
    assert_eq!(Scheduler::at_expression(0), "at(1970-01-01T00:00:00)");
}

/// A schedule goes off somewhere in the minute it is set for: set for the minute before the
/// one its warning falls in, it is never late, and at most two minutes early; one due sooner
/// than that goes off in the next minute.
#[test]
fn a_warning_goes_off_before_its_time_whatever_second_scheduler_picks() {
    let now = 1_893_492_000; // 10:00:00
    for at in (now + 120..now + 600).step_by(7) {
        let minute = Scheduler::goes_off(at, now);
        assert_eq!(minute % 60, 0, "a whole minute");
        assert!(minute > now, "in the future");
        for second in [0, 30, 59] {
            let fired = minute + second;
            assert!(fired < at, "{at}: late at {fired}");
            assert!(at - fired <= 120, "{at}: {} s early", at - fired);
        }
    }
    // Due within two minutes: the next minute, the earliest Scheduler can do.
    assert_eq!(Scheduler::goes_off(now + 70, now + 5), now + 60);
    assert_eq!(Scheduler::goes_off(now + 30, now), now + 60);
}
