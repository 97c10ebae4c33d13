//! The product's rules, with no HTTP in them: creating and closing conversations, assigning
//! proxy numbers, renting numbers, the texts participants are sent, the call log and the SMS
//! relay. Use cases take the ports they need (`crate::ports`) and return domain results and
//! errors of their own; `problem` turns those into HTTP answers, in one place.

pub mod assign;
pub mod calls;
pub mod conversation;
pub mod delivery;
pub mod error;
pub mod events;
pub mod hooks;
pub mod notify;
pub mod numbers;
pub mod relay;
pub mod rent;

/// How long a conversation's records (its call log, messages, the pairs it gave back) are kept
/// after it ends (`RETENTION_SECONDS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub seconds: i64,
}

impl Retention {
    /// Until when a record of something that ends at `end` is kept, seen at `now`: an end
    /// already past counts from now.
    pub fn until(self, end: i64, now: i64) -> i64 {
        end.max(now) + self.seconds
    }
}
