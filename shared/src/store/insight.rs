//! Number Insight answers kept per number, so a returning participant costs no lookup. Only
//! numbers Number Insight called valid are kept.

use super::*;
use crate::values::Country;

/// What Number Insight said of a valid number, until `ttl`.
#[derive(Serialize, Deserialize)]
struct InsightItem {
    pk: String,
    sk: String,
    international: Msisdn,
    country: Country,
    /// Unix seconds; no longer used from then on, and removed by DynamoDB's TTL.
    ttl: i64,
}

impl Store {
    /// The international form and country Number Insight gave `number`, if kept and not past
    /// its time at `now`.
    pub async fn kept_insight(
        &self,
        number: &Msisdn,
        now: i64,
    ) -> Result<Option<(Msisdn, Country)>, StoreError> {
        Ok(self
            .get::<InsightItem>(keys::insight(number))
            .await?
            .filter(|i| i.ttl > now)
            .map(|i| (i.international, i.country)))
    }

    /// Keeps Number Insight's answer for a valid `number` until `until`.
    pub async fn keep_insight(
        &self,
        number: &Msisdn,
        international: &Msisdn,
        country: &Country,
        until: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::insight(number);
        self.put(InsightItem {
            pk,
            sk,
            international: international.clone(),
            country: country.clone(),
            ttl: until,
        })
        .await
    }
}
