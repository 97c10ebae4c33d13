//! Short leases that keep two processes from doing the same work at once (renting for one
//! country, provisioning, one auto-reply an hour); each lapses by itself.

use super::*;

impl Leases for Store {
    /// Takes the lease `name` until `now + hold_seconds` if nobody holds it; `false` if
    /// someone does.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        hold_seconds: i64,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = keys::lease(name);
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("holder", s(holder))
            .item("until", n(now + hold_seconds))
            .item("ttl", n(now + hold_seconds + 3600))
            .condition_expression("attribute_not_exists(pk) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(condition_held(out)?.is_some())
    }

    /// Gives the lease back, if `holder` still holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::lease(name))))
            .condition_expression("holder = :h")
            .expression_attribute_values(":h", s(holder))
            .send()
            .await;
        // Held by someone else by now (it lapsed): nothing to give back.
        condition_held(out)?;
        Ok(())
    }
}
