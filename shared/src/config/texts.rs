//! The texts people hear and read (PRODUCT.md, "Texts and languages"), in one catalogue by
//! language: the built-in texts (`texts/builtin.json`: English, Spanish, French, German and
//! Portuguese), then the `*_TEXT`, `*_TEMPLATE`, `*_PROMPT` and `*_REPLY` settings over them
//! (they set the default language's text), then `TEXTS` over those, a JSON object from BCP 47
//! language tag to an object of texts in the built-in file's format. Each text may use only its
//! own placeholders; a text that uses another is refused when the function starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::values::Language;

use super::{ConfigError, Source};

/// The built-in texts, in `TEXTS`'s format.
pub const BUILTIN: &str = include_str!("texts/builtin.json");

/// The default language: what a person whose language the catalogue does not have hears and
/// reads, and the language the single-text settings set.
pub const DEFAULT_LANGUAGE: &str = "en-GB";

/// One text of the catalogue. Its name is its setting's name in lower case without the
/// `_TEXT`, `_TEMPLATE`, `_PROMPT` or `_REPLY` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// Spoken to the caller before connecting.
    Announcement,
    /// Spoken to the callee when they pick up.
    Whisper,
    /// Spoken to a caller no open conversation takes.
    OutOfService,
    /// Spoken when the call cannot be handled right now.
    Unavailable,
    /// Spoken to a caller whose call the callee did not take.
    MissedCall,
    /// Asks such a caller to leave a message.
    Voicemail,
    /// Told to both before a recorded call is recorded.
    RecordingNotice,
    /// Asks for the access code.
    AccessCode,
    /// After a wrong code, before the prompt again.
    AccessCodeRetry,
    /// After the last wrong code.
    AccessCodeRefused,
    /// To a caller locked out of codes.
    AccessCodeLocked,
    /// The reply to a text without the code on a shared number.
    AccessCodeSms,
    /// Added to a participant's text when its template leaves their code out.
    AccessCodeHint,
    /// Asks the callee to take the call.
    WhisperAccept,
    /// Told to the caller when the callee did not take the call at the prompt.
    WhisperDeclined,
    /// The text each participant gets when a conversation starts.
    NotifySms,
    /// The text a callee gets after a call they did not take.
    MissedCallSms,
    /// The text each participant gets when a conversation expires.
    ExpirySms,
    /// The reply to someone texting a number that has nothing for them.
    SmsUnknownReply,
    /// The reply to an opt-out.
    SmsOptOut,
    /// The reply to an opt-in.
    SmsOptIn,
    /// Spoken to both parties of a connected call shortly before its limit cuts it.
    CallLimitWarning,
    /// Told to a caller whose callee is in their quiet hours: the call is not put through.
    QuietHours,
}

