//! The Voice API (`voice.yml`) for calls in progress, and the recordings Vonage keeps.

use crate::files::Download;
use crate::ncco::Ncco;
use crate::phone::Msisdn;
use std::time::Duration;

use reqwest::{Client, RequestBuilder};

use super::jwt::{ApplicationToken, SetupError};
use super::{Api, VonageError, http_client, send_retrying};

/// A call the Voice API is to start: `to` rung from `from`, `ncco` played when they answer.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    pub to: &'a Msisdn,
    /// The proxy number that stands for the other participant on `to`'s phone.
    pub from: &'a Msisdn,
    pub ncco: &'a Ncco,
    pub event_url: &'a str,
    /// Seconds `to`'s phone rings before Vonage gives up (at most 120).
    pub ringing_timer: u32,
}

/// The call Vonage started: its leg to the participant (`uuid`) and the call itself
/// (`conversation_uuid`, which every leg's events name).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct StartedCall {
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub conversation_uuid: String,
}

/// The Voice API (`voice.yml`) for calls in progress, and the recordings Vonage keeps, with the
/// application's JWT (RS256, signed with its private key, a fresh `jti` per request). Cheap to
/// clone.
#[derive(Clone)]
pub struct VoiceClient {
    http: Client,
    voice_url: String,
    files_url: String,
    token: ApplicationToken,
    max_retries: u32,
    backoff: Duration,
    max_recording_bytes: u64,
}

impl VoiceClient {
    pub fn new(config: &crate::config::VoiceConfig) -> Result<Self, SetupError> {
        let token = ApplicationToken::new(&config.application_id, &config.private_key)?;
        let http = http_client(config.timeout).map_err(SetupError::Http)?;
        Ok(Self {
            http,
            voice_url: config.voice_url.clone(),
            files_url: config.files_url.clone(),
            token,
            max_retries: config.max_retries,
            backoff: Duration::from_millis(100),
            max_recording_bytes: config.max_recording_bytes,
        })
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// `PUT {voice}/{leg}` with `body`: a call leg told what to do.
    async fn modify(&self, leg: &str, body: &serde_json::Value) -> Result<(), VonageError> {
        let api = Api::Voice;
        if leg.is_empty() || !leg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(VonageError::rejected(api, "leg", "not a call leg's id"));
        }
        let token = self.token.sign(api)?;
        let url = format!("{}/{leg}", self.voice_url);
        self.send(api, || self.http.put(&url).bearer_auth(&token).json(body))
            .await
            .map(drop)
    }

    async fn send(
        &self,
        api: Api,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<reqwest::Response, VonageError> {
        send_retrying(self.max_retries, self.backoff, api, true, &[], build).await
    }

    /// `POST {voice}`: Vonage rings `to` from `from` (a proxy number of the account) and, when
    /// they answer, plays them `ncco`; each leg's progress goes to `event_url`. Not retried on
    /// a timeout or a `5xx`: a second attempt could ring the participant twice.
    #[tracing::instrument(skip_all)]
    pub async fn create_call(&self, call: &NewCall<'_>) -> Result<StartedCall, VonageError> {
        let api = Api::Voice;
        let token = self.token.sign(api)?;
        let body = serde_json::json!({
            "to": [{"type": "phone", "number": call.to.as_str()}],
            "from": {"type": "phone", "number": call.from.as_str()},
            "ncco": call.ncco,
            "event_url": [call.event_url],
            "event_method": "POST",
            "ringing_timer": call.ringing_timer.clamp(1, 120),
            // The participant's own voicemail is hung up on, as on every connect: its greeting
            // may say their name or number, and the other participant is then never rung.
            "machine_detection": "hangup",
        });
        let response = send_retrying(0, self.backoff, api, false, &[], || {
            self.http
                .post(self.voice_url.as_str())
                .bearer_auth(&token)
                .json(&body)
        })
        .await?;
        let started: StartedCall = response
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        if started.conversation_uuid.is_empty() || started.uuid.is_empty() {
            return Err(VonageError::rejected(api, "call", "no call was named"));
        }
        Ok(started)
    }

    /// Ends one leg of a call.
    #[tracing::instrument(skip_all)]
    pub async fn hang_up(&self, leg: &str) -> Result<(), VonageError> {
        self.modify(leg, &serde_json::json!({"action": "hangup"}))
            .await
    }

    /// `PUT {voice}/{leg}/talk`: speaks `text` into a leg in `language` (Vonage's default voice
    /// without one) while the call goes on. A leg that has ended answers `404`.
    #[tracing::instrument(skip_all)]
    pub async fn talk(
        &self,
        leg: &str,
        text: &str,
        language: Option<&crate::values::Language>,
    ) -> Result<(), VonageError> {
        let api = Api::Voice;
        if leg.is_empty() || !leg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(VonageError::rejected(api, "leg", "not a call leg's id"));
        }
        let token = self.token.sign(api)?;
        let url = format!("{}/{leg}/talk", self.voice_url);
        let mut body = serde_json::json!({"text": text});
        if let Some(language) = language {
            body["language"] = serde_json::json!(language);
        }
        self.send(api, || self.http.put(&url).bearer_auth(&token).json(&body))
            .await
            .map(drop)
    }

