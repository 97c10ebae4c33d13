//! Small values that used to travel as plain strings: each is checked once, where it enters
//! (a request, a webhook, a Vonage answer, an item read from the table), and is known good
//! everywhere after. Each reads and writes as the plain string it stands for, so stored items
//! and API bodies keep their shape.

use std::fmt;
use std::str::FromStr;

/// A value that did not pass its check; the text says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $check:expr, $expected:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> bool = $check;
                if check(&s) {
                    Ok(Self(s))
                } else {
                    Err(InvalidValue($expected.into()))
                }
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

text_value!(
    /// A time zone by its tz database name (`Europe/Madrid`), one `chrono-tz` knows.
    TimeZone,
    |s| s.len() <= 64 && s.parse::<chrono_tz::Tz>().is_ok(),
    "a tz database time zone name, such as Europe/Madrid"
);

impl TimeZone {
    /// The zone, to compute local times in.
    pub fn tz(&self) -> chrono_tz::Tz {
        // Checked when the value was made.
        self.0.parse().unwrap_or(chrono_tz::Tz::UTC)
    }

    /// The local time of day at unix second `at` in this zone.
    pub fn clock_at(&self, at: i64) -> ClockTime {
        use chrono::Timelike;
        let local = chrono::DateTime::from_timestamp(at, 0)
            .unwrap_or_default()
            .with_timezone(&self.tz());
        ClockTime(format!("{:02}:{:02}", local.hour(), local.minute()))
    }
}

text_value!(
    /// A time of day on a 24-hour clock, `HH:MM` (`07:00`, `22:30`).
    ClockTime,
    |s| {
        let b = s.as_bytes();
        b.len() == 5
            && b[2] == b':'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 2 || c.is_ascii_digit())
            && s[..2].parse::<u8>().is_ok_and(|h| h < 24)
            && s[3..].parse::<u8>().is_ok_and(|m| m < 60)
    },
    "a time of day as HH:MM on a 24-hour clock"
);

impl ClockTime {
    /// Minutes since midnight.
    pub fn minutes(&self) -> u16 {
        let part = |r: std::ops::Range<usize>| self.0[r].parse::<u16>().unwrap_or(0);
        part(0..2) * 60 + part(3..5)
    }
}

/// Most characters in a label: labels go into SMS texts and spoken whispers.
pub const MAX_LABEL_CHARS: usize = 32;
/// Most characters in a conversation's reference.
pub const MAX_REFERENCE_CHARS: usize = 64;

text_value!(
    /// A conversation's id: a UUID when this service makes one; any 1 to 64 ASCII letters,
    /// digits or `-` is safe in the table's keys (whose parts `#` separates).
    ConversationId,
    |s| {
        !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    },
    "1 to 64 letters, digits or -"
);

impl ConversationId {
    /// A new, random id (a UUID).
    pub fn random() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// The id a path names, if it is a UUID (the only ids the API hands out), in its canonical
    /// lowercase form.
    pub fn from_uuid(raw: &str) -> Option<Self> {
        uuid::Uuid::parse_str(raw).ok().map(|u| Self(u.to_string()))
    }
}

text_value!(
    /// An ISO 3166 alpha-2 country code, such as `GB`.
    Country,
    |s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase()),
    "an ISO 3166 alpha-2 code such as GB"
);

impl Country {
    /// ISO 3166's code for an unknown country: for a number neither Number Insight nor the
    /// numbering plan places in one.
    pub fn unknown() -> Self {
        Self("ZZ".into())
    }
}

text_value!(
    /// How a participant is named to the other one: 1 to 32 plain ASCII letters, digits,
    /// spaces or `- _ . '` (GSM-7 keeps an SMS at 160 characters), trimmed.
    Label,
    |s| {
        !s.is_empty()
            && s.trim() == s
            && s.chars().count() <= MAX_LABEL_CHARS
            && s.chars().all(|c| c.is_ascii_alphanumeric() || " -_.'".contains(c))
    },
    format!("1 to {MAX_LABEL_CHARS} ASCII letters, digits, spaces or - _ . '")
);

text_value!(
    /// The marketplace's own name for a conversation (a ride, an order): 1 to 64 letters,
    /// digits or `- _ . :`; at most one open conversation holds each.
    Reference,
    |s| {
        !s.is_empty()
            && s.len() <= MAX_REFERENCE_CHARS
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    },
    format!("1 to {MAX_REFERENCE_CHARS} letters, digits or - _ . :")
);

