//! Number health: daily tallies per proxy number and for the whole pool, kept by atomic
//! counters (`ADD`), each callee's leg counted once through a record of it written in the same
//! transaction, and the flag on the pool number's item. A number has at most one tally a day,
//! and each expires (`ttl`) the day after it leaves the window.

use aws_sdk_dynamodb::types::{Put, Update};

use super::*;
use crate::model::{
    CountedCall, HEALTH_WINDOW_DAYS as WINDOW_DAYS, HealthCleared, HealthFlag, Tally,
};

/// How often a count is tried again after its transaction met another on the same tally.
const CONTENTION_RETRIES: u32 = 5;

#[derive(Serialize, Deserialize)]
struct TallyItem {
    #[serde(default)]
    answered: u64,
    #[serde(default)]
    calls: u64,
}

#[derive(Serialize, Deserialize)]
struct CountedItem {
    pk: String,
    sk: String,
    answered: bool,
    day: i64,
    ttl: i64,
}

/// When a tally of `day` (and the record of a call counted that day) may go.
fn expires(day: i64) -> i64 {
    (day + WINDOW_DAYS + 1) * 86_400
}

impl Store {
    /// `ADD`s `calls` and `answered` to the tally of `day` in partition `pk`.
    fn add_to(&self, pk: String, day: i64, calls: i64, answered: i64) -> TransactWriteItem {
        tx_update(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key((pk, keys::health_day(day)))))
                .update_expression("ADD calls :calls, answered :answered SET #ttl = :ttl")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":calls", n(calls))
                .expression_attribute_values(":answered", n(answered))
                .expression_attribute_values(":ttl", n(expires(day))),
        )
    }

    async fn tally(&self, pk: String, from: i64, to: i64) -> Result<Tally, StoreError> {
        // No days at all (`BETWEEN` refuses a lower bound above the upper one).
        if from > to {
            return Ok(Tally::default());
        }
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":from", s(keys::health_day(from)))
            .expression_attribute_values(":to", s(keys::health_day(to)))
            .consistent_read(true);
        let days: Vec<TallyItem> = query_all(query).await?;
        Ok(days.iter().fold(Tally::default(), |mut total, d| {
            total.add(&Tally {
                answered: d.answered,
                calls: d.calls,
            });
            total
        }))
    }

    /// A transaction, tried again while it only met others on the same items: `Ok(true)` when
    /// it was written, `Ok(false)` when one of its conditions failed.
    async fn counted(
        &self,
        items: impl Fn() -> Vec<TransactWriteItem>,
    ) -> Result<bool, StoreError> {
        let mut attempt = 0;
        loop {
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items()))
                .send()
                .await;
            match out {
                Ok(_) => return Ok(true),
                Err(e) if condition_failed(&e) => return Ok(false),
                Err(e)
                    if attempt < CONTENTION_RETRIES
                        && cancellation(&e, &[]) == Some(CreateConflict::Contention) =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(tx_error(e)),
            }
        }
    }
}

impl NumberHealth for Store {
    /// The first record of a leg writes its record and adds the call to both tallies; a later
    /// record that says answered where the first did not adds the answer to the tallies of
    /// the day the call was counted on. Anything else changes nothing.
    #[tracing::instrument(skip_all, fields(call_id = %call.call_id))]
    async fn count_call(&self, call: &CountedCall) -> Result<bool, StoreError> {
        let (pk, sk) = keys::health_call(&call.call_id, &call.leg);
        let answered = i64::from(call.answered);
        let record: Item = to_item(CountedItem {
            pk: pk.clone(),
            sk: sk.clone(),
            answered: call.answered,
            day: call.day,
            ttl: expires(call.day),
        })?;
        let first = self
            .counted(|| {
                vec![
                    tx_put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(record.clone()))
                            .condition_expression("attribute_not_exists(pk)"),
                    ),
                    self.add_to(keys::health(&call.shown_number), call.day, 1, answered),
                    self.add_to(keys::HEALTH_POOL.into(), call.day, 1, answered),
                ]
            })
            .await?;
        if first || !call.answered {
            return Ok(first);
        }
        let Some(before) = self.get::<CountedItem>((pk.clone(), sk.clone())).await? else {
            return Ok(false);
        };
        if before.answered {
            return Ok(false);
        }
        self.counted(|| {
            vec![
                tx_update(
                    Update::builder()
                        .table_name(&self.table)
                        .set_key(Some(key((pk.clone(), sk.clone()))))
                        .update_expression("SET answered = :yes")
                        .condition_expression("answered = :no")
                        .expression_attribute_values(":yes", AttributeValue::Bool(true))
                        .expression_attribute_values(":no", AttributeValue::Bool(false)),
                ),
                self.add_to(keys::health(&call.shown_number), before.day, 0, 1),
                self.add_to(keys::HEALTH_POOL.into(), before.day, 0, 1),
            ]
        })
        .await
    }

    async fn number_tally(&self, msisdn: &Msisdn, from: i64, to: i64) -> Result<Tally, StoreError> {
        self.tally(keys::health(msisdn), from, to).await
    }

    async fn pool_tally(&self, from: i64, to: i64) -> Result<Tally, StoreError> {
        self.tally(keys::HEALTH_POOL.into(), from, to).await
    }

    async fn flag_number(&self, msisdn: &Msisdn, flag: &HealthFlag) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::number(msisdn))))
            .update_expression("SET health_flag = :flag")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(health_flag)")
            .expression_attribute_values(":flag", serde_dynamo::to_attribute_value(flag)?)
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    async fn clear_flag(
        &self,
        msisdn: &Msisdn,
        cleared: &HealthCleared,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::number(msisdn))))
            .update_expression("SET health_cleared = :cleared REMOVE health_flag")
            .condition_expression("attribute_exists(health_flag)")
            .expression_attribute_values(":cleared", serde_dynamo::to_attribute_value(cleared)?)
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }
}
