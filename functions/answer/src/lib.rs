//! The answer webhook (`/webhooks/answer`) and the fallback answer webhook (`/webhooks/fallback`):
//! one route lookup, then an NCCO. A call no open conversation takes is put to the backend's
//! out-of-session hook, and a call of a conversation with `intercept` to its intercept hook,
//! when they are configured (`shared::domain::hooks`). With access codes on, a call caller ID
//! cannot route to exactly one conversation is asked for a code, whose keys come back to
//! `/webhooks/code`. An inbound call always gets `200` and a valid NCCO, whatever goes wrong
//! (rule 3 of the product contract).

use std::time::Duration;

use tracing::Instrument;

use lambda_http::{Body, Request, Response};
use shared::config::{
    AccessCodeConfig, AwsBudget, CallConfig, ConversationConfig, Source, VoiceConfig,
    WebhookMethods, table_name, texts::Key,
};
use shared::domain::calls::CallStore;
use shared::domain::hooks::{self, CallOutcome, Unplanned, Verdict};
use shared::hook::Hooks;
use shared::http::request_base_url;
use shared::model::{Channel, CodeGuess, GuessSpent};
use shared::model::{ConversationStatus, Route, RoutedBy, spoken};
use shared::ncco::{Bridge, Ncco, Recording};
use shared::phone::{Msisdn, mask};
use shared::ports::{AccessCodes, CallControl, HookLog};
use shared::problem::{ApiError, error_chain};
use shared::seal::Carried;
use shared::secrets::{PRIVATE_KEY, application_id, resolve};
use shared::signature::{ReadError, SignatureError, Signed, WebhookAuth, webhook_auth};
use shared::store::Store;
use shared::telemetry;
use shared::values::{AccessCode, ConversationId, Language};
use shared::vonage::VoiceClient;

/// What answering a call needs of the store.
pub trait AnswerStore: CallStore + HookLog + AccessCodes {}
impl<T: CallStore + HookLog + AccessCodes> AnswerStore for T {}

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

/// Kept from a hook's budget for carrying out its answer (a reopen's transaction, the record of
/// the decision) inside the call's own.
pub const ACTING_RESERVE: Duration = Duration::from_millis(250);

/// The function's dependencies from its settings: the store within its time budget, the
/// signature secret and the hooks' secret (from Secrets Manager in the stack).
pub async fn build(
    src: &dyn Source,
    call: CallConfig,
    budget: Duration,
) -> Result<Deps<Store>, lambda_http::Error> {
    // Calls never wait on the Voice API: without a usable key they are answered all the same.
    let voice = match (application_id(src).await?, resolve(src, PRIVATE_KEY).await?) {
        (Some(id), Some(key)) => VoiceClient::new(&VoiceConfig::from_source(src, id, key)?)
            .inspect_err(|e| tracing::error!(error = %error_chain(e), "no Voice API: the application's key cannot be used"))
            .ok(),
        _ => None,
    };
    Ok(Deps {
        store: Store::from_env(table_name(src)?, &AwsBudget::from_source(src)?).await,
        auth: webhook_auth(src).await?,
        methods: WebhookMethods::from_source(src)?,
        call,
        hooks: CallHooks {
            hooks: Hooks::from_source(src).await?,
            conversations: ConversationConfig::from_source(src)?,
            budget,
        },
        voice,
        codes: AccessCodeConfig::from_source(src)?,
    })
}

/// How a call was answered, for the log line and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Connected,
    UnknownCaller,
    Expired,
    /// The conversation relays texts only.
    VoiceOff,
    Unreadable,
    StoreFailed,
    /// The out-of-session hook had it connected (a one-off bridge or a reopened conversation).
    HookConnected,
    /// The out-of-session hook had a message spoken.
    HookSaid,
    /// The out-of-session hook rejected it.
    HookRejected,
    /// The intercept hook denied it.
    Denied,
    /// Caller ID could not route it: the caller was asked for an access code.
    CodeAsked,
    /// The access code typed routed it, and it was connected.
    CodeConnected,
    /// A wrong access code: the caller was asked again.
    CodeRetried,
    /// A wrong access code and no tries left: the call ended.
    CodeRefused,
    /// The caller is locked out of codes on this number: the call ended.
    CodeLocked,
}

