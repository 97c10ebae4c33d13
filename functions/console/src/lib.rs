//! The operator console (`/console`): server-rendered pages for the marketplace's support
//! staff, signed in against the stack's Cognito user pool. Agents look conversations up, see
//! their timeline, the pool and the day; supervisors also close, extend and reopen
//! conversations and reveal a participant's number with a written reason. It reads and writes
//! through the same ports as the API; the reveal log is the only record of its own.
//!
//! Every page is HTML that works without script, sent with a Content-Security-Policy that
//! allows none, `X-Frame-Options: DENY` and `Cache-Control: no-store`; every form carries a
//! CSRF token bound to the session; the session is an `HttpOnly`, `SameSite=Strict` cookie
//! holding the pool's ID token, checked against the pool's keys on every request.

pub mod auth;
pub mod pages;
pub mod signin;

mod settings;

pub use settings::Settings;

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use futures::{StreamExt, TryStreamExt};
use lambda_http::{Body, Request, RequestExt, Response};
use shared::config::{ConsoleConfig, ConversationConfig};
use shared::domain::conversation::{self, ClosePolicy, ExtendError, Reopened};
use shared::domain::health;
use shared::model::{
    CloseReason, Conversation, Interaction, ListFilter, Reveal, StoreError, Tally,
};
use shared::phone::Msisdn;
use shared::ports::{
    CallLog, Conversations, DayStats, NumberHealth, Pool, RecordingFiles, RevealLog, SmsLedger,
    TextLedger,
};
use shared::values::{ConversationId, Reference};

use crate::auth::{COOKIE, Role, Session, Verifier};
use crate::pages::*;
use crate::signin::{Identity, SignedIn};

/// What the console needs of the store.
pub trait ConsoleStore:
    Conversations + CallLog + SmsLedger + TextLedger + RevealLog + Pool + NumberHealth + DayStats
{
}
impl<T> ConsoleStore for T where
    T: Conversations
        + CallLog
        + SmsLedger
        + TextLedger
        + RevealLog
        + Pool
        + NumberHealth
        + DayStats
{
}

pub struct Deps<S, I, F> {
    pub store: S,
    pub identity: I,
    pub files: F,
    pub verifier: Verifier,
    pub console: ConsoleConfig,
    pub conversations: ConversationConfig,
    /// How long a recording's link works.
    pub link: Duration,
}

/// One request's budget: the user pool and the store each answer well within it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest form body read (a reveal's reason is the longest field).
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// The longest reason a reveal keeps.
pub const MAX_REASON_CHARS: usize = 500;

/// Conversations a proxy number search lists.
pub const SEARCH_LIMIT: i32 = 25;

/// Pool numbers whose health tallies are read at once.
const TALLIES_AT_ONCE: usize = 8;

/// The cookie that carries the sign-in form's CSRF token before there is a session.
const SIGN_IN_COOKIE: &str = "console_sign_in";

const STYLE: &str = include_str!("../templates/style.css");

/// An answer that is not the page asked for.
#[derive(Debug)]
pub enum Refusal {
    /// No valid session: a page goes to the sign-in, an action gets `401`.
    SignIn,
    Forbidden(String),
    NotFound(String),
    BadRequest(&'static str, String),
    Conflict(&'static str, String),
    TooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    Unavailable,
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %shared::error::error_chain(&e), "the store did not answer");
        Refusal::Unavailable
    }
}

type Answer = Result<Response<Body>, Refusal>;

pub async fn handle<S: ConsoleStore, I: Identity, F: RecordingFiles>(
    deps: &Deps<S, I, F>,
    req: Request,
) -> Response<Body> {
    let session = match cookie(&req, COOKIE) {
        Some(token) => match deps.verifier.verify(&token).await {
            Ok(session) => Some(session),
            Err(e) => {
                tracing::info!(reason = %e, "console session refused");
                None
            }
        },
        None => None,
    };
    let post = req.method() == http::Method::POST;
    let mut response = match route(deps, &req, session.as_ref()).await {
        Ok(response) => response,
        Err(Refusal::SignIn) if !post => redirect("/console/sign-in", Some(&expired_cookie(deps))),
        Err(refusal) => {
            let mut response = problem_page(refusal, session.as_ref());
            if session.is_none() {
                set_cookie(&mut response, &expired_cookie(deps));
            }
            response
        }
    };
    let csp = if deps.console.secure_cookie {
        CSP
    } else {
        CSP_LOCAL
    };
    response.headers_mut().insert(
        "Content-Security-Policy",
        http::HeaderValue::from_static(csp),
    );
    response
}

