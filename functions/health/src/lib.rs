//! The counting consumer of the table's change stream. Number health: each new call event of a
//! callee's leg that says whether they answered is counted once against the proxy number their
//! phone showed, and each number counted is tested against the rest of the pool
//! (`shared::domain::health`). Flagging or clearing a number changes its pool item, which the
//! publisher turns into `number.flagged` or `number.cleared`. The console's overview: each
//! conversation created, text delivered or failed, and creation that found no number is
//! counted once into its day (`shared::domain::overview`). Nothing of this is on the answer
//! path: the webhooks write as before, and this reads it off the stream.

mod settings;

pub use settings::Settings;

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use shared::domain::health::{self, HealthStore};
use shared::domain::overview::{self, Counted};
use shared::error::error_chain;
use shared::model::{Change, CountedCall};
use shared::ports::DayStats;
use shared::store::Store;
use shared::stream::{self, Batch};

pub struct Deps<S = Store> {
    pub store: S,
}

/// What one batch came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub records: usize,
    /// Calls that changed a tally (a record delivered again changes none).
    pub counted: usize,
    /// Changes added to the overview's day counts.
    pub tallied: usize,
    pub flagged: usize,
    pub cleared: usize,
    /// Records to retry: a store failure, or a record that could not be read.
    pub retried: usize,
}

/// Counts the calls of a batch of stream records and tests the numbers they were shown from,
/// and counts the overview's changes into their days; every other change is passed over. When the store fails, every call record of the batch is
/// reported for the stream to retry (partial batch response): counting is idempotent, so what
/// was counted before the failure is not counted twice.
pub async fn handle<S: HealthStore + DayStats>(
    deps: &Deps<S>,
    batch: Batch,
) -> (DynamoDbEventResponse, Report) {
    let now = shared::now();
    let mut report = Report {
        records: batch.records.len(),
        ..Report::default()
    };
    let mut failed: Vec<&EventRecord> = Vec::new();
    let mut calls: Vec<(&EventRecord, CountedCall)> = Vec::new();
    let mut tallies: Vec<(&EventRecord, Counted)> = Vec::new();
    for record in &batch.records {
        match stream::change_of(record) {
            Ok(Some(Change::CallEvent { event, .. })) => {
                if let Some(call) = health::counted(&event) {
                    calls.push((record, call));
                }
            }
            Ok(Some(change)) => {
                if let Some(counter) = overview::counter_of(&change) {
                    tallies.push((
                        record,
                        Counted {
                            change_id: record.event_id.clone(),
                            day: stream::changed_at(record).div_euclid(86_400),
                            counter,
                        },
                    ));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(event_id = %record.event_id, error = %error_chain(&e), "stream record not readable");
                failed.push(record);
            }
        }
    }
    let counted: Vec<CountedCall> = calls.iter().map(|(_, c)| c.clone()).collect();
    match health::observe(&deps.store, &counted, now).await {
        Ok(observed) => {
            report.counted = observed.counted;
            report.flagged = observed.flagged.len();
            report.cleared = observed.cleared.len();
        }
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "calls not counted; the stream retries them");
            failed.extend(calls.iter().map(|(r, _)| *r));
        }
    }
    let counted: Vec<Counted> = tallies.iter().map(|(_, c)| c.clone()).collect();
    match overview::count(&deps.store, &counted).await {
        Ok(n) => report.tallied = n,
        Err(e) => {
            tracing::error!(error = %error_chain(&e), "changes not counted; the stream retries them");
            failed.extend(tallies.iter().map(|(r, _)| *r));
        }
    }
    report.retried = failed.len();
    (stream::retry(failed), report)
}
