//! The EventBridge adapter against the local AWS stand-in (moto): a stream batch published to
//! a bus reaches a queue subscribed with a rule on `source` = `voice-proxy`, each event once,
//! with its detail-type and detail as published; a bus that refuses leaves the records to the
//! stream, and the next attempt publishes them.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use publisher::{Deps, EventBridge, handle};
use shared::domain::events::SOURCE;
use shared::stream::local::subscribe_queue;

#[tokio::test]
async fn a_batch_reaches_a_queue_subscribed_to_the_bus() {
    // scripts/test points EventBridge and SQS at the local AWS stand-in.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let name = format!("bus-{}", std::process::id());
    let queue_url = subscribe_queue(&events, &sqs, &name, SOURCE, &name)
        .await
        .unwrap();

    let deps = Deps {
        bus: EventBridge {
            client: events,
            bus_name: name,
        },
    };
    let (response, report) = handle(&deps, batch()).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!(report.published, 3);

    let mut received: Vec<(String, String)> = receive(&sqs, &queue_url, 3)
        .await
        .iter()
        .map(|envelope| {
            assert_eq!(envelope["source"], "voice-proxy");
            (
                envelope["detail-type"].as_str().unwrap().to_owned(),
                envelope["detail"]["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    received.sort();
    let types: Vec<&str> = received.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["call.answered", "conversation.created", "number.retired"]
    );
}

#[tokio::test]
async fn a_bus_that_refuses_leaves_the_records_to_the_stream_and_the_next_attempt_publishes() {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    // The bus does not exist yet: the stand-in refuses every PutEvents.
    let name = format!("missing-bus-{}", std::process::id());
    let deps = Deps {
        bus: EventBridge {
            client: events.clone(),
            bus_name: name.clone(),
        },
    };
    let (response, report) = handle(&deps, batch()).await;
    assert_eq!(report.published, 0, "{report:?}");
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    let with_events: Vec<String> = batch()
        .records
        .iter()
        // The route's record means no event, so nothing of it can fail.
        .filter(|r| r.event_id != "c0ffee02")
        .filter_map(|r| r.change.sequence_number.clone())
        .collect();
    assert_eq!(
        failed, with_events,
        "every record with an event is left to the stream"
    );

    // The bus is there now; the stream's next attempt publishes everything, once.
    let queue = subscribe_queue(&events, &sqs, &name, SOURCE, &name)
        .await
        .unwrap();
    let (response, report) = handle(&deps, batch()).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!(report.published, 3);
    assert_eq!(receive(&sqs, &queue, 3).await.len(), 3);
}

fn batch() -> StreamEvent {
    testkit::stream_file("publisher-stream.json")
}

/// The events (EventBridge envelopes) that reach `queue`: read until `expected` have come, in
/// at most ten reads.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    expected: usize,
) -> Vec<serde_json::Value> {
    let mut received = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            received.push(serde_json::from_str(m.body().unwrap()).unwrap());
        }
        if received.len() >= expected {
            break;
        }
    }
    received
}
