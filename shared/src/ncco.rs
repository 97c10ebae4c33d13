//! Call control objects (NCCOs): the answer webhook's reply, shaped after `vonage/ncco-schema.json`.

use serde::Serialize;

use crate::phone::Msisdn;
use crate::values::Language;

/// An NCCO: a non-empty list of actions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Ncco(Vec<Action>);

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    Talk(Talk),
    Connect(Connect),
    Record(Record),
    Input(Input),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Talk {
    pub text: String,
    /// The voice's language; Vonage's default (`en-US`) when left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// A key pressed while it is spoken ends it (and counts for the `input` that follows).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub barge_in: bool,
}

impl Talk {
    fn new(text: String, language: Option<&Language>) -> Self {
        Self {
            text,
            language: language.cloned(),
            barge_in: false,
        }
    }
}

/// Records the rest of the call, each side on its own channel; Vonage posts the recording's URL
/// to `event_url` when the call ends.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub format: &'static str,
    /// `conversation`: each side on its own channel (a recorded call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    /// A voicemail: a beep first, and it ends after this many seconds of silence or at most
    /// `time_out` seconds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub beep_start: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_on_silence: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_out: Option<u16>,
    pub event_url: Vec<String>,
    pub event_method: &'static str,
}

/// Collects keys pressed: the result is posted to `event_url`, which answers what comes next.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    pub max_digits: u8,
    /// Seconds to wait for a key.
    pub time_out: u8,
    /// `#` ends the input before `max_digits` keys.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub submit_on_hash: bool,
    pub event_url: Vec<String>,
    pub event_method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connect {
    /// Caller ID shown to the callee: always a proxy number.
    pub from: String,
    /// Seconds to ring the callee before giving up.
    pub timeout: u32,
    /// Longest the connected call may last, in seconds (at most 7200).
    pub limit: u32,
    pub event_url: Vec<String>,
    pub event_method: &'static str,
    /// `synchronous`: the connect's outcome goes to `event_url` as it happens, and an NCCO
    /// answered there for a call the callee did not take is what the caller hears next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<&'static str>,
    /// `hangup`: a machine that answers (a voicemail greeting, which may say the callee's name
    /// or number) is hung up on, and the callee's leg ends with the status `machine`.
    pub machine_detection: &'static str,
    pub endpoint: Vec<Endpoint>,
}

/// What every connect does with a machine that answers the callee's phone: hangs up, so no
/// caller hears a callee's own greeting (PRODUCT.md, "Calls the backend starts, and calls that
/// respect people").
pub const MACHINE_DETECTION: &str = "hangup";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Endpoint {
    Phone {
        number: String,
        /// Where Vonage fetches the NCCO the callee hears when they pick up, before the two
        /// are bridged (the whisper).
        #[serde(rename = "onAnswer", skip_serializing_if = "Option::is_none")]
        on_answer: Option<OnAnswer>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnAnswer {
    pub url: String,
}

/// A call to bridge: what [`Ncco::connect`] needs.
#[derive(Debug, Clone)]
pub struct Bridge<'a> {
    /// Spoken to the caller first; left out when empty.
    pub announcement: &'a str,
    /// The caller's language.
    pub language: Option<&'a Language>,
    pub callee: &'a Msisdn,
    /// Caller ID shown to the callee: always a proxy number.
    pub caller_id: &'a Msisdn,
    pub ring_timeout: u32,
    pub call_limit: u32,
    pub event_url: &'a str,
    /// The whisper's URL, when the callee hears one.
    pub on_answer: Option<String>,
    /// The connect reports its outcome synchronously, so that a call the callee does not take
    /// can be followed up with an NCCO for the caller.
    pub synchronous: bool,
    /// The call is recorded: the caller hears `notice` (in their language) before the recording
    /// starts, and Vonage posts the recording to `event_url`.
    pub record: Option<Recording<'a>>,
}

/// What recording a call takes.
#[derive(Debug, Clone)]
pub struct Recording<'a> {
    pub notice: &'a str,
    pub event_url: String,
}

/// Talk texts longer than this are rejected by the schema.
pub const MAX_TALK_CHARS: usize = 1500;

impl Ncco {
    /// Connects the caller to the callee, showing the caller ID (a proxy number), after the
    /// announcement (left out when empty) in the caller's language.
    pub fn connect(b: Bridge<'_>) -> Self {
        let mut actions = Vec::with_capacity(4);
        if !b.announcement.trim().is_empty() {
            actions.push(Action::Talk(Talk::new(
                truncate(b.announcement),
                b.language,
            )));
        }
        if let Some(recording) = b.record {
            actions.push(Action::Talk(Talk::new(
                truncate(recording.notice),
                b.language,
            )));
            actions.push(Action::Record(Record {
                format: "mp3",
                split: Some("conversation"),
                channels: Some(2),
                beep_start: false,
                end_on_silence: None,
                time_out: None,
                event_url: vec![recording.event_url],
                event_method: "POST",
            }));
        }
        actions.push(Action::Connect(Connect {
            from: b.caller_id.as_str().to_owned(),
            timeout: b.ring_timeout,
            limit: b.call_limit.min(7200),
            event_url: vec![b.event_url.to_owned()],
            event_method: "POST",
            event_type: b.synchronous.then_some("synchronous"),
            machine_detection: MACHINE_DETECTION,
            endpoint: vec![Endpoint::Phone {
                number: b.callee.as_str().to_owned(),
                on_answer: b.on_answer.map(|url| OnAnswer { url }),
            }],
        }));
        Self(actions)
    }

