//! What the console's tests share: its dependencies on the in-memory store, a user pool that
//! answers from a table of users, tokens signed with a test key the verifier is given, and
//! requests as a browser sends them.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use console::Deps;
use console::auth::Verifier;
use console::signin::{Identity, SignedIn, Unreachable};
use lambda_http::{Body, Request, Response};
use shared::config::{ConsoleConfig, ConversationConfig, Source};
use testkit::MapSource;
use testkit::fakes::{MemoryBucket, MemoryStore};

pub const POOL: &str = "eu-west-1_TestPool";
pub const CLIENT: &str = "console-client";
pub const ISSUER: &str = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TestPool";

pub const TEST_KEY: &str = include_str!("../fixtures/test-key.pem");
pub const OTHER_KEY: &str = include_str!("../fixtures/other-key.pem");
pub const TEST_JWKS: &str = include_str!("../fixtures/test-jwks.json");

pub fn config() -> ConsoleConfig {
    ConsoleConfig::from_source(&MapSource::new(&[
        ("AWS_REGION", "eu-west-1"),
        ("CONSOLE_USER_POOL_ID", POOL),
        ("CONSOLE_CLIENT_ID", CLIENT),
        ("CONSOLE_SECURE_COOKIE", "true"),
        // Keys the verifier lacks are fetched here: nothing listens, so they are refused.
        (
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            "http://127.0.0.1:9",
        ),
    ]))
    .unwrap()
}

pub fn conversations() -> ConversationConfig {
    let src: &dyn Source = &MapSource::new(&[("MAX_TTL_SECONDS", "604800")]);
    ConversationConfig::from_source(src).unwrap()
}

/// A user pool of fixed users: name → (password, groups); tokens signed with the test key.
#[derive(Default)]
pub struct Users {
    pub users: Mutex<HashMap<String, (String, Vec<String>)>>,
    /// Users who must choose a password first.
    pub temporary: Mutex<Vec<String>>,
    pub down: std::sync::atomic::AtomicBool,
}

impl Users {
    pub fn with(users: &[(&str, &str, &[&str])]) -> Self {
        let u = Self::default();
        for (name, password, groups) in users {
            u.users.lock().unwrap().insert(
                (*name).to_owned(),
                (
                    (*password).to_owned(),
                    groups.iter().map(|g| (*g).to_owned()).collect(),
                ),
            );
        }
        u
    }
}

impl Identity for Users {
    async fn sign_in(&self, username: &str, password: &str) -> Result<SignedIn, Unreachable> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Unreachable("down".into()));
        }
        let users = self.users.lock().unwrap();
        match users.get(username) {
            Some((p, _)) if p == password => {
                if self.temporary.lock().unwrap().iter().any(|t| t == username) {
                    Ok(SignedIn::NewPasswordRequired {
                        session: format!("session-of-{username}"),
                    })
                } else {
                    let groups: Vec<&str> = users[username].1.iter().map(String::as_str).collect();
                    Ok(SignedIn::Token(token(username, &groups, 3600)))
                }
            }
            _ => Ok(SignedIn::Refused),
        }
    }

    async fn choose_password(
        &self,
        username: &str,
        session: &str,
        new_password: &str,
    ) -> Result<SignedIn, Unreachable> {
        if session != format!("session-of-{username}") {
            return Ok(SignedIn::Refused);
        }
        if new_password.len() < 12 {
            return Ok(SignedIn::WeakPassword(
                "Password did not conform with policy: too short".into(),
            ));
        }
        self.temporary.lock().unwrap().retain(|t| t != username);
        let mut users = self.users.lock().unwrap();
        let entry = users.get_mut(username).unwrap();
        entry.0 = new_password.to_owned();
        let groups: Vec<&str> = entry.1.iter().map(String::as_str).collect();
        Ok(SignedIn::Token(token(username, &groups, 3600)))
    }
}

pub type TestDeps = Deps<MemoryStore, Users, MemoryBucket>;

pub fn deps(store: MemoryStore) -> TestDeps {
    let config = config();
    Deps {
        store,
        identity: Users::with(&[
            ("ann", "ann-password-1", &["agents"]),
            ("sam", "sam-password-1", &["supervisors"]),
            ("nobody", "nobody-password-1", &[]),
        ]),
        files: MemoryBucket::default(),
        verifier: Verifier::with_keys(&config, serde_json::from_str(TEST_JWKS).unwrap()),
        console: config,
        conversations: conversations(),
        link: Duration::from_secs(300),
    }
}

