//! Publishing: from a table write to its event on the bus, over 1,000 events, against the local
//! AWS stand-in (DynamoDB with its change stream, EventBridge, SQS). Pool numbers are added at
//! 100 a second; the stream is read as Lambda polls a shard (four times a second) and handed to
//! the publisher, which puts the events on a bus; a rule delivers them to a queue, and the time
//! each number's `number.added` arrives there, less the time its write returned, is its latency.
//! Prints p50, p99 and the slowest, and writes them as JSON to `PUBLISH_OUT` when set.
//! Needs the local AWS stand-in (`scripts/bench` starts it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use shared::ports::Pool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use publisher::{Deps, EventBridge, handle};
use shared::domain::events::SOURCE;
use shared::model::{NumberState, PoolNumber};
use shared::phone::Msisdn;
use shared::stream::local::{StreamReader, subscribe_queue};
use testkit::{fresh_store, stream_batch};

const EVENTS: usize = 1000;
const WRITE_EVERY: Duration = Duration::from_millis(10);
/// Lambda polls each shard of a DynamoDB stream four times a second.
const POLL_EVERY: Duration = Duration::from_millis(250);

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let store = fresh_store().await;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus = format!("bench-{}", std::process::id());
    let queue = subscribe_queue(&events, &sqs, &bus, SOURCE, &bus)
        .await
        .unwrap();
    let mut reader = StreamReader::open(&config, store.client(), store.table())
        .await
        .unwrap();
    let deps = Deps {
        bus: EventBridge {
            client: events,
            bus_name: bus,
        },
    };

    let written: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let writer = {
        let (store, written) = (store.clone(), written.clone());
        tokio::spawn(async move {
            for i in 0..EVENTS {
                let msisdn = format!("4478{i:08}");
                let number = PoolNumber::new(
                    Msisdn::from_digits(&msisdn).unwrap(),
                    "GB".parse().unwrap(),
                    NumberState::Active,
                    0,
                );
                store.add_number(&number).await.unwrap();
                written.lock().unwrap().insert(msisdn, Instant::now());
                tokio::time::sleep(WRITE_EVERY).await;
            }
        })
    };
    // Time spent reading the stream and publishing, to tell the stand-in's share apart.
    let poller = tokio::spawn(async move {
        let (mut published, mut reading, mut putting) = (0, Duration::ZERO, Duration::ZERO);
        while published < EVENTS {
            let started = Instant::now();
            let records = reader.next(1000).await.unwrap();
            reading += started.elapsed();
            for chunk in records.chunks(100) {
                let started = Instant::now();
                let (response, report) = handle(&deps, stream_batch(chunk.to_vec())).await;
                putting += started.elapsed();
                assert!(response.batch_item_failures.is_empty());
                published += report.published;
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
        (reading, putting)
    });

    let mut latencies = Vec::with_capacity(EVENTS);
    let deadline = Instant::now() + Duration::from_secs(300);
    while latencies.len() < EVENTS && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        let arrived = Instant::now();
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut done = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            let event: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let number = event["detail"]["proxy_number"].as_str().unwrap();
            let at = written.lock().unwrap()[number];
            latencies.push(arrived.duration_since(at));
            done.push(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap())
                    .build()
                    .unwrap(),
            );
        }
        if !done.is_empty() {
            sqs.delete_message_batch()
                .queue_url(&queue)
                .set_entries(Some(done))
                .send()
                .await
                .unwrap();
        }
    }
    writer.await.unwrap();
    let (reading, putting) = poller.await.unwrap();
    assert_eq!(latencies.len(), EVENTS, "every event arrived");
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at =
        |q: f64| ms(latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]);
    let figures = serde_json::json!({
        "events": latencies.len(),
        "p50_ms": at(0.50),
        "p99_ms": at(0.99),
        "max_ms": ms(*latencies.last().unwrap()),
        "poll_ms": POLL_EVERY.as_millis(),
        "stream_read_ms_per_event": ms(reading) / EVENTS as f64,
        "publish_ms_per_event": ms(putting) / EVENTS as f64,
    });
    println!("publish: {figures}");
    if let Ok(path) = std::env::var("PUBLISH_OUT") {
        std::fs::write(path, figures.to_string()).unwrap();
    }
}
