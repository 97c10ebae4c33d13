//! The Messages API (`messages-v1-sms.yml`), SMS channel: `POST {url}/messages` with the
//! application's JWT. New Vonage accounts send texts this way, and have their inbound texts and
//! statuses delivered to the application's `messages` webhooks.

use std::time::Duration;

use reqwest::Client;
use serde::{Deserialize, Serialize};

use super::jwt::{ApplicationToken, SetupError};
use super::{Api, VonageError, http_client, send_retrying};
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
pub struct MessagesClient {
    http: Client,
    url: String,
    token: ApplicationToken,
    max_retries: u32,
    backoff: Duration,
}

impl MessagesClient {
    /// A client for the API at `url` (`VONAGE_MESSAGES_URL`), signing as `token`.
    pub fn new(
        url: &str,
        token: ApplicationToken,
        timeout: Duration,
        max_retries: u32,
    ) -> Result<Self, SetupError> {
        Ok(Self {
            http: http_client(timeout).map_err(SetupError::Http)?,
            url: url.trim_end_matches('/').to_owned(),
            token,
            max_retries,
            backoff: Duration::from_millis(100),
        })
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
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
        let api = Api::Messages;
        let url = format!("{}/messages", self.url);
        let body = OutboundText {
            message_type: "text",
            channel: "sms",
            from: from.as_str(),
            to: to.as_str(),
            text,
            client_ref,
        };
        let token = self.token.sign(api)?;
        let accepted: Accepted =
            send_retrying(self.max_retries, self.backoff, api, false, &[], || {
                self.http.post(&url).bearer_auth(&token).json(&body)
            })
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        Ok(accepted.message_uuid)
    }
}
