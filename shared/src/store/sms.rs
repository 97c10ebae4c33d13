//! Texts: which inbound messages were handled (Vonage retries for 24 hours), the parts of
//! concatenated messages, opt-outs, and each relayed message's record in its conversation.

use serde::{Deserialize, Serialize};

use super::*;
use crate::phone::Msisdn;

/// Vonage gives up retrying an inbound SMS after 24 hours; claims are kept a little longer.
const CLAIM_SECONDS: i64 = 25 * 3600;

#[derive(Serialize, Deserialize)]
struct PartItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    part: MessagePart,
    ttl: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct MessageItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) message: RelayedMessage,
    pub(super) ttl: i64,
}

impl SmsLedger for Store {
    /// Claims an inbound message id; `false` when it was claimed before (a retry).
    async fn claim_message(&self, message_id: &str, now: i64) -> Result<bool, StoreError> {
        self.put_if_absent(keys::message_claim(message_id), now + CLAIM_SECONDS)
            .await
    }

    /// Gives a claim back (the message could not be relayed; Vonage's retry may try again).
    async fn release_message(&self, message_id: &str) -> Result<(), StoreError> {
        self.delete(keys::message_claim(message_id)).await
    }

    /// Keeps one part of a concatenated message and returns every part of it so far, in order.
    async fn put_part(
        &self,
        sender: &Msisdn,
        reference: &str,
        part: &MessagePart,
        now: i64,
    ) -> Result<Vec<MessagePart>, StoreError> {
        let (pk, sk) = keys::message_part(sender, reference, part.part);
        self.put(PartItem {
            pk: pk.clone(),
            sk,
            part: part.clone(),
            ttl: now + CLAIM_SECONDS,
        })
        .await?;
        let parts: Vec<PartItem> = self.query_prefix(pk, "PART#").await?;
        Ok(parts.into_iter().map(|p| p.part).collect())
    }

    /// Claims the relay of a whole concatenated message; `false` when another part's delivery
    /// already did.
    async fn claim_whole(
        &self,
        sender: &Msisdn,
        reference: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.put_if_absent(keys::message_whole(sender, reference), now + CLAIM_SECONDS)
            .await
    }

    async fn release_whole(&self, sender: &Msisdn, reference: &str) -> Result<(), StoreError> {
        self.delete(keys::message_whole(sender, reference)).await
    }

    /// Records that `participant` opted out of texts from `proxy`; `false` if they had already.
    async fn opt_out(
        &self,
        participant: &Msisdn,
        proxy: &Msisdn,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut item = key(keys::opt_out(participant, proxy));
        item.insert("since".into(), n(now));
        self.insert(item).await
    }

    /// Lifts an opt-out; `false` if there was none.
    async fn opt_in(&self, participant: &Msisdn, proxy: &Msisdn) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::opt_out(participant, proxy))))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    async fn opted_out(&self, participant: &Msisdn, proxy: &Msisdn) -> Result<bool, StoreError> {
        let found: Option<serde::de::IgnoredAny> =
            self.get(keys::opt_out(participant, proxy)).await?;
        Ok(found.is_some())
    }

    /// Adds a relayed message to its conversation's log, kept until `retain_until`.
    async fn record_message(
        &self,
        conversation_id: &ConversationId,
        message: &RelayedMessage,
        retain_until: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::message(conversation_id, message.at, &message.message_id);
        self.put(MessageItem {
            pk,
            sk,
            message: message.clone(),
            ttl: retain_until,
        })
        .await
    }

    /// A conversation's relayed messages, oldest first.
    async fn messages(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<RelayedMessage>, StoreError> {
        let (pk, _) = keys::conversation(conversation_id);
        let items: Vec<MessageItem> = self.query_prefix(pk, "SMS#").await?;
        Ok(items.into_iter().map(|i| i.message).collect())
    }
}

impl Store {
    async fn put_if_absent(&self, k: (String, String), ttl: i64) -> Result<bool, StoreError> {
        let mut item = key(k);
        item.insert("ttl".into(), n(ttl));
        self.insert(item).await
    }
}