/// The languages a `talk` action may speak in: the NCCO schema's list (`vonage/ncco-schema.json`,
/// `definitions.languages`).
pub const LANGUAGES: [&str; 49] = [
    "ar",
    "bn-IN",
    "ca-ES",
    "cmn-CN",
    "cmn-TW",
    "cs-CZ",
    "cy-GB",
    "da-DK",
    "de-DE",
    "el-GR",
    "en-AU",
    "en-GB",
    "en-GB-WLS",
    "en-IN",
    "en-US",
    "en-ZA",
    "es-ES",
    "es-MX",
    "es-US",
    "eu-ES",
    "fi-FI",
    "fil-PH",
    "fr-CA",
    "fr-FR",
    "he-IL",
    "hi-IN",
    "hu-HU",
    "id-ID",
    "is-IS",
    "it-IT",
    "ja-JP",
    "ko-KR",
    "ml-IN",
    "nb-NO",
    "nl-NL",
    "pl-PL",
    "pt-BR",
    "pt-PT",
    "ro-RO",
    "ru-RU",
    "sk-SK",
    "sv-SE",
    "ta-IN",
    "te-IN",
    "th-TH",
    "tr-TR",
    "uk-UA",
    "vi-VN",
    "yue-CN",
];

text_value!(
    /// The language a participant hears: a BCP 47 tag from the NCCO schema's list.
    Language,
    |s| LANGUAGES.contains(&s),
    "a language the NCCO schema lists, such as en-GB, de-DE or es-MX"
);

impl Language {
    /// The language for a participant in `country` where Vonage has a voice for it (its main
    /// language there), else British English.
    pub fn for_country(country: &Country) -> Self {
        let tag = match country.as_str() {
            "US" | "CA" | "PR" => "en-US",
            "AU" | "NZ" => "en-AU",
            "IN" => "en-IN",
            "ZA" => "en-ZA",
            "DE" | "AT" | "CH" | "LI" => "de-DE",
            "FR" | "BE" | "LU" | "MC" => "fr-FR",
            "ES" => "es-ES",
            "MX" | "AR" | "CO" | "CL" | "PE" | "VE" | "EC" | "GT" | "CU" | "BO" | "DO" | "HN"
            | "PY" | "SV" | "NI" | "CR" | "PA" | "UY" => "es-MX",
            "IT" | "SM" | "VA" => "it-IT",
            "NL" => "nl-NL",
            "PT" => "pt-PT",
            "BR" => "pt-BR",
            "SE" => "sv-SE",
            "NO" => "nb-NO",
            "DK" => "da-DK",
            "FI" => "fi-FI",
            "IS" => "is-IS",
            "PL" => "pl-PL",
            "CZ" => "cs-CZ",
            "SK" => "sk-SK",
            "HU" => "hu-HU",
            "RO" | "MD" => "ro-RO",
            "GR" | "CY" => "el-GR",
            "TR" => "tr-TR",
            "RU" | "BY" | "KZ" => "ru-RU",
            "UA" => "uk-UA",
            "IL" => "he-IL",
            "SA" | "AE" | "EG" | "QA" | "KW" | "BH" | "OM" | "JO" | "MA" | "DZ" | "TN" | "IQ"
            | "LB" => "ar",
            "JP" => "ja-JP",
            "KR" => "ko-KR",
            "CN" => "cmn-CN",
            "TW" => "cmn-TW",
            "HK" | "MO" => "yue-CN",
            "TH" => "th-TH",
            "VN" => "vi-VN",
            "ID" => "id-ID",
            "PH" => "fil-PH",
            "BD" => "bn-IN",
            _ => "en-GB",
        };
        Self(tag.to_owned())
    }
}

text_value!(
    /// A call leg's status as Vonage reports it (`started`, `ringing`, `answered`, `completed`,
    /// `busy`, ...): a short lowercase token, kept as sent so new statuses are not lost.
    CallStatus,
    |s| {
        !s.is_empty()
            && s.len() <= 32
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    },
    "a call status"
);

impl CallStatus {
    /// The callee's phone picked up (a machine that answers is then hung up on: `machine`).
    pub fn is_answered(&self) -> bool {
        self.0 == "answered"
    }

