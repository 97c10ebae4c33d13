//! The domain's errors, one per use case that can fail in more ways than the store can.

use crate::error::error_chain;
use crate::model::StoreError;
use crate::phone::NCCO_PHONE_DIGITS;
use crate::values::Country;
use crate::vonage::VonageError;

/// Why a conversation was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("participants[{index}].number was refused by the number check ({status}: {message})")]
    NotValid {
        index: usize,
        status: String,
        message: String,
    },
    #[error(
        "participants[{index}].number has {digits} digits; calls can be connected only to numbers of {} to {} digits",
        NCCO_PHONE_DIGITS.start(),
        NCCO_PHONE_DIGITS.end()
    )]
    NotCallable { index: usize, digits: usize },
    #[error("both participants have the same number")]
    SameParticipant,
    #[error("participants[{0}].number is one of this service's proxy numbers")]
    ProxyNumber(usize),
    /// No number for participant `index` (in `country`); `detail` says why, for the API.
    #[error("{detail}")]
    PoolExhausted {
        index: usize,
        country: Country,
        detail: String,
    },
    #[error(
        "participants[{0}].quiet_hours need a time zone: give participants[{0}].time_zone (the number check did not tell one)"
    )]
    NoTimeZone(usize),
    #[error("another request with this reference is in progress; try again")]
    ReferenceBusy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Number Insight failed: {}", error_chain(.0))]
    Vonage(#[from] VonageError),
}

/// Why a conversation was not opened again.
#[derive(Debug, thiserror::Error)]
pub enum ReopenError {
    #[error("no conversation with this id")]
    NotFound,
    #[error("the conversation closed longer ago than its retention; create a new one")]
    PastRetention,
    #[error(
        "participants[{index}] is in another open conversation on the proxy number {proxy} (their pair is taken)"
    )]
    PairTaken { index: usize, proxy: String },
    #[error(
        "participants[{index}]'s pair on the proxy number {proxy} is cooling off from a conversation with someone else"
    )]
    CoolingOff { index: usize, proxy: String },
    #[error("another open conversation holds this conversation's reference")]
    ReferenceTaken,
    #[error(
        "participants[{index}]'s access code was given to another open conversation on the proxy number {proxy}"
    )]
    CodeTaken { index: usize, proxy: String },
    #[error("the proxy number {0} is no longer in use (retired or reserved)")]
    NumberUnavailable(String),
    #[error("the conversation kept changing; try again")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}