impl Outcome {
    /// As the log lines and the `Calls` metric's `Outcome` dimension name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::UnknownCaller => "unknown_caller",
            Self::Expired => "expired",
            Self::VoiceOff => "voice_off",
            Self::Unreadable => "unreadable",
            Self::StoreFailed => "store_failed",
            Self::HookConnected => "hook_connected",
            Self::HookSaid => "hook_said",
            Self::HookRejected => "hook_rejected",
            Self::Denied => "denied",
            Self::CodeAsked => "code_asked",
            Self::CodeConnected => "code_connected",
            Self::CodeRetried => "code_retried",
            Self::CodeRefused => "code_refused",
            Self::CodeLocked => "code_locked",
        }
    }
}

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
        typed_code(deps, &req, &signed, now).await
    } else {
        answered(deps, &req, &signed, now).await
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

/// Decides the NCCO for one inbound call at time `now` (its signature checked already).
pub async fn answer<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    now: i64,
) -> (Ncco, Outcome) {
    match deps.auth.read(req) {
        Ok(signed) => answered(deps, req, &signed, now).await,
        Err(e) => {
            tracing::warn!(error = %e, "answer webhook not readable");
            (Ncco::say(&deps.call.out_of_service), Outcome::Unreadable)
        }
    }
}

/// Decides the NCCO for one inbound call at time `now`, from its signed fields.
async fn answered<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    signed: &Signed,
    now: i64,
) -> (Ncco, Outcome) {
    let fallback = shared::http::path(req).ends_with("/fallback");
    let field = |name: &str| signed.field(name);
    let span = tracing::info_span!(
        "answer",
        uuid = field("uuid"),
        conversation_uuid = field("conversation_uuid"),
        to = %mask(field("to")),
        from = %mask(field("from")),
        fallback,
    );
    if fallback {
        span.in_scope(|| tracing::warn!(reason = field("reason"), "fallback answer URL called"));
    }
    let (to, from) = (field("to"), field("from"));
    let deadline = tokio::time::Instant::now() + deps.hooks.budget;
    let call = Call::of(signed, now, deadline);
    decide(deps, req, to, from, &call).instrument(span).await
}

/// One inbound call as the answer webhook sees it.
struct Call<'a> {
    /// Vonage's id of the whole call: the key of a hook's decision about it.
    key: &'a str,
    /// The call's `conversation_uuid` as signed, which what our URLs carry is sealed for.
    sealed_for: &'a str,
    /// The caller's leg (`uuid`), which a callee's refusal at the prompt transfers.
    leg: &'a str,
    now: i64,
    deadline: tokio::time::Instant,
}

impl<'a> Call<'a> {
    fn of(signed: &'a Signed, now: i64, deadline: tokio::time::Instant) -> Self {
        let sealed_for = signed.field("conversation_uuid");
        Self {
            key: if sealed_for.is_empty() {
                signed.field("uuid")
            } else {
                sealed_for
            },
            sealed_for,
            leg: signed.field("uuid"),
            now,
            deadline,
        }
    }
}

