//! Keeps the pool in service at its size when number health flags a number: an EventBridge
//! rule on the stack's bus hands this function each `number.flagged`, and with
//! `QUARANTINE_FLAGGED` and `AUTO_RENT` on it rents one number in the flagged number's country,
//! within `AUTO_RENT_MAX_PER_COUNTRY` (`shared::domain::rent::replace_flagged`). The event
//! reaches the marketplace whatever this does. A failure is the invocation's error: Lambda
//! tries the event again, then leaves it in the dead-letter queue, and the log says why.

mod settings;

pub use settings::Settings;

use serde::{Deserialize, Serialize};
use shared::config::AutoRent;
use shared::domain::events::SOURCE;
use shared::domain::rent::{self, Replaced};
use shared::error::error_chain;
use shared::phone::Msisdn;
use shared::ports::{Leases, NumberChecker, NumberInventory, Pool};
use shared::store::Store;
use shared::vonage::VonageClient;

/// The detail-type this function is given.
pub const FLAGGED: &str = "number.flagged";

pub struct Deps<S = Store, V = VonageClient> {
    pub store: S,
    pub vonage: V,
    /// The Vonage application rented numbers are linked to.
    pub application_id: Option<String>,
    /// `None`: nothing is rented.
    pub auto_rent: Option<AutoRent>,
    pub quarantine_flagged: bool,
}

/// An event from the bus, as an EventBridge rule hands it to a function.
#[derive(Debug, Clone, Deserialize)]
pub struct BusEvent {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub source: String,
    pub detail: serde_json::Value,
}

/// What one event came to (the invocation's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The number rented in its place.
    Rented { msisdn: String },
    /// Nothing rented: why.
    Unneeded { reason: String },
}

/// Replaces the number a `number.flagged` names. An event of another kind is passed over;
/// renting that failed, a busy country or a store that failed is an error, for Lambda to try
/// the event again.
pub async fn handle<S: Pool + Leases, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    event: BusEvent,
) -> Result<Outcome, lambda_runtime::Error> {
    if event.source != SOURCE || event.detail_type != FLAGGED {
        tracing::warn!(source = %event.source, detail_type = %event.detail_type, "not a number.flagged event; passed over");
        return Ok(Outcome::Unneeded {
            reason: format!("{} is not {FLAGGED}", event.detail_type),
        });
    }
    let flagged = event.detail["proxy_number"]
        .as_str()
        .and_then(Msisdn::from_digits)
        .ok_or("number.flagged without a readable proxy_number")?;
    // Renting's future is large (several Vonage calls under a lease): boxed.
    let replaced = Box::pin(rent::replace_flagged(
        &deps.store,
        &deps.vonage,
        deps.auto_rent.as_ref(),
        deps.quarantine_flagged,
        deps.application_id.as_deref(),
        &flagged,
        shared::now(),
    ))
    .await;
    match replaced {
        Ok(Replaced::Rented(n)) => Ok(Outcome::Rented {
            msisdn: n.msisdn.as_str().to_owned(),
        }),
        Ok(Replaced::Unneeded(reason)) => {
            tracing::info!(flagged = %flagged.masked(), event_id = %event.id, %reason, "flagged number not replaced");
            Ok(Outcome::Unneeded { reason })
        }
        Err(e) => {
            tracing::error!(flagged = %flagged.masked(), event_id = %event.id, error = %error_chain(&e), "flagged number not replaced; the event is tried again");
            Err(e.into())
        }
    }
}
