//! The publisher: consumes the table's change stream (DynamoDB Streams, new and old images) and
//! puts the event catalogue's events on the stack's EventBridge bus. Events come from the
//! changes themselves, so a state change and its event cannot disagree, and no request path
//! waits on publishing. EventBridge delivers to subscribers with its own retries; the stream
//! retries what could not be put (a bounded number of times, then the dead-letter queue).

mod settings;

pub use settings::Settings;

use std::future::Future;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use shared::domain::events::{self, Event, SOURCE};
use shared::error::error_chain;
use shared::stream::{self, Batch};

/// EventBridge takes at most this many entries in one `PutEvents`.
pub const PUT_EVENTS_MAX: usize = 10;

/// Where events go: `true` for each event the bus took, in order.
pub trait Bus: Send + Sync {
    fn put(&self, events: &[Event]) -> impl Future<Output = Result<Vec<bool>, BusError>> + Send;
}

#[derive(Debug, thiserror::Error)]
#[error("the event bus did not take the events: {0}")]
pub struct BusError(pub String);

/// The stack's EventBridge bus.
pub struct EventBridge {
    pub client: aws_sdk_eventbridge::Client,
    pub bus_name: String,
}

impl Bus for EventBridge {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, BusError> {
        let entries = events
            .iter()
            .map(|e| {
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(SOURCE)
                    .detail_type(e.detail_type)
                    .detail(e.detail.to_string())
                    .build()
            })
            .collect();
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| BusError(error_chain(&e)))?;
        let mut taken: Vec<bool> = out
            .entries()
            .iter()
            .map(|r| r.error_code().is_none() && r.event_id().is_some())
            .collect();
        // An answer without one result per entry proves nothing for the missing ones.
        taken.resize(events.len(), false);
        Ok(taken)
    }
}

pub struct Deps<B = EventBridge> {
    pub bus: B,
}

/// What one batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub records: usize,
    pub published: usize,
    /// Records whose events were not all taken (or that could not be read): retried by the
    /// stream from the earliest of them.
    pub failed: usize,
}

/// Publishes a batch of stream records. Records that could not be read or whose events were
/// not all taken are reported as failures (partial batch response), so the stream retries
/// from the earliest of them; the rest is not published again. Each event's `event_id` comes
/// from its record's `eventID`, so a redelivered record publishes the same ids.
pub async fn handle<B: Bus>(deps: &Deps<B>, batch: Batch) -> (DynamoDbEventResponse, Report) {
    let mut report = Report {
        records: batch.records.len(),
        ..Report::default()
    };
    let mut failed: Vec<&EventRecord> = Vec::new();
    let mut pending: Vec<(usize, Event)> = Vec::new();
    for (i, record) in batch.records.iter().enumerate() {
        match events_of(record) {
            Ok(events) => pending.extend(events.into_iter().map(|e| (i, e))),
            Err(e) => {
                tracing::error!(event_id = %record.event_id, error = %error_chain(&e), "stream record not readable");
                failed.push(record);
            }
        }
    }
    let mut refused = vec![false; batch.records.len()];
    for chunk in pending.chunks(PUT_EVENTS_MAX) {
        let events: Vec<Event> = chunk.iter().map(|(_, e)| e.clone()).collect();
        let taken = match deps.bus.put(&events).await {
            Ok(taken) => taken,
            Err(e) => {
                tracing::error!(error = %e, "events not published; the stream retries them");
                vec![false; events.len()]
            }
        };
        for ((record, event), ok) in chunk.iter().zip(taken) {
            if ok {
                report.published += 1;
            } else {
                tracing::warn!(event_id = %event.event_id(), detail_type = event.detail_type, "event not taken by the bus");
                refused[*record] = true;
            }
        }
    }
    failed.extend(
        batch
            .records
            .iter()
            .zip(&refused)
            .filter(|(_, refused)| **refused)
            .map(|(r, _)| r),
    );
    report.failed = failed.len();
    let count = |name, n: usize| {
        shared::telemetry::metric(name, n as f64, shared::telemetry::Unit::Count, &[]);
    };
    count("EventsPublished", report.published);
    count("EventsFailed", pending.len() - report.published);
    (stream::retry(failed), report)
}

/// The events one stream record means.
fn events_of(record: &EventRecord) -> Result<Vec<Event>, shared::model::StoreError> {
    Ok(stream::change_of(record)?
        .map(|c| events::derive(&c, &record.event_id, stream::changed_at(record)))
        .unwrap_or_default())
}
