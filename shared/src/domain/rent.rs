//! Renting numbers into the pool: search, buy, link to the application, add. The account pays
//! from the moment a number is bought, so each number is recorded as pending before it is
//! bought, and a number that was bought but not linked (or whose purchase had no clear answer)
//! is finished by the next provisioning call instead of being forgotten.
//!
//! One renter at a time: `POST /numbers/provision` holds the [`PROVISION_LEASE`], a creation
//! that rents a number holds the lease of its country ([`for_creation`]).

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::config::AutoRent;
use crate::error::error_chain;
use crate::model::StoreError;
use crate::model::{NumberState, PendingNumber, PendingStage, PoolNumber};
use crate::phone::Msisdn;
use crate::ports::{Leases, NumberInventory, Pool};
use crate::values::{Country, Feature};
use crate::vonage::{NumberOffer, NumberQuery, VonageError};

/// At most this many numbers are rented by one request.
pub const MAX_COUNT: u32 = 10;

/// A purchase whose outcome is unknown is given this long before the account is asked whether
/// it owns the number, so an in-flight purchase is not second-guessed.
pub const SETTLE_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionRequest {
    pub query: NumberQuery,
    pub count: u32,
}

/// The step at which a number stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    Search,
    Buy,
    Link,
    Record,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msisdn: Option<String>,
    pub step: Step,
    pub reason: String,
    /// The number stays recorded as pending and is finished by a later provisioning call.
    pub pending: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Numbers this request rented and added.
    pub added: Vec<PoolNumber>,
    /// Numbers from earlier requests, finished now.
    pub recovered: Vec<PoolNumber>,
    pub failed: Vec<Failure>,
}

/// What provisioning needs.
pub struct Provisioner<'a, S, V> {
    pub store: &'a S,
    pub vonage: &'a V,
    pub application_id: &'a str,
}

