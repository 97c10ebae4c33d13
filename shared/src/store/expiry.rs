//! The expiry index: open conversations by shard and expiry time.

use super::*;

impl ExpiryIndex for Store {
    /// Open conversations in one expiry shard whose `expires_at` is at or before `now`, oldest
    /// first. Reads only index entries that are past their expiry: the work follows what has
    /// expired, not the size of the table.
    async fn expired(
        &self,
        shard: u32,
        now: i64,
        limit: i32,
        start: Option<ExpiryCursor>,
    ) -> Result<ExpiredPage, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_EXPIRY)
            .key_condition_expression("gsi1pk = :shard AND gsi1sk < :bound")
            .expression_attribute_values(":shard", s(keys::expiry_partition(shard)))
            .expression_attribute_values(":bound", s(format!("{:012}", now + 1)))
            .limit(limit)
            .set_exclusive_start_key(start.map(|c| c.key()).transpose()?)
            .send()
            .await?;
        let ids = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| keys::conversation_of(i.get("pk")?.as_s().ok()?))
            .collect();
        Ok(ExpiredPage {
            ids,
            read: out.scanned_count,
            next: out.last_evaluated_key.as_ref().map(ExpiryCursor::new),
        })
    }
}
