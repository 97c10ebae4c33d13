//! What can go wrong in the store: unavailable (worth a retry), corrupt items, bad cursors,
//! and the conflicts a creation's transaction reports.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB request failed")]
    Dynamo(#[source] Box<aws_sdk_dynamodb::Error>),
    /// The store could not answer in time or asked us to slow down, after the SDK's bounded
    /// retries: the same request may well succeed a moment later.
    #[error("DynamoDB is unavailable ({kind})")]
    Unavailable {
        kind: Unavailable,
        #[source]
        source: Box<aws_sdk_dynamodb::Error>,
    },
    #[error("an item in the table could not be read")]
    Corrupt(#[source] serde_dynamo::Error),
    #[error("the pagination cursor is not valid")]
    InvalidCursor,
    #[error("the item kept changing while it was being written")]
    Contended,
}

/// Why the store was unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No answer within the time budget.
    Timeout,
    /// Throttled (request rate or provisioned throughput).
    Throttled,
    /// Another transaction held the same items.
    Conflict,
    /// The connection failed or was dropped.
    Unreachable,
    /// DynamoDB reported an internal error.
    ServerError,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Timeout => "timed out",
            Self::Throttled => "throttled",
            Self::Conflict => "transaction conflict",
            Self::Unreachable => "connection failed",
            Self::ServerError => "internal server error",
        })
    }
}

impl StoreError {
    /// Keys a batch read left unprocessed after its retries: the store counts as throttled.
    pub(super) fn unprocessed() -> Self {
        let throttled =
            aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException::builder()
                .message("keys left unprocessed by BatchGetItem")
                .build();
        Self::Unavailable {
            kind: Unavailable::Throttled,
            source: Box::new(
                aws_sdk_dynamodb::Error::ProvisionedThroughputExceededException(throttled),
            ),
        }
    }

    /// The store was busy or unreachable, or the item kept changing: worth trying again later,
    /// nothing wrong with the request.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Contended)
    }
}

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
{
    fn from(e: SdkError<E, R>) -> Self {
        match unavailable(&e) {
            Some(kind) => Self::Unavailable {
                kind,
                source: Box::new(e.into()),
            },
            None => Self::Dynamo(Box::new(e.into())),
        }
    }
}

/// Reads an SDK error as the store being unavailable, where it is.
pub(super) fn unavailable<E, R>(e: &SdkError<E, R>) -> Option<Unavailable>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    match e {
        SdkError::TimeoutError(_) => Some(Unavailable::Timeout),
        SdkError::DispatchFailure(d) if d.is_timeout() => Some(Unavailable::Timeout),
        // Refused, reset or closed before the answer: anything but our own request being wrong.
        SdkError::DispatchFailure(d) if !d.is_user() => Some(Unavailable::Unreachable),
        SdkError::ResponseError(_) => Some(Unavailable::Unreachable),
        SdkError::ServiceError(s) => match s.err().code()? {
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded" => Some(Unavailable::Throttled),
            "InternalServerError" | "ServiceUnavailable" => Some(Unavailable::ServerError),
            "TransactionConflictException" | "TransactionInProgressException" => {
                Some(Unavailable::Conflict)
            }
            _ => None,
        },
        _ => None,
    }
}

impl From<serde_dynamo::Error> for StoreError {
    fn from(e: serde_dynamo::Error) -> Self {
        Self::Corrupt(e)
    }
}

/// Why a conversation could not be written; each names what to try differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateConflict {
    /// Participant `index` already has an active conversation on their proposed proxy number.
    RouteTaken(usize),
    /// Participant `index` gave their proposed proxy number back less than the cool-off ago,
    /// from a conversation with someone else.
    CoolingOff(usize),
    /// Participant `index`'s access code is another open conversation's on the same proxy
    /// number.
    CodeTaken(usize),
    /// This pool number was retired or reserved meanwhile.
    NumberUnavailable(Msisdn),
    /// Another conversation holds the same `reference`.
    ReferenceTaken,
    /// Another transaction touched the same items; the same write may succeed if tried again.
    Contention,
    /// The conversation's item is there already. Its id is new to this request, so this is the
    /// request's own write, applied by an attempt whose answer was lost: it is created.
    AlreadyWritten,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("conflict: {0:?}")]
    Conflict(CreateConflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<serde_dynamo::Error> for WriteError {
    fn from(e: serde_dynamo::Error) -> Self {
        Self::Store(e.into())
    }
}