/// An ID token as the pool issues it, signed with `key`, with the claims given over the usual.
pub fn signed(key: &str, claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("test-key".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

pub fn claims(username: &str, groups: &[&str], valid_for: i64) -> serde_json::Value {
    let now = shared::now();
    serde_json::json!({
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": format!("sub-{username}"),
        "token_use": "id",
        "cognito:username": username,
        "cognito:groups": groups,
        "iat": now,
        "auth_time": now,
        "exp": now + valid_for,
    })
}

pub fn token(username: &str, groups: &[&str], valid_for: i64) -> String {
    signed(TEST_KEY, claims(username, groups, valid_for))
}

pub fn agent() -> String {
    token("ann", &["agents"], 3600)
}

pub fn supervisor() -> String {
    token("sam", &["supervisors"], 3600)
}

/// A `GET` with the session cookie `token`, if any.
pub fn get(path_and_query: &str, token: Option<&str>) -> Request {
    with_cookie(
        testkit::requests::request("GET", path_and_query, None, ""),
        token.map(|t| format!("console_session={t}")),
    )
}

/// A form `POST` with the session cookie `token`, if any.
pub fn post(path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Request {
    let body = serde_urlencoded::to_string(fields).unwrap();
    with_cookie(
        testkit::requests::request(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            &body,
        ),
        token.map(|t| format!("console_session={t}")),
    )
}

pub fn with_cookie(mut req: Request, cookie: Option<String>) -> Request {
    if let Some(c) = cookie {
        req.headers_mut()
            .append("cookie", http::HeaderValue::from_str(&c).unwrap());
    }
    req
}

/// The CSRF token of `token`'s session, as its pages carry it.
pub fn csrf(token: &str) -> String {
    console::auth::Session {
        username: String::new(),
        role: console::auth::Role::Agent,
        token: token.to_owned(),
        expires_at: 0,
    }
    .csrf()
}

pub fn text(r: &Response<Body>) -> String {
    match r.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        Body::Empty => String::new(),
        _ => String::new(),
    }
}

pub fn header<'a>(r: &'a Response<Body>, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The value a response sets cookie `name` to, if it sets one that is not empty.
pub fn cookie_value(r: &Response<Body>, name: &str) -> Option<String> {
    cookies(r).into_iter().find_map(|c| {
        c.strip_prefix(&format!("{name}="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
            .filter(|v| !v.is_empty())
    })
}

/// A supervisor's action: its form, with `token`'s session's CSRF token first.
pub fn act(path: &str, token: &str, fields: &[(&str, &str)]) -> Request {
    let csrf = csrf(token);
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    post(path, Some(token), &all)
}

pub fn cookies(r: &Response<Body>) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

pub const RIDER: &str = "447700900001";
pub const DRIVER: &str = "447700900002";
pub const P1: &str = "447700900101";
pub const P2: &str = "447700900102";

/// Every form of a participant's real number a page could show.
pub fn forms_of(number: &str) -> Vec<String> {
    let national = format!("0{}", &number[2..]);
    vec![
        number.to_owned(),
        format!("+{number}"),
        format!("+44 {} {}", &number[2..6], &number[6..]),
        format!("{} {}", &national[..5], &national[5..]),
        national,
        number[2..].to_owned(),
    ]
}

/// A conversation between a rider and a driver, with a reference, in the store.
pub async fn seeded(store: &MemoryStore, id: &str, reference: &str) -> shared::model::Conversation {
    use shared::ports::{Conversations, Pool};
    for p in [P1, P2] {
        let _ = store
            .add_number(&shared::model::PoolNumber::new(
                shared::phone::Msisdn::from_digits(p).unwrap(),
                "GB".parse().unwrap(),
                shared::model::NumberState::Active,
                1,
            ))
            .await
            .unwrap();
    }
    let now = shared::now();
    let mut c = testkit::conversation(id, (RIDER, P1), (DRIVER, P2), now - 600, now + 3600);
    c.reference = reference.parse().ok();
    c.participants[0].label = "rider".parse().ok();
    c.participants[1].label = "driver".parse().ok();
    store.create_conversation(&c).await.unwrap();
    c
}

/// `n` calls from the rider to the driver: each answered and completed, 42 s, on both legs.
pub async fn calls(store: &MemoryStore, c: &shared::model::Conversation, n: usize) {
    use shared::model::{CallEvent, Direction};
    use shared::ports::CallLog;
    let start = (c.created_at + 60) * 1000;
    for i in 0..n {
        let call_id = format!("CON-{i:04}");
        let at = start + i as i64 * 120_000;
        for (leg, direction, status, dt, duration) in [
            ("in", Direction::Inbound, "started", 0, None),
            ("in", Direction::Inbound, "answered", 100, None),
            ("out", Direction::Outbound, "ringing", 500, None),
            ("out", Direction::Outbound, "answered", 4_000, None),
            ("out", Direction::Outbound, "completed", 46_000, Some(42)),
            ("in", Direction::Inbound, "completed", 46_100, Some(46)),
        ] {
            let event = CallEvent {
                call_id: call_id.clone(),
                leg: format!("{leg}-{i:04}"),
                direction: Some(direction),
                shown_number: (direction == Direction::Outbound)
                    .then(|| c.participants[1].proxy_number.clone()),
                status: status.parse().unwrap(),
                at_ms: at + dt,
                caller_index: 0,
                duration,
                rate: duration.map(|_| "0.01".into()),
                price: duration.map(|_| "0.007".into()),
                detail: None,
                routed_by: Default::default(),
                initiated_by: Default::default(),
            };
            store.record_event(&c.id, &event, i64::MAX).await.unwrap();
        }
    }
}
