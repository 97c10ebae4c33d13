//! The DynamoDB store: one table, every item type keyed by `pk`/`sk` (see the README's table
//! design). Writes that must hold the product's invariants are conditional or transactional.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use crate::model::{
    CallEvent, CloseReason, Conversation, ConversationStatus, ExpiryMode, FreedPair, PoolNumber,
    Route,
};
use crate::phone::Msisdn;

mod numbers;
mod sms;
pub use numbers::{Holdings, RemoveOutcome};
pub use sms::{MessagePart, RelayedMessage};

pub const INDEX_EXPIRY: &str = "expiry";
pub const INDEX_PARTICIPANT: &str = "participant";
pub const INDEX_COLLECTION: &str = "collection";

/// Active conversations are spread over this many expiry-index partitions.
pub const EXPIRY_SHARDS: u32 = 4;

type Item = HashMap<String, AttributeValue>;

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
fn unavailable<E, R>(e: &SdkError<E, R>) -> Option<Unavailable>
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
    /// This pool number was retired or reserved meanwhile.
    NumberUnavailable(Msisdn),
    /// Another conversation holds the same `reference`.
    ReferenceTaken,
    /// Another transaction touched the same items; the same write may succeed if tried again.
    Contention,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("conflict: {0:?}")]
    Conflict(CreateConflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<serde_dynamo::Error> for CreateError {
    fn from(e: serde_dynamo::Error) -> Self {
        Self::Store(e.into())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    /// This call closed it.
    Closed(Conversation),
    /// It was closed before.
    AlreadyClosed(Conversation),
}

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<ConversationStatus>,
    pub participant: Option<Msisdn>,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Item shapes. Keys and index attributes live beside the record's own fields.
// ---------------------------------------------------------------------------------------------

#[derive(Serialize, Deserialize)]
struct ConversationItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    conversation: Conversation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    gsi3pk: String,
    gsi3sk: String,
}

#[derive(Serialize, Deserialize)]
struct RouteItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    route: Route,
    gsi2pk: String,
    gsi2sk: String,
}

/// One per participant per conversation, kept after close, so a participant's conversations can
/// be listed without a scan.
#[derive(Serialize, Deserialize)]
struct MemberItem {
    pk: String,
    sk: String,
    conversation_id: String,
    status: ConversationStatus,
    gsi2pk: String,
    gsi2sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct NumberItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    number: PoolNumber,
    gsi3pk: String,
    gsi3sk: String,
}

#[derive(Serialize, Deserialize)]
struct ReferenceItem {
    pk: String,
    sk: String,
    conversation_id: String,
}

#[derive(Serialize, Deserialize)]
struct CallRefItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    call: CallRef,
    ttl: i64,
}

#[derive(Serialize, Deserialize)]
struct CallEventItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    event: CallEvent,
    ttl: i64,
}

/// Which conversation a Vonage call (`conversation_uuid`) belongs to, and who placed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRef {
    pub conversation_id: String,
    pub caller_index: u8,
}

/// What one expiry query found: conversation ids past their expiry, how many index entries it
/// read, and where to go on.
#[derive(Debug, Clone, Default)]
pub struct ExpiredPage {
    pub ids: Vec<String>,
    pub read: i32,
    pub next: Option<Item>,
}

pub mod keys {
    use crate::phone::Msisdn;

