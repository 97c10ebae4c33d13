//! The proxy-number pool: `POST /numbers` adds a number the account owns (linking it to the
//! Voice application), `POST /numbers/provision` rents new ones, `GET /numbers` lists the pool
//! with a summary and each number's health, `DELETE /numbers/{msisdn}` retires a number and can
//! cancel its rental, `POST /numbers/{msisdn}/health/clear` clears a number's health flag.

mod settings;

pub use settings::Settings;

use std::collections::BTreeMap;

use futures::{StreamExt, TryStreamExt};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use shared::domain::health;
use shared::domain::numbers::{self, NewNumber};
use shared::domain::rent::{self, Failure, MAX_COUNT, ProvisionRequest, Provisioner};
use shared::http::{json_response, read_json};
use shared::model::{NumberState, PendingNumber, PoolNumber, Tally};
use shared::model::{RemoveOutcome, Sharing};
use shared::phone::Msisdn;
use shared::ports::{AccessCodes, Leases, NumberChecker, NumberHealth, NumberInventory, Pool};
use shared::problem::ApiError;
use shared::store::Store;
use shared::values::{Country, Feature, NumberType};
use shared::vonage::{NumberQuery, VonageClient, VonageError, features_param};

/// What the numbers API needs of the store.
pub trait NumbersStore: Pool + Leases + AccessCodes + NumberHealth {}
impl<T: Pool + Leases + AccessCodes + NumberHealth> NumbersStore for T {}

/// Numbers whose health tallies `GET /numbers` reads at once.
const TALLIES_AT_ONCE: usize = 8;

/// What the numbers API needs: the pool and leases (`Store` in the stack, an in-memory fake in
/// handler tests) and the account's number inventory (the Vonage client, or a fake).
pub struct Deps<S = Store, V = VonageClient> {
    pub store: S,
    pub vonage: V,
    /// The Vonage application numbers are linked to.
    pub application_id: String,
}

/// One request's budget (`REQUEST_TIMEOUT_MS`), inside the function's 29 s Lambda timeout:
/// past it the request gets a `503` with `Retry-After` rather than a Lambda timeout.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(27);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddNumber {
    pub msisdn: String,
    /// ISO 3166 country; taken from the number when left out.
    #[serde(default)]
    pub country: Option<String>,
    /// `active` (default) or `reserved` (never assigned automatically).
    #[serde(default)]
    pub state: Option<NumberState>,
    /// What the number can do, when known: `VOICE`, `SMS`, `MMS`.
    #[serde(default)]
    pub features: Option<Features>,
}

/// Features as the spec's comma-separated string (`"SMS,VOICE"`) or as a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Features {
    Text(String),
    List(Vec<String>),
}