/// Each key: its name, the setting that sets its default-language text, its placeholders.
const KEYS: [(Key, &str, &str, &[&str]); 23] = [
    (
        Key::Announcement,
        "announcement",
        "ANNOUNCEMENT_TEXT",
        &["{callee}"],
    ),
    (
        Key::Whisper,
        "whisper",
        "WHISPER_TEXT",
        &["{caller}", "{reference}"],
    ),
    (
        Key::OutOfService,
        "out_of_service",
        "OUT_OF_SERVICE_TEXT",
        &[],
    ),
    (Key::Unavailable, "unavailable", "UNAVAILABLE_TEXT", &[]),
    (Key::MissedCall, "missed_call", "MISSED_CALL_TEXT", SPOKEN),
    (Key::Voicemail, "voicemail", "VOICEMAIL_TEXT", SPOKEN),
    (
        Key::RecordingNotice,
        "recording_notice",
        "RECORDING_NOTICE_TEXT",
        &[],
    ),
    (Key::AccessCode, "access_code", "ACCESS_CODE_PROMPT", &[]),
    (
        Key::AccessCodeRetry,
        "access_code_retry",
        "ACCESS_CODE_RETRY_TEXT",
        &[],
    ),
    (
        Key::AccessCodeRefused,
        "access_code_refused",
        "ACCESS_CODE_REFUSED_TEXT",
        &[],
    ),
    (
        Key::AccessCodeLocked,
        "access_code_locked",
        "ACCESS_CODE_LOCKED_TEXT",
        &[],
    ),
    (
        Key::AccessCodeSms,
        "access_code_sms",
        "ACCESS_CODE_SMS_REPLY",
        &["{digits}", "{example}"],
    ),
    (
        Key::AccessCodeHint,
        "access_code_hint",
        "ACCESS_CODE_HINT_TEXT",
        &["{code}"],
    ),
    (
        Key::WhisperAccept,
        "whisper_accept",
        "WHISPER_ACCEPT_PROMPT",
        &[],
    ),
    (
        Key::WhisperDeclined,
        "whisper_declined",
        "WHISPER_DECLINED_TEXT",
        SPOKEN,
    ),
    (
        Key::NotifySms,
        "notify_sms",
        "NOTIFY_SMS_TEMPLATE",
        &["{other}", "{proxy}", "{expires}", "{reference}", "{code}"],
    ),
    (
        Key::MissedCallSms,
        "missed_call_sms",
        "MISSED_CALL_SMS_TEMPLATE",
        &["{caller}", "{proxy}", "{reference}"],
    ),
    (
        Key::ExpirySms,
        "expiry_sms",
        "EXPIRY_SMS_TEMPLATE",
        &["{other}", "{proxy}", "{expires}", "{reference}"],
    ),
    (
        Key::SmsUnknownReply,
        "sms_unknown_reply",
        "SMS_UNKNOWN_REPLY_TEXT",
        &[],
    ),
    (Key::SmsOptOut, "sms_opt_out", "SMS_OPT_OUT_TEXT", &[]),
    (Key::SmsOptIn, "sms_opt_in", "SMS_OPT_IN_TEXT", &[]),
    (
        Key::CallLimitWarning,
        "call_limit_warning",
        "CALL_LIMIT_WARNING_TEXT",
        &["{seconds}"],
    ),
    (Key::QuietHours, "quiet_hours", "QUIET_HOURS_TEXT", SPOKEN),
];

/// What a spoken text about one call may name: both participants' labels and the reference.
const SPOKEN: &[&str] = &["{caller}", "{callee}", "{reference}"];

impl Key {
    pub const ALL: [Key; 23] = {
        let mut all = [Key::Announcement; 23];
        let mut i = 0;
        while i < KEYS.len() {
            all[i] = KEYS[i].0;
            i += 1;
        }
        all
    };

    fn index(self) -> usize {
        self as usize
    }

    /// Its name in `TEXTS`, such as `notify_sms`.
    pub fn name(self) -> &'static str {
        KEYS[self.index()].1
    }

    /// The setting that sets its text in the default language, such as `NOTIFY_SMS_TEMPLATE`.
    pub fn setting(self) -> &'static str {
        KEYS[self.index()].2
    }

    /// The placeholders it may use.
    pub fn placeholders(self) -> &'static [&'static str] {
        KEYS[self.index()].3
    }

    fn named(name: &str) -> Option<Self> {
        KEYS.iter().find(|k| k.1 == name).map(|k| k.0)
    }
}

/// The catalogue: for each language, the texts it has; the default language has every one.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Texts(Arc<Vec<(Language, [Option<String>; Key::ALL.len()])>>);

impl Default for Texts {
    /// The built-in English texts alone.
    fn default() -> Self {
        let mut all = Self::builtin();
        if let Some(languages) = Arc::get_mut(&mut all.0) {
            languages.truncate(1);
        }
        all
    }
}

impl Texts {
    /// The built-in texts, every language.
    pub fn builtin() -> Self {
        let mut languages = Vec::new();
        // The built-in file is checked by the tests: every key in every language.
        if let Ok(parsed) = parse(BUILTIN) {
            merge(&mut languages, parsed);
        }
        Self(Arc::new(languages))
    }