impl<S: Pool, V: NumberInventory> Provisioner<'_, S, V> {
    /// Finishes what earlier requests left pending, then rents `count` numbers matching the
    /// query. Vonage refusing one number moves on to the next offer; a store failure stops.
    pub async fn provision(
        &self,
        request: &ProvisionRequest,
        now: i64,
    ) -> Result<Report, StoreError> {
        let (mut report, pending) = self.recover_listed(now).await?;
        let count = request.count.min(MAX_COUNT) as usize;
        if count == 0 {
            return Ok(report);
        }
        let mut query = request.query.clone();
        // Extra offers cover numbers that are refused or that the pool already holds.
        query.size = (count as u32 * 2 + 2).min(100);
        let offers = match self.vonage.search_numbers(&query).await {
            Ok(o) => o,
            Err(e) => {
                report.failed.push(failure(None, Step::Search, &e, false));
                return Ok(report);
            }
        };
        let mut added = 0;
        for offer in offers {
            if added == count {
                break;
            }
            // An offer is taken as Vonage describes it, or not at all.
            let (Some(msisdn), Ok(country)) = (
                Msisdn::from_digits(&offer.msisdn),
                offer.country.parse::<Country>(),
            ) else {
                continue;
            };
            if pending.contains(&msisdn) || self.store.get_number(&msisdn).await?.is_some() {
                continue;
            }
            if let Some(number) = self.rent(msisdn, country, &offer, now, &mut report).await? {
                report.added.push(number);
                added += 1;
            } else if report.failed.last().is_some_and(|f| f.pending) {
                // Linking failed, or a purchase had no answer: renting more would likely
                // leave more numbers paid for and unusable. The rest waits for the next call.
                return Ok(report);
            }
        }
        if added < count {
            report.failed.push(Failure {
                msisdn: None,
                step: Step::Search,
                reason: format!(
                    "{added} of {count} numbers rented: no more numbers in {} match",
                    request.query.country
                ),
                pending: false,
            });
        }
        Ok(report)
    }

    /// Buys, links and adds one offered number. `None` when it stopped (recorded in `report`).
    async fn rent(
        &self,
        msisdn: Msisdn,
        country: Country,
        offer: &NumberOffer,
        now: i64,
        report: &mut Report,
    ) -> Result<Option<PoolNumber>, StoreError> {
        let mut pending = PendingNumber {
            msisdn: msisdn.clone(),
            country,
            stage: PendingStage::Buying,
            features: features(&offer.features),
            number_type: offer.number_type.as_deref().and_then(|t| t.parse().ok()),
            since: now,
            last_error: None,
        };
        if !self.store.claim_pending(&pending).await? {
            // Another request is buying this very number: its record is not ours to touch.
            report.failed.push(Failure {
                msisdn: Some(msisdn.as_str().to_owned()),
                step: Step::Buy,
                reason: "another request is renting this number".into(),
                pending: false,
            });
            return Ok(None);
        }
        match self.vonage.buy_number(&msisdn, &pending.country).await {
            Ok(()) => {}
            Err(e @ VonageError::Rejected { .. }) => {
                // A clear refusal: nothing was bought.
                self.store.drop_pending(&msisdn).await?;
                report
                    .failed
                    .push(failure(Some(&msisdn), Step::Buy, &e, false));
                return Ok(None);
            }
            Err(e) => {
                // No clear answer: it may have been bought. Kept as pending; the next call asks.
                pending.last_error = Some(error_chain(&e));
                self.store.put_pending(&pending).await?;
                report
                    .failed
                    .push(failure(Some(&msisdn), Step::Buy, &e, true));
                return Ok(None);
            }
        }
        tracing::info!(msisdn = %msisdn.masked(), country = %pending.country, "number bought");
        pending.stage = PendingStage::Bought;
        self.store.put_pending(&pending).await?;
        self.link_and_add(pending, now, report).await
    }

    /// Links a bought number to the application and moves it into the pool.
    async fn link_and_add(
        &self,
        mut pending: PendingNumber,
        now: i64,
        report: &mut Report,
    ) -> Result<Option<PoolNumber>, StoreError> {
        let msisdn = pending.msisdn.clone();
        if let Err(e) = self
            .vonage
            .link_number(&msisdn, &pending.country, self.application_id)
            .await
        {
            tracing::warn!(msisdn = %msisdn.masked(), error = %error_chain(&e), "bought number not linked; kept as pending");
            pending.last_error = Some(error_chain(&e));
            self.store.put_pending(&pending).await?;
            report
                .failed
                .push(failure(Some(&msisdn), Step::Link, &e, true));
            return Ok(None);
        }
        let number = PoolNumber {
            features: pending.features,
            number_type: pending.number_type,
            ..PoolNumber::new(msisdn, pending.country, NumberState::Active, now)
        };
        if !self.store.complete_pending(&number).await? {
            report.failed.push(Failure {
                msisdn: Some(number.msisdn.as_str().to_owned()),
                step: Step::Record,
                reason: "already in the pool".into(),
                pending: false,
            });
            return Ok(None);
        }
        tracing::info!(msisdn = %number.msisdn.masked(), country = %number.country, "number added to the pool");
        Ok(Some(number))
    }

    /// Finishes numbers left pending: a bought one is linked and added; one whose purchase had
    /// no clear answer is looked up in the account (after [`SETTLE_SECONDS`]) and then finished
    /// or forgotten.
    pub async fn recover(&self, now: i64) -> Result<Report, StoreError> {
        Ok(self.recover_listed(now).await?.0)
    }

    /// [`Self::recover`], and the numbers that were pending and were not forgotten (so a search
    /// in the same call does not offer them again).
    async fn recover_listed(&self, now: i64) -> Result<(Report, Vec<Msisdn>), StoreError> {
        let mut report = Report::default();
        let mut kept = Vec::new();
        for pending in self.store.list_pending().await? {
            let msisdn = pending.msisdn.clone();
            kept.push(msisdn.clone());
            let pending = match pending.stage {
                PendingStage::Bought => pending,
                PendingStage::Buying if now - pending.since < SETTLE_SECONDS => continue,
                PendingStage::Buying => match self.vonage.owned_number(&msisdn).await {
                    Ok(Some(owned)) => PendingNumber {
                        stage: PendingStage::Bought,
                        features: if owned.features.is_empty() {
                            pending.features
                        } else {
                            features(&owned.features)
                        },
                        ..pending
                    },
                    Ok(None) => {
                        tracing::info!(msisdn = %msisdn.masked(), "purchase never happened; forgotten");
                        self.store.drop_pending(&msisdn).await?;
                        kept.retain(|m| m != &msisdn);
                        continue;
                    }
                    Err(e) => {
                        report
                            .failed
                            .push(failure(Some(&msisdn), Step::Buy, &e, true));
                        continue;
                    }
                },
            };
            if let Some(number) = self.link_and_add(pending, now, &mut report).await? {
                report.recovered.push(number);
            }
        }
        Ok((report, kept))
    }
}

/// Why provisioning did not run.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("another provisioning request is running; try again when it has finished")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lease one provisioning request holds, and for how long at most (the numbers function's
/// timeout is 29 s).
pub const PROVISION_LEASE: &str = "provision";
pub const PROVISION_LEASE_SECONDS: i64 = 60;

