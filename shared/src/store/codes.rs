//! Access codes: the route a typed code takes, the wrong codes a caller typed on a number (the
//! lock-out), and how many participants share proxy numbers.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use super::*;
use crate::values::AccessCode;

/// What a typed code finds: the route it names, if any, and the caller's wrong codes on the
/// number so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeLookup {
    pub route: Option<Route>,
    pub failures: Option<CodeFailures>,
}

/// Wrong codes one caller typed on one proxy number, counted until `until` (Unix seconds),
/// which each wrong code moves to a lock-out period later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFailures {
    pub failures: u32,
    pub until: i64,
}

impl CodeFailures {
    /// Locked out at `now`: `max` wrong codes or more, the latest less than the lock-out ago.
    pub fn locks(&self, max: u32, now: i64) -> bool {
        self.failures >= max && now < self.until
    }
}

/// How much of the pool is shared: participants holding one proxy number in more than one open
/// conversation, and the most conversations one participant holds on one number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sharing {
    pub participants_sharing: usize,
    pub most_on_one_number: usize,
}

#[derive(Serialize, Deserialize)]
struct FailuresItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    failures: CodeFailures,
    ttl: i64,
}

impl Store {
    /// The route `code` names on `proxy` and the wrong codes `caller` typed there: both in one
    /// strongly consistent BatchGetItem.
    #[tracing::instrument(skip_all, fields(proxy = %proxy.masked()))]
    pub async fn code_route(
        &self,
        proxy: &Msisdn,
        code: &AccessCode,
        caller: &str,
    ) -> Result<CodeLookup, StoreError> {
        let code_key = keys::access_code(proxy, code);
        let failures_key = keys::code_failures(proxy, caller);
        let wanted = build(
            KeysAndAttributes::builder()
                .keys(key(code_key.clone()))
                .keys(key(failures_key))
                .consistent_read(true)
                .build(),
        );
        let mut found = CodeLookup::default();
        for item in self.batch_get(wanted).await? {
            let is_code = item.get("pk").and_then(|v| v.as_s().ok()) == Some(&code_key.0);
            if is_code {
                found.route = Some(from_item::<_, CodeItem>(item)?.route);
            } else {
                found.failures = Some(from_item::<_, FailuresItem>(item)?.failures);
            }
        }
        Ok(found)
    }

    /// Counts a wrong code typed by `caller` on `proxy` at `now`: the count goes on while the
    /// last one is less than `lock_seconds` ago and starts again after; the item expires (TTL)
    /// with its period. Returns the count and period as they now stand.
    pub async fn note_code_failure(
        &self,
        proxy: &Msisdn,
        caller: &str,
        now: i64,
        lock_seconds: i64,
    ) -> Result<CodeFailures, StoreError> {
        let until = now + lock_seconds.max(1);
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::code_failures(proxy, caller))))
            .update_expression("ADD failures :one SET #until = :until, #ttl = :until")
            .condition_expression("attribute_not_exists(pk) OR #until > :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        if let Some(out) = condition_held(counted)? {
            let item: FailuresItem = from_item(out.attributes.unwrap_or_default())?;
            return Ok(item.failures);
        }
        // The last wrong code is older than the period (the TTL has not removed it yet).
        let (pk, sk) = keys::code_failures(proxy, caller);
        let failures = CodeFailures { failures: 1, until };
        self.put(FailuresItem {
            pk,
            sk,
            failures,
            ttl: until,
        })
        .await?;
        Ok(failures)
    }

    /// Who shares proxy numbers now, read from the open conversations' codes (one query of the
    /// codes collection, keys only).
    pub async fn sharing(&self) -> Result<Sharing, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(INDEX_COLLECTION)
            .key_condition_expression("gsi3pk = :p")
            .expression_attribute_values(":p", s(keys::CODES))
            .projection_expression("gsi3sk");
        let mut held: HashMap<(String, String), usize> = HashMap::new();
        for item in query_items(query).await? {
            // proxy#participant#conversation: count conversations per (proxy, participant).
            let sk = item.get("gsi3sk").and_then(|v| v.as_s().ok());
            if let Some([proxy, participant, _]) = sk
                .map(|sk| sk.splitn(3, '#').collect::<Vec<_>>())
                .as_deref()
            {
                *held
                    .entry(((*proxy).to_owned(), (*participant).to_owned()))
                    .or_default() += 1;
            }
        }
        Ok(sharing_of(held.iter().map(|((_, p), k)| (p.as_str(), *k))))
    }
}

/// The sharing figures from the number of open conversations of each (proxy, participant),
/// given as (participant, count).
pub fn sharing_of<'a>(counts: impl IntoIterator<Item = (&'a str, usize)>) -> Sharing {
    let mut sharing = std::collections::HashSet::new();
    let mut most = 0;
    for (participant, k) in counts {
        if k > 1 {
            sharing.insert(participant);
        }
        most = most.max(k);
    }
    Sharing {
        participants_sharing: sharing.len(),
        most_on_one_number: most,
    }
}
