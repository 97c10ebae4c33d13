//! The expiry sweep, run every minute by an EventBridge schedule: closes every conversation
//! whose `expires_at` has passed, through the same path as `DELETE /conversations/{id}`.
//! It finds them through the `expiry` index (never a scan), does a bounded amount of work per
//! run, stops before the Lambda deadline, and leaves the rest (and anything that failed) to the
//! next run, which finds them still in the index.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use shared::model::{CloseReason, Conversation};
use shared::problem::error_chain;
use shared::store::{CloseOutcome, EXPIRY_SHARDS, Store};
use shared::vonage::VonageClient;

pub struct Deps {
    pub store: Store,
    pub retention_seconds: i64,
    /// Most conversations closed in one run.
    pub max_per_run: usize,
    /// Closes run this many at a time.
    pub concurrency: usize,
    /// Stop starting work this long before the deadline.
    pub safety_margin: Duration,
    /// When set, each participant is told by SMS that the conversation has ended.
    pub notify: Option<Notify>,
}

pub struct Notify {
    pub vonage: VonageClient,
    /// `{other}` is the other participant's label.
    pub template: String,
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
pub async fn handle(
    deps: &Deps,
    event: lambda_runtime::LambdaEvent<ScheduledEvent>,
) -> Result<SweepReport, lambda_runtime::Error> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let left = Duration::from_millis(event.context.deadline.saturating_sub(now_ms));
    tracing::info!(schedule_event = %event.payload.id, time = %event.payload.time, "expiry sweep");
    let report = sweep(deps, shared::now(), Instant::now() + left).await;
    tracing::info!(?report, "expiry sweep done");
    Ok(report)
}

/// Closes what has expired at `now`, until done, `max_per_run`, or `deadline - safety_margin`.
pub async fn sweep(deps: &Deps, now: i64, deadline: Instant) -> SweepReport {
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
async fn close(deps: &Deps, id: String, now: i64) -> Result<bool, ()> {
    match deps
        .store
        .close_conversation(&id, CloseReason::Expired, now, now + deps.retention_seconds)
        .await
    {
        Ok(Some(CloseOutcome::Closed(c))) => {
            tracing::info!(conversation_id = %id, "conversation expired and closed");
            if let Some(notify) = &deps.notify {
                tell_participants(notify, &c).await;
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

async fn tell_participants(notify: &Notify, c: &Conversation) {
    let [a, b] = &c.participants;
    for (me, other) in [(a, b), (b, a)] {
        let text = notify.template.replace("{other}", other.display_name());
        if let Err(e) = notify
            .vonage
            .send_sms(&me.proxy_number, &me.number, &text, Some(&c.id))
            .await
        {
            tracing::warn!(conversation_id = %c.id, error = %error_chain(&e), "end-of-conversation SMS not sent");
        }
    }
}
