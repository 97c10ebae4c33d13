//! The Vonage side of a deploy: the CloudFormation custom resource `Custom::VonageApplication`
//! and the `sync` that `scripts/put-secret` asks for once the stack's secret is filled.
//!
//! - **Create / Update / sync** ([`apply`]): the Voice application gets the stack's answer,
//!   fallback and event URLs, each by `POST`, and signed callbacks. It is the application being
//!   adopted (`AdoptApplicationId`), else the one recorded in the secret, else a new one, whose
//!   id and private key are written into the secret. Then every number of `Numbers` is added
//!   to the pool (`domain::numbers::add`, as `POST /numbers` does) and every pool number is
//!   linked to the application.
//! - **Delete** ([`remove`]): the application is left, unless `DeleteApplication` is `true` and
//!   the stack created it (an adopted application is never deleted).
//! - Until the secret holds the API secret, Create and Update succeed without touching Vonage
//!   ([`Applied::Pending`]): the stack creates the secret empty, and `scripts/put-secret` runs the
//!   sync when it has filled it.
//!
//! CloudFormation always gets an answer ([`custom_resource`]): a failure, a panic and the
//! function's own deadline all answer `FAILED` with the reason, so a stack never waits on us.

#[cfg(feature = "doctor")]
pub mod doctor;
mod settings;

pub use settings::Settings;

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use futures::{StreamExt, TryStreamExt};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use shared::config::{ConfigError, Source, VonageConfig};
use shared::domain::numbers::{self, AddError, NewNumber};
use shared::model::NumberState;
use shared::model::StoreError;
use shared::phone::Msisdn;
use shared::ports::Pool;
use shared::secrets::{
    API_SECRET, APPLICATION_ID, PRIVATE_KEY, SEAL_KEY, StackSecrets, WEBHOOK_APPLICATION_ID,
    WEBHOOK_BASE,
};
use shared::store::Store;
use shared::vonage::{Application, ApplicationSpec, VonageClient, VonageError};

/// The custom resource's physical id. It never changes, so CloudFormation never replaces the
/// resource, and a Delete always means the stack (or the resource) is going away.
pub const PHYSICAL_ID: &str = "vonage-application";

/// Kept inside the invocation's deadline for the answer to CloudFormation.
pub const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// At most this many Numbers API requests at once while linking the pool.
const LINK_CONCURRENCY: usize = 4;

/// What the stack asks for: the custom resource's properties, or the function's environment
/// for a sync (the template sets both from the same parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requested {
    pub application_name: String,
    pub answer_url: String,
    pub fallback_url: String,
    pub event_url: String,
    /// The Messages API's webhooks: by default beside the answer URL.
    pub inbound_message_url: String,
    pub message_status_url: String,
    /// An existing application to use instead of creating one.
    pub adopt_application_id: Option<String>,
    /// Whether a stack delete deletes the application the stack created.
    pub delete_application: bool,
    /// Numbers the account owns, to add to the pool.
    pub numbers: Vec<Msisdn>,
}

/// Each setting's property name and environment variable.
pub const NAMES: [(&str, &str); 9] = [
    ("ApplicationName", "APPLICATION_NAME"),
    ("AnswerUrl", "ANSWER_URL"),
    ("FallbackUrl", "FALLBACK_URL"),
    ("EventUrl", "EVENT_URL"),
    ("AdoptApplicationId", "ADOPT_APPLICATION_ID"),
    ("DeleteApplication", "DELETE_APPLICATION"),
    ("Numbers", "PROXY_NUMBERS"),
    ("InboundMessageUrl", "INBOUND_MESSAGE_URL"),
    ("MessageStatusUrl", "MESSAGE_STATUS_URL"),
];

