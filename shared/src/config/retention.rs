//! How long a conversation's records are kept after it ends (`RETENTION_DAYS`).

use super::{ConfigError, Source, number};

/// How long a conversation's records (its call log, messages, texts' delivery states, the pairs
/// it gave back) are kept after it ends: `RETENTION_DAYS`, 30 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub seconds: i64,
}

impl Retention {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            seconds: number::<i64>(src, "RETENTION_DAYS", 30)? * 24 * 3600,
        })
    }

    /// Until when a record of something that ends at `end` is kept, seen at `now`: an end
    /// already past counts from now.
    pub fn until(self, end: i64, now: i64) -> i64 {
        end.max(now) + self.seconds
    }
}
