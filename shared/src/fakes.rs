//! In-memory fakes of the ports (`--features local`), for handler tests that need no server.
//! They keep the ports' promises (one record per call, leg and status; in-progress on the first
//! answer; sliding expiry) in the simplest way; the store's own tests check the real thing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::model::{CallEvent, Conversation, ConversationStatus, ExpiryMode, Route};
use crate::phone::Msisdn;
use crate::ports::{CallLog, RouteReader};
use crate::store::{CallRef, StoreError, Unavailable};

type EventKey = (String, String, String, String);

/// A store in memory. `fail(true)` makes every call fail as a store that does not answer does.
#[derive(Default)]
pub struct MemoryStore {
    conversations: Mutex<HashMap<String, Conversation>>,
    call_refs: Mutex<HashMap<String, CallRef>>,
    events: Mutex<BTreeMap<EventKey, CallEvent>>,
    failing: AtomicBool,
    calls: AtomicUsize,
}

impl MemoryStore {
    /// A store holding these conversations (and so their routes).
    pub fn with(conversations: impl IntoIterator<Item = Conversation>) -> Self {
        let store = Self::default();
        store
            .lock_conversations()
            .extend(conversations.into_iter().map(|c| (c.id.clone(), c)));
        store
    }

    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many requests were made of the store.
    pub fn requests(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn events(&self, conversation_id: &str) -> Vec<CallEvent> {
        self.lock_events()
            .iter()
            .filter(|(k, _)| k.0 == conversation_id)
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn conversation_now(&self, id: &str) -> Option<Conversation> {
        self.lock_conversations().get(id).cloned()
    }

    fn request(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                kind: Unavailable::Timeout,
                source: Box::new(aws_sdk_dynamodb::Error::InternalServerError(
                    aws_sdk_dynamodb::types::error::InternalServerError::builder()
                        .message("the in-memory store is set to fail")
                        .build(),
                )),
            });
        }
        Ok(())
    }

    fn lock_conversations(&self) -> std::sync::MutexGuard<'_, HashMap<String, Conversation>> {
        self.conversations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock_events(&self) -> std::sync::MutexGuard<'_, BTreeMap<EventKey, CallEvent>> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl RouteReader for MemoryStore {
    async fn route(&self, proxy: &Msisdn, caller: &Msisdn) -> Result<Option<Route>, StoreError> {
        self.request()?;
        Ok(self
            .lock_conversations()
            .values()
            .filter(|c| c.status != ConversationStatus::Closed)
            .flat_map(|c| c.routes())
            .find(|r| &r.proxy_number == proxy && &r.caller == caller))
    }
}

impl CallLog for MemoryStore {
    async fn conversation(&self, id: &str) -> Result<Option<Conversation>, StoreError> {
        self.request()?;
        Ok(self.conversation_now(id))
    }

    async fn call_ref(&self, call_id: &str) -> Result<Option<CallRef>, StoreError> {
        self.request()?;
        Ok(self
            .call_refs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(call_id)
            .cloned())
    }

    async fn remember_call(&self, call_id: &str, call: &CallRef, _: i64) -> Result<(), StoreError> {
        self.request()?;
        self.call_refs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(call_id.to_owned(), call.clone());
        Ok(())
    }

    async fn record_event(
        &self,
        conversation_id: &str,
        event: &CallEvent,
        _: i64,
    ) -> Result<(), StoreError> {
        self.request()?;
        let key = (
            conversation_id.to_owned(),
            event.call_id.clone(),
            event.leg.clone(),
            event.status.clone(),
        );
        self.lock_events().insert(key, event.clone());
        Ok(())
    }

    async fn note_activity(
        &self,
        c: &Conversation,
        at: i64,
        answered: bool,
    ) -> Result<(), StoreError> {
        self.request()?;
        let mut all = self.lock_conversations();
        let Some(stored) = all.get_mut(&c.id) else {
            return Ok(());
        };
        if stored.status == ConversationStatus::Closed {
            return Ok(());
        }
        stored.last_activity = Some(stored.last_activity.unwrap_or(at).max(at));
        if answered && stored.status == ConversationStatus::Active {
            stored.status = ConversationStatus::InProgress;
        }
        let pushed = at + stored.ttl_seconds;
        if stored.expiry_mode == ExpiryMode::Sliding && pushed >= stored.expires_at + 60 {
            stored.expires_at = pushed;
        }
        Ok(())
    }
}