    /// The callee's leg ended without the call being taken: `call.missed` and the call log name
    /// this status as the reason (`cancelled`: the caller hung up first).
    pub fn is_missed(&self) -> bool {
        MISSED.contains(&self.as_str())
    }

    /// Missed on the callee's side (busy, unanswered, rejected, failed, timeout, machine), not
    /// because the caller gave up: the caller is still on the line to be told, and the callee to
    /// be texted.
    pub fn is_missed_by_callee(&self) -> bool {
        self.is_missed() && self.0 != "cancelled"
    }

    /// Not one of Vonage's: the reason of a missed call that was not put through because the
    /// callee was in their quiet hours.
    pub fn quiet_hours() -> Self {
        Self("quiet_hours".to_owned())
    }

    /// The status's place in a call's life: later stages win, whatever order events arrive in.
    pub fn rank(&self) -> u8 {
        match self.as_str() {
            "started" => 0,
            "ringing" => 1,
            "answered" | "human" | "machine" => 2,
            "disconnected" => 3,
            _ => 4, // completed, busy, failed, rejected, timeout, cancelled, unanswered
        }
    }
}

/// Call statuses of the callee's leg that mean the call was not taken (`machine`: a machine
/// answered, and every connect hangs up on one).
const MISSED: [&str; 7] = [
    "busy",
    "machine",
    "unanswered",
    "rejected",
    "failed",
    "timeout",
    "cancelled",
];

/// What became of a relayed text's onward send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageStatus {
    /// Vonage accepted the onward send.
    Submitted,
    /// The recipient had opted out: nothing was sent.
    OptedOut,
    /// The recipient's number is a landline, which takes no texts: nothing was sent.
    #[serde(rename = "not_sms_capable")]
    NotSmsCapable,
}

/// A kind of phone number, as the Numbers API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NumberType {
    Landline,
    MobileLvn,
    LandlineTollFree,
}

impl NumberType {
    pub const ALL: [NumberType; 3] = [Self::Landline, Self::MobileLvn, Self::LandlineTollFree];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landline => "landline",
            Self::MobileLvn => "mobile-lvn",
            Self::LandlineTollFree => "landline-toll-free",
        }
    }

    /// Every type, for messages: `landline, mobile-lvn, landline-toll-free`.
    pub fn listed() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl FromStr for NumberType {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| InvalidValue(format!("one of {}", Self::listed())))
    }
}

impl fmt::Display for NumberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a number can do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Feature {
    Voice,
    Sms,
    Mms,
}

impl FromStr for Feature {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match s.trim().to_ascii_uppercase().as_str() {
            "VOICE" => Ok(Self::Voice),
            "SMS" => Ok(Self::Sms),
            "MMS" => Ok(Self::Mms),
            _ => Err(InvalidValue("VOICE, SMS or MMS".into())),
        }
    }
}

impl Feature {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "VOICE",
            Self::Sms => "SMS",
            Self::Mms => "MMS",
        }
    }
}

/// A participant's access code (PRODUCT.md, "Access codes"): digits a caller types to reach
/// their conversation when caller ID cannot route the call. It is a secret of the participant:
/// its `Debug` and `Display` never show the digits, so no log line can carry one.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccessCode(String);

/// The lengths an access code may have (`ACCESS_CODE_DIGITS`).
pub const ACCESS_CODE_LENGTHS: std::ops::RangeInclusive<u8> = 3..=8;

impl AccessCode {
    /// A code of `digits` digits drawn uniformly at random.
    pub fn random(digits: u8, rng: &mut impl rand::Rng) -> Self {
        let digits = digits.clamp(*ACCESS_CODE_LENGTHS.start(), *ACCESS_CODE_LENGTHS.end());
        Self(
            (0..digits)
                .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
                .collect(),
        )
    }

    /// What a caller typed, if it can be a code of `digits` digits (a trailing `#` dropped).
    pub fn typed(keys: &str, digits: u8) -> Option<Self> {
        let keys = keys.trim().trim_end_matches('#');
        (keys.len() == usize::from(digits))
            .then(|| Self::try_from(keys.to_owned()).ok())
            .flatten()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccessCode {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, InvalidValue> {
        let fits = u8::try_from(s.len()).is_ok_and(|n| ACCESS_CODE_LENGTHS.contains(&n));
        if fits && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(InvalidValue("3 to 8 digits".into()))
        }
    }
}

impl From<AccessCode> for String {
    fn from(v: AccessCode) -> String {
        v.0
    }
}

impl fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCode(****)")
    }
}

