//! Conversations: reads, the creation and close transactions, and listing.

use super::*;

impl Conversations for Store {
    async fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .get::<ConversationItem>(keys::conversation(id))
            .await?
            .map(|i| i.conversation))
    }

    /// The conversation that holds `reference`, while it is not closed.
    async fn find_by_reference(
        &self,
        reference: &Reference,
    ) -> Result<Option<Conversation>, StoreError> {
        let Some(r) = self
            .get::<ReferenceItem>(keys::reference(reference))
            .await?
        else {
            return Ok(None);
        };
        self.conversation(&r.conversation_id).await
    }

    /// Writes a new conversation with its two routes, its members, its reference and the pool's
    /// usage counts in one transaction. Each route is written only if that (proxy number,
    /// participant) pair is free, each proxy number only if it is still active (and, with
    /// `quarantine_flagged`, not flagged), and the reference only if no other conversation holds
    /// it: rule 2 holds under any concurrency.
    #[tracing::instrument(skip_all, fields(conversation_id = %c.id))]
    async fn create_conversation_with(
        &self,
        c: &Conversation,
        quarantine_flagged: bool,
    ) -> Result<(), WriteError> {
        let mut items = Vec::with_capacity(8);
        // What each transaction item stands for, to read the cancellation reasons by position.
        let mut meaning = Vec::with_capacity(8);

        items.push(put_new(&self.table, conversation_item(c)?));
        meaning.push(Some(CreateConflict::AlreadyWritten));
        for (index, p) in c.participants.iter().enumerate() {
            let (pk, sk) = keys::member(&c.id, index);
            let item = to_item(MemberItem {
                pk,
                sk,
                conversation_id: c.id.clone(),
                status: c.status,
                gsi2pk: keys::participant(&p.number),
                gsi2sk: keys::participant_conversation(c),
                gsi1pk: Some(keys::proxy_conversations(&p.proxy_number)),
                gsi1sk: Some(keys::created_sort_key(c)),
                ttl: None,
            })?;
            items.push(put_new(&self.table, item));
            meaning.push(None);
        }
        self.claim_pairs(
            c,
            c.created_at,
            quarantine_flagged,
            &mut items,
            &mut meaning,
        )?;

        self.write_claiming(items, &meaning).await
    }

    /// Opens `closed` again as `reopened` at `now`: the conversation, its members, both routes,
    /// its reference and the usage counts in one transaction, conditioned on it being closed as
    /// read (so two reopens cannot both apply) and on the same rule 2 conditions as creation. A
    /// refused condition comes back as the [`CreateConflict`] that names it (`Contention` when
    /// the conversation changed meanwhile).
    #[tracing::instrument(skip_all, fields(conversation_id = %closed.id))]
    async fn reopen_conversation(
        &self,
        closed: &Conversation,
        reopened: &Conversation,
        now: i64,
    ) -> Result<(), WriteError> {
        let mut items = Vec::with_capacity(10);
        let mut meaning = Vec::with_capacity(10);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(conversation_item(reopened)?))
            .condition_expression("#status = :closed AND closed_at = :closed_at")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":closed", s("closed"))
            .expression_attribute_values(":closed_at", n(closed.closed_at.unwrap_or_default()));
        items.push(tx_put(put));
        meaning.push(Some(CreateConflict::Contention));
        for index in 0..reopened.participants.len() {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::member(&reopened.id, index))))
                .update_expression("SET #status = :status REMOVE #ttl")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":status", s(reopened.status.as_str()));
            items.push(tx_update(update));
            meaning.push(None);
        }
        // A reopened conversation holds its numbers again, flagged or not.
        self.claim_pairs(reopened, now, false, &mut items, &mut meaning)?;
        self.write_claiming(items, &meaning).await
    }

    #[tracing::instrument(skip_all, fields(conversation_id = %c.id))]
    async fn extend_conversation(
        &self,
        c: &Conversation,
        expires_at: i64,
    ) -> Result<Option<Conversation>, StoreError> {
        if !self.push_expiry(c, expires_at).await? {
            return Ok(None);
        }
        self.conversation(&c.id).await
    }

    /// Closes a conversation: status `closed`, its routes and reference deleted, members marked,
    /// pool counts decremented, all in one transaction conditioned on it being open. Closing a
    /// closed conversation changes nothing. `None` when there is no such conversation.
    #[tracing::instrument(skip(self, closing))]
    async fn close_conversation(
        &self,
        id: &ConversationId,
        closing: &Closing,
    ) -> Result<Option<CloseOutcome>, StoreError> {
        let Closing {
            reason,
            at: now,
            retain_until,
            cool_off_seconds,
        } = *closing;
        for _ in 0..5 {
            let Some(current) = self.conversation(id).await? else {
                return Ok(None);
            };
            if current.status == ConversationStatus::Closed {
                return Ok(Some(CloseOutcome::AlreadyClosed(current)));
            }
            let mut closed = current.clone();
            closed.status = ConversationStatus::Closed;
            closed.closed_at = Some(now);
            closed.close_reason = Some(reason);

            let mut items = Vec::with_capacity(8);
            let mut conv_item = conversation_item(&closed)?;
            conv_item.insert("ttl".into(), n(retain_until));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(conv_item))
                .condition_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(current.status.as_str()));
            items.push(tx_put(put));
            for (route, p) in current.routes().iter().zip(&current.participants) {
                // An ambiguous route goes with any of the conversations sharing the pair: the
                // others' calls on it go by code all the same.
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::route(&route.proxy_number, &route.caller))))
                    .condition_expression(
                        "attribute_not_exists(pk) OR conversation_id = :id OR ambiguous = :yes",
                    )
                    .expression_attribute_values(":id", s(id.as_str()))
                    .expression_attribute_values(":yes", AttributeValue::Bool(true));
                items.push(tx_delete(delete));
                if let Some(code) = &p.code {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(keys::access_code(&route.proxy_number, code))))
                        .condition_expression("attribute_not_exists(pk) OR conversation_id = :id")
                        .expression_attribute_values(":id", s(id.as_str()));
                    items.push(tx_delete(delete));
                }
                let freed = FreedItem::new(
                    FreedPair {
                        proxy_number: route.proxy_number.clone(),
                        participant: route.caller.clone(),
                        counterpart: route.callee.clone(),
                        conversation_id: id.to_owned(),
                        free_at: now + cool_off_seconds,
                    },
                    retain_until,
                );
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(freed)?));
                items.push(tx_put(put));
            }
            for index in 0..current.participants.len() {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::member(id, index))))
                    .update_expression("SET #status = :closed, #ttl = :ttl")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":closed", s("closed"))
                    .expression_attribute_values(":ttl", n(retain_until));
                items.push(tx_update(update));
            }
            if let Some(reference) = &current.reference {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(keys::reference(reference))))
                    .condition_expression("attribute_not_exists(pk) OR conversation_id = :id")
                    .expression_attribute_values(":id", s(id.as_str()));
                items.push(tx_delete(delete));
            }
            for (msisdn, uses) in usage(&current) {
                items.push(usage_update(&self.table, &msisdn, -uses, false));
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            match out {
                Ok(_) => {
                    // A conversation nobody called has no call log to stamp.
                    if current.last_activity.is_some() {
                        self.stamp_call_log(id, retain_until).await;
                    }
                    return Ok(Some(CloseOutcome::Closed(closed)));
                }
                // Someone else changed it (closed it, or moved it to in-progress): read again.
                Err(e) if cancellation(&e, &[]).is_some() => continue,
                Err(e) => return Err(tx_error(e)),
            }
        }
        // Five changes in a row under our feet: report the state as it now stands.
        match self.conversation(id).await? {
            Some(c) if c.status == ConversationStatus::Closed => {
                Ok(Some(CloseOutcome::AlreadyClosed(c)))
            }
            Some(_) => Err(StoreError::Contended),
            None => Ok(None),
        }
    }

    /// Conversations, newest first, by status and/or participant.
    async fn list_conversations(
        &self,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, StoreError> {
        let start = cursor.map(decode_cursor).transpose()?;
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start);
        query = match (&filter.participant, &filter.proxy_number) {
            (_, Some(proxy)) => query
                .index_name(INDEX_EXPIRY)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(keys::proxy_conversations(proxy))),
            (Some(p), None) => query
                .index_name(INDEX_PARTICIPANT)
                .key_condition_expression("gsi2pk = :p AND begins_with(gsi2sk, :c)")
                .expression_attribute_values(":p", s(keys::participant(p)))
                .expression_attribute_values(":c", s(keys::PARTICIPANT_CONVERSATIONS)),
            (None, None) => query
                .index_name(INDEX_COLLECTION)
                .key_condition_expression("gsi3pk = :p")
                .expression_attribute_values(":p", s(keys::CONVERSATIONS)),
        };
        // The expiry index keeps keys only: a proxy number's members are filtered once read.
        if let (Some(status), None) = (filter.status, &filter.proxy_number) {
            query = query
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let out = query.send().await?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            if filter.proxy_number.is_some() {
                // The index keeps the keys only: the member's partition names its conversation.
                let Some(AttributeValue::S(pk)) = item.get("pk") else {
                    continue;
                };
                let Some(id) = keys::conversation_of(pk) else {
                    continue;
                };
                if items.iter().any(|c: &Conversation| c.id == id) {
                    continue; // both participants were given this number
                }
                if let Some(c) = self.conversation(&id).await? {
                    // The participant filter, when both are given, is applied to what was read.
                    let participant = filter.participant.as_ref().is_none_or(|p| {
                        c.participants.iter().any(|x| {
                            &x.number == p && filter.proxy_number.as_ref() == Some(&x.proxy_number)
                        })
                    });
                    if participant && filter.status.is_none_or(|st| c.status == st) {
                        items.push(c);
                    }
                }
            } else if filter.participant.is_some() {
                let member: MemberItem = from_item(item)?;
                if let Some(c) = self.conversation(&member.conversation_id).await? {
                    items.push(c);
                }
            } else {
                items.push(from_item::<_, ConversationItem>(item)?.conversation);
            }
        }
        let next_cursor = out.last_evaluated_key.map(|k| encode_cursor(&k));
        Ok(Page { items, next_cursor })
    }
}

