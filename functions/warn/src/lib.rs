//! A call's warning before its limit (PRODUCT.md, "Calls the backend starts, and calls that
//! respect people"): the event webhook made a one-time EventBridge Scheduler schedule when the
//! callee answered. Scheduler is precise to the minute only, so the schedule goes off in the
//! minute before the warning's time (`shared::scheduler`), and this function waits for the time
//! itself, then speaks the warning into each leg of the call (each party in their own language)
//! through the Voice API's talk. A leg that has ended (`404`: the call was over before its
//! schedule was deleted) is passed over. A leg that could not be told is logged; only when no
//! leg heard it does the invocation fail (`WarnErrorsAlarm`). Scheduler invokes it
//! asynchronously, and Lambda does not try it again (the template's `EventInvokeConfig`): its
//! next try would come a minute later, when the warning is no use.

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
    /// Legs the Voice API could not speak into.
    pub failed: usize,
}

/// The longest wait for a warning's time: a schedule goes off at most two minutes early.
pub const MAX_WAIT_SECONDS: i64 = 120;

/// Speaks `warning` at its time, `now` being the Unix second the schedule went off.
pub async fn handle<V: CallControl>(
    deps: &Deps<V>,
    warning: &CallWarning,
    now: i64,
) -> Result<Spoken, lambda_runtime::Error> {
    let early = (warning.at - now).clamp(0, MAX_WAIT_SECONDS);
    if early > 0 {
        tokio::time::sleep(std::time::Duration::from_secs(early.unsigned_abs())).await;
    }
    let mut outcome = Spoken {
        spoken: 0,
        ended: 0,
        failed: 0,
    };
    let mut last_error = None;
    for leg in &warning.legs {
        match deps
            .voice
            .talk(&leg.leg, &leg.text, leg.language.as_ref())
            .await
        {
            Ok(()) => outcome.spoken += 1,
            Err(VonageError::Status { status: 404, .. }) => outcome.ended += 1,
            Err(e) => {
                tracing::error!(conversation_id = %warning.conversation_id, call_id = %warning.call_id, error = %error_chain(&e), "warning not spoken into a leg");
                outcome.failed += 1;
                last_error = Some(e);
            }
        }
    }
    tracing::info!(
        conversation_id = %warning.conversation_id,
        call_id = %warning.call_id,
        spoken = outcome.spoken,
        ended = outcome.ended,
        failed = outcome.failed,
        waited = early,
        "call's warning spoken"
    );
    match last_error {
        // Nobody heard it: a failed invocation, which the alarm counts.
        Some(e) if outcome.spoken == 0 => Err(e.into()),
        _ => {
            shared::telemetry::count("CallWarnings", &[]);
            Ok(outcome)
        }
    }
}
