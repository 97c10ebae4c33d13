//! Typed configuration, read once per execution environment from the process environment,
//! by concern: the Vonage APIs (`vonage`), calls (`calls`), conversations (`conversations`),
//! access codes (`codes`), texts sent and relayed (`sms`), the backend's hooks (`hooks`), how
//! long records are kept (`retention`) and the texts people hear and read (`texts`). Every
//! setting and its default is listed in docs/configuration.md.

use std::time::Duration;

mod calls;
mod codes;
mod console;
mod conversations;
mod hooks;
mod retention;
mod sms;
pub mod texts;
mod vonage;

pub use calls::*;
pub use codes::*;
pub use console::*;
pub use conversations::*;
pub use hooks::*;
pub use retention::Retention;
pub use sms::*;
pub use texts::Texts;
pub use vonage::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be set")]
    Missing(&'static str),
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl ConfigError {
    /// The setting that is missing or not valid.
    pub fn variable(&self) -> &'static str {
        match self {
            Self::Missing(name) | Self::Invalid { name, .. } => name,
        }
    }
}

/// A source of settings: the process environment in Lambda, a map in tests.
pub trait Source: Sync {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct Env;

impl Source for Env {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl<F: Fn(&str) -> Option<String> + Sync> Source for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

pub(crate) fn optional(src: &dyn Source, name: &str) -> Option<String> {
    src.get(name).filter(|v| !v.trim().is_empty())
}

fn required(src: &dyn Source, name: &'static str) -> Result<String, ConfigError> {
    optional(src, name).ok_or(ConfigError::Missing(name))
}

pub(crate) fn number<T: std::str::FromStr>(
    src: &dyn Source,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match optional(src, name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name,
            reason: e.to_string(),
        }),
    }
}

pub(crate) fn text(src: &dyn Source, name: &str, default: &str) -> String {
    // An explicitly empty value is kept: it switches an optional announcement off.
    src.get(name).unwrap_or_else(|| default.to_owned())
}

fn base_url(src: &dyn Source, name: &str, default: &str) -> String {
    optional(src, name)
        .unwrap_or_else(|| default.to_owned())
        .trim_end_matches('/')
        .to_owned()
}

/// The DynamoDB table every function uses.
pub fn table_name(src: &dyn Source) -> Result<String, ConfigError> {
    required(src, "TABLE_NAME")
}

/// The table and the budget of every request to it: what each function's store is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `TABLE_NAME`.
    pub table: String,
    pub budget: AwsBudget,
}

impl StoreConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Ok(Self {
            table: table_name(src)?,
            budget: AwsBudget::from_source(src)?,
        })
    }
}

/// Time budgets and retries for every DynamoDB and Secrets Manager request a function makes, so
/// that a slow, hung or throttling store ends a request with an answer instead of a Lambda
/// timeout. `STORE_TIMEOUT_MS` bounds one operation with its retries, `STORE_ATTEMPT_TIMEOUT_MS`
/// one attempt, `STORE_CONNECT_TIMEOUT_MS` a new connection; `STORE_MAX_ATTEMPTS` counts the
/// first try. The template sets tighter values for the answer webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsBudget {
    pub connect: Duration,
    pub attempt: Duration,
    pub operation: Duration,
    pub max_attempts: u32,
}

impl AwsBudget {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let ms = |name, default| number(src, name, default).map(Duration::from_millis);
        let budget = Self {
            connect: ms("STORE_CONNECT_TIMEOUT_MS", 1000)?,
            attempt: ms("STORE_ATTEMPT_TIMEOUT_MS", 1000)?,
            operation: ms("STORE_TIMEOUT_MS", 2500)?,
            max_attempts: number(src, "STORE_MAX_ATTEMPTS", 3)?,
        };
        if budget.attempt > budget.operation || budget.attempt.is_zero() {
            return Err(ConfigError::Invalid {
                name: "STORE_ATTEMPT_TIMEOUT_MS",
                reason: "must be more than 0 and at most STORE_TIMEOUT_MS".into(),
            });
        }
        if budget.max_attempts == 0 {
            return Err(ConfigError::Invalid {
                name: "STORE_MAX_ATTEMPTS",
                reason: "counts the first try, so it is at least 1".into(),
            });
        }
        Ok(budget)
    }
}

/// How long one request may take before the function answers on its own: the answer webhook's
/// safe NCCO, or a management API's `503`. `REQUEST_TIMEOUT_MS` when set, else `default`; in
/// Lambda it is also kept a margin inside the invocation's own deadline.
pub fn request_timeout(src: &dyn Source, default: Duration) -> Result<Duration, ConfigError> {
    number(src, "REQUEST_TIMEOUT_MS", default.as_millis() as u64).map(Duration::from_millis)
}

/// Which HTTP methods the answer, fallback and event webhooks take (`WEBHOOK_METHODS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMethods {
    /// `POST` only (the deployed stack): a signed request's `payload_hash` covers its body, so
    /// every field that routes a call (`to`, `from`) is signed. A `GET` carries them in the query
    /// string, which the signature does not cover.
    Post,
    /// `GET` or `POST` (local work).
    Any,
}