impl Features {
    /// The spec's spelling, in whatever order and case they were given.
    fn param(&self) -> Result<&'static str, ApiError> {
        let listed: Vec<&str> = match self {
            Features::Text(s) => s.split(',').collect(),
            Features::List(v) => v.iter().map(String::as_str).collect(),
        };
        features_param(&listed).ok_or_else(|| {
            ApiError::InvalidRequest(
                "features must be a set of SMS, VOICE and MMS, such as \"SMS,VOICE\"".into(),
            )
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionBody {
    pub country: String,
    /// 1 to 10; 1 when left out.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub features: Option<Features>,
    /// `landline`, `mobile-lvn` or `landline-toll-free`.
    #[serde(default, rename = "type")]
    pub number_type: Option<String>,
    /// Digits the number starts with, country code included.
    #[serde(default)]
    pub pattern: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NumberView {
    pub msisdn: String,
    pub country: Country,
    pub state: NumberState,
    /// `VOICE`, `SMS`, `MMS`; empty when not known.
    pub capabilities: Vec<Feature>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub number_type: Option<NumberType>,
    pub active_conversations: i64,
    pub added_at: String,
    /// Its area within its country (the number check's `offline_location`), when known: a
    /// participant of that area is given it first (`GEO_MATCH`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// Number health over the window (`GET /numbers` and clearing a flag show it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthView>,
}

/// A number's health: the calls in which it was shown to the callee over the last 7 days, how
/// many they answered, and since when it is flagged (`null` when it is not).
#[derive(Debug, Serialize)]
pub struct HealthView {
    pub answered: u64,
    pub calls: u64,
    /// `answered / calls`, to four places; `null` with no calls.
    pub rate: Option<f64>,
    pub flagged_at: Option<String>,
}

impl NumberView {
    /// The number's view with its health over the window.
    pub fn with_health(n: &PoolNumber, tally: Tally) -> Self {
        Self {
            health: Some(HealthView {
                answered: tally.answered,
                calls: tally.calls,
                rate: tally.rate().map(|r| (r * 10_000.0).round() / 10_000.0),
                flagged_at: n.health_flag.map(|f| shared::rfc3339(f.at)),
            }),
            ..Self::from(n)
        }
    }
}

impl From<&PoolNumber> for NumberView {
    fn from(n: &PoolNumber) -> Self {
        Self {
            msisdn: n.msisdn.as_str().to_owned(),
            country: n.country.clone(),
            state: n.state,
            capabilities: n.features.clone(),
            number_type: n.number_type,
            active_conversations: n.active_count.max(0),
            added_at: shared::rfc3339(n.added_at),
            area: n.location.clone(),
            health: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PendingView {
    pub msisdn: String,
    pub country: Country,
    /// `buying` (the purchase had no clear answer) or `bought` (not yet linked).
    pub stage: shared::model::PendingStage,
    pub since: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl From<&PendingNumber> for PendingView {
    fn from(p: &PendingNumber) -> Self {
        Self {
            msisdn: p.msisdn.as_str().to_owned(),
            country: p.country.clone(),
            stage: p.stage,
            since: shared::rfc3339(p.since),
            last_error: p.last_error.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CountrySummary {
    pub country: Country,
    pub active: usize,
    pub reserved: usize,
    pub retired: usize,
    pub active_conversations: i64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub countries: Vec<CountrySummary>,
    /// Without access codes a participant needs a distinct proxy number for each conversation
    /// they are in at once: this many active numbers is the most conversations any one
    /// participant can hold. With codes, more share numbers.
    pub max_concurrent_per_participant: usize,
    /// Participants who hold one proxy number in more than one open conversation (access
    /// codes tell those apart).
    pub participants_sharing: usize,
    /// The most open conversations one participant holds on one number.
    pub most_on_one_number: usize,
}

#[derive(Debug, Serialize)]
pub struct PoolView {
    pub numbers: Vec<NumberView>,
    /// Numbers bought or being bought, not yet in the pool; the next provisioning call
    /// finishes them.
    pub pending: Vec<PendingView>,
    pub summary: Summary,
}

impl PoolView {
    /// The pool's view; `tallies` are the numbers' health, in the pool's order (none: no
    /// health shown).
    pub fn new(
        pool: &[PoolNumber],
        tallies: &[Tally],
        pending: &[PendingNumber],
        sharing: Sharing,
    ) -> Self {
        let mut countries: BTreeMap<&Country, CountrySummary> = BTreeMap::new();
        for n in pool {
            let c = countries
                .entry(&n.country)
                .or_insert_with(|| CountrySummary {
                    country: n.country.clone(),
                    active: 0,
                    reserved: 0,
                    retired: 0,
                    active_conversations: 0,
                });
            match n.state {
                NumberState::Active => c.active += 1,
                NumberState::Reserved => c.reserved += 1,
                NumberState::Retired => c.retired += 1,
            }
            c.active_conversations += n.active_count.max(0);
        }
        Self {
            numbers: if tallies.len() == pool.len() {
                pool.iter()
                    .zip(tallies)
                    .map(|(n, t)| NumberView::with_health(n, *t))
                    .collect()
            } else {
                pool.iter().map(NumberView::from).collect()
            },
            pending: pending.iter().map(PendingView::from).collect(),
            summary: Summary {
                max_concurrent_per_participant: pool
                    .iter()
                    .filter(|n| n.state == NumberState::Active)
                    .count(),
                countries: countries.into_values().collect(),
                participants_sharing: sharing.participants_sharing,
                most_on_one_number: sharing.most_on_one_number,
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ProvisionView {
    pub added: Vec<NumberView>,
    /// Numbers left pending by earlier calls and finished by this one.
    pub recovered: Vec<NumberView>,
    pub failed: Vec<Failure>,
}

#[derive(Debug, Serialize)]
pub struct RemovedView {
    #[serde(flatten)]
    pub number: NumberView,
    /// The rental was cancelled and the number left the pool.
    pub released: bool,
}

pub async fn handle<S: NumbersStore, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    req: Request,
) -> Response<Body> {
    match route(deps, &req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn route<S: NumbersStore, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    req: &Request,
) -> Result<Response<Body>, ApiError> {
    let path = shared::http::path(req);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method().as_str(), segments.as_slice()) {
        ("POST", ["numbers"]) => add(deps, read_json(req)?).await,
        ("GET", ["numbers"]) => list(deps).await,
        ("POST", ["numbers", msisdn, "health", "clear"]) => clear_health(deps, msisdn).await,
        ("POST", ["numbers", "provision"]) => provision(deps, read_json(req)?).await,
        ("DELETE", ["numbers", msisdn]) if *msisdn != "provision" => {
            let release = match req.query_string_parameters().first("release") {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => {
                    return Err(ApiError::InvalidRequest(
                        "release must be true or false".into(),
                    ));
                }
            };
            remove(deps, msisdn, release).await
        }
        (
            method,
            ["numbers"]
            | ["numbers", "provision"]
            | ["numbers", _]
            | ["numbers", _, "health", "clear"],
        ) => Err(ApiError::MethodNotAllowed(method.to_owned())),
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

fn check_country(country: &str) -> Result<Country, ApiError> {
    country
        .parse()
        .map_err(|e| ApiError::InvalidRequest(format!("country must be {e}")))
}

async fn add<S: Pool, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    body: AddNumber,
) -> Result<Response<Body>, ApiError> {
    let number = numbers::add(
        &deps.store,
        &deps.vonage,
        &deps.application_id,
        new_number(body)?,
        shared::now(),
    )
    .await?;
    Ok(json_response(201, &NumberView::from(&number)))
}

/// Reads a `POST /numbers` body into the number to add.
fn new_number(body: AddNumber) -> Result<NewNumber, ApiError> {
    let msisdn =
        Msisdn::parse(&body.msisdn).map_err(|e| ApiError::InvalidNumber(format!("msisdn: {e}")))?;
    let country = match body.country {
        Some(c) => check_country(&c)?,
        None => msisdn.region().ok_or_else(|| {
            ApiError::InvalidNumber("msisdn: cannot tell its country; give country".into())
        })?,
    };
    let state = match body.state.unwrap_or(NumberState::Active) {
        NumberState::Retired => {
            return Err(ApiError::InvalidRequest(
                "a number is added as active or reserved".into(),
            ));
        }
        s => s,
    };
    let features = match &body.features {
        Some(f) => f
            .param()?
            .split(',')
            .filter_map(|f| f.parse().ok())
            .collect(),
        None => Vec::new(),
    };
    Ok(NewNumber {
        msisdn,
        country,
        state,
        features,
    })
}

pub use rent::{PROVISION_LEASE, PROVISION_LEASE_SECONDS};

async fn provision<S: NumbersStore, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    body: ProvisionBody,
) -> Result<Response<Body>, ApiError> {
    let country = check_country(&body.country)?;
    let count = body.count.unwrap_or(1);
    if !(1..=MAX_COUNT).contains(&count) {
        return Err(ApiError::InvalidRequest(format!(
            "count must lie between 1 and {MAX_COUNT}"
        )));
    }
    let features = body.features.as_ref().map(Features::param).transpose()?;
    let number_type = body
        .number_type
        .as_deref()
        .map(str::parse::<NumberType>)
        .transpose()
        .map_err(|e| ApiError::InvalidRequest(format!("type must be {e}")))?;
    if let Some(p) = &body.pattern
        && (p.is_empty() || p.len() > 15 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ApiError::InvalidRequest(
            "pattern must be 1 to 15 digits the number starts with, country code included".into(),
        ));
    }
    let request = ProvisionRequest {
        query: NumberQuery {
            country,
            features,
            number_type,
            starts_with: body.pattern,
            size: 0,
        },
        count,
    };
    let provisioner = Provisioner {
        store: &deps.store,
        vonage: &deps.vonage,
        application_id: &deps.application_id,
    };
    let report = rent::provision_exclusively(&provisioner, &request, shared::now()).await?;
    let view = ProvisionView {
        added: report.added.iter().map(NumberView::from).collect(),
        recovered: report.recovered.iter().map(NumberView::from).collect(),
        failed: report.failed,
    };
    let status = if view.added.is_empty() && view.recovered.is_empty() {
        200
    } else {
        201
    };
    Ok(json_response(status, &view))
}

/// The pool, with each number's health over the window, the numbers being bought, and a
/// summary.
async fn list<S: NumbersStore, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
) -> Result<Response<Body>, ApiError> {
    let (pool, pending, sharing) = tokio::join!(
        deps.store.list_pool(),
        deps.store.list_pending(),
        deps.store.sharing()
    );
    let pool = pool?;
    let now = shared::now();
    let store = &deps.store;
    let numbers: Vec<Msisdn> = pool.iter().map(|n| n.msisdn.clone()).collect();
    let tallies: Vec<Tally> = futures::stream::iter(numbers)
        .map(|msisdn| async move { health::tally(store, &msisdn, now).await })
        .buffered(TALLIES_AT_ONCE)
        .try_collect()
        .await?;
    Ok(json_response(
        200,
        &PoolView::new(&pool, &tallies, &pending?, sharing?),
    ))
}

/// Clears a number's health flag (an operator's word that it is fine again): `200` with the
/// number and its health, whether or not it was flagged.
async fn clear_health<S: NumbersStore, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    raw: &str,
) -> Result<Response<Body>, ApiError> {
    let msisdn = Msisdn::parse(raw).map_err(|e| ApiError::InvalidNumber(format!("msisdn: {e}")))?;
    let now = shared::now();
    let number = health::clear(&deps.store, &msisdn, now)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{} is not in the pool", msisdn.as_str())))?;
    let tally = health::tally(&deps.store, &msisdn, now).await?;
    Ok(json_response(200, &NumberView::with_health(&number, tally)))
}

/// Retires a number; with `release`, also cancels its rental and takes it out of the pool,
/// once no active conversation uses it.
async fn remove<S: Pool, V: NumberInventory + NumberChecker>(
    deps: &Deps<S, V>,
    raw: &str,
    release: bool,
) -> Result<Response<Body>, ApiError> {
    let msisdn = Msisdn::parse(raw).map_err(|e| ApiError::InvalidNumber(format!("msisdn: {e}")))?;
    let not_found = || ApiError::NotFound(format!("{} is not in the pool", msisdn.as_str()));
    let retired = deps
        .store
        .retire_number(&msisdn)
        .await?
        .ok_or_else(not_found)?;
    tracing::info!(msisdn = %msisdn.masked(), "number retired");
    if !release {
        return Ok(json_response(
            200,
            &RemovedView {
                number: NumberView::from(&retired),
                released: false,
            },
        ));
    }
    let in_use = |count: i64| {
        ApiError::NumberInUse(format!(
            "{} is retired and still used by {count} active conversation(s); release it once they end",
            msisdn.as_str()
        ))
    };
    if retired.active_count > 0 {
        return Err(in_use(retired.active_count));
    }
    match deps.vonage.cancel_number(&msisdn, &retired.country).await {
        Ok(()) => {}
        // Cancelled before (a retry after the store failed): the account no longer has it.
        Err(VonageError::Rejected { .. })
            if deps
                .vonage
                .owned_number(&msisdn)
                .await
                .map_err(ApiError::VonageUnavailable)?
                .is_none() => {}
        Err(e) => return Err(ApiError::VonageUnavailable(e)),
    }
    match deps.store.remove_number(&msisdn).await? {
        RemoveOutcome::Removed(number) => {
            tracing::info!(msisdn = %msisdn.masked(), "rental cancelled; number left the pool");
            Ok(json_response(
                200,
                &RemovedView {
                    number: NumberView::from(number.as_ref()),
                    released: true,
                },
            ))
        }
        RemoveOutcome::InUse(count) => Err(in_use(count)),
        RemoveOutcome::NotFound => Err(not_found()),
    }
}

impl<S: NumbersStore, V: NumberInventory + NumberChecker> shared::runtime::Handler for Deps<S, V> {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
