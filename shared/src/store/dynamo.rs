//! DynamoDB helpers every access pattern uses: attribute values, single-item reads and writes,
//! queries, transaction items, and reading a cancelled transaction.

use super::*;

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

pub(super) fn build<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    // The SDK's builders fail only when a required field is missing, which the code below
    // always sets; a failure here is a programming error caught by the store tests.
    #[allow(clippy::expect_used)]
    r.expect("DynamoDB request builder is missing a required field")
}

/// How often a batch read is sent for keys DynamoDB left unprocessed (a throttled partition),
/// the first time included, after a short pause each; still unprocessed, the store counts as
/// throttled.
const UNPROCESSED_ROUNDS: u32 = 3;

impl Store {
    /// The items `wanted` names that exist, in one `BatchGetItem` (at most 100 keys), sent again
    /// for keys left unprocessed [`UNPROCESSED_ROUNDS`] times in all.
    pub(super) async fn batch_get(
        &self,
        wanted: aws_sdk_dynamodb::types::KeysAndAttributes,
    ) -> Result<Vec<Item>, StoreError> {
        let mut pending = HashMap::from([(self.table.clone(), wanted)]);
        let mut found = Vec::new();
        for round in 0..UNPROCESSED_ROUNDS {
            if pending.is_empty() {
                break;
            }
            if round > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(25 << round)).await;
            }
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(pending))
                .send()
                .await?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            pending = out.unprocessed_keys.unwrap_or_default();
        }
        if pending.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::unprocessed())
        }
    }

    /// One item, read strongly consistently, as `T`.
    pub(super) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        k: (String, String),
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(k)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(out.item.map(from_item).transpose()?)
    }

    /// Writes an item unless one with its key is there: `false` then, and nothing changes.
    pub(super) async fn insert(&self, item: Item) -> Result<bool, StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    /// Writes an item as it stands, replacing any with its key.
    pub(super) async fn put(&self, item: impl Serialize) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)?))
            .send()
            .await?;
        Ok(())
    }

    pub(super) async fn delete(&self, k: (String, String)) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(k)))
            .send()
            .await?;
        Ok(())
    }

    /// The items of partition `pk` whose sort key starts with `prefix`, in order, read strongly
    /// consistently.
    pub(super) async fn query_prefix<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        query_all(query).await
    }

    /// Every item of one partition of the `collection` index (`POOL`, `PENDING`).
    pub(super) async fn collection<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Vec<T>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_COLLECTION)
            .key_condition_expression("gsi3pk = :p")
            .expression_attribute_values(":p", s(name));
        query_all(query).await
    }
}

/// A conditional single-item write: `Some` of its output when the condition held, `None` when
/// it failed; any other error is an error.
pub(super) fn condition_held<T, E, R>(
    out: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
    aws_sdk_dynamodb::Error: From<SdkError<E, R>>,
{
    match out {
        Ok(o) => Ok(Some(o)),
        Err(e)
            if e.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) fn ignore_cancelled<T, R>(
    out: Result<
        T,
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    >,
) -> Result<(), StoreError>
where
    aws_sdk_dynamodb::Error: From<
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    >,
{
    applied(out).map(|_| ())
}

/// `true` when a transaction was written, `false` when one of its conditions failed.
pub(super) fn applied<T, R>(
    out: Result<
        T,
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    >,
) -> Result<bool, StoreError>
where
    aws_sdk_dynamodb::Error: From<
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    >,
{
    match out {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(tx_error(e)),
    }
}

/// Every item a query finds, page after page.
pub(super) async fn query_items(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::new();
    let mut start = None;
    loop {
        let out = query.clone().set_exclusive_start_key(start).send().await?;
        found.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(found);
        }
    }
}

/// Every item a query finds, as `T`.
pub(super) async fn query_all<T: serde::de::DeserializeOwned>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<T>, StoreError> {
    Ok(query_items(query)
        .await?
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?)
}

pub(super) fn tx_put(put: aws_sdk_dynamodb::types::builders::PutBuilder) -> TransactWriteItem {
    TransactWriteItem::builder().put(build(put.build())).build()
}

pub(super) fn tx_update(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(build(update.build()))
        .build()
}

pub(super) fn tx_delete(
    delete: aws_sdk_dynamodb::types::builders::DeleteBuilder,
) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(build(delete.build()))
        .build()
}

pub(super) fn put_new(table: &str, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)");
    tx_put(put)
}

/// Reads a cancelled transaction: the first item whose condition failed, as its meaning, or
/// `Contention` for a conflict with another transaction (the same write may succeed if tried
/// again). `None` for any other error, throttling included: see [`tx_error`].
pub(super) fn cancellation<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    meaning: &[Option<CreateConflict>],
) -> Option<CreateConflict> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    match e.as_service_error()? {
        E::TransactionCanceledException(t) => {
            let reasons = t.cancellation_reasons();
            if let Some(i) = reasons
                .iter()
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                return Some(
                    meaning
                        .get(i)
                        .cloned()
                        .flatten()
                        .unwrap_or(CreateConflict::Contention),
                );
            }
            reasons
                .iter()
                .any(|r| r.code() == Some("TransactionConflict"))
                .then_some(CreateConflict::Contention)
        }
        E::TransactionInProgressException(_) => Some(CreateConflict::Contention),
        _ => None,
    }
}

/// Whether a transaction was cancelled because one of its conditions failed (rather than for a
/// conflict or throttling, after which it is worth trying again).
pub(super) fn condition_failed<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    matches!(e.as_service_error(), Some(E::TransactionCanceledException(t))
        if t.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed")))
}

/// A failed transaction as a store error: one cancelled because DynamoDB throttled one of its
/// items never ran, and is the store being unavailable.
pub(super) fn tx_error<R>(
    e: SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> StoreError
where
    aws_sdk_dynamodb::Error: From<
        SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
    >,
{
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    let throttled = match e.as_service_error() {
        Some(E::TransactionCanceledException(t)) => t.cancellation_reasons().iter().any(|r| {
            matches!(
                r.code(),
                Some("ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded")
            )
        }),
        _ => false,
    };
    if throttled {
        StoreError::Unavailable {
            kind: Unavailable::Throttled,
            source: Box::new(e.into()),
        }
    } else {
        e.into()
    }
}
