//! The expiry sweep, run every minute by an EventBridge schedule: closes every conversation
//! whose `expires_at` has passed, through the same path as `DELETE /conversations/{id}`.
//! It finds them through the `expiry` index (never a scan), does a bounded amount of work per
//! run, stops before the Lambda deadline, and leaves the rest (and anything that failed) to the
//! next run, which finds them still in the index.

mod settings;

pub use settings::Settings;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use shared::config::Texts;
use shared::config::texts::Key;
use shared::domain::conversation::{self, ClosePolicy};
use shared::domain::notify;
use shared::error::error_chain;
use shared::model::CloseOutcome;
use shared::model::CloseReason;
use shared::ports::{Conversations, ExpiryIndex, SmsSender};
use shared::store::{EXPIRY_SHARDS, Store};
use shared::values::ConversationId;
use shared::vonage::VonageClient;

/// What the sweep needs: the expiry index and conversations (`Store` in the stack, an in-memory
/// fake in handler tests), and an SMS sender when participants are told.
pub struct Deps<S = Store, V = VonageClient> {
    pub store: S,
    /// Retention and cool-off, as `DELETE` closes with.
    pub closing: ClosePolicy,
    /// Most conversations closed in one run.
    pub max_per_run: usize,
    /// Closes run this many at a time.
    pub concurrency: usize,
    /// Stop starting work this long before the deadline.
    pub safety_margin: Duration,
    /// When set, each participant is told by SMS that the conversation has ended.
    pub notify: Option<Notify<V>>,
}

pub struct Notify<V = VonageClient> {
    pub vonage: V,
    /// `{other}` is the other participant's label: the default language's text.
    pub template: String,
    /// The text in each language the catalogue has (`expiry_sms`).
    pub texts: Texts,
}

/// The EventBridge scheduled event that starts a run (its fields are only logged).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduledEvent {
    #[serde(default)]
    pub id: String,
    #[serde(default, rename = "detail-type")]
    pub detail_type: String,
    #[serde(default)]
    pub time: String,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub closed: usize,
    /// Already closed by someone else (a `DELETE` in between).
    pub already_closed: usize,
    pub failed: usize,
    /// Expiry-index entries read.
    pub read: i64,
    /// Work was left for the next run (the per-run bound or the deadline).
    pub stopped_early: bool,
}

/// One scheduled run: a sweep at the current time that stops `safety_margin` before the
/// invocation's deadline, and its report (which is also the invocation's result).
pub async fn handle<S: Conversations + ExpiryIndex, V: SmsSender>(
    deps: &Deps<S, V>,
    event: lambda_runtime::LambdaEvent<ScheduledEvent>,
) -> Result<SweepReport, lambda_runtime::Error> {
    let left = shared::runtime::time_left(event.context.deadline);
    tracing::info!(schedule_event = %event.payload.id, time = %event.payload.time, "expiry sweep");
    let report = sweep(deps, shared::now(), Instant::now() + left).await;
    tracing::info!(?report, "expiry sweep done");
    Ok(report)
}

/// Closes what has expired at `now`, until done, `max_per_run`, or `deadline - safety_margin`.
pub async fn sweep<S, V>(deps: &Deps<S, V>, now: i64, deadline: Instant) -> SweepReport
where
    S: Conversations + ExpiryIndex,
    V: SmsSender,
{
    let mut report = SweepReport::default();
    'shards: for shard in 0..EXPIRY_SHARDS {
        let mut start = None;
        loop {
            let budget = deps
                .max_per_run
                .saturating_sub(report.closed + report.already_closed + report.failed);
            if budget == 0 || Instant::now() + deps.safety_margin >= deadline {
                report.stopped_early = true;
                break 'shards;
            }
            let page = match deps
                .store
                .expired(shard, now, budget.min(250) as i32, start)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(shard, error = %error_chain(&e), "expiry query failed");
                    report.failed += 1;
                    continue 'shards;
                }
            };
            report.read += i64::from(page.read);
            let outcomes: Vec<_> = futures::stream::iter(page.ids)
                .map(|id| close(deps, id, now))
                .buffer_unordered(deps.concurrency.max(1))
                .collect()
                .await;
            for outcome in outcomes {
                match outcome {
                    Ok(true) => report.closed += 1,
                    Ok(false) => report.already_closed += 1,
                    Err(()) => report.failed += 1,
                }
            }
            start = page.next;
            if start.is_none() {
                break;
            }
        }
    }
    report
}

/// `Ok(true)` when this run closed it.
async fn close<S: Conversations, V: SmsSender>(
    deps: &Deps<S, V>,
    id: ConversationId,
    now: i64,
) -> Result<bool, ()> {
    match conversation::close(&deps.store, &id, CloseReason::Expired, now, deps.closing).await {
        Ok(Some(CloseOutcome::Closed(c))) => {
            tracing::info!(conversation_id = %id, "conversation expired and closed");
            if let Some(n) = &deps.notify {
                notify::tell_both(
                    &n.vonage,
                    &c,
                    (&n.texts, Key::ExpirySms, &n.template),
                    "end-of-conversation SMS not sent",
                )
                .await;
            }
            Ok(true)
        }
        Ok(Some(CloseOutcome::AlreadyClosed(_)) | None) => Ok(false),
        Err(e) => {
            tracing::error!(conversation_id = %id, error = %error_chain(&e), "closing an expired conversation failed; the next run retries");
            Err(())
        }
    }
}
