//! Delivery you can prove: each text the product sends is recorded under Vonage's id of it
//! once accepted ([`note_sent`]), and the status webhooks move it on ([`record`]): `submitted`,
//! then `delivered` on a receipt from the network, or `failed` with a reason. Nothing says
//! delivered without a receipt. Statuses come in any order and may repeat; the store keeps the
//! furthest state, so each step is recorded (and published) once.

use crate::error::error_chain;
use crate::model::StoreError;
use crate::model::{DeliveryState, TextOwner};
use crate::ports::TextLedger;

/// A status as a webhook reported it, read into the product's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Vonage's id of the text (`message_uuid`, or the SMS API's `messageId`).
    pub message_id: String,
    pub state: DeliveryState,
    /// For a failure: `rejected` or `undeliverable`.
    pub reason: Option<&'static str>,
    /// Vonage's code for a failure, as it gave it.
    pub error_code: Option<String>,
}

impl Status {
    /// A Messages API status (`messageStatusSMS.status`): `submitted`, `delivered`,
    /// `rejected` or `undeliverable`; `None` for a status the product does not track.
    pub fn from_messages(
        message_id: &str,
        status: &str,
        error_code: Option<String>,
    ) -> Option<Self> {
        let (state, reason) = match status {
            "submitted" => (DeliveryState::Submitted, None),
            "delivered" => (DeliveryState::Delivered, None),
            "rejected" => (DeliveryState::Failed, Some("rejected")),
            "undeliverable" => (DeliveryState::Failed, Some("undeliverable")),
            _ => return None,
        };
        Some(Self {
            message_id: message_id.to_owned(),
            state,
            reason,
            error_code: error_code.filter(|_| state == DeliveryState::Failed),
        })
    }

    /// An SMS API delivery receipt (`DeliveryReceipt.status`): `delivered`; `accepted` and
    /// `buffered` are still on their way; `expired` and `failed` never arrive; `rejected` was
    /// refused. `unknown` (the network said nothing) claims nothing.
    pub fn from_receipt(message_id: &str, status: &str, err_code: Option<String>) -> Option<Self> {
        let (state, reason) = match status {
            "accepted" | "buffered" => (DeliveryState::Submitted, None),
            "delivered" => (DeliveryState::Delivered, None),
            "expired" | "failed" => (DeliveryState::Failed, Some("undeliverable")),
            "rejected" => (DeliveryState::Failed, Some("rejected")),
            _ => return None,
        };
        Some(Self {
            message_id: message_id.to_owned(),
            state,
            reason,
            error_code: err_code.filter(|c| state == DeliveryState::Failed && c != "0"),
        })
    }
}

/// Records whose text Vonage accepted as `message_id`, so its statuses find it, kept until
/// `until`. A failure is logged: the text went out all the same, and only its receipt will find
/// no owner.
pub async fn note_sent<S: TextLedger>(store: &S, message_id: &str, owner: &TextOwner, until: i64) {
    if let Err(e) = store.note_sent(message_id, owner, until).await {
        tracing::warn!(conversation_id = %owner.conversation_id, error = %error_chain(&e), "sent text not recorded: its receipt will find no owner");
    }
}

/// Records a status at `now`: `true` when it moved the text on, `false` for a repeat or a
/// status that came after a further one.
pub async fn record<S: TextLedger>(
    store: &S,
    status: &Status,
    now: i64,
) -> Result<bool, StoreError> {
    let moved = store
        .note_status(
            &status.message_id,
            status.state,
            status.reason,
            status.error_code.as_deref(),
            now,
        )
        .await?;
    crate::telemetry::count(
        "TextStatuses",
        &[
            ("State", status.state.as_str()),
            ("Counted", if moved { "yes" } else { "repeat" }),
        ],
    );
    Ok(moved)
}