impl fmt::Display for AccessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_once_and_read_as_plain_strings() {
        assert!("GB".parse::<Country>().is_ok());
        for bad in ["gb", "GBR", "", "G1"] {
            assert!(bad.parse::<Country>().is_err(), "{bad}");
        }
        assert!("the driver".parse::<Label>().is_ok());
        for bad in ["", " padded ", "émoji", &"x".repeat(33)] {
            assert!(bad.parse::<Label>().is_err(), "{bad}");
        }
        assert!("ride:42".parse::<Reference>().is_ok());
        assert!("ride 42".parse::<Reference>().is_err());
        let r: Reference = serde_json::from_str("\"ride-42\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&r).ok().as_deref(),
            Some("\"ride-42\"")
        );
        assert!(serde_json::from_str::<Reference>("\"ride 42\"").is_err());
        assert_eq!(
            serde_json::to_string(&MessageStatus::OptedOut)
                .ok()
                .as_deref(),
            Some("\"opted-out\"")
        );
    }

    #[test]
    fn languages_are_the_ncco_schemas_and_each_country_gets_one() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/vonage/ncco-schema.json"
        );
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let listed: Vec<&str> = schema["definitions"]["languages"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(listed, LANGUAGES);
        for (country, tag) in [
            ("GB", "en-GB"),
            ("DE", "de-DE"),
            ("MX", "es-MX"),
            ("BR", "pt-BR"),
            ("ZZ", "en-GB"),
            ("KE", "en-GB"),
        ] {
            let language = Language::for_country(&country.parse().unwrap());
            assert_eq!(language.as_str(), tag, "{country}");
            assert!(tag.parse::<Language>().is_ok());
        }
        assert!("en".parse::<Language>().is_err());
    }

    #[test]
    fn access_codes_are_digits_of_their_length_and_never_shown() {
        let mut rng = rand::rng();
        for digits in [3, 4, 8] {
            let code = AccessCode::random(digits, &mut rng);
            assert_eq!(code.as_str().len(), usize::from(digits));
            assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(format!("{code} {code:?}"), "**** AccessCode(****)");
        }
        assert_eq!(AccessCode::typed("4821#", 4).unwrap().as_str(), "4821");
        assert_eq!(AccessCode::typed(" 0317 ", 4).unwrap().as_str(), "0317");
        for typed in ["482", "48211", "48a1", "", "#"] {
            assert_eq!(AccessCode::typed(typed, 4), None, "{typed}");
        }
        assert!(AccessCode::try_from("12".to_owned()).is_err());
        assert!(AccessCode::try_from("123456789".to_owned()).is_err());
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn times_of_day_are_hh_mm_on_a_24_hour_clock() {
        for good in ["00:00", "07:00", "22:30", "23:59"] {
            assert_eq!(good.parse::<ClockTime>().unwrap().as_str(), good);
        }
        assert_eq!("07:30".parse::<ClockTime>().unwrap().minutes(), 450);
        for bad in [
            "24:00", "7:00", "07:60", "0700", "07:0a", " 07:00", "+7:00", "",
        ] {
            assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zones_are_names_the_tz_database_knows() {
        for good in ["Europe/Madrid", "America/Los_Angeles", "Asia/Tokyo", "UTC"] {
            assert!(good.parse::<TimeZone>().is_ok(), "{good}");
        }
        for bad in ["Mars/Olympus_Mons", "unknown", "", "+02:00"] {
            assert!(bad.parse::<TimeZone>().is_err(), "{bad}");
        }
        let tokyo: TimeZone = "Asia/Tokyo".parse().unwrap();
        // 2026-12-06T13:00Z.
        assert_eq!(tokyo.clock_at(1_796_562_000).as_str(), "22:00");
        let madrid: TimeZone = "Europe/Madrid".parse().unwrap();
        // 2026-07-01T12:00Z: summer time, UTC+2.
        assert_eq!(madrid.clock_at(1_782_907_200).as_str(), "14:00");
    }
}
