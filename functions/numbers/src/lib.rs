//! The proxy-number pool: `POST /numbers` adds a number the account owns (linking it to the
//! Voice application), `GET /numbers` lists the pool.

use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use shared::http::{json_response, read_json};
use shared::model::{NumberState, PoolNumber};
use shared::phone::Msisdn;
use shared::problem::ApiError;
use shared::store::Store;
use shared::vonage::VonageClient;

pub struct Deps {
    pub store: Store,
    pub vonage: VonageClient,
    /// The Vonage application numbers are linked to.
    pub application_id: String,
}

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
}

#[derive(Debug, Serialize)]
pub struct NumberView {
    pub msisdn: String,
    pub country: String,
    pub state: NumberState,
    pub active_conversations: i64,
    pub added_at: String,
}

impl From<&PoolNumber> for NumberView {
    fn from(n: &PoolNumber) -> Self {
        Self {
            msisdn: n.msisdn.as_str().to_owned(),
            country: n.country.clone(),
            state: n.state,
            active_conversations: n.active_count,
            added_at: shared::rfc3339(n.added_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PoolView {
    pub numbers: Vec<NumberView>,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    match route(deps, &req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn route(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let path = shared::http::path(req);
    match (req.method().as_str(), path.as_str()) {
        ("POST", "/numbers") => add(deps, read_json(req)?).await,
        ("GET", "/numbers") => {
            let pool = deps.store.list_pool().await.map_err(ApiError::internal)?;
            Ok(json_response(
                200,
                &PoolView {
                    numbers: pool.iter().map(NumberView::from).collect(),
                },
            ))
        }
        (method, "/numbers") => Err(ApiError::MethodNotAllowed(method.to_owned())),
        _ => Err(ApiError::NotFound(format!("no route for {path}"))),
    }
}

async fn add(deps: &Deps, body: AddNumber) -> Result<Response<Body>, ApiError> {
    let msisdn =
        Msisdn::parse(&body.msisdn).map_err(|e| ApiError::InvalidNumber(format!("msisdn: {e}")))?;
    let country = match body.country {
        Some(c) if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) => c,
        Some(_) => {
            return Err(ApiError::InvalidRequest(
                "country must be an ISO 3166 alpha-2 code such as GB".into(),
            ));
        }
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
    if deps
        .store
        .get_number(&msisdn)
        .await
        .map_err(ApiError::internal)?
        .is_some()
    {
        return Err(duplicate(&msisdn));
    }
    deps.vonage
        .link_number(&msisdn, &country, &deps.application_id)
        .await
        .map_err(ApiError::VonageUnavailable)?;
    let number = PoolNumber::new(msisdn, country, state, shared::now());
    if !deps
        .store
        .add_number(&number)
        .await
        .map_err(ApiError::internal)?
    {
        return Err(duplicate(&number.msisdn));
    }
    tracing::info!(msisdn = %number.msisdn.masked(), country = %number.country, "number added to the pool");
    Ok(json_response(201, &NumberView::from(&number)))
}

fn duplicate(msisdn: &Msisdn) -> ApiError {
    ApiError::DuplicateNumber(format!("{} is already in the pool", msisdn.as_str()))
}

impl shared::runtime::Handler for Deps {
    async fn handle(&self, req: Request) -> Response<Body> {
        handle(self, req).await
    }
}