    /// Takes a leg out of what it is doing and plays it `ncco` instead.
    #[tracing::instrument(skip_all)]
    pub async fn transfer(&self, leg: &str, ncco: &crate::ncco::Ncco) -> Result<(), VonageError> {
        let body = serde_json::json!({
            "action": "transfer",
            "destination": {"type": "ncco", "ncco": ncco},
        });
        self.modify(leg, &body).await
    }

    /// Downloads a recording Vonage keeps, from the `recording_url` of a `record` event. Only
    /// an https URL of Vonage's file store (or the configured `VONAGE_FILES_URL`) is fetched:
    /// the application's token goes nowhere else.
    #[tracing::instrument(skip_all)]
    pub async fn download(&self, url: &str) -> Result<Download, VonageError> {
        let api = Api::Voice;
        if !self.is_vonage_file(url) {
            return Err(VonageError::rejected(
                api,
                "recording_url",
                "not a URL of Vonage's file store",
            ));
        }
        let token = self.token.sign(api)?;
        let mut response = self
            .send(api, || self.http.get(url).bearer_auth(&token))
            .await?;
        // Past the cap it is not kept: refused before reading when the size is declared, and
        // cut off when the bytes run past it.
        let cap = self.max_recording_bytes;
        let too_large =
            || VonageError::rejected(api, "recording", "larger than RECORDING_MAX_BYTES");
        let Some(size) = response.content_length() else {
            // No size declared: read whole (at most the cap), so the bucket is told its size.
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| VonageError::from_reqwest(api, e))?
            {
                if (bytes.len() + chunk.len()) as u64 > cap {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            return Ok(Download::whole(bytes));
        };
        if size > cap {
            return Err(too_large());
        }
        // Passed on as it arrives, never more than it declared.
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut sent = 0u64;
            loop {
                let item = match response.chunk().await {
                    Ok(Some(chunk)) if sent + chunk.len() as u64 > size => Err(
                        std::io::Error::other("the recording is longer than it declared"),
                    ),
                    Ok(Some(chunk)) => {
                        sent += chunk.len() as u64;
                        Ok(chunk)
                    }
                    Ok(None) => return,
                    Err(e) => Err(std::io::Error::other(e)),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Download {
            size,
            body: Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))),
        })
    }

    fn is_vonage_file(&self, url: &str) -> bool {
        if url.starts_with(&format!("{}/", self.files_url)) {
            return true;
        }
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return false;
        };
        let host = parsed.host_str().unwrap_or_default();
        parsed.scheme() == "https"
            && (host.ends_with(".nexmo.com") || host.ends_with(".vonage.com"))
            && parsed.path().starts_with("/v1/files/")
    }
}
