//! The console's reveal log: one item per reveal in its conversation's partition
//! (`REVEAL#{at_ms}#{index}`), kept as long as the conversation's other records. The publisher
//! reads its insert off the change stream as `console.number_revealed`.

use super::*;
use crate::model::Reveal;

#[derive(Serialize, Deserialize)]
pub(super) struct RevealItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) reveal: Reveal,
}

impl RevealLog for Store {
    async fn record_reveal(&self, reveal: &Reveal) -> Result<(), StoreError> {
        let (pk, sk) = keys::reveal(&reveal.conversation_id, reveal.at_ms, reveal.index);
        self.put(RevealItem {
            pk,
            sk,
            reveal: reveal.clone(),
        })
        .await
    }

    async fn reveals(&self, id: &ConversationId) -> Result<Vec<Reveal>, StoreError> {
        let (pk, _) = keys::conversation(id);
        let items: Vec<RevealItem> = self.query_prefix(pk, keys::REVEAL).await?;
        Ok(items.into_iter().map(|i| i.reveal).collect())
    }
}
