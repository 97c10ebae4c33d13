//! How conversations are created: lifetimes, pool policy, the call settings' defaults.

use crate::values::NumberType;

use super::codes::access_code_digits;
use super::texts::Key;
use super::{ConfigError, Retention, Source, Texts, number, optional, text};

/// How conversations are created.
#[derive(Debug, Clone)]
pub struct ConversationConfig {
    pub default_ttl_seconds: u64,
    pub min_ttl_seconds: u64,
    pub max_ttl_seconds: u64,
    /// How long a closed conversation is kept before DynamoDB's TTL removes it.
    pub retention: Retention,
    /// The SMS each participant receives; `{other}` is the other participant's label, `{proxy}`
    /// the number to call (with `+`), `{expires}` the expiry time.
    pub notify_template: String,
    /// How long a (proxy number, participant) pair stays out of new conversations with someone
    /// else after its conversation closed.
    pub cool_off_seconds: i64,
    /// Give a participant the proxy number they had before with the same counterpart, when
    /// they may have it.
    pub sticky: bool,
    /// Rent a number when the pool has none to give; `None` (the default) answers
    /// `pool_exhausted` instead.
    pub auto_rent: Option<AutoRent>,
    /// How long Number Insight's answer for a valid number is kept and used instead of a new
    /// lookup; `0` looks every number up every time.
    pub insight_keep_seconds: i64,
    /// The call settings of a conversation whose request leaves them out: `ANNOUNCEMENT_TEXT`
    /// (the one the answer webhook speaks on conversations from before settings were kept) and
    /// `WHISPER_TEXT` (unset: no whisper).
    pub call_defaults: crate::model::CallSettings,
    /// Access codes of this many digits (`ACCESS_CODES`, `ACCESS_CODE_DIGITS`); `None` (the
    /// default) gives no codes and never shares a number.
    pub access_codes: Option<u8>,
    /// A number flagged by number health gets no new assignments (`QUARANTINE_FLAGGED`, on by
    /// default); conversations that hold it keep it.
    pub quarantine_flagged: bool,
    /// How closely a proxy number is matched to its participant (`GEO_MATCH`).
    pub geo_match: GeoMatch,
}

/// `GEO_MATCH`: a participant gets a proxy number from their own area where the pool has one
/// (`area`, the default), else from their country; or from their country only (`country`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GeoMatch {
    Country,
    #[default]
    Area,
}

fn geo_match(src: &dyn Source) -> Result<GeoMatch, ConfigError> {
    match optional(src, "GEO_MATCH").as_deref().map(str::trim) {
        None | Some("area") => Ok(GeoMatch::Area),
        Some("country") => Ok(GeoMatch::Country),
        Some(other) => Err(ConfigError::Invalid {
            name: "GEO_MATCH",
            reason: format!("{other} is not country or area"),
        }),
    }
}

impl ConversationConfig {
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        Self::with_texts(src, &Texts::from_source(src)?)
    }

    /// The settings, with the texts catalogue already read.
    pub fn with_texts(src: &dyn Source, texts: &Texts) -> Result<Self, ConfigError> {
        let c = Self {
            default_ttl_seconds: number(src, "DEFAULT_TTL_SECONDS", 3600)?,
            min_ttl_seconds: number(src, "MIN_TTL_SECONDS", 60)?,
            max_ttl_seconds: number(src, "MAX_TTL_SECONDS", 7 * 24 * 3600)?,
            retention: Retention::from_source(src)?,
            notify_template: texts.default_text(Key::NotifySms).to_owned(),
            cool_off_seconds: number(src, "COOL_OFF_SECONDS", 600)?,
            sticky: number(src, "STICKY_NUMBERS", false)?,
            auto_rent: AutoRent::from_source(src)?,
            insight_keep_seconds: number::<i64>(src, "INSIGHT_CACHE_DAYS", 30)?.max(0) * 24 * 3600,
            call_defaults: crate::model::CallSettings {
                announcement: Some(texts.default_text(Key::Announcement).to_owned()),
                whisper: optional(src, "WHISPER_TEXT")
                    .map(|_| texts.default_text(Key::Whisper).to_owned()),
                whisper_accept: number(src, "WHISPER_ACCEPT", false)?,
                record: number(src, "RECORD_CALLS", false)?,
                missed_call: missed_call_mode(src)?,
                limit_seconds: None,
                warn_before_seconds: None,
            },
            access_codes: access_code_digits(src)?,
            quarantine_flagged: quarantine_flagged(src)?,
            geo_match: geo_match(src)?,
        };
        if !(c.min_ttl_seconds..=c.max_ttl_seconds).contains(&c.default_ttl_seconds) {
            return Err(ConfigError::Invalid {
                name: "DEFAULT_TTL_SECONDS",
                reason: "must lie between MIN_TTL_SECONDS and MAX_TTL_SECONDS".into(),
            });
        }
        Ok(c)
    }
}

/// `MISSED_CALL`: what a missed call leads to unless a conversation asks otherwise.
fn missed_call_mode(src: &dyn Source) -> Result<crate::model::MissedCallMode, ConfigError> {
    let Some(mode) = optional(src, "MISSED_CALL") else {
        return Ok(Default::default());
    };
    serde_json::from_value(serde_json::Value::String(mode.trim().to_ascii_lowercase())).map_err(
        |_| ConfigError::Invalid {
            name: "MISSED_CALL",
            reason: format!("{mode} is not message, voicemail or none"),
        },
    )
}

/// Renting numbers on the fly when the pool runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoRent {
    /// The pool never grows past this many numbers (not retired) in one country.
    pub max_per_country: usize,
    /// The spec's spelling, such as `SMS,VOICE`.
    pub features: &'static str,
    /// `mobile-lvn`, `landline` or `landline-toll-free`; any when unset.
    pub number_type: Option<NumberType>,
}

/// `QUARANTINE_FLAGGED`: a number flagged by number health gets no new assignments (on by
/// default).
pub fn quarantine_flagged(src: &dyn Source) -> Result<bool, ConfigError> {
    number(src, "QUARANTINE_FLAGGED", true)
}

impl AutoRent {
    /// `AUTO_RENT` and its settings; `None` when it is off (the default).
    pub fn from_source(src: &dyn Source) -> Result<Option<Self>, ConfigError> {
        auto_rent(src)
    }
}

fn auto_rent(src: &dyn Source) -> Result<Option<AutoRent>, ConfigError> {
    if !number(src, "AUTO_RENT", false)? {
        return Ok(None);
    }
    let features = text(src, "AUTO_RENT_FEATURES", "SMS,VOICE");
    let listed: Vec<&str> = features.split(',').collect();
    let features = crate::model::features_param(&listed).ok_or(ConfigError::Invalid {
        name: "AUTO_RENT_FEATURES",
        reason: format!("{features} is not a set of SMS, VOICE and MMS"),
    })?;
    let number_type = optional(src, "AUTO_RENT_TYPE")
        .map(|t| {
            t.parse::<NumberType>().map_err(|e| ConfigError::Invalid {
                name: "AUTO_RENT_TYPE",
                reason: format!("{t} is not {e}"),
            })
        })
        .transpose()?;
    Ok(Some(AutoRent {
        max_per_country: number(src, "AUTO_RENT_MAX_PER_COUNTRY", 5)?,
        features,
        number_type,
    }))
}
