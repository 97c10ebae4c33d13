//! Access codes (PRODUCT.md, "Access codes").

use super::texts::Key;
use super::{ConfigError, Source, Texts, number};

/// Access codes (PRODUCT.md, "Access codes"): on when `ACCESS_CODES` is, with what callers are
/// told and how many wrong codes they may type.
#[derive(Debug, Clone)]
pub struct AccessCodeConfig {
    /// `ACCESS_CODE_DIGITS`, 3 to 8.
    pub digits: u8,
    /// `ACCESS_CODE_RETRIES`: wrong codes a call may follow with another try before it ends.
    pub retries: u8,
    /// `ACCESS_CODE_MAX_FAILURES`: wrong codes on one number after which the caller is locked
    /// out of codes on it.
    pub max_failures: u32,
    /// `ACCESS_CODE_LOCKOUT_SECONDS`: how long after their last wrong code.
    pub lockout_seconds: i64,
    /// What one proxy number may spend on typed codes in a day (UTC), in codes: each code
    /// typed spends as many as the number has live codes, its chance of being right in codes
    /// of its length. `10^digits / (ACCESS_CODE_GUESS_ODDS + 1)`, so that a stranger reaches a
    /// participant by guessing with a chance of at most 1 in `ACCESS_CODE_GUESS_ODDS` (1,000)
    /// per number per day, however many caller IDs they use (docs/features.md, "Access codes").
    pub daily_budget: i64,
    /// `ACCESS_CODE_PROMPT`: asks for the code.
    pub prompt: String,
    /// `ACCESS_CODE_RETRY_TEXT`: after a wrong code, before the prompt again.
    pub retry: String,
    /// `ACCESS_CODE_REFUSED_TEXT`: after the last wrong code; the call ends.
    pub refused: String,
    /// `ACCESS_CODE_LOCKED_TEXT`: to a caller locked out; the call ends.
    pub locked: String,
    /// `ACCESS_CODE_SMS_REPLY`: to a participant texting a number they share without a code in
    /// front; `{code}` is not filled (they may hold several), `{digits}` is the code's length,
    /// `{example}` a code of that length.
    pub sms_reply: String,
}

impl AccessCodeConfig {
    /// The settings when `ACCESS_CODES` is on, `None` when it is off.
    pub fn from_source(src: &dyn Source) -> Result<Option<Self>, ConfigError> {
        let Some(digits) = access_code_digits(src)? else {
            return Ok(None);
        };
        Self::read(src, digits, &Texts::from_source(src)?).map(Some)
    }

    /// The same, with the texts catalogue already read.
    pub fn with_texts(src: &dyn Source, texts: &Texts) -> Result<Option<Self>, ConfigError> {
        let Some(digits) = access_code_digits(src)? else {
            return Ok(None);
        };
        Self::read(src, digits, texts).map(Some)
    }

    fn read(src: &dyn Source, digits: u8, texts: &Texts) -> Result<Self, ConfigError> {
        Ok(Self {
            digits,
            retries: number(src, "ACCESS_CODE_RETRIES", 2)?,
            max_failures: number::<u32>(src, "ACCESS_CODE_MAX_FAILURES", 6)?.max(1),
            lockout_seconds: number::<i64>(src, "ACCESS_CODE_LOCKOUT_SECONDS", 3600)?.max(1),
            daily_budget: 10_i64.pow(u32::from(digits))
                / (number::<i64>(src, "ACCESS_CODE_GUESS_ODDS", 1000)?.max(1) + 1),
            prompt: texts.default_text(Key::AccessCode).to_owned(),
            retry: texts.default_text(Key::AccessCodeRetry).to_owned(),
            refused: texts.default_text(Key::AccessCodeRefused).to_owned(),
            locked: texts.default_text(Key::AccessCodeLocked).to_owned(),
            sms_reply: texts.default_text(Key::AccessCodeSms).to_owned(),
        })
    }
}

/// `ACCESS_CODES` (off by default) and `ACCESS_CODE_DIGITS` (6): the length of codes when on.
pub(super) fn access_code_digits(src: &dyn Source) -> Result<Option<u8>, ConfigError> {
    if !number(src, "ACCESS_CODES", false)? {
        return Ok(None);
    }
    let digits: u8 = number(src, "ACCESS_CODE_DIGITS", 6)?;
    if !crate::values::ACCESS_CODE_LENGTHS.contains(&digits) {
        return Err(ConfigError::Invalid {
            name: "ACCESS_CODE_DIGITS",
            reason: "must be 3 to 8".into(),
        });
    }
    Ok(Some(digits))
}