async fn decide<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    to: &str,
    from: &str,
    call: &Call<'_>,
) -> (Ncco, Outcome) {
    let Some(proxy) = Msisdn::from_digits(to) else {
        tracing::info!(outcome = "unknown_caller", "no usable to on the call");
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    let Some(caller) = Msisdn::from_digits(from) else {
        // A withheld number: only a code can route it.
        if let Some(codes) = &deps.codes {
            return ask_code(deps, req, codes, None, 1, call);
        }
        tracing::info!(outcome = "unknown_caller", "no usable from on the call");
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    let route = match deps.store.route(&proxy, &caller).await {
        Ok(route) => route,
        Err(e) => {
            tracing::error!(outcome = "store_failed", error = %error_chain(&e), "route lookup failed");
            return (Ncco::say(&deps.call.unavailable), Outcome::StoreFailed);
        }
    };
    // Caller ID that routes to no conversation, or to more than one (a participant sharing
    // this number), is asked for the code; the out-of-session path follows when none is typed.
    if let Some(codes) = &deps.codes {
        match &route {
            Some(r) if r.ambiguous => {
                return ask_code(deps, req, codes, r.language.as_ref(), 1, call);
            }
            None => return ask_code(deps, req, codes, None, 1, call),
            Some(_) => {}
        }
    }
    // A caller whose conversation here has ended is still told in their language.
    let language = route.as_ref().and_then(|r| r.language.clone());
    let expired = match route {
        Some(route) if call.now < route.expires_at => {
            if !route.mode.voice() {
                tracing::info!(outcome = "voice_off", conversation_id = %route.conversation_id, "conversation relays texts only");
                let language = route.language.as_ref();
                let ncco = say(deps, Key::OutOfService, &deps.call.out_of_service, language);
                return (ncco, Outcome::VoiceOff);
            }
            return known(deps, req, &route, call, RoutedBy::CallerId).await;
        }
        Some(route) => {
            tracing::info!(outcome = "expired", conversation_id = %route.conversation_id, "conversation has expired");
            Some(route.conversation_id)
        }
        None => {
            tracing::info!(
                outcome = "unknown_caller",
                "no route for this caller and number"
            );
            None
        }
    };
    out_of_session(deps, req, &proxy, &caller, expired, language.as_ref(), call).await
}

/// A call no open conversation takes: put to the out-of-session hook when there is one, else
/// told the number is not in service (in `language`, the caller's where a route of theirs
/// knows it). `expired`: the conversation whose route it matched, past its expiry.
async fn out_of_session<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    proxy: &Msisdn,
    caller: &Msisdn,
    expired: Option<ConversationId>,
    language: Option<&Language>,
    call: &Call<'_>,
) -> (Ncco, Outcome) {
    let out_of_service = || say(deps, Key::OutOfService, &deps.call.out_of_service, language);
    let (key, now, deadline) = (call.key, call.now, call.deadline);
    let unplanned = if expired.is_some() {
        Outcome::Expired
    } else {
        Outcome::UnknownCaller
    };
    let Some(hook) = &deps.hooks.hooks.out_of_session else {
        return (out_of_service(), unplanned);
    };
    let unplanned_call = Unplanned {
        channel: Channel::Voice,
        proxy,
        caller,
        key,
        text: None,
        expired: expired.as_ref(),
    };
    let budget = hooks::budget_until(deadline, ACTING_RESERVE);
    match hooks::call(
        &deps.store,
        hook,
        &deps.hooks.conversations,
        &unplanned_call,
        now,
        budget,
    )
    .await
    {
        CallOutcome::Connect(route) => (
            connect(deps, req, &route, call, RoutedBy::CallerId),
            Outcome::HookConnected,
        ),
        CallOutcome::Say(text) => (Ncco::say(&text), Outcome::HookSaid),
        CallOutcome::Reject => (Ncco::reject(), Outcome::HookRejected),
        CallOutcome::Default(_) => (out_of_service(), unplanned),
    }
}

/// A call its route takes: put to the intercept hook first when its conversation asks for it,
/// then connected.
async fn known<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    route: &Route,
    call: &Call<'_>,
    routed_by: RoutedBy,
) -> (Ncco, Outcome) {
    if route.intercept
        && let Some(hook) = &deps.hooks.hooks.intercept
    {
        let budget = hooks::budget_until(call.deadline, ACTING_RESERVE);
        let verdict = hooks::intercept(
            &deps.store,
            hook,
            Channel::Voice,
            route,
            call.key,
            call.now,
            budget,
        )
        .await;
        if let Verdict::Deny(text) = verdict {
            tracing::info!(outcome = "denied", conversation_id = %route.conversation_id, "intercept hook denied the call");
            let ncco = match text {
                Some(text) => Ncco::say(&text),
                None => say(
                    deps,
                    Key::OutOfService,
                    &deps.call.out_of_service,
                    route.language.as_ref(),
                ),
            };
            return (ncco, Outcome::Denied);
        }
    }
    let outcome = match routed_by {
        RoutedBy::CallerId => Outcome::Connected,
        RoutedBy::Code => Outcome::CodeConnected,
    };
    (connect(deps, req, route, call, routed_by), outcome)
}

