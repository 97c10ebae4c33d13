//! Phone numbers: parsed once at the edge, then carried as E.164 digits without `+`.

use crate::values::Country;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 digits without `+` (`447700900001`), the form Vonage webhooks use.
///
/// `Debug` and [`Msisdn::masked`] never print the whole number, so a stray `{:?}` in a log line
/// cannot leak a participant's real number. Use [`Msisdn::as_str`] where the full number is meant
/// (storage, a Vonage request, the participant's own API view).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Msisdn(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a phone number")]
    Unparseable,
    #[error("not a valid phone number for its country")]
    Invalid,
}

/// How many digits an NCCO's `phone` endpoint accepts.
pub const NCCO_PHONE_DIGITS: std::ops::RangeInclusive<usize> = 10..=15;

impl Msisdn {
    /// Parses a number a person typed, in any common format: `+44 7700 900001`, `447700900001`,
    /// `0044 7700 900001`, `+1 (202) 555-0143`. Numbers are read as international, and must have a
    /// length that numbers of their country can have.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(PhoneError::Unparseable);
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        {
            return Err(PhoneError::Unparseable);
        }
        let international = if let Some(rest) = trimmed.strip_prefix("00") {
            format!("+{rest}")
        } else if trimmed.starts_with('+') {
            trimmed.to_owned()
        } else {
            format!("+{trimmed}")
        };
        let number =
            phonenumber::parse(None, &international).map_err(|_| PhoneError::Unparseable)?;
        if !is_possible(&number) {
            return Err(PhoneError::Invalid);
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Self::from_digits(e164.trim_start_matches('+')).ok_or(PhoneError::Unparseable)
    }

    /// Accepts a number already in Vonage's form: 7 to 15 digits, nothing else. This is what
    /// webhooks carry in `to` and `from`; anything else (`Unknown`, a SIP URI) is `None`.
    pub fn from_digits(digits: &str) -> Option<Self> {
        let ok = (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Self(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a call can be connected to this number: an NCCO's `phone` endpoint takes 10 to
    /// 15 digits (`ncco-schema.json`), so a shorter number can be given no valid NCCO (rule 5).
    pub fn fits_ncco(&self) -> bool {
        NCCO_PHONE_DIGITS.contains(&self.0.len())
    }

    /// The ISO 3166 country of this number: the one libphonenumber places it in, or else the
    /// main country of its calling code.
    pub fn region(&self) -> Option<Country> {
        let number = phonenumber::parse(None, format!("+{}", self.0)).ok()?;
        let id = match number.country().id() {
            Some(id) => format!("{id:?}"),
            None => {
                let code = number.code().value();
                let metas = phonenumber::metadata::DATABASE.by_code(&code)?;
                metas
                    .iter()
                    .find(|m| m.is_main_country_for_code())
                    .or(metas.first())
                    .map(|m| m.id().to_owned())?
            }
        };
        id.parse().ok()
    }

    /// The number as logs may show it: its country calling code and last 2 digits,
    /// `+44•••••••01`.
    pub fn masked(&self) -> Masked<'_> {
        Masked(&self.0)
    }
}

impl fmt::Debug for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msisdn({})", self.masked())
    }
}

impl TryFrom<String> for Msisdn {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::from_digits(&value).ok_or(PhoneError::Unparseable)
    }
}

impl From<Msisdn> for String {
    fn from(value: Msisdn) -> Self {
        value.0
    }
}

/// Whether the number has a length that numbers of its calling code can have. Whether it is in
/// service is Number Insight's call: libphonenumber's stricter `is_valid` also refuses ranges
/// that operators hand out (and Ofcom's drama range `+44 7700 900xxx`).
fn is_possible(number: &phonenumber::PhoneNumber) -> bool {
    let Some(metas) = phonenumber::metadata::DATABASE.by_code(&number.code().value()) else {
        return false;
    };
    let national = number.national();
    let len = national.value().to_string().len() + usize::from(national.zeros());
    let len = len as u16;
    // Lengths are listed per number type; the general descriptor often leaves them out.
    use phonenumber::Type::*;
    let kinds = [
        FixedLine,
        Mobile,
        TollFree,
        PremiumRate,
        SharedCost,
        Voip,
        PersonalNumber,
        Pager,
        Uan,
    ];
    metas.iter().any(|m| {
        let d = m.descriptors();
        d.general().possible_length().contains(&len)
            || kinds
                .iter()
                .filter_map(|k| d.get(*k))
                .any(|desc| desc.possible_length().contains(&len))
    })
}

