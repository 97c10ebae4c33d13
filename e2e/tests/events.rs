//! Events out, end to end: a whole scenario run through the functions on one local store, whose
//! change stream (DynamoDB Streams on the local AWS stand-in) is handed to the notifier and the
//! publisher as Lambda would hand it; the missed call in it is followed up (the caller told,
//! the callee texted from the stream). It produces exactly the expected events, in order for
//! each conversation, each valid against its schema, none naming a real number; delivering the
//! stream again publishes the same event ids.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::domain::events::Event;
use shared::vonage::VonageClient;
use testkit::requests::{call, form};
use testkit::{assert_event, fresh_store, mock_config, stream_batch, vonage_mock};

mod common;

const GB1: &str = "447700900101";
const GB2: &str = "447700900102";
const GB3: &str = "447700900103";
const RIDER: &str = "447700900001";
const DRIVER: &str = "447700900002";
const SENDER: &str = "447700900003";
const COURIER: &str = "447700900004";

fn callee_leg(from: &str, to: &str, leg: &str, status: &str) -> serde_json::Value {
    json!({
        "from": from, "to": to, "uuid": leg, "conversation_uuid": format!("CON-{leg}"),
        "direction": "outbound", "status": status, "timestamp": "2026-11-25T10:00:00.000Z",
        "duration": "30", "price": "0.00500000", "rate": "0.01000000",
    })
}