impl Store {
    /// Writes `items` in one transaction; a refused condition comes back as the conflict
    /// `meaning` gives its position. The token makes the SDK's own retry of the request
    /// idempotent: if a first attempt was applied but its answer lost, the retry succeeds
    /// instead of failing its conditions.
    async fn write_claiming(
        &self,
        items: Vec<TransactWriteItem>,
        meaning: &[Option<CreateConflict>],
    ) -> Result<(), WriteError> {
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(uuid::Uuid::new_v4().to_string())
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) => match cancellation(&e, meaning) {
                Some(conflict) => Err(WriteError::Conflict(conflict)),
                None => Err(tx_error(e).into()),
            },
        }
    }

    /// The transaction items that give `c` its pairs under rule 2 at `now`: both routes (each
    /// only if that pair is free), the cool-off checks, its reference (only if no other
    /// conversation holds it) and the pool's usage counts (each number only if still active,
    /// and not flagged when `refuse_flagged`), with what a refusal of each means.
    fn claim_pairs(
        &self,
        c: &Conversation,
        now: i64,
        refuse_flagged: bool,
        items: &mut Vec<TransactWriteItem>,
        meaning: &mut Vec<Option<CreateConflict>>,
    ) -> Result<(), WriteError> {
        for (index, route) in c.routes().iter().enumerate() {
            let (pk, sk) = keys::route(&route.proxy_number, &route.caller);
            let item = to_item(RouteItem {
                pk,
                sk,
                route: route.clone(),
                gsi2pk: keys::participant(&route.caller),
                gsi2sk: keys::participant_route(&route.proxy_number),
            })?;
            if route.ambiguous {
                // A participant sharing a number they hold in another open conversation: their
                // route there becomes ambiguous (their calls and texts on it go by code).
                items.push(tx_put(
                    Put::builder().table_name(&self.table).set_item(Some(item)),
                ));
                meaning.push(None);
            } else {
                items.push(put_new(&self.table, item));
                meaning.push(Some(CreateConflict::RouteTaken(index)));
            }
        }
        // Each access code is written only if no open conversation has it on that number.
        for (index, (route, p)) in c.routes().iter().zip(&c.participants).enumerate() {
            if let Some(code) = &p.code {
                items.push(put_new(&self.table, to_item(CodeItem::new(route, code))?));
                meaning.push(Some(CreateConflict::CodeTaken(index)));
            }
        }
        // A pair given back by a closed conversation is cooling off, except for the same
        // counterpart (a late call-back then still reaches the right person). A shared pair
        // routes by code, so no caller can be misled by it.
        for (index, route) in c.routes().iter().enumerate() {
            if route.ambiguous {
                continue;
            }
            let check = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::freed(&route.proxy_number, &route.caller))))
                .condition_expression(
                    "attribute_not_exists(pk) OR free_at <= :now OR counterpart = :other",
                )
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":other", s(route.callee.as_str()));
            items.push(
                TransactWriteItem::builder()
                    .condition_check(build(check.build()))
                    .build(),
            );
            meaning.push(Some(CreateConflict::CoolingOff(index)));
        }
        if let Some(reference) = &c.reference {
            let (pk, sk) = keys::reference(reference);
            let item = to_item(ReferenceItem {
                pk,
                sk,
                conversation_id: c.id.clone(),
            })?;
            items.push(put_new(&self.table, item));
            meaning.push(Some(CreateConflict::ReferenceTaken));
        }
        for (msisdn, uses) in usage(c) {
            items.push(usage_update(&self.table, &msisdn, uses, refuse_flagged));
            meaning.push(Some(CreateConflict::NumberUnavailable(msisdn)));
        }
        Ok(())
    }

    /// Writes conversations and their routes as they stand, without conditions, members, pool
    /// counts or references: for loading large test tables quickly. Never used by the product.
    #[cfg(feature = "local")]
    pub async fn load_unchecked(&self, conversations: &[Conversation]) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
        let mut requests = Vec::with_capacity(conversations.len() * 3);
        for c in conversations {
            requests.push(conversation_item(c)?);
            for route in c.routes() {
                let (pk, sk) = keys::route(&route.proxy_number, &route.caller);
                requests.push(to_item(RouteItem {
                    pk,
                    sk,
                    gsi2pk: keys::participant(&route.caller),
                    gsi2sk: keys::participant_route(&route.proxy_number),
                    route,
                })?);
            }
        }
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = build(PutRequest::builder().set_item(Some(item.clone())).build());
                    WriteRequest::builder().put_request(put).build()
                })
                .collect();
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}

/// Moves a pool number's usage count by `delta` routes. Taking a number on (`delta > 0`) needs
/// it still `active` (and not flagged, when `refuse_flagged`); giving it back needs only that
/// it exists.
pub(super) fn usage_update(
    table: &str,
    msisdn: &Msisdn,
    delta: i64,
    refuse_flagged: bool,
) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::number(msisdn))))
        .update_expression("ADD active_count :d")
        .expression_attribute_values(":d", n(delta));
    let update = if delta > 0 {
        update
            .condition_expression(if refuse_flagged {
                "#state = :active AND attribute_not_exists(health_flag)"
            } else {
                "#state = :active"
            })
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":active", s("active"))
    } else {
        update.condition_expression("attribute_exists(pk)")
    };
    tx_update(update)
}

/// How many routes of `c` use each proxy number (a number may serve both participants).
pub(super) fn usage(c: &Conversation) -> Vec<(Msisdn, i64)> {
    let mut counts: Vec<(Msisdn, i64)> = Vec::with_capacity(2);
    for p in &c.participants {
        match counts.iter_mut().find(|(m, _)| *m == p.proxy_number) {
            Some((_, k)) => *k += 1,
            None => counts.push((p.proxy_number.clone(), 1)),
        }
    }
    counts
}