impl WebhookMethods {
    /// `post` (also when unset) or `any`.
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        match optional(src, "WEBHOOK_METHODS").map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(Self::Post),
            Some(v) if v == "post" => Ok(Self::Post),
            Some(v) if v == "any" => Ok(Self::Any),
            Some(v) => Err(ConfigError::Invalid {
                name: "WEBHOOK_METHODS",
                reason: format!("{v} is neither post nor any"),
            }),
        }
    }

    pub fn allows(self, method: &str) -> bool {
        match self {
            Self::Post => method == "POST",
            Self::Any => matches!(method, "GET" | "POST"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::collections::HashMap;

    /// A source of the settings `pairs` names, and no others.
    pub(crate) fn src(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn defaults_match_the_product_contract() {
        let v = VonageConfig::from_source(
            &src(&[("VONAGE_API_KEY", "abcd1234")]),
            SecretString::from("secret"),
        )
        .unwrap();
        assert_eq!(v.number_insight_url, "https://api.nexmo.com/ni");
        assert_eq!(v.sms_url, "https://rest.nexmo.com/sms");
        assert_eq!(v.numbers_url, "https://rest.nexmo.com");
        assert_eq!(v.applications_url, "https://api.nexmo.com/v2/applications");
        assert!(
            !format!("{v:?}").contains("secret\""),
            "the secret is redacted in Debug"
        );
    }

    #[test]
    fn missing_and_invalid_settings_are_named() {
        let err = VonageConfig::from_source(&src(&[]), SecretString::from("s")).unwrap_err();
        assert!(err.to_string().contains("VONAGE_API_KEY"));
        let err = CallConfig::from_source(&src(&[("RING_TIMEOUT_SECONDS", "soon")])).unwrap_err();
        assert!(err.to_string().contains("RING_TIMEOUT_SECONDS"));
        let err = CallConfig::from_source(&src(&[("CALL_LIMIT_SECONDS", "9000")])).unwrap_err();
        assert!(err.to_string().contains("7200"));
    }

    #[test]
    fn auto_rent_is_off_unless_asked_for_and_checked_when_on() {
        let c = ConversationConfig::from_source(&src(&[])).unwrap();
        assert_eq!(
            (c.cool_off_seconds, c.sticky, c.auto_rent),
            (600, false, None)
        );
        let c = ConversationConfig::from_source(&src(&[
            ("AUTO_RENT", "true"),
            ("AUTO_RENT_FEATURES", "voice,sms"),
            ("AUTO_RENT_MAX_PER_COUNTRY", "3"),
        ]))
        .unwrap();
        assert_eq!(
            c.auto_rent,
            Some(AutoRent {
                max_per_country: 3,
                features: "SMS,VOICE",
                number_type: None
            })
        );
        for (name, value) in [
            ("AUTO_RENT_FEATURES", "FAX"),
            ("AUTO_RENT_TYPE", "satellite"),
        ] {
            let err =
                ConversationConfig::from_source(&src(&[("AUTO_RENT", "true"), (name, value)]))
                    .unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn store_budgets_have_defaults_and_are_checked() {
        let b = AwsBudget::from_source(&src(&[])).unwrap();
        assert_eq!(
            (b.attempt, b.operation, b.max_attempts),
            (Duration::from_millis(1000), Duration::from_millis(2500), 3)
        );
        let b = AwsBudget::from_source(&src(&[
            ("STORE_TIMEOUT_MS", "800"),
            ("STORE_ATTEMPT_TIMEOUT_MS", "300"),
        ]))
        .unwrap();
        assert_eq!(b.operation, Duration::from_millis(800));
        for (name, value) in [
            ("STORE_ATTEMPT_TIMEOUT_MS", "9000"),
            ("STORE_MAX_ATTEMPTS", "0"),
            ("STORE_TIMEOUT_MS", "soon"),
        ] {
            let err = AwsBudget::from_source(&src(&[(name, value)])).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let default = Duration::from_millis(1500);
        assert_eq!(request_timeout(&src(&[]), default).unwrap(), default);
        assert_eq!(
            request_timeout(&src(&[("REQUEST_TIMEOUT_MS", "700")]), default).unwrap(),
            Duration::from_millis(700)
        );
    }

    #[test]
    fn hooks_take_https_or_loopback_http_and_a_bounded_timeout() {
        let none = HookConfig::from_source(&src(&[])).unwrap();
        assert!(!none.any());
        assert_eq!(none.timeout, Duration::from_millis(1500));
        for url in [
            "https://backend.example.com/hooks/oos",
            "http://127.0.0.1:9100/oos",
            "http://localhost:9100/oos",
            "http://[::1]:9100/oos",
        ] {
            let c = HookConfig::from_source(&src(&[("OUT_OF_SESSION_URL", url)])).unwrap();
            assert!(c.out_of_session_url.is_some(), "{url}");
        }
        for url in [
            "http://backend.example.com/hooks",
            "http://10.0.0.5/hooks",
            "ftp://backend.example.com/",
            "not a url",
        ] {
            let e = HookConfig::from_source(&src(&[("INTERCEPT_URL", url)])).unwrap_err();
            assert!(e.to_string().starts_with("INTERCEPT_URL"), "{url}: {e}");
        }
        for ms in ["0", "60000", "soon"] {
            assert!(HookConfig::from_source(&src(&[("HOOK_TIMEOUT_MS", ms)])).is_err());
        }
    }

    #[test]
    fn an_empty_announcement_switches_it_off() {
        let c = CallConfig::from_source(&src(&[("ANNOUNCEMENT_TEXT", "")])).unwrap();
        assert_eq!(c.announcement, "");
        let c = CallConfig::from_source(&src(&[])).unwrap();
        assert!(!c.announcement.is_empty());
    }
}