    pub fn conversation(id: &str) -> (String, String) {
        (format!("CONV#{id}"), "CONV".into())
    }
    pub fn member(id: &str, index: usize) -> (String, String) {
        (format!("CONV#{id}"), format!("MEMBER#{index}"))
    }
    pub fn route(proxy: &Msisdn, caller: &Msisdn) -> (String, String) {
        (
            format!("ROUTE#{}#{}", proxy.as_str(), caller.as_str()),
            "ROUTE".into(),
        )
    }
    pub fn number(msisdn: &Msisdn) -> (String, String) {
        (format!("NUMBER#{}", msisdn.as_str()), "NUMBER".into())
    }
    pub fn reference(reference: &str) -> (String, String) {
        (format!("REF#{reference}"), "REF".into())
    }
    pub fn call_ref(call_id: &str) -> (String, String) {
        (format!("CALLREF#{call_id}"), "CALLREF".into())
    }
    pub fn call_event(id: &str, call_id: &str, leg: &str, status: &str) -> (String, String) {
        (
            format!("CONV#{id}"),
            format!("CALL#{call_id}#{leg}#{status}"),
        )
    }
    pub fn participant(number: &Msisdn) -> String {
        format!("PART#{}", number.as_str())
    }
    pub fn freed(proxy: &Msisdn, participant: &Msisdn) -> (String, String) {
        (
            format!("FREED#{}#{}", proxy.as_str(), participant.as_str()),
            "FREED".into(),
        )
    }
    pub fn pending(msisdn: &Msisdn) -> (String, String) {
        (format!("PENDING#{}", msisdn.as_str()), "PENDING".into())
    }
    pub fn lease(name: &str) -> (String, String) {
        (format!("LEASE#{name}"), "LEASE".into())
    }
    pub const POOL: &str = "POOL";
    pub const PENDING: &str = "PENDING";
    pub const CONVERSATIONS: &str = "CONVS";
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key((pk, sk): (String, String)) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn expiry_shard(id: &str) -> u32 {
    // FNV-1a: stable across releases, unlike std's hasher.
    let hash = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % EXPIRY_SHARDS
}

fn expiry_sort_key(expires_at: i64, id: &str) -> String {
    format!("{expires_at:012}#{id}")
}

fn created_sort_key(c: &Conversation) -> String {
    format!("{:012}#{}", c.created_at, c.id)
}

fn conversation_item(c: &Conversation) -> Result<Item, StoreError> {
    let open = c.status != ConversationStatus::Closed;
    let (pk, sk) = keys::conversation(&c.id);
    Ok(to_item(ConversationItem {
        pk,
        sk,
        conversation: c.clone(),
        gsi1pk: open.then(|| format!("EXP#{}", expiry_shard(&c.id))),
        gsi1sk: open.then(|| expiry_sort_key(c.expires_at, &c.id)),
        gsi3pk: keys::CONVERSATIONS.into(),
        gsi3sk: created_sort_key(c),
    })?)
}

fn build<T, E: std::fmt::Debug>(r: Result<T, E>) -> T {
    // The SDK's builders fail only when a required field is missing, which the code below
    // always sets; a failure here is a programming error caught by the store tests.
    #[allow(clippy::expect_used)]
    r.expect("DynamoDB request builder is missing a required field")
}

/// How long a (proxy number, participant) pair given back by a closed conversation stays out
/// of new conversations with anyone else, unless configured otherwise.
pub const DEFAULT_COOL_OFF_SECONDS: i64 = 600;

/// The DynamoDB-backed store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    cool_off_seconds: i64,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            cool_off_seconds: DEFAULT_COOL_OFF_SECONDS,
        }
    }

    /// Sets the cool-off that closing a conversation puts on its pairs.
    pub fn with_cool_off(mut self, seconds: i64) -> Self {
        self.cool_off_seconds = seconds.max(0);
        self
    }

    /// A client from the standard AWS configuration chain (`AWS_ENDPOINT_URL_DYNAMODB` and
    /// friends) within `budget`, with no request made at start-up.
    pub async fn from_env(table: impl Into<String>, budget: &crate::config::AwsBudget) -> Self {
        let config = crate::aws::sdk_config(budget).await;
        Self::new(Client::new(&config), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One item, read strongly consistently, as `T`.
    async fn get<T: serde::de::DeserializeOwned>(
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
    async fn insert(&self, item: Item) -> Result<bool, StoreError> {
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
    async fn put(&self, item: impl Serialize) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)?))
            .send()
            .await?;
        Ok(())
    }

    async fn delete(&self, k: (String, String)) -> Result<(), StoreError> {
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
    async fn query_prefix<T: serde::de::DeserializeOwned>(
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
    async fn collection<T: serde::de::DeserializeOwned>(
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

    // ---- routes -----------------------------------------------------------------------------

    /// The route an inbound call to `proxy` from `caller` takes: one strongly consistent GetItem.
    #[tracing::instrument(skip_all, fields(proxy = %proxy.masked(), caller = %caller.masked()))]
    pub async fn get_route(
        &self,
        proxy: &Msisdn,
        caller: &Msisdn,
    ) -> Result<Option<Route>, StoreError> {
        Ok(self
            .get::<RouteItem>(keys::route(proxy, caller))
            .await?
            .map(|i| i.route))
    }

    // ---- pool -------------------------------------------------------------------------------

    /// Adds a number to the pool; `Ok(false)` when it is there already.
    pub async fn add_number(&self, number: &PoolNumber) -> Result<bool, StoreError> {
        self.insert(numbers::number_item(number)?).await
    }

    pub async fn get_number(&self, msisdn: &Msisdn) -> Result<Option<PoolNumber>, StoreError> {
        Ok(self
            .get::<NumberItem>(keys::number(msisdn))
            .await?
            .map(|i| i.number))
    }

    /// Every number in the pool, by country.
    pub async fn list_pool(&self) -> Result<Vec<PoolNumber>, StoreError> {
        let numbers: Vec<NumberItem> = self.collection(keys::POOL).await?;
        Ok(numbers.into_iter().map(|n| n.number).collect())
    }

    // ---- conversations ----------------------------------------------------------------------

    pub async fn get_conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .get::<ConversationItem>(keys::conversation(id))
            .await?
            .map(|i| i.conversation))
    }

    /// The conversation that holds `reference`, while it is not closed.
    pub async fn find_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let Some(r) = self
            .get::<ReferenceItem>(keys::reference(reference))
            .await?
        else {
            return Ok(None);
        };
        self.get_conversation(&r.conversation_id).await
    }

    /// Writes a new conversation with its two routes, its members, its reference and the pool's
    /// usage counts in one transaction. Each route is written only if that (proxy number,
    /// participant) pair is free, each proxy number only if it is still active, and the
    /// reference only if no other conversation holds it: rule 2 holds under any concurrency.
    #[tracing::instrument(skip_all, fields(conversation_id = %c.id))]
    pub async fn create_conversation(&self, c: &Conversation) -> Result<(), CreateError> {
        let mut items = Vec::with_capacity(8);
        // What each transaction item stands for, to read the cancellation reasons by position.
        let mut meaning = Vec::with_capacity(8);

        items.push(put_new(&self.table, conversation_item(c)?));
        meaning.push(None);
        for (index, route) in c.routes().iter().enumerate() {
            let (pk, sk) = keys::route(&route.proxy_number, &route.caller);
            let item = to_item(RouteItem {
                pk,
                sk,
                route: route.clone(),
                gsi2pk: keys::participant(&route.caller),
                gsi2sk: format!("ROUTE#{}", route.proxy_number.as_str()),
            })?;
            items.push(put_new(&self.table, item));
            meaning.push(Some(CreateConflict::RouteTaken(index)));
        }
        // A pair given back by a closed conversation is cooling off, except for the same
        // counterpart (a late call-back then still reaches the right person).
        for (index, route) in c.routes().iter().enumerate() {
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::freed(&route.proxy_number, &route.caller))))
                .condition_expression(
                    "attribute_not_exists(pk) OR free_at <= :now OR counterpart = :other",
                )
                .expression_attribute_values(":now", n(c.created_at))
                .expression_attribute_values(":other", s(route.callee.as_str()));
            items.push(
                TransactWriteItem::builder()
                    .condition_check(build(check.build()))
                    .build(),
            );
            meaning.push(Some(CreateConflict::CoolingOff(index)));
        }
        for (index, p) in c.participants.iter().enumerate() {
            let (pk, sk) = keys::member(&c.id, index);
            let item = to_item(MemberItem {
                pk,
                sk,
                conversation_id: c.id.clone(),
                status: c.status,
                gsi2pk: keys::participant(&p.number),
                gsi2sk: format!("CONV#{}", created_sort_key(c)),
                ttl: None,
            })?;
            items.push(put_new(&self.table, item));
            meaning.push(None);
        }
        if let Some(reference) = &c.reference {
            let (pk, sk) = keys::reference(reference);
            let item = to_item(ReferenceItem {
                pk,
                sk,
                conversation_id: c.id.clone(),
            })?;
            items.push(put_new(&self.table, item));
            meaning.push(Some(CreateConflict::ReferenceTaken));
        }
        for (msisdn, uses) in usage(c) {
            items.push(usage_update(&self.table, &msisdn, uses));
            meaning.push(Some(CreateConflict::NumberUnavailable(msisdn)));
        }

        // The token makes the SDK's own retry of this request idempotent: if a first attempt
        // was applied but its answer lost, the retry succeeds instead of failing its conditions.
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => match cancellation(&e, &meaning) {
                Some(conflict) => Err(CreateError::Conflict(conflict)),
                None => Err(tx_error(e).into()),
            },
        }
    }

    /// Closes a conversation: status `closed`, its routes and reference deleted, members marked,
    /// pool counts decremented, all in one transaction conditioned on it being open. Closing a
    /// closed conversation changes nothing. `retain_until` (unix seconds) becomes the items'
    /// DynamoDB TTL. `None` when there is no such conversation.
    #[tracing::instrument(skip(self, reason, now, retain_until))]
    pub async fn close_conversation(
        &self,
        id: &str,
        reason: CloseReason,
        now: i64,
        retain_until: i64,
    ) -> Result<Option<CloseOutcome>, StoreError> {
        for _ in 0..5 {
            let Some(current) = self.get_conversation(id).await? else {
                return Ok(None);
            };
            if current.status == ConversationStatus::Closed {
                return Ok(Some(CloseOutcome::AlreadyClosed(current)));
            }
            let mut closed = current.clone();
            closed.status = ConversationStatus::Closed;
            closed.closed_at = Some(now);
            closed.close_reason = Some(reason);

            let mut items = Vec::with_capacity(8);
            let mut conv_item = conversation_item(&closed)?;
            conv_item.insert("ttl".into(), n(retain_until));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(conv_item))
                .condition_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(current.status.as_str()));
            items.push(tx_put(put));
            for route in current.routes() {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::route(&route.proxy_number, &route.caller))))
                    .condition_expression("attribute_not_exists(pk) OR conversation_id = :id")
                    .expression_attribute_values(":id", s(id));
                items.push(tx_delete(delete));
                let freed = numbers::FreedItem::new(
                    FreedPair {
                        proxy_number: route.proxy_number.clone(),
                        participant: route.caller.clone(),
                        counterpart: route.callee.clone(),
                        conversation_id: id.to_owned(),
                        free_at: now + self.cool_off_seconds,
                    },
                    retain_until,
                );
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(freed)?));
                items.push(tx_put(put));
            }
            for index in 0..current.participants.len() {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::member(id, index))))
                    .update_expression("SET #status = :closed, #ttl = :ttl")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":closed", s("closed"))
                    .expression_attribute_values(":ttl", n(retain_until));
                items.push(tx_update(update));
            }
            if let Some(reference) = &current.reference {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::reference(reference))))
                    .condition_expression("attribute_not_exists(pk) OR conversation_id = :id")
                    .expression_attribute_values(":id", s(id));
                items.push(tx_delete(delete));
            }
            for (msisdn, uses) in usage(&current) {
                items.push(usage_update(&self.table, &msisdn, -uses));
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match out {
                Ok(_) => {
                    // A conversation nobody called has no call log to stamp.
                    if current.last_activity.is_some() {
                        self.stamp_call_log(id, retain_until).await;
                    }
                    return Ok(Some(CloseOutcome::Closed(closed)));
                }
                // Someone else changed it (closed it, or moved it to in-progress): read again.
                Err(e) if cancellation(&e, &[]).is_some() => continue,
                Err(e) => return Err(tx_error(e)),
            }
        }
        // Five changes in a row under our feet: report the state as it now stands.
        match self.get_conversation(id).await? {
            Some(c) if c.status == ConversationStatus::Closed => {
                Ok(Some(CloseOutcome::AlreadyClosed(c)))
            }
            Some(_) => Err(StoreError::Contended),
            None => Ok(None),
        }
    }

    /// Writes conversations and their routes as they stand, without conditions, members, pool
    /// counts or references: for loading large test tables quickly. Never used by the product.
    #[cfg(feature = "local")]
    pub async fn load_unchecked(&self, conversations: &[Conversation]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut requests = Vec::with_capacity(conversations.len() * 3);
        for c in conversations {
            requests.push(conversation_item(c)?);
            for route in c.routes() {
                let (pk, sk) = keys::route(&route.proxy_number, &route.caller);
                requests.push(to_item(RouteItem {
                    pk,
                    sk,
                    gsi2pk: keys::participant(&route.caller),
                    gsi2sk: format!("ROUTE#{}", route.proxy_number.as_str()),
                    route,
                })?);
            }
        }
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = build(PutRequest::builder().set_item(Some(item.clone())).build());
                    WriteRequest::builder().put_request(put).build()
                })
                .collect();
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    // ---- calls ------------------------------------------------------------------------------

    pub async fn get_call_ref(&self, call_id: &str) -> Result<Option<CallRef>, StoreError> {
        Ok(self
            .get::<CallRefItem>(keys::call_ref(call_id))
            .await?
            .map(|i| i.call))
    }

    /// Remembers which conversation a call belongs to, so its later events find it even after
    /// the conversation's routes are gone.
    pub async fn put_call_ref(
        &self,
        call_id: &str,
        call: &CallRef,
        ttl: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::call_ref(call_id);
        self.put(CallRefItem {
            pk,
            sk,
            call: call.clone(),
            ttl,
        })
        .await
    }

    /// Keeps one call-status event. The same event again overwrites itself: one record.
    #[tracing::instrument(skip_all, fields(conversation_id = %conversation_id, status = %event.status))]
    pub async fn record_call_event(
        &self,
        conversation_id: &str,
        event: &CallEvent,
        ttl: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::call_event(conversation_id, &event.call_id, &event.leg, &event.status);
        self.put(CallEventItem {
            pk,
            sk,
            event: event.clone(),
            ttl,
        })
        .await
    }

    /// Every call event kept on a conversation.
    pub async fn call_events(&self, conversation_id: &str) -> Result<Vec<CallEvent>, StoreError> {
        let (pk, _) = keys::conversation(conversation_id);
        let events: Vec<CallEventItem> = self.query_prefix(pk, "CALL#").await?;
        Ok(events.into_iter().map(|e| e.event).collect())
    }

    /// Records a call's activity at `at` (unix seconds) on its conversation: `last_activity`
    /// moves forward, the first answered call moves it from `active` to `in-progress`, and a
    /// sliding conversation's expiry moves to `at + ttl_seconds` (never back, and at most once
    /// a minute). Each step is conditional, so repeats and races change nothing twice, and a
    /// closed conversation is never touched.
    pub async fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::conversation(&c.id))))
            .update_expression("SET last_activity = :at")
            .condition_expression(
                "attribute_exists(pk) AND #status <> :closed AND (attribute_not_exists(last_activity) OR last_activity < :at)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":closed", s("closed"))
            .send()
            .await;
        // A failed condition means "already done" or "no longer applies" here.
        condition_held(out)?;

        if answered && c.status == ConversationStatus::Active {
            let mut items = vec![status_update(
                &self.table,
                keys::conversation(&c.id),
                ConversationStatus::InProgress,
                ConversationStatus::Active,
            )];
            for index in 0..c.participants.len() {
                items.push(status_update(
                    &self.table,
                    keys::member(&c.id, index),
                    ConversationStatus::InProgress,
                    ConversationStatus::Active,
                ));
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            ignore_cancelled(out)?;
        }

        let pushed = at + c.ttl_seconds;
        if c.expiry_mode == ExpiryMode::Sliding
            && c.status != ConversationStatus::Closed
            && pushed >= c.expires_at + 60
        {
            let conv = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::conversation(&c.id))))
                .update_expression("SET expires_at = :e, gsi1sk = :sk")
                .condition_expression("#status <> :closed AND expires_at < :e")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":e", n(pushed))
                .expression_attribute_values(":sk", s(expiry_sort_key(pushed, &c.id)))
                .expression_attribute_values(":closed", s("closed"));
            let mut items = vec![tx_update(conv)];
            for route in c.routes() {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::route(&route.proxy_number, &route.caller))))
                    .update_expression("SET expires_at = :e")
                    .condition_expression("conversation_id = :id")
                    .expression_attribute_values(":e", n(pushed))
                    .expression_attribute_values(":id", s(&c.id));
                items.push(tx_update(update));
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            ignore_cancelled(out)?;
        }
        Ok(())
    }

    /// Gives a closed conversation's call log the conversation's retention. Best effort: each
    /// event was written with a TTL already, so a failure here only keeps it a little longer.
    async fn stamp_call_log(&self, id: &str, retain_until: i64) {
        let events = match self.call_events(id).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(conversation_id = %id, error = %crate::error::error_chain(&e), "call log retention not updated");
                return;
            }
        };
        for e in events {
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::call_event(
                    id, &e.call_id, &e.leg, &e.status,
                ))))
                .update_expression("SET #ttl = :ttl")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":ttl", n(retain_until))
                .send()
                .await;
            if let Err(e) = out {
                tracing::warn!(conversation_id = %id, error = %crate::error::error_chain(&e), "call log retention not updated");
                return;
            }
        }
    }

    // ---- expiry -----------------------------------------------------------------------------

    /// Open conversations in one expiry shard whose `expires_at` is at or before `now`, oldest
    /// first. Reads only index entries that are past their expiry: the work follows what has
    /// expired, not the size of the table.
    pub async fn expired(
        &self,
        shard: u32,
        now: i64,
        limit: i32,
        start: Option<Item>,
    ) -> Result<ExpiredPage, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_EXPIRY)
            .key_condition_expression("gsi1pk = :shard AND gsi1sk < :bound")
            .expression_attribute_values(":shard", s(format!("EXP#{shard}")))
            .expression_attribute_values(":bound", s(format!("{:012}", now + 1)))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let ids = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| {
                i.get("pk")?
                    .as_s()
                    .ok()?
                    .strip_prefix("CONV#")
                    .map(str::to_owned)
            })
            .collect();
        Ok(ExpiredPage {
            ids,
            read: out.scanned_count,
            next: out.last_evaluated_key,
        })
    }

    /// Conversations, newest first, by status and/or participant.
    pub async fn list_conversations(
        &self,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, StoreError> {
        let start = cursor.map(decode_cursor).transpose()?;
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start);
        query = match &filter.participant {
            Some(p) => query
                .index_name(INDEX_PARTICIPANT)
                .key_condition_expression("gsi2pk = :p AND begins_with(gsi2sk, :c)")
                .expression_attribute_values(":p", s(keys::participant(p)))
                .expression_attribute_values(":c", s("CONV#")),
            None => query
                .index_name(INDEX_COLLECTION)
                .key_condition_expression("gsi3pk = :p")
                .expression_attribute_values(":p", s(keys::CONVERSATIONS)),
        };
        if let Some(status) = filter.status {
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let out = query.send().await?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            if filter.participant.is_some() {
                let member: MemberItem = from_item(item)?;
                if let Some(c) = self.get_conversation(&member.conversation_id).await? {
                    items.push(c);
                }
            } else {
                items.push(from_item::<_, ConversationItem>(item)?.conversation);
            }
        }
        let next_cursor = out.last_evaluated_key.map(|k| encode_cursor(&k));
        Ok(Page { items, next_cursor })
    }
}

