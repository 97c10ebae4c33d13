//! A number the account owns, added to the pool: linked to the Voice application first, then
//! written, so the pool never holds a number calls cannot reach. What `POST /numbers` does, and
//! what the set-up does for the numbers a deploy names.

use crate::error::error_chain;
use crate::model::{NumberState, PoolNumber, StoreError};
use crate::phone::Msisdn;
use crate::ports::{NumberChecker, NumberInventory, Pool};
use crate::values::{Country, Feature};
use crate::vonage::Insight;
use crate::vonage::VonageError;

/// A number to add, its fields read and checked at the edge.
#[derive(Debug, Clone)]
pub struct NewNumber {
    pub msisdn: Msisdn,
    pub country: Country,
    /// Active or reserved (never assigned automatically).
    pub state: NumberState,
    pub features: Vec<Feature>,
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("{} is already in the pool", .0.as_str())]
    Duplicate(Msisdn),
    #[error("the number could not be linked to the application")]
    Vonage(#[source] VonageError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Adds `new` to the pool, linked to `application_id`. A number already in the pool is
/// [`AddError::Duplicate`], and nothing is written.
pub async fn add<S: Pool, V: NumberInventory + NumberChecker>(
    store: &S,
    vonage: &V,
    application_id: &str,
    new: NewNumber,
    now: i64,
) -> Result<PoolNumber, AddError> {
    if store.get_number(&new.msisdn).await?.is_some() {
        return Err(AddError::Duplicate(new.msisdn));
    }
    vonage
        .link_number(&new.msisdn, &new.country, application_id)
        .await
        .map_err(AddError::Vonage)?;
    let location = locate(vonage, &new.msisdn).await;
    let number = PoolNumber {
        features: new.features,
        location,
        ..PoolNumber::new(new.msisdn, new.country, new.state, now)
    };
    if !store.add_number(&number).await? {
        return Err(AddError::Duplicate(number.msisdn));
    }
    tracing::info!(msisdn = %number.msisdn.masked(), country = %number.country, "number added to the pool");
    Ok(number)
}

/// Where a number belongs within its country, as the number check says (its
/// `offline_location`), for matching participants to numbers of their area. A check that cannot
/// answer leaves it unknown: the number is added all the same, and matched by country.
pub async fn locate<V: NumberChecker>(vonage: &V, msisdn: &Msisdn) -> Option<String> {
    match vonage.check_number(msisdn).await {
        Ok(Insight::Valid { facts, .. }) => facts.location,
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(msisdn = %msisdn.masked(), error = %error_chain(&e), "a pool number's area not known");
            None
        }
    }
}
