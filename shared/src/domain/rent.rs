//! Renting numbers into the pool: search, buy, link to the application, add. The account pays
//! from the moment a number is bought, so each number is recorded as pending before it is
//! bought, and a number that was bought but not linked (or whose purchase had no clear answer)
//! is finished by the next provisioning call instead of being forgotten.
//!
//! One renter at a time: `POST /numbers/provision` holds the [`PROVISION_LEASE`], a creation
//! that rents a number, and the replacement of a flagged one ([`replace_flagged`]), hold the
//! lease of its country ([`for_creation`]).

use std::future::Future;
use std::time::Duration;

use serde::Serialize;

use crate::config::AutoRent;
use crate::error::error_chain;
use crate::model::StoreError;
use crate::model::{NumberState, PendingNumber, PendingStage, PoolNumber, Replacing};
use crate::phone::Msisdn;
use crate::ports::{Leases, NumberChecker, NumberInventory, Pool};
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

impl<S: Pool, V: NumberInventory + NumberChecker> Provisioner<'_, S, V> {
    /// Finishes what earlier requests left pending, then rents `count` numbers matching the
    /// query. Vonage refusing one number moves on to the next offer; a store failure stops.
    pub async fn provision(
        &self,
        request: &ProvisionRequest,
        now: i64,
    ) -> Result<Report, StoreError> {
        self.provision_replacing(request, None, now).await
    }

    /// [`Self::provision`], each number rented recorded as the replacement of `replaces`.
    async fn provision_replacing(
        &self,
        request: &ProvisionRequest,
        replaces: Option<&Replacing>,
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
            if let Some(number) = self
                .rent(msisdn, country, &offer, replaces, now, &mut report)
                .await?
            {
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
        replaces: Option<&Replacing>,
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
            replaces: replaces.cloned(),
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
        let location = crate::domain::numbers::locate(self.vonage, &msisdn).await;
        let number = PoolNumber {
            features: pending.features,
            number_type: pending.number_type,
            replaces: pending.replaces,
            location,
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
    V: NumberInventory + NumberChecker,
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
    V: NumberInventory + NumberChecker,
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

async fn rent_within_ceiling<S: Pool, V: NumberInventory + NumberChecker>(
    store: &S,
    vonage: &V,
    policy: &AutoRent,
    application_id: Option<&str>,
    country: &Country,
    quarantine_flagged: bool,
    now: i64,
) -> Result<Rented, StoreError> {
    let (pool, pending) = tokio::join!(store.list_pool(), store.list_pending());
    if held(&pool?, &pending?, country, quarantine_flagged) >= policy.max_per_country {
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

/// The numbers that count against a country's ceiling: those in service (not retired, and not
/// flagged when flagged numbers are quarantined: a quarantined number's place may be rented
/// again) and those on their way in.
fn held(
    pool: &[PoolNumber],
    pending: &[PendingNumber],
    country: &Country,
    quarantine_flagged: bool,
) -> usize {
    pool.iter()
        .filter(|n| {
            &n.country == country
                && n.state != NumberState::Retired
                && !(quarantine_flagged && n.health_flag.is_some())
        })
        .count()
        + pending.iter().filter(|p| &p.country == country).count()
}

/// What replacing a flagged number came to, when nothing went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replaced {
    /// A number was rented in the flagged number's country and added to the pool.
    Rented(PoolNumber),
    /// Nothing was rented, and nothing is to be: why.
    Unneeded(String),
}

/// Why a flagged number's replacement is to be tried again.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("another renter holds the lease for {0}; try again when it has finished")]
    Busy(Country),
    #[error("no number rented for {country}: {reason}")]
    NotRented { country: Country, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Keeps the pool in service at its size when number health flags `flagged`: with flagged
/// numbers quarantined and `policy` (auto-rent) on, rents one number in the same country,
/// within the country's ceiling, holding the country's lease as a creation that rents does.
///
/// Once per flag: the rented number's pending record names the flag it replaces before it is
/// bought, and the pool item it becomes keeps it, so a `number.flagged` delivered again finds
/// its replacement (or finishes it, when it was left pending) instead of renting another. A
/// number no longer flagged, or retired, is not replaced. Renting that fails is an error, for
/// the caller to try again; a number whose purchase had no clear answer stays pending, as
/// every rented number does, and counts against the ceiling.
pub async fn replace_flagged<S, V>(
    store: &S,
    vonage: &V,
    policy: Option<&AutoRent>,
    quarantine_flagged: bool,
    application_id: Option<&str>,
    flagged: &Msisdn,
    now: i64,
) -> Result<Replaced, ReplaceError>
where
    S: Pool + Leases,
    V: NumberInventory + NumberChecker,
{
    let unneeded = |why: &str| Ok(Replaced::Unneeded(why.to_owned()));
    if !quarantine_flagged {
        return unneeded("QUARANTINE_FLAGGED is off: a flagged number stays in service");
    }
    let Some(policy) = policy else {
        return unneeded("AUTO_RENT is off");
    };
    let Some(number) = store.get_number(flagged).await? else {
        return unneeded("the number is not in the pool");
    };
    let Some(flag) = number.health_flag else {
        return unneeded("the number is no longer flagged");
    };
    if number.state == NumberState::Retired {
        return unneeded("the number is retired");
    }
    let replacing = Replacing {
        number: flagged.clone(),
        flagged_at: flag.at,
    };
    let country = number.country;
    let work = replace_within_ceiling(
        store,
        vonage,
        policy,
        application_id,
        &replacing,
        &country,
        now,
    );
    match leased(store, &format!("rent-{country}"), now, 60, work).await? {
        Some(replaced) => replaced,
        None => Err(ReplaceError::Busy(country)),
    }
}

async fn replace_within_ceiling<S: Pool, V: NumberInventory + NumberChecker>(
    store: &S,
    vonage: &V,
    policy: &AutoRent,
    application_id: Option<&str>,
    replacing: &Replacing,
    country: &Country,
    now: i64,
) -> Result<Replaced, ReplaceError> {
    let (pool, pending) = tokio::join!(store.list_pool(), store.list_pending());
    let (pool, pending) = (pool?, pending?);
    if let Some(n) = pool.iter().find(|n| n.replaces.as_ref() == Some(replacing)) {
        return Ok(Replaced::Unneeded(format!(
            "already replaced by {}",
            n.msisdn.masked()
        )));
    }
    let Some(application_id) = application_id else {
        return Err(ReplaceError::NotRented {
            country: country.clone(),
            reason: "renting one needs VONAGE_APPLICATION_ID".into(),
        });
    };
    let provisioner = Provisioner {
        store,
        vonage,
        application_id,
    };
    if pending
        .iter()
        .any(|p| p.replaces.as_ref() == Some(replacing))
    {
        // Its replacement was left on its way in: finish it rather than rent another.
        let report = provisioner.recover(now).await?;
        return match report
            .recovered
            .into_iter()
            .find(|n| n.replaces.as_ref() == Some(replacing))
        {
            Some(n) => Ok(Replaced::Rented(n)),
            None => Err(ReplaceError::NotRented {
                country: country.clone(),
                reason: "its replacement is still pending".into(),
            }),
        };
    }
    if held(&pool, &pending, country, true) >= policy.max_per_country {
        return Ok(Replaced::Unneeded(format!(
            "the pool holds its ceiling of {} numbers for {country}",
            policy.max_per_country
        )));
    }
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
    let report = provisioner
        .provision_replacing(&request, Some(replacing), now)
        .await?;
    match report.added.into_iter().next() {
        Some(n) => {
            tracing::info!(
                msisdn = %n.msisdn.masked(),
                flagged = %replacing.number.masked(),
                country = %country,
                "number rented to replace a flagged one"
            );
            Ok(Replaced::Rented(n))
        }
        None => Err(ReplaceError::NotRented {
            country: country.clone(),
            reason: report
                .failed
                .iter()
                .map(|f| f.reason.as_str())
                .collect::<Vec<_>>()
                .join("; ")
                .chars()
                .take(1000)
                .collect(),
        }),
    }
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
