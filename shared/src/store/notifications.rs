//! Participants' notification SMS: each one's outcome recorded on the conversation item, once.

use super::*;
use crate::model::Notification;

/// `participants[index].notification`, for update expressions.
fn path(index: usize) -> String {
    format!("participants[{}].notification", index.min(1))
}

impl Notifications for Store {
    /// Records how participant `index`'s notification ended, if it is still pending: `false`
    /// when it was recorded before (a redelivered change) or the conversation is gone.
    async fn finish_notification(
        &self,
        id: &ConversationId,
        index: usize,
        outcome: &Notification,
    ) -> Result<bool, StoreError> {
        let value = AttributeValue::M(serde_dynamo::to_item(outcome)?);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::conversation(id))))
            .update_expression(format!("SET {} = :n", path(index)))
            .condition_expression(format!("{}.#status = :pending", path(index)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":n", value)
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    /// Counts a failed attempt at participant `index`'s pending notification: the attempts so
    /// far, or `None` when it is no longer pending.
    async fn count_notification_attempt(
        &self,
        id: &ConversationId,
        index: usize,
    ) -> Result<Option<u32>, StoreError> {
        let p = path(index);
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::conversation(id))))
            .update_expression(format!("SET {p}.attempts = {p}.attempts + :one"))
            .condition_expression(format!("{p}.#status = :pending"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":pending", s("pending"))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        let Some(out) = condition_held(out)? else {
            return Ok(None);
        };
        let item: ConversationItem = from_item(out.attributes.unwrap_or_default())?;
        Ok(item.conversation.participants[index.min(1)]
            .notification
            .as_ref()
            .map(|n| n.attempts))
    }
}