impl Requested {
    /// From the custom resource's `ResourceProperties`.
    pub fn from_properties(properties: &serde_json::Value) -> Result<Self, SetupError> {
        Self::read(|property, _| {
            properties
                .get(property)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
    }

    /// From the function's environment.
    pub fn from_source(src: &dyn Source) -> Result<Self, SetupError> {
        Self::read(|_, variable| src.get(variable))
    }

    fn read(get: impl Fn(&str, &str) -> Option<String>) -> Result<Self, SetupError> {
        let [
            name,
            answer,
            fallback,
            event,
            adopt,
            delete,
            numbers,
            inbound,
            status,
        ] = NAMES.map(|(property, variable)| {
            get(property, variable)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        });
        let required = |value: Option<String>, i: usize| {
            value.ok_or_else(|| SetupError::Settings(format!("{} is required", NAMES[i].0)))
        };
        let url = |value: Option<String>, i: usize| {
            let url = required(value, i)?;
            if url.starts_with("https://") || url.starts_with("http://127.0.0.1") {
                Ok(url)
            } else {
                Err(SetupError::Settings(format!(
                    "{} must be an https URL, not {url}",
                    NAMES[i].0
                )))
            }
        };
        let delete_application = match delete.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(SetupError::Settings(format!(
                    "DeleteApplication must be true or false, not {other}"
                )));
            }
        };
        let numbers = numbers
            .unwrap_or_default()
            .split([',', ' ', '\n'])
            .filter(|n| !n.is_empty())
            .map(|n| {
                Msisdn::parse(n)
                    .map_err(|e| SetupError::Settings(format!("Numbers: {n} is not a number: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answer_url = url(answer, 1)?;
        // The Messages API's webhooks are the answer URL's neighbours unless named.
        let inbound = inbound.or_else(|| beside(&answer_url, "inbound-message"));
        let status = status.or_else(|| beside(&answer_url, "message-status"));
        Ok(Self {
            application_name: required(name, 0)?,
            fallback_url: url(fallback, 2)?,
            event_url: url(event, 3)?,
            inbound_message_url: url(inbound, 7)?,
            message_status_url: url(status, 8)?,
            answer_url,
            adopt_application_id: adopt,
            delete_application,
            numbers,
        })
    }

    /// Where the stack's webhooks are: the answer URL without its `/webhooks/answer`.
    pub fn webhook_base_url(&self) -> Option<String> {
        self.answer_url
            .strip_suffix("/webhooks/answer")
            .map(str::to_owned)
    }

    fn spec(&self) -> ApplicationSpec {
        ApplicationSpec {
            name: self.application_name.clone(),
            answer_url: self.answer_url.clone(),
            fallback_answer_url: self.fallback_url.clone(),
            event_url: self.event_url.clone(),
            inbound_message_url: self.inbound_message_url.clone(),
            message_status_url: self.message_status_url.clone(),
        }
    }
}

/// The webhook `name` beside the answer URL `answer_url` (all of the stack's webhooks are under
/// one path): `…/webhooks/inbound-message` beside `…/webhooks/answer`.
pub fn beside(answer_url: &str, name: &str) -> Option<String> {
    answer_url
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/{name}"))
}

/// Why the set-up could not do what was asked. Each says what to do about it; none carries a
/// secret.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("invalid settings: {0}")]
    Settings(String),
    #[error("the stack's secret: {0}")]
    Secret(#[from] ConfigError),
    #[error("the Vonage API refused or did not answer: {0}")]
    Vonage(#[from] VonageError),
    #[error(
        "the application {0} to adopt is not in the Vonage account; check AdoptApplicationId and the API key"
    )]
    NoSuchApplication(String),
    #[error("the number {number} could not be added to the pool: {reason}")]
    Number { number: String, reason: String },
    #[error("the pool could not be read: {0}")]
    Store(#[from] StoreError),
    #[error("the Vonage client could not be built: {0}")]
    Client(#[from] reqwest::Error),
}

/// What the set-up needs: the stack's secrets, the pool, the Vonage settings (the API secret
/// is read from the secret on every run) and an HTTP client for CloudFormation's answers.
pub struct Deps<S = Store> {
    pub secret: StackSecrets,
    pub store: S,
    /// Every Vonage setting but the API secret.
    pub vonage: VonageConfig,
    pub http: reqwest::Client,
}

/// The outcome of a Create, Update or sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Applied {
    /// The secret has no API secret yet: nothing was done.
    Pending,
    Ready {
        application_id: String,
        /// Whether this run created the application.
        created: bool,
        /// Numbers added to the pool by this run (masked).
        added: Vec<String>,
        /// Pool numbers linked to the application.
        linked: usize,
    },
}

/// The outcome of a Delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// Left in the account, as configured (or adopted).
    Left(Option<String>),
    Deleted(String),
}

/// A Vonage client with the API secret that `fields` (the stack's secret, as read) hold, every
/// other setting from `config`; `None` before the API secret is put.
pub fn vonage_client(
    config: &VonageConfig,
    fields: &HashMap<String, String>,
) -> Result<Option<VonageClient>, reqwest::Error> {
    let Some(api_secret) = fields.get(API_SECRET.field).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let config = VonageConfig {
        api_secret: SecretString::from(api_secret.clone()),
        ..config.clone()
    };
    VonageClient::new(&config).map(Some)
}

/// Create, Update and sync: the application as the settings say, recorded in the secret, and
/// the pool linked to it.
pub async fn apply<S: Pool + Clone + Send + Sync + 'static>(
    deps: &Deps<S>,
    settings: &Requested,
) -> Result<Applied, SetupError> {
    // A stack deployed with one secret: each field goes to its own before anything is read.
    let moved = deps.secret.settle().await?;
    if !moved.is_empty() {
        tracing::info!(?moved, "fields moved into their own secrets");
    }
    let fields = deps.secret.read().await?;
    // Numbers are linked with the stack's own inbound-SMS URL where the SMS API needs it.
    let config = VonageConfig {
        public_base_url: settings.webhook_base_url(),
        ..deps.vonage.clone()
    };
    let Some(vonage) = vonage_client(&config, &fields)? else {
        tracing::warn!(
            "the stack's secret has no api_secret yet: the Vonage application is set up when scripts/put-secret fills it"
        );
        return Ok(Applied::Pending);
    };
    let spec = settings.spec();
    let recorded = fields.get(APPLICATION_ID.field).cloned();
    let known = settings
        .adopt_application_id
        .clone()
        .or_else(|| recorded.clone());
    let current = match &known {
        Some(id) => vonage.get_application(id).await?,
        None => None,
    };
    let (app, created) = match (current, &settings.adopt_application_id) {
        (Some(current), _) => (vonage.update_application(&current, &spec).await?, false),
        (None, Some(adopted)) => return Err(SetupError::NoSuchApplication(adopted.clone())),
        (None, None) => (vonage.create_application(&spec).await?, true),
    };
    record(deps, &app, &fields, settings).await?;
    tracing::info!(application_id = %app.id, created, "the Vonage application is set up");
    let (added, linked) = link_pool(deps, &vonage, &app.id, &settings.numbers).await?;
    Ok(Applied::Ready {
        application_id: app.id,
        created,
        added,
        linked,
    })
}

/// Writes the application's id (and, when it was just created, its private key), where the
/// stack's webhooks are, and a key to seal our own webhook URLs with into the secret, unless
/// they are there already.
async fn record<S>(
    deps: &Deps<S>,
    app: &Application,
    recorded: &HashMap<String, String>,
    settings: &Requested,
) -> Result<(), SetupError> {
    let mut fields = Vec::new();
    let unchanged = |name: &str, value: &str| recorded.get(name).map(String::as_str) == Some(value);
    for name in [APPLICATION_ID, WEBHOOK_APPLICATION_ID] {
        if !unchanged(name.field, &app.id) {
            fields.push((name.field, app.id.as_str()));
        }
    }
    let base = settings.webhook_base_url();
    if let Some(base) = base
        .as_deref()
        .filter(|b| !unchanged(WEBHOOK_BASE.field, b))
    {
        fields.push((WEBHOOK_BASE.field, base));
    }
    if let Some(key) = &app.private_key {
        fields.push((PRIVATE_KEY.field, key.expose_secret()));
    }
    // 244 random bits, made once: every function seals and opens with the same key.
    let seal_key = (!recorded.contains_key(SEAL_KEY.field)).then(|| {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    if let Some(key) = &seal_key {
        fields.push((SEAL_KEY.field, key.as_str()));
    }
    if !fields.is_empty() {
        deps.secret.merge(&fields).await?;
    }
    Ok(())
}

/// Adds `listed` to the pool (a number already there is kept as it is), then links every pool
/// number that is not retired to the application. Answers the numbers added (masked) and the
/// count linked.
async fn link_pool<S: Pool + Clone + Send + Sync + 'static>(
    deps: &Deps<S>,
    vonage: &VonageClient,
    application_id: &str,
    listed: &[Msisdn],
) -> Result<(Vec<String>, usize), SetupError> {
    let mut added = Vec::new();
    for msisdn in listed {
        let failed = |reason: String| SetupError::Number {
            number: msisdn.masked().to_string(),
            reason,
        };
        let country = msisdn
            .region()
            .ok_or_else(|| failed("its country cannot be told from it".into()))?;
        let new = NewNumber {
            msisdn: msisdn.clone(),
            country,
            state: NumberState::Active,
            features: Vec::new(),
        };
        match numbers::add(&deps.store, vonage, application_id, new, shared::now()).await {
            Ok(number) => added.push(number.msisdn),
            Err(AddError::Duplicate(_)) => {}
            Err(e) => return Err(failed(shared::error::error_chain(&e))),
        }
    }
    let linkable: Vec<_> = deps
        .store
        .list_pool()
        .await?
        .into_iter()
        .filter(|n| n.state != NumberState::Retired && !added.contains(&n.msisdn))
        .collect();
    let linking = linkable.into_iter().map(|n| {
        let (vonage, application_id) = (vonage.clone(), application_id.to_owned());
        async move {
            vonage
                .link_number(&n.msisdn, &n.country, &application_id)
                .await
                .map_err(|e| SetupError::Number {
                    number: n.msisdn.masked().to_string(),
                    reason: format!("it could not be linked to the application: {e}"),
                })
        }
    });
    let linked = futures::stream::iter(linking)
        .buffer_unordered(LINK_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?
        .len();
    let linked = linked + added.len();
    Ok((
        added.iter().map(|n| n.masked().to_string()).collect(),
        linked,
    ))
}

/// Delete: the application stays unless the settings ask for its deletion and the stack
/// created it.
pub async fn remove<S: Pool + Clone + Send + Sync + 'static>(
    deps: &Deps<S>,
    settings: &Requested,
) -> Result<Removed, SetupError> {
    if let Some(adopted) = &settings.adopt_application_id {
        return Ok(Removed::Left(Some(adopted.clone())));
    }
    let fields = deps.secret.read().await?;
    let recorded = fields.get(APPLICATION_ID.field).cloned();
    if !settings.delete_application {
        return Ok(Removed::Left(recorded));
    }
    let (Some(vonage), Some(id)) = (vonage_client(&deps.vonage, &fields)?, recorded) else {
        return Ok(Removed::Left(None));
    };
    vonage.delete_application(&id).await?;
    tracing::info!(application_id = %id, "the Vonage application is deleted");
    Ok(Removed::Deleted(id))
}

/// Carries out a CloudFormation custom resource request (`Create`, `Update` or `Delete`) within
/// `deadline`, and gives the response for its pre-signed `ResponseURL`, whatever happened: a
/// request it cannot read, a failure, a panic and the deadline all answer `FAILED` with the
/// reason. `None` only for an event that names no `ResponseURL`, which nothing waits on.
pub async fn custom_resource<S: Pool + Clone + Send + Sync + 'static>(
    deps: std::sync::Arc<Deps<S>>,
    request: serde_json::Value,
    deadline: tokio::time::Instant,
) -> Option<(String, CloudFormationCustomResourceResponse)> {
    let field = |name: &str| {
        request
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let url = field("ResponseURL")?;
    let mut response = CloudFormationCustomResourceResponse::default();
    response.stack_id = field("StackId").unwrap_or_default();
    response.request_id = field("RequestId").unwrap_or_default();
    response.logical_resource_id = field("LogicalResourceId").unwrap_or_default();
    response.physical_resource_id =
        field("PhysicalResourceId").unwrap_or_else(|| PHYSICAL_ID.to_owned());
    let properties = request
        .get("ResourceProperties")
        .cloned()
        .unwrap_or_default();
    let work = match field("RequestType").as_deref() {
        Some("Create" | "Update") => Work::Apply(properties),
        Some("Delete") => Work::Remove(properties),
        other => {
            fail(
                &mut response,
                format!("unknown RequestType {}", other.unwrap_or("(none)")),
            );
            return Some((url, response));
        }
    };
    let mut task = tokio::spawn(async move {
        match work {
            Work::Apply(properties) => {
                let settings = Requested::from_properties(&properties)?;
                Ok::<_, SetupError>(match apply(&deps, &settings).await? {
                    Applied::Ready { application_id, .. } => {
                        let reason = format!("the Vonage application {application_id} is set up");
                        (application_id, reason)
                    }
                    Applied::Pending => (
                        String::new(),
                        "nothing done on the Vonage side yet: scripts/put-secret fills the stack's secret and sets the application up"
                            .into(),
                    ),
                })
            }
            Work::Remove(properties) => {
                // Settings a Delete cannot read leave the application where it is.
                let Ok(settings) = Requested::from_properties(&properties) else {
                    return Ok((String::new(), "nothing to delete".into()));
                };
                Ok(match remove(&deps, &settings).await? {
                    Removed::Left(id) => {
                        let id = id.unwrap_or_default();
                        let reason = format!("the Vonage application {id} is left in the account");
                        (id, reason)
                    }
                    Removed::Deleted(id) => {
                        let reason = format!("the Vonage application {id} is deleted");
                        (id, reason)
                    }
                })
            }
        }
    });
    let outcome = tokio::time::timeout_at(deadline - ANSWER_MARGIN, &mut task).await;
    // Nothing goes on after the answer: work past the deadline is dropped, not finished later.
    task.abort();
    match outcome {
        Ok(Ok(Ok((application_id, reason)))) => {
            response.status = CloudFormationCustomResourceResponseStatus::Success;
            response.reason = Some(reason);
            response.data.insert("ApplicationId".into(), application_id);
        }
        Ok(Ok(Err(e))) => fail(&mut response, e.to_string()),
        Ok(Err(_)) => fail(&mut response, "the set-up stopped unexpectedly".into()),
        Err(_) => fail(
            &mut response,
            "the set-up ran out of time (the Vonage API or the store did not answer)".into(),
        ),
    }
    Some((url, response))
}

enum Work {
    Apply(serde_json::Value),
    Remove(serde_json::Value),
}

fn fail(response: &mut CloudFormationCustomResourceResponse, reason: String) {
    tracing::error!(reason = %reason, "the set-up failed");
    response.status = CloudFormationCustomResourceResponseStatus::Failed;
    // CloudFormation shows the reason in the stack's events; a response is at most 4 KiB.
    response.reason = Some(reason.chars().take(1000).collect());
}

/// One invocation: `{"action": "sync"}` applies `sync` (the function's environment, as
/// [`Settings::sync`] reads it) and answers what was done; a CloudFormation request is carried
/// out and answered at its pre-signed URL (and the invocation answers the status sent).
pub async fn handle<S: Pool + Clone + Send + Sync + 'static>(
    deps: std::sync::Arc<Deps<S>>,
    event: serde_json::Value,
    deadline: tokio::time::Instant,
    sync: &Result<Requested, String>,
) -> Result<serde_json::Value, SetupError> {
    if event.get("action").and_then(|a| a.as_str()) == Some("sync") {
        let requested = sync
            .as_ref()
            .map_err(|why| SetupError::Settings(why.clone()))?;
        let applied = apply(&deps, requested).await?;
        return Ok(serde_json::to_value(applied).unwrap_or_default());
    }
    let Some((url, response)) = custom_resource(deps.clone(), event, deadline).await else {
        return Err(SetupError::Settings(
            "the event is neither a CloudFormation request nor {\"action\": \"sync\"}".into(),
        ));
    };
    let delivered = answer(&deps.http, &url, &response).await;
    Ok(serde_json::json!({"status": response.status, "delivered": delivered}))
}

/// Sends the response to CloudFormation's pre-signed URL, trying three times. A response
/// that cannot be delivered is logged: nothing else can reach the stack.
pub async fn answer(
    http: &reqwest::Client,
    url: &str,
    response: &CloudFormationCustomResourceResponse,
) -> bool {
    let Ok(body) = serde_json::to_vec(response) else {
        return false;
    };
    for attempt in 1..=3u32 {
        // The URL is signed for a PUT without a content type.
        match http.put(url).body(body.clone()).send().await {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) => tracing::warn!(
                status = r.status().as_u16(),
                attempt,
                "CloudFormation did not take the response"
            ),
            Err(e) => {
                tracing::warn!(error = %shared::error::error_chain(&e), attempt, "CloudFormation could not be reached")
            }
        }
        tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
    }
    tracing::error!("the response never reached CloudFormation");
    false
}
