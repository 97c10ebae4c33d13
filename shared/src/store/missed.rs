//! Missed calls a callee is to be told of: one notice per caller and conversation, written at
//! most once in each quiet interval (a conditional write, so parallel events of the same call or
//! of calls close together write one), and its SMS's outcome recorded once.

use super::*;
use crate::model::{MissedCallNotice, Notification};

#[derive(Serialize, Deserialize)]
pub(super) struct MissedCallItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) notice: MissedCallNotice,
    /// Unix seconds: no other notice for this caller before then.
    pub(super) quiet_until: i64,
    pub(super) ttl: i64,
}

/// The item of `notice`, quiet until `quiet_until` and kept a day longer.
pub(super) fn missed_call_item(
    notice: &MissedCallNotice,
    quiet_until: i64,
) -> Result<Item, StoreError> {
    let (pk, sk) = keys::missed_call(&notice.conversation_id, notice.caller_index);
    Ok(to_item(MissedCallItem {
        pk,
        sk,
        notice: notice.clone(),
        quiet_until,
        ttl: quiet_until + 24 * 3600,
    })?)
}

impl MissedCalls for Store {
    /// Writes `notice` (pending) unless one for the same caller and conversation is still in
    /// its quiet interval: `false` then, and nothing is written. The notice is kept until
    /// `quiet_until` at least.
    async fn claim_missed_call(
        &self,
        notice: &MissedCallNotice,
        quiet_until: i64,
    ) -> Result<bool, StoreError> {
        let item = missed_call_item(notice, quiet_until)?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR quiet_until <= :now")
            .expression_attribute_values(":now", n(notice.at))
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    /// Records how the SMS of the notice for call `call_id` ended, if it is still pending:
    /// `false` when it was recorded before (a redelivered change) or a later notice replaced it.
    async fn finish_missed_call(
        &self,
        notice: &MissedCallNotice,
        outcome: &Notification,
    ) -> Result<bool, StoreError> {
        let value = AttributeValue::M(serde_dynamo::to_item(outcome)?);
        let out = self
            .update_pending_notice(notice)
            .update_expression("SET notification = :n")
            .expression_attribute_values(":n", value)
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    /// Counts a failed attempt at the pending SMS of the notice for call `call_id`: the
    /// attempts so far, or `None` when it is no longer pending.
    async fn count_missed_call_attempt(
        &self,
        notice: &MissedCallNotice,
    ) -> Result<Option<u32>, StoreError> {
        let out = self
            .update_pending_notice(notice)
            .update_expression("SET notification.attempts = notification.attempts + :one")
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let Some(out) = condition_held(out)? else {
            return Ok(None);
        };
        let item: MissedCallItem = from_item(out.attributes.unwrap_or_default())?;
        Ok(Some(item.notice.notification.attempts))
    }

    /// The latest missed-call notice for `caller_index`'s calls in a conversation.
    async fn missed_call(
        &self,
        id: &ConversationId,
        caller_index: u8,
    ) -> Result<Option<MissedCallNotice>, StoreError> {
        Ok(self
            .get::<MissedCallItem>(keys::missed_call(id, caller_index))
            .await?
            .map(|i| i.notice))
    }
}

impl Store {
    /// An update of `notice`'s item on condition that it is still the notice of the same call
    /// with its SMS pending.
    fn update_pending_notice(
        &self,
        notice: &MissedCallNotice,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::missed_call(
                &notice.conversation_id,
                notice.caller_index,
            ))))
            .condition_expression("notification.#status = :pending AND call_id = :call")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":call", s(notice.call_id.as_str()))
    }
}
