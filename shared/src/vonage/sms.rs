//! The SMS API (`sms.yml`), for accounts that still send texts through it.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{Api, VonageClient, VonageError};
use crate::phone::Msisdn;

#[derive(Serialize)]
struct NewMessage<'a> {
    api_key: &'a str,
    api_secret: &'a str,
    from: &'a str,
    to: &'a str,
    text: &'a str,
    #[serde(rename = "type")]
    type_: &'static str,
    #[serde(rename = "client-ref", skip_serializing_if = "Option::is_none")]
    client_ref: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SmsResponse {
    #[serde(default)]
    messages: Vec<SmsMessageStatus>,
}

#[derive(Debug, Deserialize)]
struct SmsMessageStatus {
    status: String,
    #[serde(rename = "message-id", default)]
    message_id: Option<String>,
    #[serde(rename = "error-text", default)]
    error_text: Option<String>,
}

impl VonageClient {
    /// Sends one SMS with the SMS API: `POST {sms}/json`, form-encoded, credentials in the
    /// form, a delivery receipt asked for at the stack's `/webhooks/delivery-receipt` where the
    /// stack's base URL is known. Returns the message id. Not retried after a timeout, since
    /// the text may already be on its way.
    #[tracing::instrument(skip_all, fields(from = %from.masked(), to = %to.masked()))]
    pub(super) async fn send_with_sms_api(
        &self,
        from: &Msisdn,
        to: &Msisdn,
        text: &str,
        client_ref: Option<&str>,
    ) -> Result<String, VonageError> {
        let api = Api::Sms;
        let url = format!("{}/json", self.sms_url);
        let secret = self.api_secret.expose_secret();
        let form = NewMessage {
            api_key: &self.api_key,
            api_secret: secret,
            from: from.as_str(),
            to: to.as_str(),
            text,
            type_: if text.is_ascii() { "text" } else { "unicode" },
            client_ref,
            callback: self.webhook("/webhooks/delivery-receipt"),
        };
        let body: SmsResponse = self
            .send(api, false, || self.http.post(&url).form(&form))
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        match body.messages.first() {
            Some(m) if m.status == "0" => Ok(m.message_id.clone().unwrap_or_default()),
            Some(m) => Err(VonageError::rejected(
                api,
                m.status.clone(),
                m.error_text.as_deref().unwrap_or_default(),
            )),
            None => Err(VonageError::rejected(
                api,
                "none",
                "no message status in the answer",
            )),
        }
    }
}