async fn route<S: ConsoleStore, I: Identity, F: RecordingFiles>(
    deps: &Deps<S, I, F>,
    req: &Request,
    session: Option<&Session>,
) -> Answer {
    let path = shared::http::path(req);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().as_str();
    let Some(("console", rest)) = segments.split_first().map(|(a, b)| (*a, b)) else {
        return Err(Refusal::NotFound(format!("no page at {path}")));
    };
    match (method, rest) {
        ("GET", ["style.css"]) => Ok(response(200, "text/css; charset=utf-8", STYLE.into())),
        ("GET", ["sign-in"]) => Ok(sign_in_page(deps, None, "", 200)),
        ("POST", ["sign-in"]) => sign_in(deps, req).await,
        ("POST", ["new-password"]) => new_password(deps, req).await,
        ("POST", ["sign-out"]) => {
            let s = session.ok_or(Refusal::SignIn)?;
            checked_form(req, s)?;
            Ok(redirect("/console/sign-in", Some(&expired_cookie(deps))))
        }
        ("GET", [] | [""]) => match session {
            Some(_) => Ok(redirect("/console/search", None)),
            None => Err(Refusal::SignIn),
        },
        ("GET", ["search"]) => search(deps, req, session.ok_or(Refusal::SignIn)?).await,
        ("GET", ["pool"]) => pool(deps, session.ok_or(Refusal::SignIn)?).await,
        ("GET", ["overview"]) => overview(deps, session.ok_or(Refusal::SignIn)?).await,
        ("GET", ["conversations", id]) => {
            let s = session.ok_or(Refusal::SignIn)?;
            conversation_page(deps, s, &conversation_id(id)?).await
        }
        (
            "GET",
            [
                "conversations",
                id,
                "calls",
                call_id,
                "recordings",
                recording_id,
            ],
        ) => {
            session.ok_or(Refusal::SignIn)?;
            recording(deps, &conversation_id(id)?, call_id, recording_id).await
        }
        (
            "GET",
            [
                "conversations",
                id,
                action @ ("close" | "extend" | "reopen" | "reveal"),
            ],
        ) => {
            let s = supervisor(session)?;
            confirm_page(deps, req, s, &conversation_id(id)?, action).await
        }
        (
            "POST",
            [
                "conversations",
                id,
                action @ ("close" | "extend" | "reopen" | "reveal"),
            ],
        ) => {
            let s = supervisor(session)?;
            let form = checked_form(req, s)?;
            act(deps, s, &conversation_id(id)?, action, &form).await
        }
        (
            _,
            [
                "style.css" | "sign-in" | "new-password" | "sign-out" | "search" | "pool"
                | "overview",
            ]
            | ["conversations", ..],
        ) => Err(Refusal::MethodNotAllowed),
        _ => Err(Refusal::NotFound(format!("no page at {path}"))),
    }
}

fn supervisor(session: Option<&Session>) -> Result<&Session, Refusal> {
    let s = session.ok_or(Refusal::SignIn)?;
    match s.role {
        Role::Supervisor => Ok(s),
        Role::Agent => Err(Refusal::Forbidden(
            "only supervisors may close, extend, reopen or reveal".into(),
        )),
    }
}

fn conversation_id(raw: &str) -> Result<ConversationId, Refusal> {
    raw.parse()
        .map_err(|_| Refusal::NotFound(format!("no conversation {raw}")))
}

// ---- responses ------------------------------------------------------------------------------

fn response(status: u16, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .header("Cache-Control", "no-store")
        .header("X-Content-Type-Options", "nosniff")
        .header("X-Frame-Options", "DENY")
        .header("Referrer-Policy", "no-referrer")
        .body(Body::from(body))
        .unwrap_or_default()
}

