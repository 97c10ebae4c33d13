//! Item shapes: each record with its keys and index attributes beside its own fields.

use super::*;

#[derive(Serialize, Deserialize)]
pub(super) struct ConversationItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) conversation: Conversation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1sk: Option<String>,
    pub(super) gsi3pk: String,
    pub(super) gsi3sk: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct RouteItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) route: Route,
    pub(super) gsi2pk: String,
    pub(super) gsi2sk: String,
}

/// An open conversation's participant as their access code routes them: the route itself, in
/// the participant index beside their routes (so their holdings count it) and in the codes
/// collection (so the pool can say who shares numbers).
#[derive(Serialize, Deserialize)]
pub(super) struct CodeItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) route: Route,
    pub(super) gsi2pk: String,
    pub(super) gsi2sk: String,
    pub(super) gsi3pk: String,
    pub(super) gsi3sk: String,
}

impl CodeItem {
    pub(super) fn new(route: &Route, code: &crate::values::AccessCode) -> Self {
        let (pk, sk) = keys::access_code(&route.proxy_number, code);
        Self {
            pk,
            sk,
            gsi2pk: keys::participant(&route.caller),
            gsi2sk: keys::participant_code(&route.proxy_number),
            gsi3pk: keys::CODES.into(),
            gsi3sk: format!(
                "{}#{}#{}",
                route.proxy_number.as_str(),
                route.caller.as_str(),
                route.conversation_id
            ),
            route: Route {
                ambiguous: false,
                ..route.clone()
            },
        }
    }
}

/// One per participant per conversation, kept after close, so a participant's conversations can
/// be listed without a scan.
#[derive(Serialize, Deserialize)]
pub(super) struct MemberItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) conversation_id: ConversationId,
    pub(super) status: ConversationStatus,
    pub(super) gsi2pk: String,
    pub(super) gsi2sk: String,
    /// The proxy number this participant was given (`keys::proxy_conversations`), on the
    /// `expiry` index, so the console finds a proxy number's conversations without a scan.
    /// Members written before it was kept have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) gsi1sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ttl: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct NumberItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) number: PoolNumber,
    pub(super) gsi3pk: String,
    pub(super) gsi3sk: String,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ReferenceItem {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) conversation_id: ConversationId,
}

#[derive(Serialize, Deserialize)]
pub(super) struct CallRefItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) call: CallRef,
    pub(super) ttl: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct CallEventItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) event: CallEvent,
    pub(super) ttl: i64,
}

pub(super) fn conversation_item(c: &Conversation) -> Result<Item, StoreError> {
    let open = c.status != ConversationStatus::Closed;
    let (pk, sk) = keys::conversation(&c.id);
    Ok(to_item(ConversationItem {
        pk,
        sk,
        conversation: c.clone(),
        gsi1pk: open.then(|| keys::expiry_partition(keys::expiry_shard(&c.id))),
        gsi1sk: open.then(|| keys::expiry_sort_key(c.expires_at, &c.id)),
        gsi3pk: keys::CONVERSATIONS.into(),
        gsi3sk: keys::created_sort_key(c),
    })?)
}

#[derive(Serialize, Deserialize)]
pub(super) struct PendingItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) pending: PendingNumber,
    pub(super) gsi3pk: String,
    pub(super) gsi3sk: String,
}

impl PendingItem {
    pub(super) fn new(pending: &PendingNumber) -> Self {
        let (pk, sk) = keys::pending(&pending.msisdn);
        Self {
            pk,
            sk,
            pending: pending.clone(),
            gsi3pk: keys::PENDING.into(),
            gsi3sk: pending.msisdn.as_str().to_owned(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct FreedItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) pair: FreedPair,
    pub(super) gsi2pk: String,
    pub(super) gsi2sk: String,
    pub(super) ttl: i64,
}

impl FreedItem {
    pub(super) fn new(pair: FreedPair, ttl: i64) -> Self {
        let (pk, sk) = keys::freed(&pair.proxy_number, &pair.participant);
        Self {
            pk,
            sk,
            gsi2pk: keys::participant(&pair.participant),
            gsi2sk: keys::participant_freed(&pair.proxy_number),
            ttl: ttl.max(pair.free_at),
            pair,
        }
    }
}

pub(super) fn number_item(number: &PoolNumber) -> Result<Item, StoreError> {
    let (pk, sk) = keys::number(&number.msisdn);
    Ok(to_item(NumberItem {
        pk,
        sk,
        number: number.clone(),
        gsi3pk: keys::POOL.into(),
        gsi3sk: format!("{}#{}", number.country, number.msisdn.as_str()),
    })?)
}
