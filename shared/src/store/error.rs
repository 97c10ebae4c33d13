//! What can go wrong in the store: unavailable (worth a retry), corrupt items, bad cursors,
//! and the conflicts a creation's transaction reports.

use super::*;

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

impl From<serde_dynamo::Error> for WriteError {
    fn from(e: serde_dynamo::Error) -> Self {
        Self::Store(e.into())
    }
}