#[tokio::test]
async fn a_whole_scenario_publishes_exactly_its_events() {
    let store = fresh_store().await;
    let vonage = vonage_mock().await;
    let client = VonageClient::new(&mock_config(&vonage)).unwrap();
    let common::Stack {
        numbers,
        api,
        calls,
        texts,
        notifier,
        ..
    } = common::Stack::new(&store, &client, 86_400);

    // The pool, and two conversations; the notifier takes the creations off the stream.
    for n in [GB1, GB2, GB3] {
        let (status, _) = call(&numbers, "POST", "/numbers", Some(json!({"msisdn": n}))).await;
        assert_eq!(status, 201);
    }
    let ride = json!({"participants": [{"number": RIDER, "label": "rider"}, {"number": DRIVER, "label": "driver"}], "reference": "ride-42"});
    let (status, ride) = call(&api, "POST", "/conversations", Some(ride)).await;
    assert_eq!(status, 201, "{ride}");
    let delivery =
        json!({"participants": [{"number": SENDER}, {"number": COURIER}], "ttl_seconds": 60});
    let (status, delivery) = call(&api, "POST", "/conversations", Some(delivery)).await;
    assert_eq!(status, 201, "{delivery}");
    let (response, _) =
        notifier::handle(&notifier, stream_batch(common::whole_stream(&store).await)).await;
    assert!(response.batch_item_failures.is_empty());

    // Calls both ways (as the callee's leg reports them), a missed call, and a relayed text.
    let proxy = |i: usize| {
        ride["participants"][i]["proxy_number"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (to_rider, to_driver) = (proxy(0), proxy(1));
    for (from, to, leg, statuses) in [
        (
            &to_driver,
            DRIVER,
            "1",
            vec!["started", "ringing", "answered", "completed"],
        ),
        (
            &to_rider,
            RIDER,
            "2",
            vec!["started", "answered", "completed"],
        ),
        (&to_driver, DRIVER, "3", vec!["started", "ringing", "busy"]),
    ] {
        for status in statuses {
            let (code, ncco) = call(
                &calls,
                "POST",
                "/webhooks/event",
                Some(callee_leg(from, to, leg, status)),
            )
            .await;
            if status == "busy" {
                // The connect's synchronous event: the rider hears why.
                assert_eq!(code, 200, "{leg} {status}");
                testkit::assert_ncco(&ncco);
                assert_eq!(
                    ncco[0]["text"],
                    "Sorry, your driver could not take your call. We have let them know you called."
                );
            } else {
                assert_eq!(code, 204, "{leg} {status}");
            }
        }
    }
    // The driver is texted about the missed call from the number that calls the rider back.
    let before = testkit::sent_sms(&vonage).await.len();
    let (response, report) =
        notifier::handle(&notifier, stream_batch(common::whole_stream(&store).await)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        report.notified, 3,
        "two creations already told, one missed call"
    );
    let sent = testkit::sent_sms(&vonage).await;
    assert_eq!(
        sent[before..],
        [(
            to_driver.clone(),
            DRIVER.to_owned(),
            format!("Your rider tried to call you. Call back on +{to_driver}.")
        )],
        "one text, to the driver alone"
    );
    let text = form(
        "/webhooks/inbound-sms",
        &[
            ("msisdn", RIDER),
            ("to", &to_rider),
            ("messageId", "m-1"),
            ("text", "At the gate"),
            ("type", "text"),
        ],
    );
    assert_eq!(
        shared::runtime::Handler::handle(&texts, text)
            .await
            .status(),
        200
    );

    // The ride is closed; the delivery expires and is swept; a number is retired.
    let ride_id = ride["id"].as_str().unwrap();
    let (status, _) = call(&api, "DELETE", &format!("/conversations/{ride_id}"), None).await;
    assert_eq!(status, 200);
    let sweeper = expiry::Deps {
        store: store.clone(),
        closing: shared::domain::conversation::ClosePolicy {
            retention: shared::domain::Retention { seconds: 86_400 },
            cool_off_seconds: 600,
        },
        max_per_run: 10,
        concurrency: 2,
        safety_margin: Duration::ZERO,
        notify: None::<expiry::Notify<VonageClient>>,
    };
    let swept = expiry::sweep(
        &sweeper,
        shared::now() + 120,
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    assert_eq!(swept.closed, 1);
    let (status, _) = call(&numbers, "DELETE", &format!("/numbers/{GB3}"), None).await;
    assert_eq!(status, 200);

    // Everything the stream carried, published.
    let records = common::whole_stream(&store).await;
    let events = common::publish(&records).await;
    let real = [RIDER, DRIVER, SENDER, COURIER];
    for e in &events {
        assert_event(e, &real);
    }
    let mut by_conversation: HashMap<String, Vec<&str>> = HashMap::new();
    let mut pool = Vec::new();
    for e in &events {
        match e.detail["conversation_id"].as_str() {
            Some(id) => by_conversation
                .entry(id.to_owned())
                .or_default()
                .push(e.detail_type),
            None => pool.push(e.detail_type),
        }
    }
    assert_eq!(
        by_conversation[ride_id],
        [
            "conversation.created",
            "participant.notified",
            "participant.notified",
            "call.answered",
            "call.completed",
            "call.answered",
            "call.completed",
            "call.missed",
            "message.relayed",
            "conversation.closed",
        ]
    );
    assert_eq!(
        by_conversation[delivery["id"].as_str().unwrap()],
        [
            "conversation.created",
            "participant.notified",
            "participant.notified",
            "conversation.closed",
        ]
    );
    assert_eq!(by_conversation.len(), 2);
    assert_eq!(
        pool,
        [
            "number.added",
            "number.added",
            "number.added",
            "number.retired"
        ]
    );
    let detail = |t: &str| &events.iter().find(|e| e.detail_type == t).unwrap().detail;
    assert_eq!(detail("call.missed")["reason"], "busy");
    assert_eq!(detail("call.completed")["duration"], 30);
    assert_eq!(detail("message.relayed")["from_index"], 0);
    assert_eq!(detail("conversation.created")["reference"], "ride-42");
    let closed: Vec<&str> = events
        .iter()
        .filter(|e| e.detail_type == "conversation.closed")
        .map(|e| e.detail["reason"].as_str().unwrap())
        .collect();
    assert_eq!(closed, ["closed", "expired"]);
    assert_eq!(detail("number.retired")["proxy_number"], GB3);

    // The stream delivers it all again: the same events, with the same ids.
    let again = common::publish(&records).await;
    let ids = |events: &[Event]| -> Vec<String> {
        events.iter().map(|e| e.event_id().to_owned()).collect()
    };
    assert_eq!(ids(&again), ids(&events));
}