fn status_update(
    table: &str,
    k: (String, String),
    to: ConversationStatus,
    from: ConversationStatus,
) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(k)))
        .update_expression("SET #status = :to")
        .condition_expression("#status = :from")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", s(to.as_str()))
        .expression_attribute_values(":from", s(from.as_str()));
    tx_update(update)
}

/// A conditional single-item write: `Some` of its output when the condition held, `None` when
/// it failed; any other error is an error.
fn condition_held<T, E, R>(out: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
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

fn ignore_cancelled<T, R>(
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
    match out {
        Ok(_) => Ok(()),
        Err(e) if condition_failed(&e) => Ok(()),
        Err(e) => Err(tx_error(e)),
    }
}

/// Every item a query finds, page after page.
async fn query_items(
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
async fn query_all<T: serde::de::DeserializeOwned>(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<T>, StoreError> {
    Ok(query_items(query)
        .await?
        .into_iter()
        .map(from_item)
        .collect::<Result<_, _>>()?)
}

fn tx_put(put: aws_sdk_dynamodb::types::builders::PutBuilder) -> TransactWriteItem {
    TransactWriteItem::builder().put(build(put.build())).build()
}

fn tx_update(update: aws_sdk_dynamodb::types::builders::UpdateBuilder) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(build(update.build()))
        .build()
}

fn tx_delete(delete: aws_sdk_dynamodb::types::builders::DeleteBuilder) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(build(delete.build()))
        .build()
}

/// Moves a pool number's usage count by `delta` routes. Taking a number on (`delta > 0`) needs
/// it still `active`; giving it back needs only that it exists.
fn usage_update(table: &str, msisdn: &Msisdn, delta: i64) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::number(msisdn))))
        .update_expression("ADD active_count :d")
        .expression_attribute_values(":d", n(delta));
    let update = if delta > 0 {
        update
            .condition_expression("#state = :active")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":active", s("active"))
    } else {
        update.condition_expression("attribute_exists(pk)")
    };
    tx_update(update)
}