/// The prompt for an access code (try `attempt`), in the caller's language when it is known;
/// the keys typed are posted to `/webhooks/code`.
fn ask_code<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    codes: &AccessCodeConfig,
    language: Option<&Language>,
    attempt: u8,
    call: &Call<'_>,
) -> (Ncco, Outcome) {
    tracing::info!(outcome = "code_asked", attempt, "asking for an access code");
    let url = deps.auth.seal().url(
        &format!("{}/webhooks/code", base_url(deps, req)),
        call.sealed_for,
        &Carried {
            attempt: Some(attempt),
            ..Carried::default()
        },
    );
    let texts = &deps.call.texts;
    let asking = texts.localized(Key::AccessCode, language);
    let asking = asking.unwrap_or(&codes.prompt);
    let prompt = if attempt > 1 {
        let retry = texts.localized(Key::AccessCodeRetry, language);
        format!("{} {asking}", retry.unwrap_or(&codes.retry))
    } else {
        asking.to_owned()
    };
    let outcome = if attempt > 1 {
        Outcome::CodeRetried
    } else {
        Outcome::CodeAsked
    };
    (
        Ncco::ask_code(&prompt, language, codes.digits, url),
        outcome,
    )
}

/// The keys a caller typed at the code prompt (`/webhooks/code`, its attempt sealed in the
/// URL): each code typed is spent before it is looked up, against the caller on this number
/// (a withheld caller: against their own call alone) and against the number's budget for the
/// day; the right code connects them to the other participant of its conversation and is
/// given back; a wrong one is asked again while tries remain. A caller locked out (too many
/// wrong codes on this number lately), or a number whose budget is spent, is told so. No key
/// at all takes the out-of-session path, as a call without codes would. Codes are never
/// logged.
pub async fn code<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    now: i64,
) -> (Ncco, Outcome) {
    match deps.auth.read(req) {
        Ok(signed) => typed_code(deps, req, &signed, now).await,
        Err(e) => {
            tracing::warn!(error = %e, "code webhook not readable");
            (Ncco::say(&deps.call.out_of_service), Outcome::Unreadable)
        }
    }
}

