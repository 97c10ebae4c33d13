//! A call's warning before its limit (PRODUCT.md, "Calls the backend starts, and calls that
//! respect people"): the event webhook made a one-time EventBridge Scheduler schedule when the
//! callee answered; when it goes off, Scheduler invokes this function with the warning, which
//! speaks it into each leg of the call (each party in their own language) through the Voice
//! API's talk. A leg that has ended (`404`: the call was over before its schedule was deleted)
//! is passed over; any other failure fails the invocation, which Scheduler retries within the
//! minute.

mod settings;

pub use settings::Settings;

use shared::model::CallWarning;
use shared::ports::CallControl;
use shared::problem::error_chain;
use shared::vonage::{VoiceClient, VonageError};

/// What speaking a warning needs: the Voice API with the application's key.
pub struct Deps<V = VoiceClient> {
    pub voice: V,
}

/// What became of a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Spoken {
    /// Legs it was spoken into.
    pub spoken: usize,
    /// Legs that had ended.
    pub ended: usize,
}

pub async fn handle<V: CallControl>(
    deps: &Deps<V>,
    warning: &CallWarning,
) -> Result<Spoken, lambda_runtime::Error> {
    let mut outcome = Spoken {
        spoken: 0,
        ended: 0,
    };
    for leg in &warning.legs {
        match deps
            .voice
            .talk(&leg.leg, &leg.text, leg.language.as_ref())
            .await
        {
            Ok(()) => outcome.spoken += 1,
            Err(VonageError::Status { status: 404, .. }) => outcome.ended += 1,
            Err(e) => {
                tracing::error!(conversation_id = %warning.conversation_id, call_id = %warning.call_id, error = %error_chain(&e), "warning not spoken");
                return Err(e.into());
            }
        }
    }
    tracing::info!(
        conversation_id = %warning.conversation_id,
        call_id = %warning.call_id,
        spoken = outcome.spoken,
        ended = outcome.ended,
        "call's warning spoken"
    );
    shared::telemetry::count("CallWarnings", &[]);
    Ok(outcome)
}
