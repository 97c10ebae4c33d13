//! Ports: what a handler needs of the store, shaped by its role (and by what its IAM policy
//! grants). `Store` implements them here, so the store itself knows nothing of them; handler
//! tests use the in-memory fake in `testing` instead.

use std::future::Future;

use crate::model::{CallEvent, Conversation, Route};
use crate::phone::Msisdn;
use crate::store::{CallRef, Store, StoreError};

/// Finds the route an inbound call or text takes: (proxy number, caller) → conversation.
pub trait RouteReader: Send + Sync {
    fn route(
        &self,
        proxy: &Msisdn,
        caller: &Msisdn,
    ) -> impl Future<Output = Result<Option<Route>, StoreError>> + Send;
}

/// The call log: which conversation a call belongs to, and the events of its legs.
pub trait CallLog: RouteReader {
    fn conversation(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// The conversation a call was matched to by an earlier event.
    fn call_ref(
        &self,
        call_id: &str,
    ) -> impl Future<Output = Result<Option<CallRef>, StoreError>> + Send;

    /// Remembers a call's conversation until `keep_until`, for its later events.
    fn remember_call(
        &self,
        call_id: &str,
        call: &CallRef,
        keep_until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Keeps one event; the same (call, leg, status) again is the same record.
    fn record_event(
        &self,
        conversation_id: &str,
        event: &CallEvent,
        keep_until: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Notes activity at `at`: in-progress on the first answered call, and a sliding
    /// conversation's expiry moved along.
    fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl RouteReader for Store {
    async fn route(&self, proxy: &Msisdn, caller: &Msisdn) -> Result<Option<Route>, StoreError> {
        self.get_route(proxy, caller).await
    }
}

impl CallLog for Store {
    async fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.get_conversation(id).await
    }

    async fn call_ref(&self, call_id: &str) -> Result<Option<CallRef>, StoreError> {
        self.get_call_ref(call_id).await
    }

    async fn remember_call(
        &self,
        call_id: &str,
        call: &CallRef,
        keep_until: i64,
    ) -> Result<(), StoreError> {
        self.put_call_ref(call_id, call, keep_until).await
    }

    async fn record_event(
        &self,
        conversation_id: &str,
        event: &CallEvent,
        keep_until: i64,
    ) -> Result<(), StoreError> {
        self.record_call_event(conversation_id, event, keep_until)
            .await
    }

    async fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> Result<(), StoreError> {
        Store::note_activity(self, c, at, answered).await
    }
}
