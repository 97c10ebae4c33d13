//! The Application API (`application.v2.yml`): the application the stack's numbers are linked to.

use reqwest::{RequestBuilder, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{Api, VonageClient, VonageError};

/// The application the stack's numbers are linked to, as the set-up writes it: its name, the
/// stack's three voice webhook URLs (each called with `POST`, so the signature covers every
/// field) with signed callbacks on, and its two Messages API webhooks (`version` `v1`), where a
/// Messages API account sends inbound texts and their statuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationSpec {
    pub name: String,
    pub answer_url: String,
    pub fallback_answer_url: String,
    pub event_url: String,
    pub inbound_message_url: String,
    pub message_status_url: String,
}

impl ApplicationSpec {
    /// The request body: `capabilities` as they are (an adopted application keeps its other
    /// capabilities and voice settings) with the voice webhooks and signed callbacks set.
    fn body(&self, capabilities: &serde_json::Value) -> serde_json::Value {
        let hook = |address: &str| serde_json::json!({"address": address, "http_method": "POST"});
        let mut capabilities = match capabilities {
            serde_json::Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let voice = capabilities
            .entry("voice")
            .or_insert_with(|| serde_json::json!({}));
        if !voice.is_object() {
            *voice = serde_json::json!({});
        }
        voice["webhooks"] = serde_json::json!({
            "answer_url": hook(&self.answer_url),
            "fallback_answer_url": hook(&self.fallback_answer_url),
            "event_url": hook(&self.event_url),
        });
        voice["signed_callbacks"] = serde_json::Value::Bool(true);
        let messages = capabilities
            .entry("messages")
            .or_insert_with(|| serde_json::json!({}));
        if !messages.is_object() {
            *messages = serde_json::json!({});
        }
        messages["webhooks"] = serde_json::json!({
            "inbound_url": hook(&self.inbound_message_url),
            "status_url": hook(&self.message_status_url),
        });
        messages["version"] = serde_json::json!("v1");
        serde_json::json!({"name": self.name, "capabilities": capabilities})
    }
}

/// One of an application's voice webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppWebhook {
    pub address: String,
    #[serde(default)]
    pub http_method: Option<String>,
}

/// An application as the Application API shows it.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub answer_url: Option<AppWebhook>,
    pub fallback_answer_url: Option<AppWebhook>,
    pub event_url: Option<AppWebhook>,
    /// `None` when the API does not say.
    pub signed_callbacks: Option<bool>,
    /// The Messages API's webhooks: where inbound texts and their statuses go.
    pub inbound_message_url: Option<AppWebhook>,
    pub message_status_url: Option<AppWebhook>,
    /// The Messages API webhooks' format (`v1` for this product).
    pub messages_version: Option<String>,
    /// Only in the answer to a creation: the key Voice API tokens are signed with.
    pub private_key: Option<SecretString>,
    /// Every capability as the API shows it, kept so that an update changes only the webhooks
    /// and signed callbacks.
    pub capabilities: serde_json::Value,
}

#[derive(Deserialize)]
struct ApplicationBody {
    id: String,
    name: String,
    #[serde(default)]
    capabilities: serde_json::Value,
    #[serde(default)]
    keys: Option<KeysBody>,
}

#[derive(Deserialize)]
struct CapabilitiesBody {
    #[serde(default)]
    voice: Option<VoiceBody>,
    #[serde(default)]
    messages: Option<MessagesBody>,
}

#[derive(Deserialize)]
struct MessagesBody {
    #[serde(default)]
    webhooks: Option<MessagesWebhooksBody>,
    #[serde(default)]
    version: Option<String>,
}

#[derive(Deserialize)]
struct MessagesWebhooksBody {
    #[serde(default)]
    inbound_url: Option<AppWebhook>,
    #[serde(default)]
    status_url: Option<AppWebhook>,
}

#[derive(Deserialize)]
struct VoiceBody {
    #[serde(default)]
    webhooks: Option<WebhooksBody>,
    #[serde(default)]
    signed_callbacks: Option<bool>,
}

