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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Exhaustion, SentText};

    fn text(state: DeliveryState) -> Option<SentText> {
        Some(SentText {
            id: "m1".into(),
            owner: None,
            state,
            reason: None,
            error_code: None,
        })
    }

    #[test]
    fn a_text_counts_when_it_first_reaches_a_final_state() {
        use DeliveryState::{Delivered, Failed, Submitted};
        let change = |old, new| Change::Text { old, new };
        assert_eq!(counter_of(&change(None, text(Submitted))), None);
        assert_eq!(
            counter_of(&change(text(Submitted), text(Delivered))),
            Some(DayCounter::TextsDelivered)
        );
        assert_eq!(
            counter_of(&change(None, text(Failed))),
            Some(DayCounter::TextsFailed),
            "a receipt before the send is recorded"
        );
        assert_eq!(counter_of(&change(text(Delivered), text(Delivered))), None);
        assert_eq!(
            counter_of(&Change::PoolExhausted(Exhaustion {
                country: "GB".parse().unwrap(),
                index: 0,
                at_ms: 1,
            })),
            Some(DayCounter::Exhausted)
        );
    }
}
