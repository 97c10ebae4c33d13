//! The answer webhook (`/webhooks/answer`) and the fallback answer webhook
//! (`/webhooks/fallback`): the call read once, decided, and its plan rendered.

use lambda_http::Request;
use shared::domain::answer::{self, InboundCall};
use shared::ncco::Ncco;
use shared::phone::mask;
use shared::signature::Signed;
use tracing::Instrument;

use crate::{AnswerStore, Deps, Outcome, render};

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
pub(crate) async fn answered<S: AnswerStore, V>(
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
    let call = InboundCall::read(signed, now, deps.deadline());
    let (plan, outcome) = answer::decide(&deps.store, &deps.rules(), &call)
        .instrument(span.clone())
        .await;
    let ncco = span.in_scope(|| render::plan(deps, req, &call, plan));
    (ncco, outcome)
}
