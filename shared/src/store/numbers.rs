//! Pool numbers beyond plain reads: numbers on their way in (bought, not yet linked), retiring
//! and removing numbers, the pairs a closed conversation gave back, and short leases that keep
//! two processes from renting for the same country at once.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use super::{
    INDEX_PARTICIPANT, Item, NumberItem, RouteItem, Store, StoreError, condition_failed,
    condition_held, key, keys, n, query_items, s, tx_delete, tx_error, tx_put,
};
use crate::model::{FreedPair, PendingNumber, PoolNumber};
use crate::phone::Msisdn;

#[derive(Serialize, Deserialize)]
struct PendingItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    pending: PendingNumber,
    gsi3pk: String,
    gsi3sk: String,
}

impl PendingItem {
    fn new(pending: &PendingNumber) -> Self {
        let (pk, sk) = keys::pending(&pending.msisdn);
        Self {
            pk,
            sk,
            pending: pending.clone(),
            gsi3pk: keys::PENDING.into(),
            gsi3sk: pending.msisdn.as_str().to_owned(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct FreedItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    pub(super) pair: FreedPair,
    gsi2pk: String,
    gsi2sk: String,
    ttl: i64,
}

impl FreedItem {
    pub(super) fn new(pair: FreedPair, ttl: i64) -> Self {
        let (pk, sk) = keys::freed(&pair.proxy_number, &pair.participant);
        Self {
            pk,
            sk,
            gsi2pk: keys::participant(&pair.participant),
            gsi2sk: format!("FREED#{}", pair.proxy_number.as_str()),
            ttl: ttl.max(pair.free_at),
            pair,
        }
    }
}

/// What a participant holds: the proxy numbers of their active conversations, and the pairs
/// their closed conversations gave back (cooling off or remembered for sticky assignment).
#[derive(Debug, Clone, Default)]
pub struct Holdings {
    pub held: HashSet<Msisdn>,
    pub freed: Vec<FreedPair>,
}

impl Holdings {
    /// Proxy numbers this participant may not be given in a conversation with `counterpart` at
    /// `now`: those they hold, and those still cooling off from someone else.
    pub fn excluded(&self, counterpart: &Msisdn, now: i64) -> HashSet<Msisdn> {
        let mut out = self.held.clone();
        out.extend(
            self.freed
                .iter()
                .filter(|f| f.free_at > now && &f.counterpart != counterpart)
                .map(|f| f.proxy_number.clone()),
        );
        out
    }

    /// The proxy number this participant last had with `counterpart`, if any.
    pub fn previous_with(&self, counterpart: &Msisdn) -> Option<&Msisdn> {
        self.freed
            .iter()
            .filter(|f| &f.counterpart == counterpart)
            .max_by_key(|f| f.free_at)
            .map(|f| &f.proxy_number)
    }
}

/// What became of a request to take a number out of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveOutcome {
    Removed(PoolNumber),
    /// Active conversations still use it.
    InUse(i64),
    NotFound,
}

impl Store {
    /// The participant's active routes and given-back pairs, in one query of the participant
    /// index (`FREED#…` and `ROUTE#…` sort keys sit together, apart from `CONV#…`).
    pub async fn holdings(&self, participant: &Msisdn) -> Result<Holdings, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_PARTICIPANT)
            .key_condition_expression("gsi2pk = :p AND gsi2sk BETWEEN :from AND :to")
            .expression_attribute_values(":p", s(keys::participant(participant)))
            .expression_attribute_values(":from", s("FREED#"))
            .expression_attribute_values(":to", s("ROUTE$"));
        let items = query_items(query).await?;
        let mut holdings = Holdings::default();
        for item in items {
            let is_route = item
                .get("gsi2sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk.starts_with("ROUTE#"));
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
    pub async fn put_pending(&self, pending: &PendingNumber) -> Result<(), StoreError> {
        self.put(PendingItem::new(pending)).await
    }

    /// Records a number about to be bought, unless another request is buying it already:
    /// `false` then, and this request leaves it alone (its pending record is the other's).
    pub async fn claim_pending(&self, pending: &PendingNumber) -> Result<bool, StoreError> {
        self.insert(to_item(PendingItem::new(pending))?).await
    }

    /// Numbers bought, or being bought, that are not in the pool yet.
    pub async fn list_pending(&self) -> Result<Vec<PendingNumber>, StoreError> {
        let items: Vec<PendingItem> = self.collection(keys::PENDING).await?;
        Ok(items.into_iter().map(|i| i.pending).collect())
    }

    /// Forgets a number that was never bought.
    pub async fn drop_pending(&self, msisdn: &Msisdn) -> Result<(), StoreError> {
        self.delete(keys::pending(msisdn)).await
    }

    /// Moves a bought and linked number into the pool, in one transaction with forgetting it
    /// as pending. `Ok(false)` when the pool had it already (the pending record goes anyway).
    pub async fn complete_pending(&self, number: &PoolNumber) -> Result<bool, StoreError> {
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
    pub async fn retire_number(&self, msisdn: &Msisdn) -> Result<Option<PoolNumber>, StoreError> {
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
    pub async fn remove_number(&self, msisdn: &Msisdn) -> Result<RemoveOutcome, StoreError> {
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
                Some(i) => RemoveOutcome::Removed(i.number),
                None => RemoveOutcome::NotFound,
            },
        )
    }

    // ---- leases -----------------------------------------------------------------------------

    /// Takes the lease `name` until `now + hold_seconds` if nobody holds it; `false` if
    /// someone does.
    pub async fn acquire_lease(
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
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
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

pub(super) fn number_item(number: &PoolNumber) -> Result<Item, StoreError> {
    let (pk, sk) = keys::number(&number.msisdn);
    Ok(to_item(NumberItem {
        pk,
        sk,
        number: number.clone(),
        gsi3pk: keys::POOL.into(),
        gsi3sk: format!("{}#{}", number.country, number.msisdn.as_str()),
    })?)
}