/// Provisions as [`Provisioner::provision`] does, one request at a time: two would compete for
/// the same offers and for what earlier requests left pending.
pub async fn provision_exclusively<S, V>(
    provisioner: &Provisioner<'_, S, V>,
    request: &ProvisionRequest,
    now: i64,
) -> Result<Report, ProvisionError>
where
    S: Pool + Leases,
    V: NumberInventory,
{
    let work = provisioner.provision(request, now);
    match leased(
        provisioner.store,
        PROVISION_LEASE,
        now,
        PROVISION_LEASE_SECONDS,
        work,
    )
    .await?
    {
        Some(report) => Ok(report?),
        None => Err(ProvisionError::Busy),
    }
}

/// Runs `work` holding lease `name` (taken until `now + seconds`, so it lapses by itself should
/// the process die), and gives the lease back after; `None`, and nothing run, when someone
/// else holds it.
pub async fn leased<L: Leases, T>(
    leases: &L,
    name: &str,
    now: i64,
    seconds: i64,
    work: impl Future<Output = T>,
) -> Result<Option<T>, StoreError> {
    let holder = uuid::Uuid::new_v4().to_string();
    if !leases.acquire_lease(name, &holder, now, seconds).await? {
        return Ok(None);
    }
    let out = work.await;
    if let Err(e) = leases.release_lease(name, &holder).await {
        tracing::warn!(lease = name, error = %error_chain(&e), "lease not released; it lapses by itself");
    }
    Ok(Some(out))
}

/// What renting a number for a creation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rented {
    /// A number was added: pick again.
    Added,
    /// Another creation is renting for this country: it waited briefly; pick again.
    Busy,
    /// Nothing was rented; why, as the end of the `pool_exhausted` detail (", and ...").
    Refused(String),
}

/// Rents one number in `country` for a creation that found none to give, within the pool's
/// ceiling for that country. One renter per country at a time: a creation that finds the lease
/// taken waits briefly and looks at the pool again.
pub async fn for_creation<S, V>(
    store: &S,
    vonage: &V,
    policy: &AutoRent,
    application_id: Option<&str>,
    country: &Country,
    quarantine_flagged: bool,
    now: i64,
) -> Result<Rented, StoreError>
where
    S: Pool + Leases,
    V: NumberInventory,
{
    let lease = format!("rent-{country}");
    let work = rent_within_ceiling(
        store,
        vonage,
        policy,
        application_id,
        country,
        quarantine_flagged,
        now,
    );
    match leased(store, &lease, now, 60, work).await? {
        Some(rented) => rented,
        None => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(Rented::Busy)
        }
    }
}

async fn rent_within_ceiling<S: Pool, V: NumberInventory>(
    store: &S,
    vonage: &V,
    policy: &AutoRent,
    application_id: Option<&str>,
    country: &Country,
    quarantine_flagged: bool,
    now: i64,
) -> Result<Rented, StoreError> {
    let (pool, pending) = tokio::join!(store.list_pool(), store.list_pending());
    // A quarantined number is out of service: its place may be rented again.
    let held = pool?
        .iter()
        .filter(|n| {
            &n.country == country
                && n.state != NumberState::Retired
                && !(quarantine_flagged && n.health_flag.is_some())
        })
        .count()
        + pending?.iter().filter(|p| &p.country == country).count();
    if held >= policy.max_per_country {
        return Ok(Rented::Refused(format!(
            ", and the pool holds its ceiling of {} numbers for {country}",
            policy.max_per_country
        )));
    }
    let Some(application_id) = application_id else {
        return Ok(Rented::Refused(
            "; renting one needs VONAGE_APPLICATION_ID".into(),
        ));
    };
    let provisioner = Provisioner {
        store,
        vonage,
        application_id,
    };
    let request = ProvisionRequest {
        query: NumberQuery {
            country: country.clone(),
            features: Some(policy.features),
            number_type: policy.number_type,
            starts_with: None,
            size: 0,
        },
        count: 1,
    };
    let report = provisioner.provision(&request, now).await?;
    if report.added.is_empty() && report.recovered.is_empty() {
        let why = report
            .failed
            .first()
            .map(|f| f.reason.clone())
            .unwrap_or_else(|| "no number was offered".into());
        return Ok(Rented::Refused(format!(", and renting one failed: {why}")));
    }
    tracing::info!(
        country = %country,
        added = report.added.len(),
        "number rented for a new conversation"
    );
    Ok(Rented::Added)
}

/// The features Vonage lists for a number, those this service knows.
fn features(listed: &[String]) -> Vec<Feature> {
    listed.iter().filter_map(|f| f.parse().ok()).collect()
}

fn failure(msisdn: Option<&Msisdn>, step: Step, e: &VonageError, pending: bool) -> Failure {
    Failure {
        msisdn: msisdn.map(|m| m.as_str().to_owned()),
        step,
        reason: error_chain(e),
        pending,
    }
}
