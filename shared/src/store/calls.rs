//! The call log: which conversation a call belongs to, its events, its recordings, and the
//! activity it notes on its conversation.

use super::*;
use crate::model::CallRecording;

#[derive(Serialize, Deserialize)]
struct RecordingItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    recording: CallRecording,
    ttl: i64,
}

impl CallLog for Store {
    async fn call_ref(&self, call_id: &str) -> Result<Option<CallRef>, StoreError> {
        Ok(self
            .get::<CallRefItem>(keys::call_ref(call_id))
            .await?
            .map(|i| i.call))
    }

    /// Remembers which conversation a call belongs to, so its later events find it even after
    /// the conversation's routes are gone.
    async fn remember_call(
        &self,
        call_id: &str,
        call: &CallRef,
        ttl: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::call_ref(call_id);
        self.put(CallRefItem {
            pk,
            sk,
            call: call.clone(),
            ttl,
        })
        .await
    }

    /// Keeps one call-status event. The same event again overwrites itself: one record.
    #[tracing::instrument(skip_all, fields(conversation_id = %conversation_id, status = %event.status))]
    async fn record_event(
        &self,
        conversation_id: &ConversationId,
        event: &CallEvent,
        ttl: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) = keys::call_event(conversation_id, &event.call_id, &event.leg, &event.status);
        self.put(CallEventItem {
            pk,
            sk,
            event: event.clone(),
            ttl,
        })
        .await
    }

    /// Adds a kept recording to its conversation's log, until `ttl` (the conversation's
    /// retention); the same recording again is the same record.
    async fn keep_recording(
        &self,
        conversation_id: &ConversationId,
        recording: &CallRecording,
        ttl: i64,
    ) -> Result<(), StoreError> {
        let (pk, sk) =
            keys::recording(conversation_id, &recording.call_id, &recording.recording_id);
        self.put(RecordingItem {
            pk,
            sk,
            recording: recording.clone(),
            ttl,
        })
        .await
    }

    /// Every recording kept of a conversation's calls.
    async fn recordings(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<CallRecording>, StoreError> {
        let (pk, _) = keys::conversation(conversation_id);
        let items: Vec<RecordingItem> = self.query_prefix(pk, "REC#").await?;
        Ok(items.into_iter().map(|i| i.recording).collect())
    }

    /// Every call event kept on a conversation.
    async fn call_events(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<Vec<CallEvent>, StoreError> {
        let (pk, _) = keys::conversation(conversation_id);
        let events: Vec<CallEventItem> = self.query_prefix(pk, "CALL#").await?;
        Ok(events.into_iter().map(|e| e.event).collect())
    }

    /// Records a call's activity at `at` (unix seconds) on its conversation: `last_activity`
    /// moves forward, the first answered call moves it from `active` to `in-progress`, and a
    /// sliding conversation's expiry moves to `at + ttl_seconds` (never back, and at most once
    /// a minute). Each step is conditional, so repeats and races change nothing twice, and a
    /// closed conversation is never touched.
    async fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::conversation(&c.id))))
            .update_expression("SET last_activity = :at")
            .condition_expression(
                "attribute_exists(pk) AND #status <> :closed AND (attribute_not_exists(last_activity) OR last_activity < :at)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":closed", s("closed"))
            .send()
            .await;
        // A failed condition means "already done" or "no longer applies" here.
        condition_held(out)?;

        if answered && c.status == ConversationStatus::Active {
            let mut items = vec![status_update(
                &self.table,
                keys::conversation(&c.id),
                ConversationStatus::InProgress,
                ConversationStatus::Active,
            )];
            for index in 0..c.participants.len() {
                items.push(status_update(
                    &self.table,
                    keys::member(&c.id, index),
                    ConversationStatus::InProgress,
                    ConversationStatus::Active,
                ));
            }
            let out = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            ignore_cancelled(out)?;
        }

        if let Some(pushed) = c.slid_expiry(at) {
            self.push_expiry(c, pushed).await?;
        }
        Ok(())
    }
}

impl Store {
    /// Moves an open conversation's expiry forward to `pushed`, with its routes and access
    /// codes: `false` when it is closed or already expires at `pushed` or later. Sliding expiry
    /// and an operator's extension both move it here.
    pub(super) async fn push_expiry(
        &self,
        c: &Conversation,
        pushed: i64,
    ) -> Result<bool, StoreError> {
        let conv = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::conversation(&c.id))))
            .update_expression("SET expires_at = :e, gsi1sk = :sk")
            .condition_expression("#status <> :closed AND expires_at < :e")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":e", n(pushed))
            .expression_attribute_values(":sk", s(keys::expiry_sort_key(pushed, &c.id)))
            .expression_attribute_values(":closed", s("closed"));
        let slide = |key_of: (String, String)| {
            tx_update(
                Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(key_of)))
                    .update_expression("SET expires_at = :e")
                    .condition_expression("conversation_id = :id")
                    .expression_attribute_values(":e", n(pushed))
                    .expression_attribute_values(":id", s(c.id.as_str())),
            )
        };
        // The conversation and its access codes slide together; so do its routes, unless
        // one is no longer its own (its participant shares that number now, and their
        // calls there go by code).
        let mut base = vec![tx_update(conv)];
        let mut routes = Vec::new();
        for (route, p) in c.routes().iter().zip(&c.participants) {
            if let Some(code) = &p.code {
                base.push(slide(keys::access_code(&route.proxy_number, code)));
            }
            if !p.shared {
                routes.push(slide(keys::route(&route.proxy_number, &route.caller)));
            }
        }
        let with_routes = !routes.is_empty();
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(base.iter().cloned().chain(routes).collect()))
            .send()
            .await;
        match out {
            Err(e)
                if condition_failed(&e)
                    && with_routes
                    && c.participants.iter().any(|p| p.code.is_some()) =>
            {
                let out = self
                    .client
                    .transact_write_items()
                    .set_transact_items(Some(base))
                    .send()
                    .await;
                applied(out)
            }
            out => applied(out),
        }
    }

    /// Gives a closed conversation's call log the conversation's retention. Best effort: each
    /// event was written with a TTL already, so a failure here only keeps it a little longer.
    pub(super) async fn stamp_call_log(&self, id: &ConversationId, retain_until: i64) {
        let events = match self.call_events(id).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(conversation_id = %id, error = %crate::error::error_chain(&e), "call log retention not updated");
                return;
            }
        };
        for e in events {
            let out = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::call_event(
                    id, &e.call_id, &e.leg, &e.status,
                ))))
                .update_expression("SET #ttl = :ttl")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":ttl", n(retain_until))
                .send()
                .await;
            if let Err(e) = out {
                tracing::warn!(conversation_id = %id, error = %crate::error::error_chain(&e), "call log retention not updated");
                return;
            }
        }
    }
}

pub(super) fn status_update(
    table: &str,
    k: (String, String),
    to: ConversationStatus,
    from: ConversationStatus,
) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(k)))
        .update_expression("SET #status = :to")
        .condition_expression("#status = :from")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", s(to.as_str()))
        .expression_attribute_values(":from", s(from.as_str()));
    tx_update(update)
}
