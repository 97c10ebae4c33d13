//! What the hooks need of the store: the conversation a caller last had on a proxy number, and
//! a record of each hook answer carried out, which the change stream publishes
//! (`call.out_of_session`, `call.intercepted`).

use super::*;

/// Which hook answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookKind {
    OutOfSession,
    Intercept,
}

/// What a hook was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Voice,
    Sms,
}

/// A hook's answer that was carried out, kept for a day. It names participants by index
/// only, never by number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookDecision {
    /// The call's `conversation_uuid` or the text's message id: one record per call or text.
    pub key: String,
    pub hook: HookKind,
    pub channel: Channel,
    /// The action carried out (`connect`, `reopen`, `say`, `reject`, `relay`, `reply`, `ignore`,
    /// `deny`).
    pub action: String,
    /// The proxy number called or texted.
    pub proxy_number: Msisdn,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// The caller's or sender's index in that conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_index: Option<u8>,
    /// Unix milliseconds.
    pub at_ms: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct HookItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) decision: HookDecision,
    pub(super) ttl: i64,
}

impl Store {
    /// The conversation `caller` last had on `proxy`: the one whose close freed the pair, as
    /// long as it is kept (its retention).
    #[tracing::instrument(skip_all, fields(proxy = %proxy.masked(), caller = %caller.masked()))]
    pub async fn last_conversation(
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
        self.get_conversation(&freed.pair.conversation_id).await
    }

    /// Keeps a hook's answer that was carried out; the same call or text again overwrites it.
    pub async fn record_hook(&self, d: &HookDecision) -> Result<(), StoreError> {
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
