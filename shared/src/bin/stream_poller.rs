//! The local stand-in for Lambda's DynamoDB event source mappings (`scripts/dev`): reads the
//! local table's change stream and hands each function the batches Lambda would, through
//! `cargo lambda watch`'s invoke endpoint, retrying from the earliest record a function reports
//! as failed (partial batch response). It also subscribes a queue to the event bus and appends
//! every event that reaches it to a file, one JSON line each, as a marketplace consumer sees it,
//! and plays the stack's rules on the bus: an event of a detail-type a function takes (a
//! `DETAIL_TYPE=FUNCTION` argument, such as `number.flagged=replace`) is handed to it as the
//! rule's target gets it.
//!
//! `stream-poller TABLE INVOKE_URL EVENTS_LOG FUNCTION|DETAIL_TYPE=FUNCTION...`; the bus is
//! `EVENT_BUS_NAME`.

use std::io::Write;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event as Batch, EventRecord};
use shared::stream::local::{StreamReader, subscribe_queue};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Records handed to a function at once, as the template's mappings are set.
const BATCH_SIZE: usize = 100;

/// One function's place in the stream: records not yet taken, oldest first.
struct Consumer {
    name: String,
    pending: Vec<EventRecord>,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [table, invoke_url, events_log, functions @ ..] = args.as_slice() else {
        return Err(
            "usage: stream-poller TABLE INVOKE_URL EVENTS_LOG FUNCTION|DETAIL_TYPE=FUNCTION..."
                .into(),
        );
    };
    let (rules, functions): (Vec<&String>, Vec<&String>) =
        functions.iter().partition(|f| f.contains('='));
    let rules: Vec<(&str, &str)> = rules.iter().filter_map(|r| r.split_once('=')).collect();
    let bus = std::env::var("EVENT_BUS_NAME").map_err(|_| "EVENT_BUS_NAME is not set")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = subscribe_queue(&events, &sqs, &bus, "voice-proxy", "local-events-log").await?;
    let mut reader = StreamReader::open(&config, &dynamodb, table).await?;
    let http = reqwest::Client::new();
    let mut consumers: Vec<Consumer> = functions
        .iter()
        .map(|name| Consumer {
            name: (*name).clone(),
            pending: Vec::new(),
        })
        .collect();
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(events_log)?;
    println!("stream-poller: {table} → {functions:?}; events in {events_log}, and to {rules:?}");
    loop {
        match reader.next(1000).await {
            Ok(records) => {
                for c in &mut consumers {
                    c.pending.extend(records.iter().cloned());
                }
            }
            Err(e) => eprintln!("stream-poller: reading the stream failed: {e}"),
        }
        for c in &mut consumers {
            if !c.pending.is_empty()
                && let Err(e) = deliver(&http, invoke_url, c).await
            {
                eprintln!("stream-poller: {} not invoked ({e}); retrying", c.name);
            }
        }
        if let Err(e) = drain(&sqs, &queue, &mut log, &http, invoke_url, &rules).await {
            eprintln!("stream-poller: reading the events queue failed: {e}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Hands `c` its next batch; what it reports as failed (and everything after it) stays pending.
async fn deliver(http: &reqwest::Client, invoke_url: &str, c: &mut Consumer) -> Result<(), Error> {
    let take = c.pending.len().min(BATCH_SIZE);
    let mut batch = Batch::default();
    batch.records = c.pending[..take].to_vec();
    let url = format!(
        "{}/2015-03-31/functions/{}/invocations",
        invoke_url.trim_end_matches('/'),
        c.name
    );
    let response = http.post(url).json(&batch).send().await?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()).into());
    }
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    // Lambda resumes from the earliest failure, as a shard's checkpoint does.
    let resume = batch
        .records
        .iter()
        .position(|r| {
            r.change
                .sequence_number
                .as_deref()
                .is_some_and(|s| failed.contains(&s))
        })
        .unwrap_or(take);
    c.pending.drain(..resume);
    if resume < take {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(())
}

/// Hands `event` to each function whose rule takes its detail-type. Lambda invokes a rule's
/// target asynchronously and tries a failed invocation twice more; so does this, then says so
/// (where the stack would dead-letter it).
async fn play_rules(http: &reqwest::Client, invoke_url: &str, rules: &[(&str, &str)], event: &str) {
    let detail_type = serde_json::from_str::<serde_json::Value>(event)
        .ok()
        .and_then(|e| e["detail-type"].as_str().map(str::to_owned));
    let Some(detail_type) = detail_type else {
        return;
    };
    for (_, function) in rules.iter().filter(|(d, _)| *d == detail_type) {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            invoke_url.trim_end_matches('/')
        );
        let mut last = String::new();
        for _ in 0..3 {
            match http
                .post(&url)
                .header("content-type", "application/json")
                .body(event.to_owned())
                .send()
                .await
            {
                // A function's error is a 200 with this header from Lambda's invoke API.
                Ok(r)
                    if r.status().is_success()
                        && !r.headers().contains_key("x-amz-function-error") =>
                {
                    last.clear();
                    break;
                }
                Ok(r) => {
                    last = format!(
                        "HTTP {}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )
                }
                Err(e) => last = e.to_string(),
            }
        }
        if !last.is_empty() {
            eprintln!("stream-poller: {detail_type} not handled by {function} ({last})");
        }
    }
}

/// Appends every event waiting in the subscribed queue to the log, one line each, and hands
/// each to the function its detail-type's rule names, if any.
async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    log: &mut std::fs::File,
    http: &reqwest::Client,
    invoke_url: &str,
    rules: &[(&str, &str)],
) -> Result<(), Error> {
    loop {
        let out = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(());
        }
        for m in messages {
            if let Some(body) = m.body() {
                writeln!(log, "{body}")?;
                play_rules(http, invoke_url, rules, body).await;
            }
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await?;
            }
        }
        log.flush()?;
    }
}