    /// `text` said first, in `language`, then this NCCO.
    pub fn after(mut self, text: &str, language: Option<&Language>) -> Self {
        if !text.trim().is_empty() {
            self.0
                .insert(0, Action::Talk(Talk::new(truncate(text), language)));
        }
        self
    }

    /// Spoken to one side, in their language: the whisper a callee hears.
    pub fn speak(text: &str, language: Option<&Language>) -> Self {
        Self(vec![Action::Talk(Talk::new(truncate(text), language))])
    }

    /// A voicemail: `prompt` spoken in the caller's language, then a beep and the caller's
    /// message recorded (up to two minutes, ending after three seconds of silence), posted to
    /// `event_url`.
    pub fn voicemail(prompt: &str, language: Option<&Language>, event_url: String) -> Self {
        Self(vec![
            Action::Talk(Talk::new(truncate(prompt), language)),
            Action::Record(Record {
                format: "mp3",
                split: None,
                channels: None,
                beep_start: true,
                end_on_silence: Some(3),
                time_out: Some(120),
                event_url: vec![event_url],
                event_method: "POST",
            }),
        ])
    }

    /// Texts spoken to one side in turn, in their language, then, with `ask`, a prompt a key
    /// press may cut short and one key collected (its result posted to the URL given); an empty
    /// list is a moment of silence.
    pub fn tell(
        texts: &[String],
        language: Option<&Language>,
        ask: Option<(&str, String)>,
    ) -> Self {
        let mut actions: Vec<Action> = texts
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| Action::Talk(Talk::new(truncate(t), language)))
            .collect();
        if let Some((prompt, event_url)) = ask {
            let mut talk = Talk::new(truncate(prompt), language);
            talk.barge_in = true;
            actions.push(Action::Talk(talk));
            actions.push(Action::Input(Input {
                max_digits: 1,
                time_out: 5,
                submit_on_hash: false,
                event_url: vec![event_url],
                event_method: "POST",
            }));
        }
        if actions.is_empty() {
            return Self::reject();
        }
        Self(actions)
    }

    /// `prompt` spoken in the caller's language (a key pressed cuts it short), then up to
    /// `digits` keys collected, `#` ending them early; the keys are posted to `event_url`.
    pub fn ask_code(
        prompt: &str,
        language: Option<&Language>,
        digits: u8,
        event_url: String,
    ) -> Self {
        let mut talk = Talk::new(truncate(prompt), language);
        talk.barge_in = true;
        Self(vec![
            Action::Talk(talk),
            Action::Input(Input {
                max_digits: digits,
                time_out: 10,
                submit_on_hash: true,
                event_url: vec![event_url],
                event_method: "POST",
            }),
        ])
    }

    /// A short spoken message and nothing else: the call ends after it.
    pub fn say(text: &str) -> Self {
        let text = if text.trim().is_empty() {
            "This number is not in service.".to_owned()
        } else {
            truncate(text)
        };
        Self(vec![Action::Talk(Talk::new(text, None))])
    }

    /// Ends the call without a word: a moment of silence, after which the NCCO is done and
    /// Vonage hangs up (an NCCO cannot be empty).
    pub fn reject() -> Self {
        Self(vec![Action::Talk(Talk::new(SILENCE.to_owned(), None))])
    }

    pub fn actions(&self) -> &[Action] {
        &self.0
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            // Serializing these plain structs cannot fail; keep the call safe regardless.
            r#"[{"action":"talk","text":"This number is not in service."}]"#.to_owned()
        })
    }
}

/// SSML for a tenth of a second of silence.
pub const SILENCE: &str = r#"<speak><break time="100ms"/></speak>"#;

fn truncate(text: &str) -> String {
    text.chars().take(MAX_TALK_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_serializes_in_vonage_shape() {
        let callee = Msisdn::from_digits("447700900002").unwrap();
        let proxy = Msisdn::from_digits("447700900011").unwrap();
        let ncco = Ncco::connect(Bridge {
            announcement: "Connecting",
            language: None,
            callee: &callee,
            caller_id: &proxy,
            ring_timeout: 30,
            call_limit: 3600,
            event_url: "https://x/webhooks/event",
            on_answer: None,
            synchronous: false,
            record: None,
        });
        let json: serde_json::Value = serde_json::from_str(&ncco.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"action": "talk", "text": "Connecting"},
                {"action": "connect", "from": "447700900011", "timeout": 30, "limit": 3600,
                 "eventUrl": ["https://x/webhooks/event"], "eventMethod": "POST",
                 "machineDetection": "hangup",
                 "endpoint": [{"type": "phone", "number": "447700900002"}]}
            ])
        );
    }

    #[test]
    fn empty_announcement_is_left_out() {
        let n = Msisdn::from_digits("447700900002").unwrap();
        let ncco = Ncco::connect(Bridge {
            announcement: "  ",
            language: None,
            callee: &n,
            caller_id: &n,
            ring_timeout: 30,
            call_limit: 9000,
            event_url: "https://x/e",
            on_answer: None,
            synchronous: true,
            record: None,
        });
        assert_eq!(ncco.actions().len(), 1);
        let Action::Connect(c) = &ncco.actions()[0] else {
            panic!("not a connect")
        };
        assert_eq!(c.limit, 7200, "limit is capped at the schema's maximum");
        assert_eq!(c.event_type, Some("synchronous"));
    }
}
