//! The keys a caller typed at the code prompt (`/webhooks/code`, its attempt sealed in our
//! URL), decided by `shared::domain::answer::typed_code`.

use lambda_http::Request;
use shared::domain::answer::{self, InboundCall};
use shared::ncco::Ncco;
use shared::phone::mask;
use shared::signature::Signed;
use tracing::Instrument;

use crate::{AnswerStore, Deps, Outcome, render};

/// Decides the NCCO for the keys typed at the code prompt at time `now` (its signature checked
/// already). Codes are never logged.
pub async fn code<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    now: i64,
) -> (Ncco, Outcome) {
    match deps.auth.read(req) {
        Ok(signed) => typed(deps, req, &signed, now).await,
        Err(e) => {
            tracing::warn!(error = %e, "code webhook not readable");
            (Ncco::say(&deps.call.out_of_service), Outcome::Unreadable)
        }
    }
}

pub(crate) async fn typed<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    signed: &Signed,
    now: i64,
) -> (Ncco, Outcome) {
    let call = InboundCall::read(signed, now, deps.deadline());
    let rules = deps.rules();
    let span = tracing::info_span!(
        "code",
        uuid = call.leg,
        to = %mask(signed.field("to")),
        from = %mask(signed.field("from")),
        attempt = answer::code_attempt(&call, rules.plain_parameters),
    );
    let (plan, outcome) = answer::typed_code(&deps.store, &rules, &call)
        .instrument(span.clone())
        .await;
    let ncco = span.in_scope(|| render::plan(deps, req, &call, plan));
    (ncco, outcome)
}
