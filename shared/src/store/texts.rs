//! What became of each text the product sent: one item per Vonage message id, written from two
//! sides in either order. The sender says whose text it is (`note_sent`) once Vonage accepted
//! it; the status webhooks say how far it got (`note_status`). Vonage does not order statuses
//! and may repeat them: a state only moves forward (`submitted`, then `delivered` or `failed`),
//! so a repeat or a late `submitted` changes nothing, and the stream sees each step once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::*;
use crate::model::{DeliveryState, SentText, TextOwner};

/// How long a text's item is kept when the sender gives no time (a status for a text this
/// stack did not record): a week, longer than Vonage goes on sending statuses.
pub const ORPHAN_SECONDS: i64 = 7 * 24 * 3600;

/// The item: a text's owner where known, its state, and the state's rank, so that a later
/// state can only replace an earlier one.
#[derive(Serialize, Deserialize)]
pub(super) struct TextItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) text: SentText,
    pub(super) rank: i64,
    pub(super) ttl: i64,
}

/// The states in the order they can follow each other.
fn rank(state: DeliveryState) -> i64 {
    match state {
        DeliveryState::Submitted => 1,
        DeliveryState::Delivered | DeliveryState::Failed => 2,
    }
}

impl TextLedger for Store {
    /// Records whose text `id` is (Vonage accepted it), keeping any state a status already
    /// brought; kept until `until`.
    async fn note_sent(&self, id: &str, owner: &TextOwner, until: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::text(id))))
            .update_expression(
                "SET #owner = :owner, #id = :id, #state = if_not_exists(#state, :submitted), \
                 #rank = if_not_exists(#rank, :one), #ttl = :ttl",
            )
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#rank", "rank")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":owner", AttributeValue::M(to_item(owner)?))
            .expression_attribute_values(":id", s(id))
            .expression_attribute_values(":submitted", s("submitted"))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(until))
            .send()
            .await?;
        Ok(())
    }

    /// Records that text `id` reached `state` (with `reason` and Vonage's `error_code` for a
    /// failure) at `now`, unless it is there or further already: `false` for a repeat or a
    /// state that came late. A text this stack has not recorded (yet) keeps the state for its
    /// sender.
    async fn note_status(
        &self,
        id: &str,
        state: DeliveryState,
        reason: Option<&str>,
        error_code: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let text = |v: Option<&str>| v.map_or(AttributeValue::Null(true), s);
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::text(id))))
            .update_expression(
                "SET #id = :id, #state = :state, #rank = :rank, #at = :now, \
                 #ttl = if_not_exists(#ttl, :ttl), #reason = :reason, #code = :code",
            )
            .condition_expression("attribute_not_exists(#rank) OR #rank < :rank")
            .expression_attribute_names("#id", "id")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#rank", "rank")
            .expression_attribute_names("#at", "updated_at")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_names("#reason", "reason")
            .expression_attribute_names("#code", "error_code")
            .expression_attribute_values(":id", s(id))
            .expression_attribute_values(":state", s(state.as_str()))
            .expression_attribute_values(":rank", n(rank(state)))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":ttl", n(now + ORPHAN_SECONDS))
            .expression_attribute_values(":reason", text(reason))
            .expression_attribute_values(":code", text(error_code));
        Ok(condition_held(update.send().await)?.is_some())
    }

    /// The texts with these ids that have an item, by id: one `BatchGetItem` per 100 distinct
    /// ids.
    async fn texts(&self, ids: &[String]) -> Result<HashMap<String, SentText>, StoreError> {
        // A batch read refuses a key named twice.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut found = HashMap::new();
        for chunk in ids.chunks(100) {
            let keys: Vec<Item> = chunk.iter().map(|id| key(keys::text(id))).collect();
            let wanted = build(KeysAndAttributes::builder().set_keys(Some(keys)).build());
            for item in self.batch_get(wanted).await? {
                let text = from_item::<_, TextItem>(item)?.text;
                found.insert(text.id.clone(), text);
            }
        }
        Ok(found)
    }
}