async fn typed_code<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    signed: &Signed,
    now: i64,
) -> (Ncco, Outcome) {
    let Some(codes) = &deps.codes else {
        tracing::info!(
            outcome = "unknown_caller",
            "a code typed while codes are off"
        );
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    let field = |name: &str| signed.field(name);
    let Some(proxy) = Msisdn::from_digits(field("to")) else {
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    let caller = Msisdn::from_digits(field("from"));
    let call = Call::of(signed, now, tokio::time::Instant::now() + deps.hooks.budget);
    // Our own prompt's URL says which try this is; a request without it is not ours.
    let Some(attempt) = (match &signed.carried {
        Some(carried) => Some(carried.attempt.unwrap_or(1).max(1)),
        None if deps.methods == WebhookMethods::Any => Some(1),
        None => None,
    }) else {
        tracing::warn!("a code webhook without its sealed attempt");
        return (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller);
    };
    // Wrong codes are counted per caller; a withheld caller's against their own call only.
    let withheld = format!("withheld#{}", call.key);
    let caller_key = caller.as_ref().map_or(withheld.as_str(), Msisdn::as_str);
    let typed = pressed(&signed.fields).unwrap_or_default();
    let span = tracing::info_span!(
        "code",
        uuid = call.leg,
        to = %proxy.masked(),
        from = %mask(field("from")),
        attempt,
    );
    async {
        if typed.is_empty() {
            tracing::info!("no code typed");
            return match &caller {
                Some(caller) => {
                    out_of_session(deps, req, &proxy, caller, None, None, &call).await
                }
                None => (Ncco::say(&deps.call.out_of_service), Outcome::UnknownCaller),
            };
        }
        let guess = CodeGuess {
            proxy: &proxy,
            caller: caller_key,
            now,
            lock_seconds: codes.lockout_seconds,
            max_failures: codes.max_failures,
            daily_budget: codes.daily_budget,
        };
        let failures = match deps.store.spend_code_guess(&guess).await {
            Ok(GuessSpent::Allowed { failures, cost }) => {
                let code = AccessCode::typed(&typed, codes.digits);
                let found = match &code {
                    Some(code) => deps.store.code_route(&proxy, code).await,
                    None => Ok(None),
                };
                match found {
                    Ok(Some(route)) if now < route.expires_at && route.mode.voice() => {
                        if let Err(e) = deps.store.refund_code_guess(&guess, cost).await {
                            tracing::warn!(error = %error_chain(&e), "a right code's guess was not given back");
                        }
                        return known(deps, req, &route, &call, RoutedBy::Code).await;
                    }
                    Ok(_) => failures,
                    Err(e) => {
                        tracing::error!(outcome = "store_failed", error = %error_chain(&e), "code lookup failed");
                        return (Ncco::say(&deps.call.unavailable), Outcome::StoreFailed);
                    }
                }
            }
            Ok(GuessSpent::CallerLocked(f)) => {
                tracing::warn!(outcome = "code_locked", failures = f.failures, "a caller locked out of codes on this number");
                return (Ncco::say(&codes.locked), Outcome::CodeLocked);
            }
            Ok(GuessSpent::NumberSpent) => {
                tracing::warn!(outcome = "code_locked", "this number's code guesses for the day are spent");
                telemetry::count("CodeBudgetExhausted", &[]);
                return (Ncco::say(&codes.locked), Outcome::CodeLocked);
            }
            Err(e) => {
                // Not counted: the code is not looked up.
                tracing::error!(outcome = "store_failed", error = %error_chain(&e), "a typed code could not be counted");
                return (Ncco::say(&deps.call.unavailable), Outcome::StoreFailed);
            }
        };
        telemetry::count("WrongCodes", &[]);
        if failures.locks(codes.max_failures, now) {
            tracing::warn!(outcome = "code_locked", failures = failures.failures, "wrong code: locked out of codes on this number");
            (Ncco::say(&codes.locked), Outcome::CodeLocked)
        } else if attempt > codes.retries {
            tracing::info!(outcome = "code_refused", "wrong code, no tries left");
            (Ncco::say(&codes.refused), Outcome::CodeRefused)
        } else {
            ask_code(deps, req, codes, None, attempt + 1, &call)
        }
    }
    .instrument(span)
    .await
}

/// The keys pressed at an `input`: `{"digits": "1", "timed_out": false}` in newer events, the
/// digits alone in older ones.
fn pressed(fields: &std::collections::HashMap<String, String>) -> Option<String> {
    fields.get("dtmf").map(|d| {
        serde_json::from_str::<serde_json::Value>(d)
            .ok()
            .and_then(|v| v.get("digits").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_else(|| d.clone())
    })
}

/// The base of our own webhook URLs: `PUBLIC_BASE_URL`, or the one the request came in on.
fn base_url<S, V>(deps: &Deps<S, V>, req: &Request) -> String {
    deps.call
        .public_base_url
        .clone()
        .unwrap_or_else(|| request_base_url(req))
}

/// Connects the caller (whose leg is the call's) to the other participant of `route`, with the
/// other participant's proxy number as caller ID (rule 1); a recorded call is announced and
/// recorded first. What the connect's URLs carry back is sealed for the call.
fn connect<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    route: &Route,
    call: &Call<'_>,
    routed_by: RoutedBy,
) -> Ncco {
    let base = base_url(deps, req);
    let seal = deps.auth.seal();
    tracing::info!(
        outcome = "connected",
        conversation_id = %route.conversation_id,
        callee = %route.callee.masked(),
        caller_id = %route.callee_proxy.masked(),
        "connecting"
    );
    let leg = Carried {
        conversation_id: Some(route.conversation_id.to_string()),
        caller: Some(route.caller_index),
        ..Carried::default()
    };
    let on_answer = route.whisper.then(|| {
        seal.url(
            &format!("{base}/webhooks/whisper"),
            call.sealed_for,
            &Carried {
                leg: leg_id(call.leg).map(str::to_owned),
                ..leg.clone()
            },
        )
    });
    let language = route.language.as_ref();
    Ncco::connect(Bridge {
        announcement: &announcement(deps, route),
        language,
        callee: &route.callee,
        caller_id: &route.callee_proxy,
        ring_timeout: deps.call.ring_timeout_seconds,
        call_limit: deps.call.call_limit_seconds,
        // A code-routed leg names its conversation: caller ID cannot.
        event_url: &match routed_by {
            RoutedBy::CallerId => format!("{base}/webhooks/event"),
            RoutedBy::Code => seal.url(
                &format!("{base}/webhooks/event"),
                call.sealed_for,
                &Carried {
                    routed: Some("code".into()),
                    ..leg.clone()
                },
            ),
        },
        on_answer,
        synchronous: route.missed_call.follows_up(),
        record: route.record.then(|| Recording {
            notice: in_language(
                deps,
                Key::RecordingNotice,
                &deps.call.recording_notice,
                language,
            ),
            event_url: seal.url(
                &format!("{base}/webhooks/recording"),
                call.sealed_for,
                &Carried {
                    conversation_id: leg.conversation_id.clone(),
                    ..Carried::default()
                },
            ),
        }),
    })
}

/// What the caller on `route` hears before connecting: the conversation's announcement; the
/// configured one in the caller's language where the conversation has the configured one
/// (as creation fills it in); the configured one, as it stands, on a route from before
/// announcements were kept.
fn announcement<'a, S, V>(deps: &'a Deps<S, V>, route: &'a Route) -> std::borrow::Cow<'a, str> {
    let configured = deps.call.announcement.as_str();
    let Some(text) = route.announcement.as_deref() else {
        return configured.into();
    };
    let language = route.language.as_ref();
    let Some(own) = deps.call.texts.localized(Key::Announcement, language) else {
        return text.into();
    };
    let fill = |template: &str| template.replace("{callee}", route.callee_name());
    if fill(configured) == text {
        fill(own).into()
    } else {
        text.into()
    }
}

/// Text `key` in `language` where the catalogue has it there, else `default` (the default
/// language's, as configured).
fn in_language<'a, S, V>(
    deps: &'a Deps<S, V>,
    key: Key,
    default: &'a str,
    language: Option<&Language>,
) -> &'a str {
    deps.call.texts.localized(key, language).unwrap_or(default)
}

