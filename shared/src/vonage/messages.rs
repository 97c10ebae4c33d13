//! The Messages API (`messages-v1-sms.yml`), SMS channel: `POST {url}/messages` with the
//! application's JWT. New Vonage accounts send texts this way, and have their inbound texts and
//! statuses delivered to the application's `messages` webhooks.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::jwt::{ApplicationToken, SetupError, SignedClient};
use super::{Api, VonageError};
use crate::phone::Msisdn;

#[derive(Serialize)]
struct OutboundText<'a> {
    message_type: &'static str,
    channel: &'static str,
    from: &'a str,
    to: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ref: Option<&'a str>,
}

#[derive(Deserialize)]
struct Accepted {
    message_uuid: String,
}

/// The Messages API client. Cheap to clone.
#[derive(Clone)]
pub struct MessagesClient(SignedClient);

impl MessagesClient {
    /// A client for the API at `url` (`VONAGE_MESSAGES_URL`), signing as `token`.
    pub fn new(
        url: &str,
        token: ApplicationToken,
        timeout: Duration,
        max_retries: u32,
    ) -> Result<Self, SetupError> {
        SignedClient::new(url, token, timeout, max_retries).map(Self)
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(self, backoff: Duration) -> Self {
        Self(self.0.with_backoff(backoff))
    }

    /// Sends one text from `from` to `to`; its `message_uuid`, which its statuses name. Not
    /// retried after a timeout, since the text may already be on its way.
    #[tracing::instrument(skip_all, fields(from = %from.masked(), to = %to.masked()))]
    pub async fn send(
        &self,
        from: &Msisdn,
        to: &Msisdn,
        text: &str,
        client_ref: Option<&str>,
    ) -> Result<String, VonageError> {
        let body = OutboundText {
            message_type: "text",
            channel: "sms",
            from: from.as_str(),
            to: to.as_str(),
            text,
            client_ref,
        };
        let accepted: Accepted = self
            .0
            .post(Api::Messages, "/messages", &body, false)
            .await?;
        Ok(accepted.message_uuid)
    }
}
