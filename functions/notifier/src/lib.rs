//! The notifier: tells each participant of a new conversation, by SMS from their own proxy
//! number, the number that reaches the other one, and tells the callee of a missed call who
//! tried to reach them and the number to call back on. It consumes the table's change stream, so
//! creation answers without waiting on Vonage; an SMS that could not go out is retried with
//! the stream, and each outcome is recorded on the conversation (`notified`), which the
//! publisher turns into `participant.notified` or `participant.notification_failed`.

mod settings;

pub use settings::Settings;

use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use futures::StreamExt;
use shared::config::NotifyConfig;
use shared::domain::notify::{self, Delivery, NotifyStore};
use shared::error::error_chain;
use shared::model::Change;
use shared::model::NotificationStatus;
use shared::ports::SmsSender;
use shared::store::Store;
use shared::stream::{self, Batch};
use shared::vonage::VonageClient;

/// New conversations notified at once in one batch (each sends two SMS together).
pub const CONCURRENCY: usize = 8;

/// The longest pause before a batch with texts to retry is handed back to the stream.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

pub struct Deps<S = Store, V = VonageClient> {
    pub store: S,
    pub vonage: V,
    pub notify: NotifyConfig,
    /// The pause before handing back a batch after a first failed attempt; it doubles with each
    /// further attempt, up to [`MAX_PAUSE`], so an outage is not hammered by the stream's
    /// retries.
    pub pause: Duration,
}

/// What one batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub records: usize,
    /// New conversations whose notifications were handled to the end (sent or failed).
    pub notified: usize,
    /// Records to retry: a notification that may go out later, a store failure, or a record
    /// that could not be read.
    pub retried: usize,
}

/// Notifies the new conversations of a batch of stream records; every other change is passed
/// over. A record whose notifications are not finished is reported for the stream to retry
/// (partial batch response); those that are finished are not texted again when it does.
pub async fn handle<S, V>(deps: &Deps<S, V>, batch: Batch) -> (DynamoDbEventResponse, Report)
where
    S: NotifyStore,
    V: SmsSender,
{
    let now = shared::now();
    let outcomes: Vec<Option<Delivery>> = futures::stream::iter(&batch.records)
        .map(|record| notify_record(deps, record, now))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    let mut report = Report {
        records: batch.records.len(),
        ..Report::default()
    };
    let mut failed = Vec::new();
    let mut attempts = 0;
    for (record, outcome) in batch.records.iter().zip(outcomes) {
        match outcome {
            Some(Delivery::Done) => report.notified += 1,
            Some(Delivery::Retry { attempts: n }) => {
                attempts = attempts.max(n);
                failed.push(record);
            }
            None => {}
        }
    }
    report.retried = failed.len();
    if !failed.is_empty() {
        tokio::time::sleep(pause(deps.pause, attempts)).await;
    }
    (stream::retry(failed), report)
}

/// The pause after `attempts` failed attempts: `base`, doubled for each further one, at most
/// [`MAX_PAUSE`].
pub fn pause(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(MAX_PAUSE)
}

/// `None` for a record that is not a new conversation awaiting its notifications; else what
/// became of them (a record that could not be read or recorded is retried at once).
async fn notify_record<S, V>(deps: &Deps<S, V>, record: &EventRecord, now: i64) -> Option<Delivery>
where
    S: NotifyStore,
    V: SmsSender,
{
    let conversation = match stream::change_of(record) {
        Ok(Some(Change::Conversation {
            old: None,
            new: Some(c),
        })) => c,
        // A notice newly written for a call (not an attempt counted on one already pending).
        Ok(Some(Change::MissedCall {
            old,
            new: Some(notice),
        })) if notice.notification.status == NotificationStatus::Pending
            && old.as_ref().is_none_or(|old| old.call_id != notice.call_id) =>
        {
            let delivered =
                notify::missed_call(&deps.store, &deps.vonage, &notice, &deps.notify, now).await;
            return Some(delivered.unwrap_or_else(|e| {
                tracing::error!(conversation_id = %notice.conversation_id, error = %error_chain(&e), "missed-call SMS not recorded; the stream retries it");
                Delivery::Retry { attempts: 0 }
            }));
        }
        Ok(_) => return None,
        Err(e) => {
            tracing::error!(event_id = %record.event_id, error = %error_chain(&e), "stream record not readable");
            return Some(Delivery::Retry { attempts: 0 });
        }
    };
    let pending = conversation
        .participants
        .iter()
        .any(|p| p.notified() == Some(NotificationStatus::Pending));
    if !pending {
        return None;
    }
    let delivered = notify::deliver(
        &deps.store,
        &deps.vonage,
        &conversation.id,
        &deps.notify,
        now,
    )
    .await;
    Some(delivered.unwrap_or_else(|e| {
        tracing::error!(conversation_id = %conversation.id, error = %error_chain(&e), "notification not recorded; the stream retries it");
        Delivery::Retry { attempts: 0 }
    }))
}