/// Text `key` spoken: in `language` where the catalogue has it there, else `default` as every
/// caller hears it.
fn say<S, V>(deps: &Deps<S, V>, key: Key, default: &str, language: Option<&Language>) -> Ncco {
    match deps.call.texts.localized(key, language) {
        Some(own) => Ncco::speak(own, language),
        None => Ncco::say(default),
    }
}

/// A call leg's id as Vonage gives it (letters, digits and dashes), fit for our own URLs.
fn leg_id(leg: &str) -> Option<&str> {
    (!leg.is_empty()
        && leg.len() <= 64
        && leg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    .then_some(leg)
}

/// The whisper (the connect's `onAnswer`): what the callee hears when they pick up, before the
/// two are bridged, in the callee's language: that the call is recorded, the conversation's
/// whisper for this caller, and the prompt to take the call (its key posted back here, the
/// step sealed in the URL). A conversation that is gone, closed or has nothing to say, or a
/// store that cannot say, gets a moment of silence: the call is bridged all the same.
pub async fn whisper<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    signed: &Signed,
    now: i64,
) -> Ncco {
    let Some((conversation, caller, carried)) = whispered(deps, signed, now).await else {
        return Ncco::reject();
    };
    let (from, to) = (
        &conversation.participants[caller],
        &conversation.participants[1 - caller],
    );
    let settings = &conversation.call;
    let language = to.language.as_ref();
    let mut texts = Vec::new();
    if settings.record {
        let notice = &deps.call.recording_notice;
        texts.push(in_language(deps, Key::RecordingNotice, notice, language).to_owned());
    }
    if let Some(text) = settings.whisper.as_deref() {
        // The configured whisper (as creation fills it in) is said in the callee's language.
        let configured = deps.hooks.conversations.call_defaults.whisper.as_deref();
        let text = match configured {
            Some(configured) if configured == text => {
                in_language(deps, Key::Whisper, text, language)
            }
            _ => text,
        };
        texts.push(spoken(text, &conversation, from, to));
    }
    let ask = settings.whisper_accept.then(|| {
        (
            in_language(deps, Key::WhisperAccept, &deps.call.accept_prompt, language),
            deps.auth.seal().url(
                &format!("{}/webhooks/whisper", base_url(deps, req)),
                signed.field("conversation_uuid"),
                &Carried {
                    step: Some("accept".into()),
                    ..carried.clone()
                },
            ),
        )
    });
    tracing::info!(conversation_id = %conversation.id, accept = ask.is_some(), "whisper to the callee");
    Ncco::tell(&texts, language, ask)
}

