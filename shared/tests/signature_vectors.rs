//! The webhook signature checks against vectors made outside this project: signed-webhook
//! tokens encoded by PyJWT, SMS `sig`s computed by the Vonage SDK's own helpers, and the
//! vectors Vonage publishes in its SDKs' tests. They live in `tests/vectors/`, written by
//! `scripts/signature_vectors.py`, whose `source` fields say where each one came from.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{BTreeSet, HashMap};

use secrecy::SecretString;
use serde::Deserialize;
use shared::config::WebhookMethods;
use shared::signature::{Claims, SignatureError, Verifier};
use shared::sms_signature::{SmsSignatureError, SmsSignatureMethod, SmsVerifier, sms_sign};

fn read<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[derive(Deserialize)]
struct JwtFile {
    max_age_seconds: i64,
    vectors: Vec<JwtVector>,
}

#[derive(Deserialize)]
struct JwtVector {
    name: String,
    secret: String,
    api_key: String,
    /// The application the verifier expects; `None` for tokens that name none.
    application_id: Option<String>,
    token: String,
    body: String,
    has_payload_hash: bool,
    iat: i64,
    now: i64,
    /// Where `GET` is taken too: `ok`, `invalid`, `tampered`, `stale`, `wrong_account` or
    /// `wrong_application`.
    expected: String,
    /// What the Vonage SDK's `verify_signature` said: `valid`, `invalid` or `error`.
    sdk_verify_signature: String,
}

impl JwtVector {
    /// The verifier as configured for this vector, taking `methods`.
    fn verifier(&self, methods: WebhookMethods, max_age: i64) -> Verifier {
        Verifier::new(
            SecretString::from(self.secret.clone()),
            Some(self.api_key.clone()),
            max_age,
        )
        .for_application(self.application_id.clone())
        .webhooks(methods)
    }

    fn check(&self, methods: WebhookMethods, max_age: i64) -> Result<Claims, SignatureError> {
        self.verifier(methods, max_age)
            .verify(&self.token, self.body.as_bytes(), self.now)
    }

    /// Where only `POST` is taken, an empty body is refused before anything else, and a token
    /// without `payload_hash` that would pass, or fail only on the body, is unsigned.
    fn expected_post_only(&self) -> &str {
        let blank = self.body.trim().is_empty();
        let hashless = !self.has_payload_hash && ["ok", "tampered"].contains(&&*self.expected);
        if blank || hashless {
            "unsigned"
        } else {
            &self.expected
        }
    }
}

/// `ok`, or the error's name in snake case (`Err(WrongAccount)` is `wrong_account`), so that
/// an error kind added later needs no change here.
fn outcome(result: &Result<Claims, SignatureError>) -> String {
    let Err(e) = result else {
        return "ok".into();
    };
    let debug = format!("{e:?}");
    let name = debug.split(['(', ' ', '{']).next().unwrap_or_default();
    let mut snake = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    snake
}

