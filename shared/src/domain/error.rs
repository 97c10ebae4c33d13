//! The domain's errors, one per use case that can fail in more ways than the store can.

use crate::error::error_chain;
use crate::phone::NCCO_PHONE_DIGITS;
use crate::store::StoreError;
use crate::values::Country;
use crate::vonage::VonageError;

/// Why a conversation was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(
        "participants[{index}].number was refused by Number Insight (status {status}: {message})"
    )]
    NotValid {
        index: usize,
        status: i64,
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
    #[error("another request with this reference is in progress; try again")]
    ReferenceBusy,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Number Insight failed: {}", error_chain(.0))]
    Vonage(#[from] VonageError),
}
