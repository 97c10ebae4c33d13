//! The pool: its numbers, numbers on their way in (bought, not yet linked), retiring and
//! removing numbers, and the pairs a closed conversation gave back.

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue};

use super::*;
use crate::model::{PendingNumber, PoolNumber};
use crate::phone::Msisdn;

impl Pool for Store {
    /// The participant's active routes and given-back pairs, in one query of the participant
    /// index (`FREED#…` and `ROUTE#…` sort keys sit together, apart from `CONV#…`).
    async fn holdings(&self, participant: &Msisdn) -> Result<Holdings, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_PARTICIPANT)
            .key_condition_expression("gsi2pk = :p AND gsi2sk BETWEEN :from AND :to")
            .expression_attribute_values(":p", s(keys::participant(participant)))
            .expression_attribute_values(":from", s(keys::PARTICIPANT_FREED))
            .expression_attribute_values(":to", s(keys::PARTICIPANT_ROUTES_END));
        let items = query_items(query).await?;
        let mut holdings = Holdings::default();
        for item in items {
            let is_route = item
                .get("gsi2sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with(keys::PARTICIPANT_ROUTES));
            if is_route {
                let route: RouteItem = from_item(item)?;
                holdings.held.insert(route.route.proxy_number);
            } else {
                let freed: FreedItem = from_item(item)?;
                holdings.freed.push(freed.pair);
            }
        }
        Ok(holdings)
    }

    // ---- numbers on their way in ------------------------------------------------------------
    /// Records (or updates) a number being bought.
    async fn put_pending(&self, pending: &PendingNumber) -> Result<(), StoreError> {
        self.put(PendingItem::new(pending)).await
    }

    /// Records a number about to be bought, unless another request is buying it already:
    /// `false` then, and this request leaves it alone (its pending record is the other's).
    async fn claim_pending(&self, pending: &PendingNumber) -> Result<bool, StoreError> {
        self.insert(to_item(PendingItem::new(pending))?).await
    }

    /// Numbers bought, or being bought, that are not in the pool yet.
    async fn list_pending(&self) -> Result<Vec<PendingNumber>, StoreError> {
        let items: Vec<PendingItem> = self.collection(keys::PENDING).await?;
        Ok(items.into_iter().map(|i| i.pending).collect())
    }

    /// Forgets a number that was never bought.
    async fn drop_pending(&self, msisdn: &Msisdn) -> Result<(), StoreError> {
        self.delete(keys::pending(msisdn)).await
    }

    /// Moves a bought and linked number into the pool, in one transaction with forgetting it
    /// as pending. `Ok(false)` when the pool had it already (the pending record goes anyway).
    async fn complete_pending(&self, number: &PoolNumber) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(number_item(number)?))
            .condition_expression("attribute_not_exists(pk)");
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::pending(&number.msisdn))));
        let out = self
            .client
            .transact_write_items()
            .transact_items(tx_put(put))
            .transact_items(tx_delete(delete))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => {
                self.drop_pending(&number.msisdn).await?;
                Ok(false)
            }
            Err(e) => Err(tx_error(e)),
        }
    }

    // ---- leaving the pool -------------------------------------------------------------------
    /// Stops new assignments of a number. `None` when it is not in the pool.
    async fn retire_number(&self, msisdn: &Msisdn) -> Result<Option<PoolNumber>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::number(msisdn))))
            .update_expression("SET #state = :retired")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":retired", s("retired"))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        Ok(condition_held(out)?
            .and_then(|o| o.attributes)
            .map(from_item::<_, NumberItem>)
            .transpose()?
            .map(|i| i.number))
    }

    /// Takes a retired number out of the pool, only if no active conversation uses it.
    async fn remove_number(&self, msisdn: &Msisdn) -> Result<RemoveOutcome, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::number(msisdn))))
            .condition_expression(
                "attribute_exists(pk) AND active_count <= :zero AND #state = :retired",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":retired", s("retired"))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let Some(removed) = condition_held(out)? else {
            return Ok(match self.get_number(msisdn).await? {
                None => RemoveOutcome::NotFound,
                Some(n) => RemoveOutcome::InUse(n.active_count),
            });
        };
        Ok(
            match removed
                .attributes
                .map(from_item::<_, NumberItem>)
                .transpose()?
            {
                Some(i) => RemoveOutcome::Removed(Box::new(i.number)),
                None => RemoveOutcome::NotFound,
            },
        )
    }

    /// Adds a number to the pool; `Ok(false)` when it is there already.
    async fn add_number(&self, number: &PoolNumber) -> Result<bool, StoreError> {
        self.insert(number_item(number)?).await
    }

    async fn get_number(&self, msisdn: &Msisdn) -> Result<Option<PoolNumber>, StoreError> {
        Ok(self
            .get::<NumberItem>(keys::number(msisdn))
            .await?
            .map(|i| i.number))
    }

    /// Every number in the pool, by country.
    async fn list_pool(&self) -> Result<Vec<PoolNumber>, StoreError> {
        let numbers: Vec<NumberItem> = self.collection(keys::POOL).await?;
        Ok(numbers.into_iter().map(|n| n.number).collect())
    }

    /// Records that a creation found no number (see [`Exhaustion`]).
    async fn record_exhaustion(&self, e: &Exhaustion) -> Result<(), StoreError> {
        let (pk, sk) = keys::exhaustion(
            &e.country,
            e.at_ms,
            &uuid::Uuid::new_v4().simple().to_string(),
        );
        self.put(ExhaustionItem {
            pk,
            sk,
            exhaustion: e.clone(),
            ttl: e.at_ms / 1000 + 24 * 3600,
        })
        .await
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct ExhaustionItem {
    pub(super) pk: String,
    pub(super) sk: String,
    #[serde(flatten)]
    pub(super) exhaustion: Exhaustion,
    pub(super) ttl: i64,
}
