//! The answer webhook (`/webhooks/answer`) and the fallback answer webhook (`/webhooks/fallback`):
//! one route lookup, then an NCCO. A call no open conversation takes is put to the backend's
//! out-of-session hook, and a call of a conversation with `intercept` to its intercept hook,
//! when they are configured (`shared::domain::hooks`). With access codes on, a call caller ID
//! cannot route to exactly one conversation is asked for a code, whose keys come back to
//! `/webhooks/code`. An inbound call always gets `200` and a valid NCCO, whatever goes wrong
//! (rule 3 of the product contract).
//!
//! The decisions are `shared::domain::answer`'s; this crate reads each endpoint's request and
//! renders the plan decided as an NCCO: `call.rs` (the answer and fallback webhooks), `code.rs`
//! (the keys typed at the code prompt), `whisper.rs` (the callee's whisper and their answer to
//! its prompt), `render.rs` (plans, connects and texts as NCCOs).

mod call;
mod code;
mod render;
mod settings;
mod whisper;

use std::time::Duration;

use lambda_http::{Body, Request, Response};
use shared::config::{AccessCodeConfig, CallConfig, ConversationConfig, WebhookMethods};
use shared::domain::answer::Rules;
use shared::hook::Hooks;
use shared::ncco::Ncco;
use shared::ports::CallControl;
use shared::problem::ApiError;
use shared::signature::{ReadError, SignatureError, WebhookAuth};
use shared::telemetry;
use shared::vonage::VoiceClient;

pub use call::answer;
pub use code::code;
pub use settings::Settings;
pub use shared::domain::answer::{ACTING_RESERVE, AnswerStore, Outcome};
pub use whisper::{accept, whisper};

pub struct Deps<S, V = VoiceClient> {
    pub store: S,
    pub call: CallConfig,
    pub auth: WebhookAuth,
    /// `post` in the deployed stack: a `GET`'s query string is not covered by the signature.
    pub methods: WebhookMethods,
    pub hooks: CallHooks,
    /// The Voice API, for a callee who does not take the call at the whisper's prompt (the
    /// caller is told, the callee's leg ended); `None` where the application's private key is
    /// not configured, and then such a callee is connected all the same.
    pub voice: Option<V>,
    /// Access codes (`ACCESS_CODES`): `None` when off, and then caller ID alone routes calls.
    pub codes: Option<AccessCodeConfig>,
}

/// The backend's hooks as calls use them.
pub struct CallHooks {
    pub hooks: Hooks,
    /// TTL bounds, retention and cool-off, for the out-of-session hook's `reopen`.
    pub conversations: ConversationConfig,
    /// The call's whole budget (`REQUEST_TIMEOUT_MS`): a hook gets what remains of it, less
    /// [`ACTING_RESERVE`], when that is shorter than its own `HOOK_TIMEOUT_MS`.
    pub budget: Duration,
}

impl CallHooks {
    /// No hooks: every call is decided by its route alone.
    pub fn off() -> Result<Self, shared::config::ConfigError> {
        Ok(Self {
            hooks: Hooks::default(),
            conversations: ConversationConfig::from_source(&|_: &str| None)?,
            budget: DEFAULT_TIMEOUT,
        })
    }
}

/// One call's whole budget, the function's start included (`REQUEST_TIMEOUT_MS`): Vonage hears
/// an NCCO well within the 2 seconds rule 3 allows, whatever the store or Secrets Manager do.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

impl<S, V> Deps<S, V> {
    /// What the decisions go by besides the call and the store.
    fn rules(&self) -> Rules<'_> {
        Rules {
            codes: self.codes.as_ref(),
            hooks: &self.hooks.hooks,
            conversations: &self.hooks.conversations,
            plain_parameters: self.methods == WebhookMethods::Any,
            missed: &self.call.missed,
        }
    }

    /// When a call arriving now runs out of its budget.
    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.hooks.budget
    }
}

/// Routes a request by endpoint, once its signature and method are checked.
pub async fn handle<S: AnswerStore, V: CallControl>(
    deps: &Deps<S, V>,
    req: Request,
) -> Response<Body> {
    if let Err(refused) = ApiError::unless_allowed(deps.methods, req.method()) {
        return refused.into_response();
    }
    let now = shared::now();
    // A request Vonage did not sign is refused before anything is read.
    if let Err(e) = deps.auth.check(&req, now).await {
        tracing::warn!(error = %e, "unsigned or forged answer webhook refused");
        telemetry::count("WebhookRefused", &[]);
        return ApiError::Unauthorized(e).into_response();
    }
    let signed = match deps.auth.read(&req) {
        Ok(signed) => signed,
        Err(ReadError::Seal(e)) => {
            tracing::warn!(error = %e, "answer webhook with a broken sealed parameter refused");
            telemetry::count("WebhookRefused", &[]);
            return ApiError::Unauthorized(SignatureError::Sealed).into_response();
        }
        Err(ReadError::Unreadable) => {
            tracing::warn!("answer webhook with an unreadable body");
            telemetry::count("Calls", &[("Outcome", Outcome::Unreadable.as_str())]);
            return ncco_response(&Ncco::say(&deps.call.out_of_service));
        }
    };
    let path = shared::http::path(&req);
    if path.ends_with("/whisper") {
        let accepting = signed.carried.as_ref().and_then(|c| c.step.as_deref()) == Some("accept");
        let ncco = if accepting {
            accept(deps, &signed, now).await
        } else {
            whisper(deps, &req, &signed, now).await
        };
        return ncco_response(&ncco);
    }
    let started = std::time::Instant::now();
    let (ncco, outcome) = if path.ends_with("/code") {
        code::typed(deps, &req, &signed, now).await
    } else {
        call::answered(deps, &req, &signed, now).await
    };
    telemetry::count("Calls", &[("Outcome", outcome.as_str())]);
    telemetry::metric(
        "AnswerLatency",
        started.elapsed().as_secs_f64() * 1000.0,
        telemetry::Unit::Milliseconds,
        &[],
    );
    ncco_response(&ncco)
}

/// The NCCO for a call that cannot be handled at all (the function could not start, or the call
/// ran out of its time budget).
pub fn unavailable(call: &CallConfig) -> Response<Body> {
    ncco_response(&Ncco::say(&call.unavailable))
}

fn ncco_response(ncco: &Ncco) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Text(ncco.to_json()))
        .unwrap_or_else(|_| Response::new(Body::Text(ncco.to_json())))
}

impl<S: AnswerStore, V: CallControl> shared::runtime::Handler for Deps<S, V> {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
