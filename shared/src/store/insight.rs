//! Vonage's number-check answers kept per number, so a returning participant costs no lookup.
//! Only numbers Vonage called valid are kept.

use super::*;
use crate::model::NumberFacts;
use crate::values::Country;

/// What Vonage said of a valid number, until `ttl`.
#[derive(Serialize, Deserialize)]
struct InsightItem {
    pk: String,
    sk: String,
    international: Msisdn,
    country: Country,
    /// Absent on answers kept before the facts were.
    #[serde(default)]
    facts: NumberFacts,
    /// Unix seconds; no longer used from then on, and removed by DynamoDB's TTL.
    ttl: i64,
}

impl InsightCache for Store {
    /// The international form, country and facts Vonage gave `number`, if kept and not past
    /// its time at `now`.
    async fn kept_insight(
        &self,
        number: &Msisdn,
        now: i64,
    ) -> Result<Option<(Msisdn, Country, NumberFacts)>, StoreError> {
        Ok(self
            .get::<InsightItem>(keys::insight(number))
            .await?
            .filter(|i| i.ttl > now)
            .map(|i| (i.international, i.country, i.facts)))
    }

    /// Keeps Vonage's answer for a valid `number` until `until`.
    async fn keep_insight(
        &self,
        number: &Msisdn,
        international: &Msisdn,
        country: &Country,
        facts: &NumberFacts,
        until: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::insight(number);
        self.put(InsightItem {
            pk,
            sk,
            international: international.clone(),
            country: country.clone(),
            facts: facts.clone(),
            ttl: until,
        })
        .await
    }
}
