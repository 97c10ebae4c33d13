//! The DynamoDB store: one table, every item type keyed by `pk`/`sk` (see docs/table-design.md).
//! Writes that must hold the product's invariants are conditional or transactional.

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
    CallEvent, CallRef, CloseOutcome, Closing, CodeFailures, CodeGuess, Conversation,
    ConversationStatus, CreateConflict, Exhaustion, ExpiredPage, ExpiryCursor, FreedPair,
    GuessSpent, Holdings, HookDecision, ListFilter, MessagePart, Page, PendingNumber, PoolNumber,
    RelayedMessage, RemoveOutcome, Route, Sharing, StoreError, Unavailable, WriteError,
};
use crate::phone::Msisdn;
use crate::ports::*;
use crate::values::{ConversationId, Reference};

mod calls;
mod changes;
mod codes;
mod conversations;
mod cursor;
mod dynamo;
mod error;
mod expiry;
mod health;
mod hooks;
mod insight;
mod items;
pub mod keys;
mod leases;
mod missed;
mod notifications;
mod pool;
mod reveals;
mod routes;
mod sms;
mod stats;
mod texts;

use cursor::*;
use dynamo::*;
use items::*;

pub use changes::{call_event_image, conversation_image, missed_call_image, read_change};
pub use texts::ORPHAN_SECONDS;

pub const INDEX_EXPIRY: &str = "expiry";
pub const INDEX_PARTICIPANT: &str = "participant";
pub const INDEX_COLLECTION: &str = "collection";

/// Active conversations are spread over this many expiry-index partitions.
pub const EXPIRY_SHARDS: u32 = 4;

type Item = HashMap<String, AttributeValue>;

/// The DynamoDB-backed store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
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
}