    /// The catalogue from the built-in texts, the single-text settings and `TEXTS`; a text
    /// with a placeholder it does not allow, malformed `TEXTS`, an unknown key or an unknown
    /// language tag is refused.
    pub fn from_source(src: &dyn Source) -> Result<Self, ConfigError> {
        let mut texts = Self::builtin();
        let languages = Arc::make_mut(&mut texts.0);
        for key in Key::ALL {
            // An explicitly empty value is kept: it switches an optional text off.
            if let Some(text) = src.get(key.setting()) {
                check(key, &text).map_err(|reason| ConfigError::Invalid {
                    name: key.setting(),
                    reason,
                })?;
                languages[0].1[key.index()] = Some(text);
            }
        }
        if let Some(raw) = super::optional(src, "TEXTS") {
            let parsed = parse(&raw).map_err(|reason| ConfigError::Invalid {
                name: "TEXTS",
                reason,
            })?;
            merge(languages, parsed);
        }
        Ok(texts)
    }

    /// The text `key` in the default language.
    pub fn default_text(&self, key: Key) -> &str {
        self.0
            .first()
            .and_then(|(_, texts)| texts[key.index()].as_deref())
            .unwrap_or_default()
    }

    /// The text `key` for someone who speaks `language`: theirs where the catalogue has it
    /// (the same tag, else another of the same primary language, `es-MX` taking `es-ES`), else
    /// the default language's. A text empty in the default language is off in every language.
    pub fn get(&self, key: Key, language: Option<&Language>) -> &str {
        self.localized(key, language)
            .unwrap_or_else(|| self.default_text(key))
    }

    /// The text `key` in `language` where the catalogue has it there, else `default`: the
    /// default language's text as the caller holds it (a setting already read).
    pub fn localized_or<'a>(
        &'a self,
        key: Key,
        language: Option<&Language>,
        default: &'a str,
    ) -> &'a str {
        self.localized(key, language).unwrap_or(default)
    }

    /// The text `key` in `language` when it is not the default language's text, so that a
    /// caller holding the default language's text (a setting already read) can keep it.
    pub fn localized(&self, key: Key, language: Option<&Language>) -> Option<&str> {
        let language = language?.as_str();
        if self.default_text(key).is_empty() {
            return None;
        }
        let primary = |tag: &str| tag.split('-').next().unwrap_or_default().to_owned();
        let own = |same: &dyn Fn(&str) -> bool| {
            self.0.iter().enumerate().find_map(|(i, (tag, texts))| {
                texts[key.index()]
                    .as_deref()
                    .filter(|_| same(tag.as_str()))
                    .map(|text| (i, text))
            })
        };
        let (i, text) = own(&|tag| tag == language)
            .or_else(|| own(&|tag| primary(tag) == primary(language)))?;
        (i != 0).then_some(text)
    }

    /// The languages it has, the default first.
    pub fn languages(&self) -> impl Iterator<Item = &Language> {
        self.0.iter().map(|(tag, _)| tag)
    }

    /// The texts language `tag` itself has (not those it falls back to).
    pub fn own(&self, tag: &str) -> Vec<(Key, &str)> {
        self.0
            .iter()
            .filter(|(l, _)| l.as_str() == tag)
            .flat_map(|(_, texts)| {
                Key::ALL
                    .iter()
                    .filter_map(|&k| texts[k.index()].as_deref().map(|t| (k, t)))
            })
            .collect()
    }
}

type Parsed = Vec<(Language, Vec<(Key, String)>)>;