/// Display adapter that hides all but the first and last four digits of a number.
pub struct Masked<'a>(&'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        mask_into(self.0, f)
    }
}

/// Masks every run of seven or more digits in free text (an error message from an API may
/// quote a number).
pub fn mask_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if run.len() >= 7 {
            out.push_str(&mask(&run));
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// Masks any digit string the same way, for numbers that failed to parse.
pub fn mask(raw: &str) -> String {
    Masked(raw).to_string()
}

fn mask_into(raw: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let digits = raw.trim_start_matches('+');
    let chars: Vec<char> = digits.chars().collect();
    if chars.len() < 7 || !chars.iter().all(char::is_ascii_digit) {
        // Too short to be a number, or not digits: nothing of it is shown.
        return f.write_str("•••••••");
    }
    let tail: String = chars[chars.len() - 2..].iter().collect();
    match calling_code(digits) {
        Some(code) => write!(f, "+{code}•••••••{tail}"),
        None => write!(f, "•••••••{tail}"),
    }
}

/// The country calling code `digits` start with (E.164 codes are a prefix code).
fn calling_code(digits: &str) -> Option<&str> {
    (1..=3).map(|n| &digits[..n]).find(|code| {
        code.parse::<u16>()
            .ok()
            .and_then(|c| phonenumber::metadata::DATABASE.by_code(&c))
            .is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_formats_to_the_same_digits() {
        for input in [
            "+44 7700 900001",
            "447700900001",
            "0044 7700 900001",
            "+44 (7700) 900-001",
        ] {
            assert_eq!(
                Msisdn::parse(input).unwrap().as_str(),
                "447700900001",
                "{input}"
            );
        }
    }

    #[test]
    fn rejects_garbage_and_invalid_numbers() {
        assert_eq!(Msisdn::parse(""), Err(PhoneError::Unparseable));
        assert_eq!(Msisdn::parse("call me"), Err(PhoneError::Unparseable));
        assert!(Msisdn::parse("+44 12").is_err());
        assert_eq!(
            Msisdn::parse("+44 7700 900001 123"),
            Err(PhoneError::Invalid)
        );
        assert_eq!(Msisdn::parse("+999 1234567"), Err(PhoneError::Unparseable));
        assert!(Msisdn::parse(&"9".repeat(40)).is_err());
    }

    #[test]
    fn webhook_digits_are_strict() {
        assert!(Msisdn::from_digits("447700900001").is_some());
        assert!(Msisdn::from_digits("+447700900001").is_none());
        assert!(Msisdn::from_digits("Unknown").is_none());
        assert!(Msisdn::from_digits("123").is_none());
    }

    #[test]
    fn masks_in_debug_and_display() {
        let n = Msisdn::from_digits("447700900001").unwrap();
        assert_eq!(n.masked().to_string(), "+44•••••••01");
        assert_eq!(format!("{n:?}"), "Msisdn(+44•••••••01)");
        let us = Msisdn::from_digits("12025550143").unwrap();
        assert_eq!(us.masked().to_string(), "+1•••••••43");
        assert_eq!(mask("3726001234"), "+372•••••••34");
        assert_eq!(mask("12345"), "•••••••");
        assert_eq!(mask("not a number"), "•••••••");
    }

    #[test]
    fn masks_numbers_inside_text() {
        assert_eq!(
            mask_digit_runs("Invalid to: 447700900001, code 29"),
            "Invalid to: +44•••••••01, code 29"
        );
        assert_eq!(mask_digit_runs("no numbers"), "no numbers");
    }

    #[test]
    fn knows_its_region() {
        let n = Msisdn::parse("+1 202 555 0143").unwrap();
        assert_eq!(n.region().map(String::from).as_deref(), Some("US"));
        assert_eq!(
            Msisdn::parse("447700900001")
                .unwrap()
                .region()
                .map(String::from)
                .as_deref(),
            Some("GB")
        );
    }
}