/// No script at all, styles and forms from the console only, never in a frame; recordings
/// play from the bucket's short-lived links (HTTPS; the local stand-in's are plain HTTP on
/// the loopback).
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self' https:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const CSP_LOCAL: &str = "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self' http://127.0.0.1:* http://localhost:*; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn html(status: u16, page: &impl Template) -> Response<Body> {
    match page.render() {
        Ok(body) => response(status, "text/html; charset=utf-8", body),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            response(
                500,
                "text/plain; charset=utf-8",
                "The page could not be shown.".into(),
            )
        }
    }
}

fn redirect(to: &str, cookie: Option<&str>) -> Response<Body> {
    let mut r = response(303, "text/plain; charset=utf-8", String::new());
    if let Ok(location) = http::HeaderValue::from_str(to) {
        r.headers_mut().insert("Location", location);
    }
    if let Some(cookie) = cookie {
        set_cookie(&mut r, cookie);
    }
    r
}

fn set_cookie(r: &mut Response<Body>, cookie: &str) {
    if let Ok(v) = http::HeaderValue::from_str(cookie) {
        r.headers_mut().append("Set-Cookie", v);
    }
}

fn cookie_with<S, I, F>(deps: &Deps<S, I, F>, name: &str, value: &str, max_age: i64) -> String {
    let secure = if deps.console.secure_cookie {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

fn expired_cookie<S, I, F>(deps: &Deps<S, I, F>) -> String {
    cookie_with(deps, COOKIE, "", 0)
}

/// A cookie's value from the request's `Cookie` headers (API Gateway's payload 2.0 passes
/// them in `cookies`, which `lambda_http` joins back into the header).
fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

fn problem_page(refusal: Refusal, session: Option<&Session>) -> Response<Body> {
    let (status, code, title, detail) = match refusal {
        Refusal::SignIn => (
            401,
            "sign_in",
            "Sign in first",
            "Your session is missing or has expired.".to_owned(),
        ),
        Refusal::Forbidden(d) => (403, "forbidden", "Not allowed", d),
        Refusal::NotFound(d) => (404, "not_found", "Not found", d),
        Refusal::BadRequest(code, d) => (400, code, "Not understood", d),
        Refusal::Conflict(code, d) => (409, code, "Not done", d),
        Refusal::TooLarge => (
            413,
            "payload_too_large",
            "Too large",
            format!("A form may be at most {MAX_FORM_BYTES} bytes."),
        ),
        Refusal::UnsupportedMediaType => (
            415,
            "unsupported_media_type",
            "Not a form",
            "Forms are sent as application/x-www-form-urlencoded.".to_owned(),
        ),
        Refusal::MethodNotAllowed => (
            405,
            "method_not_allowed",
            "Not allowed",
            "This page does not take that method.".to_owned(),
        ),
        Refusal::Unavailable => (
            503,
            "store_unavailable",
            "Try again",
            "The store did not answer in time; nothing was changed.".to_owned(),
        ),
    };
    html(
        status,
        &ProblemPage {
            user: session.map(|s| UserView::of(s, "")),
            title: title.into(),
            code,
            detail,
        },
    )
}

// ---- forms --------------------------------------------------------------------------------

/// A form body's fields: `415` unless it is a form, `413` past [`MAX_FORM_BYTES`].
fn form(req: &Request) -> Result<HashMap<String, String>, Refusal> {
    let body = shared::request::body_bytes(req);
    if body.len() > MAX_FORM_BYTES {
        return Err(Refusal::TooLarge);
    }
    let media = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(Refusal::UnsupportedMediaType);
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|pairs| pairs.into_iter().collect())
        .map_err(|e| Refusal::BadRequest("invalid_form", e.to_string()))
}

/// A signed-in person's form, refused with `403` unless it carries their session's CSRF token.
fn checked_form(req: &Request, s: &Session) -> Result<HashMap<String, String>, Refusal> {
    let fields = form(req)?;
    match fields.get("csrf") {
        Some(token) if s.csrf_matches(token) => Ok(fields),
        _ => Err(Refusal::Forbidden(
            "the form's CSRF token is missing or not this session's; reload the page".into(),
        )),
    }
}

// ---- signing in --------------------------------------------------------------------------------

fn sign_in_page<S, I, F>(
    deps: &Deps<S, I, F>,
    problem: Option<String>,
    username: &str,
    status: u16,
) -> Response<Body> {
    let token = uuid_token();
    let mut r = html(
        status,
        &SignInPage {
            user: None,
            csrf: token.clone(),
            username: username.to_owned(),
            problem,
        },
    );
    set_cookie(&mut r, &cookie_with(deps, SIGN_IN_COOKIE, &token, 1800));
    r
}

fn uuid_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn rand_bytes() -> [u8; 24] {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(a.as_bytes());
    out[16..].copy_from_slice(&b.as_bytes()[..8]);
    out
}

/// The sign-in forms' CSRF check: the form's token is the one its page set in a cookie.
fn sign_in_form(req: &Request) -> Result<HashMap<String, String>, Refusal> {
    let fields = form(req)?;
    use subtle::ConstantTimeEq;
    match (fields.get("csrf"), cookie(req, SIGN_IN_COOKIE)) {
        (Some(sent), Some(kept)) if bool::from(sent.as_bytes().ct_eq(kept.as_bytes())) => {
            Ok(fields)
        }
        _ => Err(Refusal::Forbidden(
            "the sign-in form expired or came from elsewhere; reload it".into(),
        )),
    }
}

async fn signed_in<S, I: Identity, F>(
    deps: &Deps<S, I, F>,
    outcome: Result<SignedIn, signin::Unreachable>,
    username: &str,
) -> Answer {
    match outcome {
        Ok(SignedIn::Token(token)) => match deps.verifier.verify(&token).await {
            Ok(session) => {
                let max_age = (session.expires_at - shared::now()).max(0);
                tracing::info!(user = %session.username, role = session.role.as_str(), "signed in to the console");
                let mut r = redirect(
                    "/console/search",
                    Some(&cookie_with(deps, COOKIE, &token, max_age)),
                );
                // The sign-in form's token has served its purpose.
                set_cookie(&mut r, &cookie_with(deps, SIGN_IN_COOKIE, "", 0));
                Ok(r)
            }
            Err(e) => {
                tracing::warn!(reason = %e, "a token the pool gave was refused");
                Ok(sign_in_page(
                    deps,
                    Some("This user may not use the console: ask a supervisor to add you to a group.".into()),
                    username,
                    403,
                ))
            }
        },
        Ok(SignedIn::NewPasswordRequired { session }) => {
            let token = uuid_token();
            let mut r = html(
                200,
                &NewPasswordPage {
                    user: None,
                    csrf: token.clone(),
                    username: username.to_owned(),
                    session,
                    problem: None,
                },
            );
            set_cookie(&mut r, &cookie_with(deps, SIGN_IN_COOKIE, &token, 1800));
            Ok(r)
        }
        Ok(SignedIn::Refused) => Ok(sign_in_page(
            deps,
            Some("The user name or password is not right.".into()),
            username,
            401,
        )),
        Ok(SignedIn::WeakPassword(why)) => Ok(sign_in_page(deps, Some(why), username, 400)),
        Err(e) => {
            tracing::error!(error = %e, "the user pool did not answer");
            Ok(sign_in_page(
                deps,
                Some("Signing in is not possible right now; try again in a minute.".into()),
                username,
                503,
            ))
        }
    }
}

async fn sign_in<S, I: Identity, F>(deps: &Deps<S, I, F>, req: &Request) -> Answer {
    let fields = sign_in_form(req)?;
    let (username, password) = match (fields.get("username"), fields.get("password")) {
        (Some(u), Some(p)) if !u.trim().is_empty() && !p.is_empty() => (u.trim(), p.as_str()),
        _ => {
            return Ok(sign_in_page(
                deps,
                Some("Enter your user name and password.".into()),
                "",
                400,
            ));
        }
    };
    let outcome = deps.identity.sign_in(username, password).await;
    signed_in(deps, outcome, username).await
}

async fn new_password<S, I: Identity, F>(deps: &Deps<S, I, F>, req: &Request) -> Answer {
    let fields = sign_in_form(req)?;
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let (username, session, password) = (field("username"), field("session"), field("password"));
    if username.is_empty() || session.is_empty() || password.is_empty() {
        return Err(Refusal::BadRequest(
            "invalid_form",
            "the user name, the sign-in's session and a new password are all needed".into(),
        ));
    }
    let outcome = deps
        .identity
        .choose_password(username, session, password)
        .await;
    signed_in(deps, outcome, username).await
}

// ---- pages ------------------------------------------------------------------------------------

async fn search<S: ConsoleStore, I, F>(deps: &Deps<S, I, F>, req: &Request, s: &Session) -> Answer {
    let params = req.query_string_parameters();
    let q = params.first("q").unwrap_or_default().trim().to_owned();
    let now = shared::now();
    let page = |note: Option<String>, results: Vec<Row>| {
        html(
            200,
            &SearchPage {
                user: Some(UserView::of(s, &q)),
                note,
                results,
            },
        )
    };
    if q.is_empty() {
        return Ok(page(
            Some(
                "Search by the reference your platform gave, a conversation id, or a proxy number."
                    .into(),
            ),
            Vec::new(),
        ));
    }
    if q.chars().count() > 64 {
        return Err(Refusal::BadRequest(
            "invalid_query",
            "a search is at most 64 characters".into(),
        ));
    }
    if let Ok(id) = q.parse::<ConversationId>()
        && let Some(c) = deps.store.conversation(&id).await?
    {
        return Ok(page(None, vec![Row::of(&c, now)]));
    }
    let mut results = Vec::new();
    if let Ok(reference) = q.parse::<Reference>()
        && let Some(c) = deps.store.find_by_reference(&reference).await?
    {
        results.push(Row::of(&c, now));
    }
    if results.is_empty()
        && q.chars().any(|ch| ch.is_ascii_digit())
        && let Ok(number) = Msisdn::parse(&q)
    {
        let filter = ListFilter {
            proxy_number: Some(number),
            ..ListFilter::default()
        };
        let listed = deps
            .store
            .list_conversations(&filter, SEARCH_LIMIT, None)
            .await?;
        results.extend(listed.items.iter().map(|c| Row::of(c, now)));
    }
    let note = results.is_empty().then(|| {
        "Nothing found. A reference finds an open conversation; a closed one is found by its id or its proxy number.".to_owned()
    });
    Ok(page(note, results))
}

/// A conversation's page: six reads of the store whatever its length (the conversation, its
/// call events, texts, recordings and reveals, and the delivery states of its texts).
pub async fn conversation_page<S: ConsoleStore, I, F>(
    deps: &Deps<S, I, F>,
    s: &Session,
    id: &ConversationId,
) -> Answer {
    let Some(c) = deps.store.conversation(id).await? else {
        return Err(Refusal::NotFound(format!("no conversation {id}")));
    };
    let (events, messages, recordings, reveals) = tokio::join!(
        deps.store.call_events(id),
        deps.store.messages(id),
        deps.store.recordings(id),
        deps.store.reveals(id),
    );
    let (events, messages, recordings, reveals) = (events?, messages?, recordings?, reveals?);
    let ids = text_ids(&c, &messages);
    let texts = if ids.is_empty() {
        HashMap::new()
    } else {
        deps.store.texts(&ids).await?
    };
    let calls = Interaction::fold(&events);
    let history = History {
        conversation: &c,
        calls: &calls,
        recordings: &recordings,
        messages: &messages,
        texts: &texts,
        reveals: &reveals,
    };
    let now = shared::now();
    Ok(html(
        200,
        &ConversationPage {
            user: Some(UserView::of(s, "")),
            supervisor: s.role == Role::Supervisor,
            c: history.facts(now),
            timeline: history.timeline(id),
            reveals: history.reveal_rows(),
        },
    ))
}

/// Vonage's ids of the texts a conversation sent: notifications and relayed messages.
fn text_ids(c: &Conversation, messages: &[shared::model::RelayedMessage]) -> Vec<String> {
    c.participants
        .iter()
        .filter_map(|p| p.notification.as_ref().and_then(|n| n.message_id.clone()))
        .chain(messages.iter().filter_map(|m| m.outbound_id.clone()))
        .collect()
}

async fn recording<S: ConsoleStore, I, F: RecordingFiles>(
    deps: &Deps<S, I, F>,
    id: &ConversationId,
    call_id: &str,
    recording_id: &str,
) -> Answer {
    let recordings = deps.store.recordings(id).await?;
    let Some(r) = recordings
        .iter()
        .find(|r| r.call_id == call_id && r.recording_id == recording_id)
    else {
        return Err(Refusal::NotFound("no such recording".into()));
    };
    match deps.files.link(&r.key, deps.link).await {
        Ok(link) => Ok(redirect(&link, None)),
        Err(e) => {
            tracing::error!(error = %shared::error::error_chain(&e), "no link to a recording");
            Err(Refusal::Unavailable)
        }
    }
}

async fn pool<S: ConsoleStore, I, F>(deps: &Deps<S, I, F>, s: &Session) -> Answer {
    let numbers = deps.store.list_pool().await?;
    let now = shared::now();
    let store = &deps.store;
    let msisdns: Vec<Msisdn> = numbers.iter().map(|n| n.msisdn.clone()).collect();
    let tallies: Vec<Tally> = futures::stream::iter(msisdns)
        .map(|msisdn| async move { health::tally(store, &msisdn, now).await })
        .buffered(TALLIES_AT_ONCE)
        .try_collect()
        .await?;
    let rows: Vec<NumberRow> = numbers
        .iter()
        .zip(&tallies)
        .map(|(n, t)| NumberRow::of(n, t))
        .collect();
    Ok(html(
        200,
        &PoolPage {
            user: Some(UserView::of(s, "")),
            flagged: numbers.iter().filter(|n| n.health_flag.is_some()).count(),
            numbers: rows,
        },
    ))
}

async fn overview<S: ConsoleStore, I, F>(deps: &Deps<S, I, F>, s: &Session) -> Answer {
    let now = shared::now();
    let day = now.div_euclid(86_400);
    let (counts, calls, numbers) = tokio::join!(
        deps.store.day_counts(day),
        deps.store.pool_tally(day, day),
        deps.store.list_pool(),
    );
    let (counts, calls, numbers) = (counts?, calls?, numbers?);
    Ok(html(
        200,
        &OverviewPage {
            user: Some(UserView::of(s, "")),
            day: at(day * 86_400)[..10].to_owned(),
            counts,
            connected: calls.answered,
            missed: calls.calls - calls.answered,
            pool_size: numbers.len(),
            flagged: numbers.iter().filter(|n| n.health_flag.is_some()).count(),
        },
    ))
}

// ---- supervisors' actions ----------------------------------------------------------------------

async fn confirm_page<S: ConsoleStore, I, F>(
    deps: &Deps<S, I, F>,
    req: &Request,
    s: &Session,
    id: &ConversationId,
    action: &str,
) -> Answer {
    let Some(c) = deps.store.conversation(id).await? else {
        return Err(Refusal::NotFound(format!("no conversation {id}")));
    };
    let index = match action {
        "reveal" => reveal_index(
            req.query_string_parameters()
                .first("index")
                .unwrap_or_default(),
        )?,
        _ => 0,
    };
    let whose = RevealedPage::whose(&c, index);
    let (action, heading, explanation, button) = match action {
        "close" => ("close", "Close this conversation?", "Its proxy numbers stop working for these two people at once; callers hear that the number is no longer in service.".to_owned(), "Close it"),
        "extend" => ("extend", "Extend this conversation?", "Its numbers keep working for longer; the participants are not told.".to_owned(), "Extend it"),
        "reopen" => ("reopen", "Reopen this conversation?", format!("It opens again for {} hours with the same proxy numbers, if both are still free for these people.", deps.conversations.default_ttl_seconds / 3600), "Reopen it"),
        _ => ("reveal", "Reveal a participant's number?", format!("You will see {whose}'s real number. Your name, the time and your reason are kept with the conversation and published to the marketplace's backend."), "Reveal it"),
    };
    Ok(html(
        200,
        &ConfirmPage {
            user: Some(UserView::of(s, "")),
            id: id.clone(),
            action,
            heading: heading.into(),
            explanation,
            button,
            csrf: s.csrf(),
            index,
        },
    ))
}

fn reveal_index(raw: &str) -> Result<usize, Refusal> {
    match raw {
        "0" => Ok(0),
        "1" => Ok(1),
        _ => Err(Refusal::BadRequest(
            "invalid_index",
            "index is the participant's position, 0 or 1".into(),
        )),
    }
}

async fn act<S: ConsoleStore, I, F>(
    deps: &Deps<S, I, F>,
    s: &Session,
    id: &ConversationId,
    action: &str,
    form: &HashMap<String, String>,
) -> Answer {
    let now = shared::now();
    let policy = ClosePolicy::from(&deps.conversations);
    let done = || Ok(redirect(&format!("/console/conversations/{id}"), None));
    match action {
        "close" => {
            match conversation::close(&deps.store, id, CloseReason::Closed, now, policy).await? {
                None => Err(Refusal::NotFound(format!("no conversation {id}"))),
                Some(_) => {
                    tracing::info!(conversation_id = %id, user = %s.username, "closed from the console");
                    done()
                }
            }
        }
        "reopen" => {
            let ttl = i64::try_from(deps.conversations.default_ttl_seconds).unwrap_or(i64::MAX);
            match conversation::reopen(&deps.store, id, ttl, now, policy).await {
                Ok(Reopened::Reopened(_) | Reopened::AlreadyOpen(_)) => {
                    tracing::info!(conversation_id = %id, user = %s.username, "reopened from the console");
                    done()
                }
                Err(shared::domain::error::ReopenError::NotFound) => {
                    Err(Refusal::NotFound(format!("no conversation {id}")))
                }
                Err(shared::domain::error::ReopenError::Store(e)) => Err(e.into()),
                Err(e) => Err(Refusal::Conflict("not_reopened", e.to_string())),
            }
        }
        "extend" => {
            let seconds = match form.get("seconds").map(String::as_str) {
                Some("3600") => 3600,
                Some("86400") => 86_400,
                Some("604800") => 604_800,
                _ => {
                    return Err(Refusal::BadRequest(
                        "invalid_seconds",
                        "extend by 1 hour, 1 day or 7 days".into(),
                    ));
                }
            };
            let max = i64::try_from(deps.conversations.max_ttl_seconds).unwrap_or(i64::MAX);
            match conversation::extend(&deps.store, id, seconds, max, now).await {
                Ok(_) => {
                    tracing::info!(conversation_id = %id, user = %s.username, seconds, "extended from the console");
                    done()
                }
                Err(ExtendError::NotFound) => {
                    Err(Refusal::NotFound(format!("no conversation {id}")))
                }
                Err(ExtendError::Store(e)) => Err(e.into()),
                Err(e) => Err(Refusal::Conflict("not_extended", e.to_string())),
            }
        }
        _ => reveal(deps, s, id, form, now).await,
    }
}

async fn reveal<S: ConsoleStore, I, F>(
    deps: &Deps<S, I, F>,
    s: &Session,
    id: &ConversationId,
    form: &HashMap<String, String>,
    now: i64,
) -> Answer {
    let index = reveal_index(form.get("index").map(String::as_str).unwrap_or_default())?;
    let reason = form.get("reason").map(|r| r.trim()).unwrap_or_default();
    if reason.chars().count() < 5 || reason.chars().count() > MAX_REASON_CHARS {
        return Err(Refusal::BadRequest(
            "invalid_reason",
            format!("write why you need the number, in 5 to {MAX_REASON_CHARS} characters"),
        ));
    }
    let Some(c) = deps.store.conversation(id).await? else {
        return Err(Refusal::NotFound(format!("no conversation {id}")));
    };
    let p = &c.participants[index];
    // The record first: a number is shown only once its reveal is kept.
    deps.store
        .record_reveal(&Reveal {
            conversation_id: c.id.clone(),
            reference: c.reference.clone(),
            index: u8::try_from(index).unwrap_or(1),
            label: p.label.clone(),
            by: s.username.clone(),
            reason: reason.to_owned(),
            at_ms: now * 1000,
        })
        .await?;
    tracing::info!(conversation_id = %id, index, user = %s.username, "number revealed in the console");
    Ok(html(
        200,
        &RevealedPage {
            user: Some(UserView::of(s, "")),
            id: id.clone(),
            whose: RevealedPage::whose(&c, index),
            number: format!("+{}", p.number.as_str()),
        },
    ))
}

impl<S: ConsoleStore, I: Identity, F: RecordingFiles> shared::runtime::Handler for Deps<S, I, F> {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