/// `TEXTS`'s format: `{"es-ES": {"announcement": "...", ...}, ...}`, every tag one the NCCO
/// schema lists, every key known, every text with only its own placeholders.
fn parse(raw: &str) -> Result<Parsed, String> {
    let map: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(raw).map_err(|e| {
            format!("is not a JSON object from language tag to an object of texts: {e}")
        })?;
    map.into_iter()
        .map(|(tag, texts)| {
            let language = tag
                .parse::<Language>()
                .map_err(|e| format!("{tag} is not {e}"))?;
            let texts = texts
                .into_iter()
                .map(|(name, text)| {
                    let key = Key::named(&name).ok_or_else(|| {
                        format!(
                            "{tag}.{name} is not a text; the texts are {}",
                            Key::ALL.map(Key::name).join(", ")
                        )
                    })?;
                    check(key, &text).map_err(|reason| format!("{tag}.{name} {reason}"))?;
                    Ok((key, text))
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok((language, texts))
        })
        .collect()
}

/// Adds `parsed` over `languages`, a language new to them after those it has; the default
/// language first.
fn merge(languages: &mut Vec<(Language, [Option<String>; Key::ALL.len()])>, parsed: Parsed) {
    for (language, texts) in parsed {
        let at = match languages.iter().position(|(l, _)| *l == language) {
            Some(at) => at,
            None if language.as_str() == DEFAULT_LANGUAGE => {
                languages.insert(0, (language, Default::default()));
                0
            }
            None => {
                languages.push((language, Default::default()));
                languages.len() - 1
            }
        };
        for (key, text) in texts {
            languages[at].1[key.index()] = Some(text);
        }
    }
}

/// Whether `text` uses only the placeholders `key` allows; else why not.
pub fn check(key: Key, text: &str) -> Result<(), String> {
    match unknown_placeholder(text, key.placeholders()) {
        None => Ok(()),
        Some(unknown) if key.placeholders().is_empty() => {
            Err(format!("may use no placeholder, but uses {unknown}"))
        }
        Some(unknown) => Err(format!(
            "may use {} but not {unknown}",
            key.placeholders().join(", ")
        )),
    }
}

/// The placeholders `text` uses, in order, once each.
pub fn placeholders(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            found.push(&rest[start..]);
            break;
        };
        let placeholder = &rest[start..=start + len];
        if !found.contains(&placeholder) {
            found.push(placeholder);
        }
        rest = &rest[start + len + 1..];
    }
    found
}

