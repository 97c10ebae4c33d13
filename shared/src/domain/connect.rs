//! The connect that bridges a caller to the other participant (rule 1): what the answer webhook
//! answers for a call to a proxy number, and what a call the management API starts plays to
//! the participant it rings once they pick up, the same in both: the announcement, the
//! recording notice, the whisper's URL, the event URL and the call's limits.

use std::borrow::Cow;

use crate::config::CallConfig;
use crate::config::texts::Key;
use crate::model::{Route, RoutedBy};
use crate::ncco::{Bridge, Ncco, Recording};
use crate::seal::{Carried, Seal};

/// What the connect's own URLs are sealed for.
#[derive(Debug, Clone, Copy)]
pub enum Sealing<'a> {
    /// A call to a proxy number: its `conversation_uuid`, the caller's leg (which a callee's
    /// refusal at the whisper's prompt transfers), and how it found its conversation.
    Call {
        call: &'a str,
        caller_leg: Option<&'a str>,
        routed_by: RoutedBy,
    },
    /// A call the management API is starting, which Vonage has not named yet: bound to its
    /// conversation (`Seal::url_for_started_call`).
    Started,
}

/// Where the connect's URLs point and what they carry back.
#[derive(Debug, Clone, Copy)]
pub struct Urls<'a> {
    /// The base of our own webhook URLs.
    pub base: &'a str,
    pub seal: &'a Seal,
    pub sealing: Sealing<'a>,
}

impl Urls<'_> {
    fn sealed(&self, path: &str, carried: &Carried) -> String {
        let url = format!("{}{path}", self.base);
        match self.sealing {
            Sealing::Call { call, .. } => self.seal.url(&url, call, carried),
            Sealing::Started => self.seal.url_for_started_call(&url, carried),
        }
    }
}

/// Connects the caller on `route` to the other participant, with the other participant's proxy
/// number as caller ID (rule 1); a recorded call is announced and recorded first. What the
/// connect's URLs carry back is sealed as `urls` says.
pub fn bridge(config: &CallConfig, route: &Route, urls: &Urls<'_>) -> Ncco {
    let leg = Carried {
        conversation_id: Some(route.conversation_id.to_string()),
        caller: Some(route.caller_index),
        ..Carried::default()
    };
    let caller_leg = match urls.sealing {
        Sealing::Call { caller_leg, .. } => caller_leg.map(str::to_owned),
        Sealing::Started => None,
    };
    let on_answer = route.whisper.then(|| {
        urls.sealed(
            "/webhooks/whisper",
            &Carried {
                leg: caller_leg,
                ..leg.clone()
            },
        )
    });
    let event_url = match urls.sealing {
        Sealing::Call {
            routed_by: RoutedBy::CallerId,
            ..
        } => format!("{}/webhooks/event", urls.base),
        // A code-routed leg names its conversation: caller ID cannot.
        Sealing::Call {
            routed_by: RoutedBy::Code,
            ..
        } => urls.sealed(
            "/webhooks/event",
            &Carried {
                routed: Some("code".into()),
                ..leg.clone()
            },
        ),
        // So does a leg of a started call: it is the API's, whatever caller ID says.
        Sealing::Started => urls.sealed("/webhooks/event", &leg),
    };
    let language = route.language.as_ref();
    Ncco::connect(Bridge {
        announcement: &announcement(config, route),
        language,
        callee: &route.callee,
        caller_id: &route.callee_proxy,
        ring_timeout: config.ring_timeout_seconds,
        call_limit: route.limit_seconds.unwrap_or(config.call_limit_seconds),
        event_url: &event_url,
        on_answer,
        synchronous: route.missed_call.follows_up(),
        record: route.record.then(|| Recording {
            notice: config.texts.localized_or(
                Key::RecordingNotice,
                language,
                &config.recording_notice,
            ),
            event_url: urls.sealed(
                "/webhooks/recording",
                &Carried {
                    conversation_id: leg.conversation_id.clone(),
                    ..Carried::default()
                },
            ),
        }),
    })
}

/// What the caller on `route` hears before connecting: the conversation's announcement; the
/// configured one in the caller's language where the conversation has the configured one
/// (as creation fills it in); the configured one, as it stands, on a route from before
/// announcements were kept.
pub fn announcement<'a>(config: &'a CallConfig, route: &'a Route) -> Cow<'a, str> {
    let configured = config.announcement.as_str();
    let Some(text) = route.announcement.as_deref() else {
        return configured.into();
    };
    let language = route.language.as_ref();
    let Some(own) = config.texts.localized(Key::Announcement, language) else {
        return text.into();
    };
    let fill = |template: &str| template.replace("{callee}", route.callee_name());
    if fill(configured) == text {
        fill(own).into()
    } else {
        text.into()
    }
}
