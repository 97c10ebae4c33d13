//! The product's rules, with no HTTP in them: creating and closing conversations, assigning
//! proxy numbers, renting numbers, the texts participants are sent, the call log and the SMS
//! relay. Use cases take the ports they need (`crate::ports`) and return domain results and
//! errors of their own; `problem` turns those into HTTP answers, in one place.

pub mod answer;
pub mod assign;
pub mod calls;
pub mod connect;
pub mod conversation;
pub mod delivery;
pub mod error;
pub mod events;
pub mod health;
pub mod hooks;
pub mod notify;
pub mod numbers;
pub mod overview;
pub mod relay;
pub mod rent;

/// How long a conversation's records are kept after it ends (`RETENTION_DAYS`), read by
/// `config`.
pub use crate::config::Retention;