#[derive(Deserialize)]
struct WebhooksBody {
    #[serde(default)]
    answer_url: Option<AppWebhook>,
    #[serde(default)]
    fallback_answer_url: Option<AppWebhook>,
    #[serde(default)]
    event_url: Option<AppWebhook>,
}

#[derive(Deserialize)]
struct KeysBody {
    #[serde(default)]
    private_key: Option<String>,
}

impl From<ApplicationBody> for Application {
    fn from(b: ApplicationBody) -> Self {
        let (voice, messages) = match CapabilitiesBody::deserialize(&b.capabilities) {
            Ok(c) => (c.voice, c.messages),
            Err(_) => (None, None),
        };
        let messages_version = messages.as_ref().and_then(|m| m.version.clone());
        let (inbound_message_url, message_status_url) = match messages.and_then(|m| m.webhooks) {
            Some(h) => (h.inbound_url, h.status_url),
            None => (None, None),
        };
        let signed_callbacks = voice.as_ref().and_then(|v| v.signed_callbacks);
        let hooks = voice.and_then(|v| v.webhooks);
        let (answer_url, fallback_answer_url, event_url) = match hooks {
            Some(h) => (h.answer_url, h.fallback_answer_url, h.event_url),
            None => (None, None, None),
        };
        Self {
            id: b.id,
            name: b.name,
            answer_url,
            fallback_answer_url,
            event_url,
            signed_callbacks,
            inbound_message_url,
            message_status_url,
            messages_version,
            private_key: b.keys.and_then(|k| k.private_key).map(SecretString::from),
            capabilities: b.capabilities,
        }
    }
}

impl VonageClient {
    fn basic_auth(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.basic_auth(&self.api_key, Some(self.api_secret.expose_secret()))
    }

    async fn application_answer(
        &self,
        response: reqwest::Response,
    ) -> Result<Application, VonageError> {
        let body: ApplicationBody = response
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(Api::Applications, e))?;
        Ok(body.into())
    }

    /// Creates the application: `POST {applications}`, HTTP Basic credentials. The answer
    /// carries its id and, this once, its private key. Not retried: a lost answer could
    /// otherwise create two.
    #[tracing::instrument(skip_all, fields(name = %spec.name))]
    pub async fn create_application(
        &self,
        spec: &ApplicationSpec,
    ) -> Result<Application, VonageError> {
        let body = spec.body(&serde_json::Value::Null);
        let response = self
            .send(Api::Applications, false, || {
                self.basic_auth(self.http.post(&self.applications_url).json(&body))
            })
            .await?;
        self.application_answer(response).await
    }

    /// Sets the application's name, webhooks and signed callbacks, keeping the rest of
    /// `current` (as [`Self::get_application`] gave it): `PUT {applications}/{id}`.
    #[tracing::instrument(skip_all, fields(id = %current.id))]
    pub async fn update_application(
        &self,
        current: &Application,
        spec: &ApplicationSpec,
    ) -> Result<Application, VonageError> {
        let body = spec.body(&current.capabilities);
        let url = format!("{}/{}", self.applications_url, current.id);
        let response = self
            .send(Api::Applications, true, || {
                self.basic_auth(self.http.put(&url).json(&body))
            })
            .await?;
        self.application_answer(response).await
    }

    /// The application, or `None` when the account has none with this id:
    /// `GET {applications}/{id}`.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn get_application(&self, id: &str) -> Result<Option<Application>, VonageError> {
        let url = format!("{}/{id}", self.applications_url);
        let response = self
            .send_allowing(Api::Applications, true, &[404], || {
                self.basic_auth(self.http.get(&url))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.application_answer(response).await.map(Some)
    }

    /// Deletes the application; one already gone is fine: `DELETE {applications}/{id}`.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn delete_application(&self, id: &str) -> Result<(), VonageError> {
        let url = format!("{}/{id}", self.applications_url);
        self.send_allowing(Api::Applications, true, &[404], || {
            self.basic_auth(self.http.delete(&url))
        })
        .await?;
        Ok(())
    }
}
