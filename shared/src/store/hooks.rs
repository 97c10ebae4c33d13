//! What the hooks need of the store: the conversation a caller last had on a proxy number, and
//! a record of each hook answer carried out, which the change stream publishes
//! (`call.out_of_session`, `call.intercepted`).

use super::*;

#[derive(Serialize, Deserialize)]
pub(super) struct HookItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) decision: HookDecision,
    pub(super) ttl: i64,
}

impl HookLog for Store {
    /// The conversation `caller` last had on `proxy`: the one whose close freed the pair, as
    /// long as it is kept (its retention).
    #[tracing::instrument(skip_all, fields(proxy = %proxy.masked(), caller = %caller.masked()))]
    async fn last_conversation(
        &self,
        proxy: &Msisdn,
        caller: &Msisdn,
    ) -> Result<Option<Conversation>, StoreError> {
        let Some(freed) = self
            .get::<items::FreedItem>(keys::freed(proxy, caller))
            .await?
        else {
            return Ok(None);
        };
        self.conversation(&freed.pair.conversation_id).await
    }

    /// Keeps a hook's answer that was carried out; the same call or text again overwrites it.
    async fn record_hook(&self, d: &HookDecision) -> Result<(), StoreError> {
        let (pk, sk) = keys::hook_decision(d.channel, &d.key);
        self.put(HookItem {
            pk,
            sk,
            decision: d.clone(),
            ttl: d.at_ms / 1000 + 24 * 3600,
        })
        .await
    }
}
