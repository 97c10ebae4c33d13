//! The console overview's day counts, read off the change stream by the counting consumer
//! (`functions/health`): conversations created, texts delivered and failed, and creations that
//! found no number. Calls connected and missed are number health's pool tally of the day.

use crate::model::{Change, DayCounter, DeliveryState, StoreError};
use crate::ports::DayStats;

/// The counter a change adds one to, if any.
pub fn counter_of(change: &Change) -> Option<DayCounter> {
    match change {
        Change::Conversation {
            old: None,
            new: Some(_),
        } => Some(DayCounter::Conversations),
        Change::PoolExhausted(_) => Some(DayCounter::Exhausted),
        // A text's state only moves forward: it is counted when it first reaches a final one.
        Change::Text {
            old,
            new: Some(new),
        } => {
            let before = old.as_ref().map(|t| t.state);
            match new.state {
                state if before == Some(state) => None,
                DeliveryState::Delivered => Some(DayCounter::TextsDelivered),
                DeliveryState::Failed => Some(DayCounter::TextsFailed),
                DeliveryState::Submitted => None,
            }
        }
        _ => None,
    }
}

/// One change to count: the stream record's id (the same when it is delivered again), its day
/// (days since the epoch, UTC) and its counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub change_id: String,
    pub day: i64,
    pub counter: DayCounter,
}

/// Counts each change once; how many were new.
pub async fn count<S: DayStats>(store: &S, changes: &[Counted]) -> Result<usize, StoreError> {
    let mut new = 0;
    for c in changes {
        if store.count_once(&c.change_id, c.day, c.counter).await? {
            new += 1;
        }
    }
    Ok(new)
}