/// The conversation and caller index a whisper URL carries, if it is open at `now`, with what
/// the URL carried.
async fn whispered<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    signed: &Signed,
    now: i64,
) -> Option<(shared::model::Conversation, usize, Carried)> {
    let carried = signed.carried.clone().unwrap_or_default();
    let id = carried
        .conversation_id
        .as_deref()
        .and_then(ConversationId::from_uuid);
    let (Some(id), Some(caller @ 0..=1)) = (id, carried.caller.map(usize::from)) else {
        tracing::warn!("whisper webhook without a conversation and caller");
        return None;
    };
    match deps.store.conversation(&id).await {
        Ok(Some(c)) if c.status_at(now) == ConversationStatus::Active => Some((c, caller, carried)),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(conversation_id = %id, error = %error_chain(&e), "whisper: the conversation could not be read");
            None
        }
    }
}

/// The callee's answer to the prompt (the sealed step `accept`): `1` takes the call (a moment
/// of silence, then the two are bridged); anything else, or no key, ends the callee's leg, and
/// the caller (whose leg the URL carries) is told, in their language, that the callee could
/// not take the call. Both go through the Voice API within the call's budget; without it the
/// callee is connected after all.
pub async fn accept<S: AnswerStore, V: CallControl>(
    deps: &Deps<S, V>,
    signed: &Signed,
    now: i64,
) -> Ncco {
    if pressed(&signed.fields).as_deref() == Some("1") {
        tracing::info!("the callee took the call");
        return Ncco::reject();
    }
    let Some((conversation, caller, carried)) = whispered(deps, signed, now).await else {
        return Ncco::reject();
    };
    let callee_leg = leg_id(signed.field("uuid"));
    let caller_leg = carried.leg.as_deref().and_then(leg_id).map(str::to_owned);
    let Some(voice) = &deps.voice else {
        tracing::warn!(conversation_id = %conversation.id, "the callee did not take the call, but no Voice API is configured: connecting");
        return Ncco::reject();
    };
    let (from, to) = (
        &conversation.participants[caller],
        &conversation.participants[1 - caller],
    );
    let language = from.language.as_ref();
    let declined = in_language(deps, Key::WhisperDeclined, &deps.call.declined, language);
    let told = Ncco::speak(&spoken(declined, &conversation, from, to), language);
    let tell_caller = async {
        match &caller_leg {
            Some(leg) => voice.transfer(leg, &told).await,
            None => Ok(()),
        }
    };
    let end_callee = async {
        match callee_leg {
            Some(leg) => voice.hang_up(leg).await,
            None => Ok(()),
        }
    };
    let done = tokio::time::timeout(deps.hooks.budget.saturating_sub(ACTING_RESERVE), async {
        tokio::join!(tell_caller, end_callee)
    })
    .await;
    match done {
        Ok((Ok(()), Ok(()))) => {
            tracing::info!(conversation_id = %conversation.id, "the callee did not take the call")
        }
        Ok((told, ended)) => {
            for e in [told.err(), ended.err()].into_iter().flatten() {
                tracing::error!(conversation_id = %conversation.id, error = %error_chain(&e), "a refused call could not be ended");
            }
        }
        Err(_) => {
            tracing::error!(conversation_id = %conversation.id, "the Voice API did not answer in time")
        }
    }
    Ncco::reject()
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
