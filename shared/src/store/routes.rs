//! Routes: (proxy number, caller) → conversation, the one read an inbound call makes.

use super::*;

impl RouteReader for Store {
    /// The route an inbound call to `proxy` from `caller` takes: one strongly consistent GetItem.
    #[tracing::instrument(skip_all, fields(proxy = %proxy.masked(), caller = %caller.masked()))]
    async fn route(&self, proxy: &Msisdn, caller: &Msisdn) -> Result<Option<Route>, StoreError> {
        Ok(self
            .get::<RouteItem>(keys::route(proxy, caller))
            .await?
            .map(|i| i.route))
    }
}