fn put_new(table: &str, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)");
    tx_put(put)
}

/// How many routes of `c` use each proxy number (a number may serve both participants).
fn usage(c: &Conversation) -> Vec<(Msisdn, i64)> {
    let mut counts: Vec<(Msisdn, i64)> = Vec::with_capacity(2);
    for p in &c.participants {
        match counts.iter_mut().find(|(m, _)| *m == p.proxy_number) {
            Some((_, k)) => *k += 1,
            None => counts.push((p.proxy_number.clone(), 1)),
        }
    }
    counts
}

/// Reads a cancelled transaction: the first item whose condition failed, as its meaning, or
/// `Contention` for a conflict with another transaction (the same write may succeed if tried
/// again). `None` for any other error, throttling included: see [`tx_error`].
fn cancellation<R>(
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
fn condition_failed<R>(
    e: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError as E;
    matches!(e.as_service_error(), Some(E::TransactionCanceledException(t))
        if t.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed")))
}

/// A failed transaction as a store error: one cancelled because DynamoDB throttled one of its
/// items never ran, and is the store being unavailable.
fn tx_error<R>(
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

fn encode_cursor(k: &Item) -> String {
    let plain: HashMap<&str, &str> = k
        .iter()
        .filter_map(|(name, v)| v.as_s().ok().map(|v| (name.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    const ALLOWED: [&str; 6] = ["pk", "sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"];
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let plain: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if plain.is_empty() || plain.keys().any(|k| !ALLOWED.contains(&k.as_str())) {
        return Err(StoreError::InvalidCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}