/// The first `{...}` in `text` that is not one of `allowed`.
pub fn unknown_placeholder(text: &str, allowed: &[&str]) -> Option<String> {
    placeholders(text)
        .into_iter()
        .find(|p| !allowed.contains(p))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::src;

    fn lang(tag: &str) -> Language {
        tag.parse().unwrap()
    }

    #[test]
    fn every_key_is_in_every_shipped_language_with_the_same_placeholders() {
        let parsed = parse(BUILTIN).unwrap();
        let tags: Vec<&str> = parsed.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(tags.len(), 5, "{tags:?}");
        for primary in ["en", "es", "fr", "de", "pt"] {
            assert!(tags.iter().any(|t| t.starts_with(primary)), "{primary}");
        }
        for (i, key) in Key::ALL.into_iter().enumerate() {
            assert_eq!(key.index(), i, "KEYS lists the keys in their order");
        }
        let texts = Texts::builtin();
        assert_eq!(texts.languages().next().unwrap().as_str(), DEFAULT_LANGUAGE);
        for key in Key::ALL {
            assert_eq!(Key::named(key.name()), Some(key));
            let english = texts.own(DEFAULT_LANGUAGE);
            let english = english.iter().find(|(k, _)| *k == key).unwrap().1;
            let mut wanted = placeholders(english);
            wanted.sort_unstable();
            for (language, own) in &parsed {
                let text = own
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, t)| t.as_str())
                    .unwrap_or_else(|| panic!("{language} has no {}", key.name()));
                assert!(!text.trim().is_empty(), "{language}.{}", key.name());
                let mut used = placeholders(text);
                used.sort_unstable();
                assert_eq!(used, wanted, "{language}.{}: {text}", key.name());
                assert_eq!(check(key, text), Ok(()));
            }
            assert_eq!(
                parsed.iter().map(|(_, own)| own.len()).collect::<Vec<_>>(),
                vec![Key::ALL.len(); parsed.len()],
                "no language has a text twice or a key left over"
            );
        }
    }

    #[test]
    fn the_built_in_english_texts_are_the_settings_defaults() {
        let texts = Texts::from_source(&src(&[])).unwrap();
        assert_eq!(
            texts.default_text(Key::Announcement),
            "Connecting your call."
        );
        assert_eq!(
            texts.default_text(Key::NotifySms),
            "To reach your {other}, call {proxy}. This number works for this conversation only."
        );
        assert_eq!(Texts::default().languages().count(), 1);
        assert_eq!(
            Texts::default().localized(Key::OutOfService, Some(&lang("es-ES"))),
            None
        );
    }

    #[test]
    fn a_language_falls_back_to_its_primary_language_then_to_the_default() {
        let texts = Texts::from_source(&src(&[(
            "TEXTS",
            r#"{"es-MX": {"announcement": "Lo estamos comunicando."}}"#,
        )]))
        .unwrap();
        let es_mx = lang("es-MX");
        assert_eq!(
            texts.get(Key::Announcement, Some(&es_mx)),
            "Lo estamos comunicando."
        );
        assert_eq!(
            texts.get(Key::OutOfService, Some(&es_mx)),
            "El número al que ha llamado no está en servicio.",
            "es-MX has no out-of-service text of its own: es-ES's"
        );
        assert_eq!(
            texts.get(Key::Announcement, Some(&lang("es-ES"))),
            "Estamos conectando su llamada."
        );
        assert_eq!(
            texts.get(Key::Announcement, Some(&lang("pt-PT"))),
            "Estamos completando sua ligação."
        );
        for other in [Some(lang("it-IT")), Some(lang("en-US")), None] {
            assert_eq!(
                texts.get(Key::Announcement, other.as_ref()),
                "Connecting your call."
            );
            assert_eq!(texts.localized(Key::Announcement, other.as_ref()), None);
        }
    }

    #[test]
    fn settings_set_the_default_language_and_texts_go_over_them() {
        let texts = Texts::from_source(&src(&[
            ("OUT_OF_SERVICE_TEXT", "Not in service."),
            ("ANNOUNCEMENT_TEXT", ""),
            ("TEXTS", r#"{"en-GB": {"unavailable": "Try later."}, "fr-FR": {"out_of_service": "Hors service."}}"#),
        ]))
        .unwrap();
        let fr = lang("fr-FR");
        assert_eq!(texts.get(Key::OutOfService, None), "Not in service.");
        assert_eq!(texts.get(Key::Unavailable, None), "Try later.");
        assert_eq!(texts.get(Key::OutOfService, Some(&fr)), "Hors service.");
        assert_eq!(
            texts.get(Key::Announcement, Some(&fr)),
            "",
            "an empty default switches the text off in every language"
        );
    }

    #[test]
    fn bad_texts_are_refused_at_start_with_what_is_wrong() {
        for (name, value, wanted) in [
            (
                "TEXTS",
                r#"{"es-ES": {"announcement": "Hola {caller}"}}"#,
                "es-ES.announcement may use {callee} but not {caller}",
            ),
            (
                "TEXTS",
                r#"{"es-ES": {"out_of_service": "{proxy}"}}"#,
                "es-ES.out_of_service may use no placeholder, but uses {proxy}",
            ),
            (
                "TEXTS",
                r#"{"es-ES": {"anouncement": "Hola"}}"#,
                "es-ES.anouncement is not a text",
            ),
            (
                "TEXTS",
                r#"{"xx-YY": {"announcement": "Hola"}}"#,
                "xx-YY is not a language",
            ),
            (
                "TEXTS",
                r#"{"es-ES": {"announcement": "Hola"}"#,
                "is not a JSON object",
            ),
            ("TEXTS", r#"["es-ES"]"#, "is not a JSON object"),
            (
                "TEXTS",
                r#"{"es-ES": {"announcement": 3}}"#,
                "is not a JSON object",
            ),
            (
                "NOTIFY_SMS_TEMPLATE",
                "Call {callee} on {proxy}",
                "may use {other}, {proxy}, {expires}, {reference}, {code} but not {callee}",
            ),
            (
                "MISSED_CALL_SMS_TEMPLATE",
                "Call back on {proxy",
                "but not {proxy",
            ),
        ] {
            let e = Texts::from_source(&src(&[(name, value)])).unwrap_err();
            let e = e.to_string();
            assert!(e.starts_with(&format!("{name} is not valid")), "{e}");
            assert!(e.contains(wanted), "{value}: {e}");
        }
    }
}
