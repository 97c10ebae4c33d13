//! The EventBridge adapter against the local AWS stand-in (moto): a stream batch published to
//! a bus reaches a queue subscribed with a rule on `source` = `voice-proxy`, each event once,
//! with its detail-type and detail as published.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use publisher::{Deps, EventBridge, handle};
use shared::domain::events::SOURCE;
use shared::stream::local::subscribe_queue;

#[tokio::test]
async fn a_batch_reaches_a_queue_subscribed_to_the_bus() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test");
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&config)
            .endpoint_url(&endpoint)
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&config)
            .endpoint_url(&endpoint)
            .build(),
    );
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
    let path = format!(
        "{}/../../events/publisher-stream.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let batch: StreamEvent = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (response, report) = handle(&deps, batch).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    assert_eq!(report.published, 3);

    let mut received = Vec::new();
    for _ in 0..10 {
        let out = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            let envelope: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(envelope["source"], "voice-proxy");
            received.push((
                envelope["detail-type"].as_str().unwrap().to_owned(),
                envelope["detail"]["event_id"].as_str().unwrap().to_owned(),
            ));
        }
        if received.len() >= 3 {
            break;
        }
    }
    received.sort();
    let types: Vec<&str> = received.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        ["call.answered", "conversation.created", "number.retired"]
    );
}
