//! The event catalogue: each change of the table means the events PRODUCT.md lists, each valid
//! against its schema in `schemas/events/`, none naming a participant's real number, and each
//! with the same `event_id` when the same change is delivered again.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::domain::events::{DETAIL_TYPES, Event, derive};
use shared::model::Change;
use shared::model::{
    CallEvent, CloseReason, ConversationStatus, Direction, Notification, NotificationStatus,
    NumberState, PoolNumber,
};
use shared::model::{ClearReason, Exhaustion, HealthCleared, HealthFlag, RelayedMessage, Tally};
use shared::phone::Msisdn;
use shared::values::MessageStatus;
use testkit::{assert_event, numbered_conversation};

const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn call(status: &str, direction: Direction, caller_index: u8) -> CallEvent {
    CallEvent {
        call_id: "CON-1".into(),
        leg: "leg".into(),
        direction: Some(direction),
        shown_number: None,
        status: status.parse().unwrap(),
        at_ms: 1_000,
        caller_index,
        duration: (status == "completed").then_some(42),
        rate: None,
        price: (status == "completed").then(|| "0.00980000".into()),
        detail: None,
        routed_by: Default::default(),
        initiated_by: Default::default(),
    }
}

/// A conversation's life and a number's, as changes, with the detail-types each must give.
fn scenario() -> (Vec<(Change, Vec<&'static str>)>, Vec<String>) {
    let now = shared::now();
    let mut c = numbered_conversation(1, (PA, PB), now + 3600);
    c.reference = "ride-42".parse().ok();
    let real: Vec<String> = c
        .participants
        .iter()
        .map(|p| p.number.as_str().to_owned())
        .collect();
    let mut closed = c.clone();
    closed.status = ConversationStatus::Closed;
    closed.close_reason = Some(CloseReason::Expired);
    let mut in_progress = c.clone();
    in_progress.status = ConversationStatus::InProgress;
    let id = c.id.clone();
    let message = |status| Change::Message {
        conversation_id: id.clone(),
        message: RelayedMessage {
            message_id: "m-1".into(),
            from_index: 1,
            at: now,
            parts: 2,
            status,
            outbound_id: None,
        },
    };
    let number = PoolNumber::new(
        Msisdn::from_digits(PA).unwrap(),
        "GB".parse().unwrap(),
        NumberState::Active,
        now,
    );
    let retired = PoolNumber {
        state: NumberState::Retired,
        ..number.clone()
    };
    let flagged = PoolNumber {
        health_flag: Some(HealthFlag {
            at: now,
            number: Tally {
                answered: 6,
                calls: 40,
            },
            rest: Tally {
                answered: 650,
                calls: 1_000,
            },
        }),
        ..number.clone()
    };
    let cleared = |reason| PoolNumber {
        health_flag: None,
        health_cleared: Some(HealthCleared { at: now, reason }),
        ..number.clone()
    };
    let mut pending = c.clone();
    for p in &mut pending.participants {
        p.notification = Some(Notification::pending());
    }
    let mut sent_a = pending.clone();
    sent_a.participants[0].notification = Some(Notification {
        status: NotificationStatus::Sent,
        attempts: 0,
        reason: None,
        message_id: None,
    });
    let mut failed_b = sent_a.clone();
    failed_b.participants[1].notification = Some(Notification {
        status: NotificationStatus::Failed,
        attempts: 5,
        reason: Some("SMS API answered HTTP 503".into()),
        message_id: None,
    });
    let mut attempted = pending.clone();
    attempted.participants[1].notification = Some(Notification {
        attempts: 1,
        ..Notification::pending()
    });
    let call_change = |status, direction, caller| Change::CallEvent {
        conversation_id: id.clone(),
        event: call(status, direction, caller),
    };
    let changes = vec![
        (
            Change::Conversation {
                old: None,
                new: Some(Box::new(c.clone())),
            },
            vec!["conversation.created"],
        ),
        // The caller's leg says nothing the callee's does not.
        (call_change("answered", Direction::Inbound, 0), vec![]),
        (call_change("ringing", Direction::Outbound, 0), vec![]),
        (
            call_change("answered", Direction::Outbound, 0),
            vec!["call.answered"],
        ),
        (
            Change::Conversation {
                old: Some(Box::new(c.clone())),
                new: Some(Box::new(in_progress.clone())),
            },
            vec![],
        ),
        (
            call_change("completed", Direction::Outbound, 0),
            vec!["call.completed"],
        ),
        (
            call_change("busy", Direction::Outbound, 1),
            vec!["call.missed"],
        ),
        (message(MessageStatus::Submitted), vec!["message.relayed"]),
        (message(MessageStatus::OptedOut), vec![]),
        (
            Change::Conversation {
                old: Some(Box::new(in_progress)),
                new: Some(Box::new(closed.clone())),
            },
            vec!["conversation.closed"],
        ),
        // Closing a closed one again changes nothing.
        (
            Change::Conversation {
                old: Some(Box::new(closed.clone())),
                new: Some(Box::new(closed)),
            },
            vec![],
        ),
        (
            Change::Number {
                old: None,
                new: Some(number.clone()),
            },
            vec!["number.added"],
        ),
        (
            Change::Number {
                old: Some(number.clone()),
                new: Some(retired.clone()),
            },
            vec!["number.retired"],
        ),
        (
            Change::Number {
                old: Some(retired),
                new: None,
            },
            vec!["number.released"],
        ),
        // The notifier records each participant's SMS on the conversation.
        (
            Change::Conversation {
                old: Some(Box::new(pending.clone())),
                new: Some(Box::new(sent_a.clone())),
            },
            vec!["participant.notified"],
        ),
        (
            Change::Conversation {
                old: Some(Box::new(sent_a.clone())),
                new: Some(Box::new(failed_b)),
            },
            vec!["participant.notification_failed"],
        ),
        (
            Change::PoolExhausted(Exhaustion {
                country: "GB".parse().unwrap(),
                index: 1,
                at_ms: 1_764_000_000_000,
            }),
            vec!["pool.exhausted"],
        ),
        // An attempt counted changes no outcome.
        (
            Change::Conversation {
                old: Some(Box::new(pending)),
                new: Some(Box::new(attempted)),
            },
            vec![],
        ),
        // Number health: flagged, used again while flagged, then cleared each way.
        (
            Change::Number {
                old: Some(number.clone()),
                new: Some(flagged.clone()),
            },
            vec!["number.flagged"],
        ),
        (
            Change::Number {
                old: Some(flagged.clone()),
                new: Some(PoolNumber {
                    active_count: 3,
                    ..flagged.clone()
                }),
            },
            vec![],
        ),
        (
            Change::Number {
                old: Some(flagged.clone()),
                new: Some(cleared(ClearReason::Recovered)),
            },
            vec!["number.cleared"],
        ),
        (
            Change::Number {
                old: Some(flagged),
                new: Some(cleared(ClearReason::Cleared)),
            },
            vec!["number.cleared"],
        ),
    ];
    (changes, real)
}

#[test]
fn each_change_means_the_catalogued_events_valid_and_without_real_numbers() {
    let (changes, real) = scenario();
    let real: Vec<&str> = real.iter().map(String::as_str).collect();
    for (i, (change, expected)) in changes.iter().enumerate() {
        let events = derive(change, &format!("record-{i}"), 1_764_000_000);
        let types: Vec<&str> = events.iter().map(|e| e.detail_type).collect();
        assert_eq!(&types, expected, "{change:?}");
        for event in &events {
            assert_event(event, &real);
        }
    }
    let created = derive(&changes[0].0, "record-0", 1_764_000_000);
    let detail = &created[0].detail;
    assert_eq!(detail["reference"], "ride-42");
    assert_eq!(detail["participants"][1]["label"], "driver");
    assert_eq!(detail["participants"][0]["proxy_number"], PA);
    // A real number slipped into an event fails its schema.
    let mut leaked = created[0].detail.clone();
    leaked["participants"][0]["number"] = serde_json::json!(real[0]);
    assert!(!testkit::event_schema("conversation.created").is_valid(&leaked));
    let closed = derive(&changes[9].0, "record-9", 1_764_000_000);
    assert_eq!(closed[0].detail["reason"], "expired");
    let notified = derive(&changes[14].0, "record-14", 1_764_000_000);
    assert_eq!(notified[0].detail["index"], 0);
    let failed = derive(&changes[15].0, "record-15", 1_764_000_000);
    assert_eq!(
        (
            &failed[0].detail["index"],
            &failed[0].detail["label"],
            &failed[0].detail["reason"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!("driver"),
            // A failure recorded with a provider's text (as before reason codes) is named
            // by its code: no provider's words reach an event.
            &serde_json::json!("vonage_error")
        )
    );
    let n = changes.len();
    let flagged = derive(&changes[n - 4].0, "record-f", 1_764_000_000);
    assert_eq!(
        (
            &flagged[0].detail["proxy_number"],
            &flagged[0].detail["answered"],
            &flagged[0].detail["calls"],
            &flagged[0].detail["rate"],
            &flagged[0].detail["pool_rate"]
        ),
        (
            &serde_json::json!(PA),
            &serde_json::json!(6),
            &serde_json::json!(40),
            &serde_json::json!(0.15),
            &serde_json::json!(0.65)
        )
    );
    for (i, reason) in [(n - 2, "recovered"), (n - 1, "cleared")] {
        let cleared = derive(&changes[i].0, "record-c", 1_764_000_000);
        assert_eq!(cleared[0].detail["reason"], reason);
    }
    let missed = derive(&changes[6].0, "record-6", 1_764_000_000);
    assert_eq!(
        (
            &missed[0].detail["from_index"],
            &missed[0].detail["to_index"]
        ),
        (&serde_json::json!(1), &serde_json::json!(0))
    );
}

#[test]
fn a_change_delivered_again_gives_the_same_event_ids() {
    let (changes, _) = scenario();
    let ids = |change: &Change| -> Vec<String> {
        derive(change, "shard-1:000042", 1_764_000_000)
            .iter()
            .map(|e: &Event| e.event_id().to_owned())
            .collect()
    };
    for (change, _) in &changes {
        assert_eq!(ids(change), ids(change));
    }
    let other: Vec<String> = derive(&changes[0].0, "shard-1:000043", 1_764_000_000)
        .iter()
        .map(|e| e.event_id().to_owned())
        .collect();
    assert_ne!(ids(&changes[0].0), other, "another change, other ids");
}

#[test]
fn every_detail_type_has_a_schema_and_every_schema_a_detail_type() {
    let dir = format!("{}/../schemas/events", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .into_string()
                .unwrap()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    files.sort();
    let mut types: Vec<String> = DETAIL_TYPES.iter().map(|t| t.to_string()).collect();
    types.sort();
    assert_eq!(files, types);
    for t in DETAIL_TYPES {
        testkit::event_schema(t);
    }
}