#[test]
fn every_webhook_token_gets_its_expected_outcome() {
    let file: JwtFile = read("webhook_jwt.json");
    assert!(file.vectors.len() >= 10, "too few vectors");
    let mut failures = Vec::new();
    for v in &file.vectors {
        let result = v.check(WebhookMethods::Any, file.max_age_seconds);
        let got = outcome(&result);
        if got != v.expected {
            failures.push(format!("{}: expected {}, got {got}", v.name, v.expected));
        }
        if let Ok(claims) = result {
            assert_eq!(claims.iat, v.iat, "{}", v.name);
            assert_eq!(claims.application_id, v.application_id, "{}", v.name);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let seen: BTreeSet<&str> = file.vectors.iter().map(|v| v.expected.as_str()).collect();
    for want in [
        "ok",
        "invalid",
        "tampered",
        "stale",
        "wrong_account",
        "wrong_application",
    ] {
        assert!(seen.contains(want), "no vector expects {want}");
    }
}

#[test]
fn where_only_post_is_taken_an_unsigned_body_is_refused_too() {
    let file: JwtFile = read("webhook_jwt.json");
    let mut failures = Vec::new();
    for v in &file.vectors {
        let got = outcome(&v.check(WebhookMethods::Post, file.max_age_seconds));
        if got != v.expected_post_only() {
            failures.push(format!(
                "{}: expected {}, got {got}",
                v.name,
                v.expected_post_only()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        file.vectors
            .iter()
            .any(|v| v.expected == "ok" && v.expected_post_only() == "ok"),
        "no vector passes where only POST is taken"
    );
}

#[test]
fn the_verifier_refuses_exactly_the_tokens_the_vonage_sdk_refuses() {
    // The SDK checks the signature alone, so its verdict and ours must agree on `invalid`.
    let file: JwtFile = read("webhook_jwt.json");
    for v in &file.vectors {
        let ours = v.check(WebhookMethods::Any, file.max_age_seconds);
        assert_eq!(
            v.sdk_verify_signature == "valid",
            !matches!(ours, Err(SignatureError::Invalid)),
            "{}: the SDK said {}",
            v.name,
            v.sdk_verify_signature
        );
    }
}

#[test]
fn good_tokens_pass_a_few_seconds_after_they_were_issued() {
    let file: JwtFile = read("webhook_jwt.json");
    for v in file.vectors.iter().filter(|v| v.expected == "ok") {
        let verifier = v.verifier(WebhookMethods::Any, file.max_age_seconds);
        for now in [v.iat, v.iat + 1, v.iat + 5, v.iat + 30] {
            assert!(
                verifier.verify(&v.token, v.body.as_bytes(), now).is_ok(),
                "{} at iat + {}",
                v.name,
                now - v.iat
            );
        }
    }
}

#[test]
fn without_an_account_key_or_application_those_claims_are_not_checked() {
    let file: JwtFile = read("webhook_jwt.json");
    for v in file
        .vectors
        .iter()
        .filter(|v| ["wrong_account", "wrong_application"].contains(&v.expected.as_str()))
    {
        let verifier = Verifier::new(
            SecretString::from(v.secret.clone()),
            None,
            file.max_age_seconds,
        );
        let result = verifier.verify(&v.token, v.body.as_bytes(), v.now);
        assert!(result.is_ok(), "{}: {result:?}", v.name);
    }
}

#[derive(Deserialize)]
struct SmsFile {
    vectors: Vec<SmsVector>,
}

#[derive(Deserialize)]
struct SmsVector {
    name: String,
    /// The dashboard's name: `md5hash`, `md5`, `sha1`, `sha256` or `sha512`.
    method: String,
    secret: String,
    /// Every parameter but `sig`.
    params: HashMap<String, String>,
    sig: String,
    /// When to check it; absent for vectors without a `timestamp`.
    now: Option<i64>,
    source: String,
}

const SMS_MAX_AGE: i64 = 300;

impl SmsVector {
    fn method(&self) -> SmsSignatureMethod {
        SmsSignatureMethod::parse(&self.method).unwrap()
    }

    fn verifier(&self, method: SmsSignatureMethod) -> SmsVerifier {
        SmsVerifier::new(SecretString::from(self.secret.clone()), method, SMS_MAX_AGE)
    }

    fn signed(&self) -> HashMap<String, String> {
        let mut p = self.params.clone();
        p.insert("sig".into(), self.sig.clone());
        p
    }

    /// Checks `params` (with their `sig`) at the vector's time.
    fn check(&self, params: &HashMap<String, String>) -> Result<(), SmsSignatureError> {
        self.verifier(self.method())
            .verify(params, self.now.unwrap_or_default())
    }
}

#[test]
fn every_sms_vector_signs_the_same_and_verifies() {
    let file: SmsFile = read("sms_sig.json");
    for v in &file.vectors {
        let secret = SecretString::from(v.secret.clone());
        assert_eq!(
            sms_sign(&v.params, &secret, v.method()),
            v.sig.to_ascii_lowercase(),
            "{} ({})",
            v.name,
            v.source
        );
        let expected = match v.now {
            Some(_) => Ok(()),
            // It matches, but an unsigned time can never be fresh.
            None => Err(SmsSignatureError::Stale(SMS_MAX_AGE)),
        };
        assert_eq!(v.check(&v.signed()), expected, "{}", v.name);
    }
}

#[test]
fn each_method_has_sdk_made_and_published_vectors() {
    let file: SmsFile = read("sms_sig.json");
    for method in ["md5hash", "md5", "sha1", "sha256", "sha512"] {
        let of = |published: bool| {
            file.vectors.iter().any(|v| {
                v.method == method
                    && v.now.is_some()
                    && v.source.starts_with("published by Vonage") == published
            })
        };
        assert!(of(false), "no SDK-made vector for {method}");
        assert!(of(true), "no published vector for {method}");
    }
}

#[test]
fn a_changed_sms_parameter_is_refused() {
    let file: SmsFile = read("sms_sig.json");
    for v in file.vectors.iter().filter(|v| v.now.is_some()) {
        let good = v.signed();
        assert_eq!(v.check(&good), Ok(()), "{}", v.name);
        for key in v.params.keys() {
            let mut changed = good.clone();
            changed.get_mut(key).unwrap().push('x');
            assert_eq!(
                v.check(&changed),
                Err(SmsSignatureError::Mismatch),
                "{}: {key} changed",
                v.name
            );
            let mut dropped = good.clone();
            dropped.remove(key);
            assert_eq!(
                v.check(&dropped),
                Err(SmsSignatureError::Mismatch),
                "{}: {key} dropped",
                v.name
            );
        }
        let mut added = good.clone();
        added.insert("status".into(), "delivered".into());
        assert_eq!(
            v.check(&added),
            Err(SmsSignatureError::Mismatch),
            "{}",
            v.name
        );

        let mut other_sig = good.clone();
        let sig = other_sig.get_mut("sig").unwrap();
        let last = if sig.ends_with('0') { "1" } else { "0" };
        sig.replace_range(sig.len() - 1.., last);
        assert_eq!(
            v.check(&other_sig),
            Err(SmsSignatureError::Mismatch),
            "{}",
            v.name
        );
    }
}

#[test]
fn an_sms_vector_fails_under_another_method_or_secret() {
    let file: SmsFile = read("sms_sig.json");
    let methods = ["md5hash", "md5", "sha1", "sha256", "sha512"].map(SmsSignatureMethod::parse);
    for v in file.vectors.iter().filter(|v| v.now.is_some()) {
        let now = v.now.unwrap_or_default();
        for other in methods.into_iter().flatten().filter(|m| *m != v.method()) {
            assert_eq!(
                v.verifier(other).verify(&v.signed(), now),
                Err(SmsSignatureError::Mismatch),
                "{} as {other:?}",
                v.name
            );
        }
        let wrong = SmsVerifier::new(
            SecretString::from(format!("{}x", v.secret)),
            v.method(),
            SMS_MAX_AGE,
        );
        assert_eq!(
            wrong.verify(&v.signed(), now),
            Err(SmsSignatureError::Mismatch),
            "{}",
            v.name
        );
    }
}

#[test]
fn ampersands_and_equals_signs_sign_as_underscores_as_vonage_does() {
    // Vonage's rule, so a value may swap `&` or `=` for `_` without changing the sig.
    let file: SmsFile = read("sms_sig.json");
    let mut exercised = 0;
    for v in file.vectors.iter().filter(|v| v.now.is_some()) {
        for (key, value) in &v.params {
            if value.contains(['&', '=']) {
                let mut swapped = v.signed();
                swapped.insert(key.clone(), value.replace(['&', '='], "_"));
                assert_eq!(v.check(&swapped), Ok(()), "{}: {key}", v.name);
                exercised += 1;
            }
        }
    }
    assert!(exercised >= 5, "too few values with & or =");
}
