//! The console overview's day counts: one item a day with an atomic counter per
//! [`DayCounter`], each change counted once through a record of its stream record's id written
//! in the same transaction. Both go after [`KEEP_DAYS`].

use aws_sdk_dynamodb::types::{Put, Update};

use super::*;
use crate::model::{DayCounter, DayCounts};

/// How long a day's counts (and the records of what was counted) are kept.
pub const KEEP_DAYS: i64 = 35;

#[derive(Serialize, Deserialize)]
struct CountedChange {
    pk: String,
    sk: String,
    ttl: i64,
}

impl DayStats for Store {
    async fn count_once(
        &self,
        change_id: &str,
        day: i64,
        counter: DayCounter,
    ) -> Result<bool, StoreError> {
        let ttl = (day + KEEP_DAYS) * 86_400;
        let (pk, sk) = keys::counted_change(change_id);
        let record: Item = to_item(CountedChange { pk, sk, ttl })?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(tx_put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(record))
                    .condition_expression("attribute_not_exists(pk)"),
            ))
            .transact_items(tx_update(
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::day_stats(day))))
                    .update_expression("ADD #counter :one SET #ttl = :ttl")
                    .expression_attribute_names("#counter", counter.as_str())
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":ttl", n(ttl)),
            ))
            .send()
            .await;
        applied(out)
    }

    async fn day_counts(&self, day: i64) -> Result<DayCounts, StoreError> {
        Ok(self
            .get::<DayCounts>(keys::day_stats(day))
            .await?
            .unwrap_or_default())
    }
}
