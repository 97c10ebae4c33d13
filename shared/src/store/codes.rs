//! Access codes: the route a typed code takes, the guesses spent before it is looked up (a
//! caller's wrong codes on a number, the number's budget for the day), and how many
//! participants share proxy numbers.

use std::collections::HashMap;

use super::*;
use crate::values::AccessCode;

#[derive(Serialize, Deserialize)]
struct FailuresItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    failures: CodeFailures,
    ttl: i64,
}

impl AccessCodes for Store {
    /// Spends a guess before the code is looked up: counts it against the caller (refused
    /// once they are locked out), then against the number's budget for the day (one conditional
    /// update, so calls in parallel cannot overspend it).
    #[tracing::instrument(skip_all, fields(proxy = %guess.proxy.masked()))]
    async fn spend_code_guess(&self, guess: &CodeGuess<'_>) -> Result<GuessSpent, StoreError> {
        let (failures, live) =
            tokio::join!(self.count_code_guess(guess), self.codes_on(guess.proxy));
        let failures = match failures? {
            Ok(counted) => counted,
            Err(locked) => return Ok(GuessSpent::CallerLocked(locked)),
        };
        let cost = live?.max(1);
        let room = guess.daily_budget - cost;
        if room < 0 {
            return Ok(GuessSpent::NumberSpent);
        }
        let spent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::code_guesses(guess.proxy, guess.day()))))
            .update_expression("ADD spent :cost SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(spent) OR spent <= :room")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":cost", n(cost))
            .expression_attribute_values(":room", n(room))
            .expression_attribute_values(":ttl", n((guess.day() + 2) * 86_400))
            .send()
            .await;
        Ok(match condition_held(spent)? {
            Some(_) => GuessSpent::Allowed { failures, cost },
            None => GuessSpent::NumberSpent,
        })
    }

    /// Gives back a guess whose code was right: it is not a wrong code, and cost the number
    /// nothing.
    async fn refund_code_guess(&self, guess: &CodeGuess<'_>, cost: i64) -> Result<(), StoreError> {
        let refund = |item, counter, by: i64| {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(item)))
                .update_expression("ADD #counter :minus")
                .condition_expression("#counter >= :by")
                .expression_attribute_names("#counter", counter)
                .expression_attribute_values(":minus", n(-by))
                .expression_attribute_values(":by", n(by))
                .send()
        };
        let (caller, number) = tokio::join!(
            refund(
                keys::code_failures(guess.proxy, guess.caller),
                "failures",
                1
            ),
            refund(keys::code_guesses(guess.proxy, guess.day()), "spent", cost),
        );
        condition_held(caller)?;
        condition_held(number)?;
        Ok(())
    }

    /// The route `code` names on `proxy` (strongly consistent).
    #[tracing::instrument(skip_all, fields(proxy = %proxy.masked()))]
    async fn code_route(
        &self,
        proxy: &Msisdn,
        code: &AccessCode,
    ) -> Result<Option<Route>, StoreError> {
        Ok(self
            .get::<CodeItem>(keys::access_code(proxy, code))
            .await?
            .map(|c| c.route))
    }

    /// Who shares proxy numbers now, read from the open conversations' codes (one query of the
    /// codes collection, keys only).
    async fn sharing(&self) -> Result<Sharing, StoreError> {
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
        Ok(crate::model::sharing_of(
            held.iter().map(|((_, p), k)| (p.as_str(), *k)),
        ))
    }
}

impl Store {
    /// How many live codes `proxy` holds (one count of the codes collection).
    pub async fn codes_on(&self, proxy: &Msisdn) -> Result<i64, StoreError> {
        let mut count = 0;
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(INDEX_COLLECTION)
                .key_condition_expression("gsi3pk = :p AND begins_with(gsi3sk, :proxy)")
                .expression_attribute_values(":p", s(keys::CODES))
                .expression_attribute_values(":proxy", s(format!("{}#", proxy.as_str())))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            count += i64::from(out.count);
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }

    /// Counts a code typed by `guess.caller` on `guess.proxy` as wrong until it proves right:
    /// the count goes on while the last one is less than the lock-out ago and starts again
    /// after; the item expires (TTL) with its period. `Err` with the count as it stands, not
    /// counted, when the caller is locked out already (so trying while locked does not lengthen
    /// the lock-out).
    async fn count_code_guess(
        &self,
        guess: &CodeGuess<'_>,
    ) -> Result<Result<CodeFailures, CodeFailures>, StoreError> {
        let (proxy, caller, now) = (guess.proxy, guess.caller, guess.now);
        let until = now + guess.lock_seconds.max(1);
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::code_failures(proxy, caller))))
            .update_expression("ADD failures :one SET #until = :until, #ttl = :until")
            .condition_expression("attribute_not_exists(pk) OR (#until > :now AND failures < :max)")
            .expression_attribute_names("#until", "until")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":max", n(i64::from(guess.max_failures)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        if let Some(out) = condition_held(counted)? {
            let item: FailuresItem = from_item(out.attributes.unwrap_or_default())?;
            return Ok(Ok(item.failures));
        }
        // Locked out, or the last wrong code is older than the period (the TTL has not
        // removed it yet).
        let (pk, sk) = keys::code_failures(proxy, caller);
        if let Some(kept) = self.get::<FailuresItem>((pk.clone(), sk.clone())).await?
            && kept.failures.locks(guess.max_failures, now)
        {
            return Ok(Err(kept.failures));
        }
        let failures = CodeFailures { failures: 1, until };
        self.put(FailuresItem {
            pk,
            sk,
            failures,
            ttl: until,
        })
        .await?;
        Ok(Ok(failures))
    }
}
