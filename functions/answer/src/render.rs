//! Plans as NCCOs: what the caller is told (in their language where the texts catalogue has
//! it), the code prompt, and the connect with the URLs it carries, sealed for the call.

use lambda_http::Request;
use shared::config::texts::Key;
use shared::domain::answer::{self, InboundCall, Plan, Said};
use shared::domain::calls;
use shared::domain::connect::{self, Sealing, Urls};
use shared::http::request_base_url;
use shared::model::{Route, RoutedBy};
use shared::ncco::Ncco;
use shared::seal::Carried;
use shared::values::Language;

use crate::Deps;

/// The NCCO for `plan`, decided for `call`.
pub(crate) fn plan<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    call: &InboundCall<'_>,
    plan: Plan,
) -> Ncco {
    match plan {
        Plan::Connect { route, routed_by } => connect(deps, req, &route, call, routed_by),
        Plan::AskCode { attempt, language } => {
            ask_code(deps, req, call, attempt, language.as_ref())
        }
        Plan::Say { text, language } => {
            let codes = deps.codes.as_ref();
            let (key, default) = match &text {
                Said::Hook(words) => return Ncco::say(words),
                Said::OutOfService => (Key::OutOfService, &deps.call.out_of_service),
                Said::Unavailable => (Key::Unavailable, &deps.call.unavailable),
                Said::CodeLocked => (
                    Key::AccessCodeLocked,
                    codes.map_or(&deps.call.out_of_service, |c| &c.locked),
                ),
                Said::CodeRefused => (
                    Key::AccessCodeRefused,
                    codes.map_or(&deps.call.out_of_service, |c| &c.refused),
                ),
            };
            say(deps, key, default, language.as_ref())
        }
        Plan::Reject => Ncco::reject(),
        Plan::Quiet { route } => quiet(deps, req, &route, call),
    }
}

/// What a caller whose callee is in their quiet hours hears, in the caller's language: that
/// the callee is not taking calls now, then what the conversation's missed-call setting says
/// (the voicemail's prompt and recording, or nothing more), as after a call the callee did not
/// take (`domain::calls`).
fn quiet<S, V>(deps: &Deps<S, V>, req: &Request, route: &Route, call: &InboundCall<'_>) -> Ncco {
    let missed = &deps.call.missed;
    let language = route.language.as_ref();
    let lead = route.spoken(missed.texts.localized_or(
        Key::QuietHours,
        language,
        &missed.quiet_hours,
    ));
    calls::caller_hears(
        missed,
        &answer::untaken(route, call),
        language,
        &|text: &str| route.spoken(text),
        Some(&lead),
        || {
            calls::voicemail_url(
                &deps.auth.seal(),
                &base_url(deps, req),
                call.sealed_for,
                &route.conversation_id,
            )
        },
    )
}

/// The prompt for an access code (try `attempt`), in the caller's language when it is known;
/// the keys typed are posted to `/webhooks/code`.
fn ask_code<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    call: &InboundCall<'_>,
    attempt: u8,
    language: Option<&Language>,
) -> Ncco {
    let Some(codes) = &deps.codes else {
        return Ncco::say(&deps.call.out_of_service);
    };
    let url = deps.auth.seal().url(
        &format!("{}/webhooks/code", base_url(deps, req)),
        call.sealed_for,
        &Carried {
            attempt: Some(attempt),
            ..Carried::default()
        },
    );
    let texts = &deps.call.texts;
    let asking = texts.localized_or(Key::AccessCode, language, &codes.prompt);
    let prompt = if attempt > 1 {
        let retry = texts.localized_or(Key::AccessCodeRetry, language, &codes.retry);
        format!("{retry} {asking}")
    } else {
        asking.to_owned()
    };
    Ncco::ask_code(&prompt, language, codes.digits, url)
}

/// The base of our own webhook URLs: `PUBLIC_BASE_URL`, or the one the request came in on.
pub(crate) fn base_url<S, V>(deps: &Deps<S, V>, req: &Request) -> String {
    deps.call
        .public_base_url
        .clone()
        .unwrap_or_else(|| request_base_url(req))
}

/// Connects the caller (whose leg is the call's) to the other participant of `route`, with the
/// other participant's proxy number as caller ID (rule 1), as `shared::domain::connect` builds
/// it for every call; what the connect's URLs carry back is sealed for the call.
fn connect<S, V>(
    deps: &Deps<S, V>,
    req: &Request,
    route: &Route,
    call: &InboundCall<'_>,
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
    connect::bridge(
        &deps.call,
        route,
        &Urls {
            base: &base,
            seal: &seal,
            sealing: Sealing::Call {
                call: call.sealed_for,
                caller_leg: leg_id(call.leg),
                routed_by,
            },
        },
    )
}

/// Text `key` in `language` where the catalogue has it there, else `default` (the default
/// language's, as configured).
pub(crate) fn in_language<'a, S, V>(
    deps: &'a Deps<S, V>,
    key: Key,
    default: &'a str,
    language: Option<&Language>,
) -> &'a str {
    deps.call.texts.localized_or(key, language, default)
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
pub(crate) fn leg_id(leg: &str) -> Option<&str> {
    (!leg.is_empty()
        && leg.len() <= 64
        && leg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    .then_some(leg)
}
