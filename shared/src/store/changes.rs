//! The table's change stream read back as records: what a stream record's old and new images
//! say changed. Only the changes the event catalogue names, and the missed-call notices the
//! notifier sends, are read; every other item (routes, members, claims, leases) is `None`.

use super::*;
use crate::model::{Change, MissedCallNotice, SentText};
use crate::store::sms::MessageItem;

/// What the stream record with these images says changed; `None` for items the catalogue has
/// no event for. An image that does not read as its item shape is an error.
pub fn read_change(
    old: Option<serde_dynamo::Item>,
    new: Option<serde_dynamo::Item>,
) -> Result<Option<Change>, StoreError> {
    let sort_key = |image: &Option<serde_dynamo::Item>| {
        image.as_ref().and_then(|i| match i.get("sk") {
            Some(serde_dynamo::AttributeValue::S(sk)) => Some(sk.clone()),
            _ => None,
        })
    };
    let Some(sk) = sort_key(&new).or_else(|| sort_key(&old)) else {
        return Ok(None);
    };
    let conversation_of = |pk: &str| {
        keys::conversation_of(pk).ok_or_else(|| {
            StoreError::Corrupt(<serde_dynamo::Error as serde::de::Error>::custom(format!(
                "{pk} is not a conversation's key"
            )))
        })
    };
    Ok(match sk.as_str() {
        "CONV" => {
            let read = |i: serde_dynamo::Item| -> Result<Box<Conversation>, StoreError> {
                Ok(Box::new(from_item::<_, ConversationItem>(i)?.conversation))
            };
            Some(Change::Conversation {
                old: old.map(read).transpose()?,
                new: new.map(read).transpose()?,
            })
        }
        "NUMBER" => {
            let read = |i: serde_dynamo::Item| -> Result<PoolNumber, StoreError> {
                Ok(from_item::<_, NumberItem>(i)?.number)
            };
            Some(Change::Number {
                old: old.map(read).transpose()?,
                new: new.map(read).transpose()?,
            })
        }
        sk if sk.starts_with("CALL#") => match (old, new) {
            (None, Some(new)) => {
                let item: CallEventItem = from_item(new)?;
                Some(Change::CallEvent {
                    conversation_id: conversation_of(&item.pk)?,
                    event: item.event,
                })
            }
            _ => None,
        },
        sk if sk.starts_with("MISSED#") => {
            let read = |i: serde_dynamo::Item| -> Result<MissedCallNotice, StoreError> {
                Ok(from_item::<_, super::missed::MissedCallItem>(i)?.notice)
            };
            Some(Change::MissedCall {
                old: old.map(read).transpose()?,
                new: new.map(read).transpose()?,
            })
        }
        sk if sk.starts_with("EXHAUSTED#") => match (old, new) {
            (None, Some(new)) => Some(Change::PoolExhausted(
                from_item::<_, super::pool::ExhaustionItem>(new)?.exhaustion,
            )),
            _ => None,
        },
        "HOOK" => match (old, new) {
            (None, Some(new)) => Some(Change::Hook(
                from_item::<_, super::hooks::HookItem>(new)?.decision,
            )),
            _ => None,
        },
        "TEXT" => {
            // An image of the keys alone is no text yet: the local AWS stand-in reports an
            // `UpdateItem` that creates an item as the keys written, then the rest.
            let read = |i: serde_dynamo::Item| -> Result<Option<SentText>, StoreError> {
                if !i.contains_key("state") {
                    return Ok(None);
                }
                Ok(Some(from_item::<_, super::texts::TextItem>(i)?.text))
            };
            Some(Change::Text {
                old: old.map(read).transpose()?.flatten(),
                new: new.map(read).transpose()?.flatten(),
            })
        }
        sk if sk.starts_with(keys::REVEAL) => match (old, new) {
            (None, Some(new)) => Some(Change::Reveal(
                from_item::<_, super::reveals::RevealItem>(new)?.reveal,
            )),
            _ => None,
        },
        sk if sk.starts_with("SMS#") => match (old, new) {
            (None, Some(new)) => {
                let item: MessageItem = from_item(new)?;
                Some(Change::Message {
                    conversation_id: conversation_of(&item.pk)?,
                    message: item.message,
                })
            }
            _ => None,
        },
        _ => None,
    })
}

/// The image a stream record carries for conversation `c` as the store writes it: what
/// [`read_change`] reads back (for building stream batches in tests and local tools).
pub fn conversation_image(c: &Conversation) -> Result<serde_dynamo::Item, StoreError> {
    Ok(serde_dynamo::Item::from(conversation_item(c)?))
}

/// The image a stream record carries for a missed call's notice as the store writes it.
pub fn missed_call_image(
    notice: &MissedCallNotice,
    quiet_until: i64,
) -> Result<serde_dynamo::Item, StoreError> {
    Ok(serde_dynamo::Item::from(super::missed::missed_call_item(
        notice,
        quiet_until,
    )?))
}

/// The image a stream record carries for a call event kept on conversation `id`, as the store
/// writes it.
pub fn call_event_image(
    id: &ConversationId,
    event: &CallEvent,
    keep_until: i64,
) -> Result<serde_dynamo::Item, StoreError> {
    let (pk, sk) = keys::call_event(id, &event.call_id, &event.leg, &event.status);
    Ok(serde_dynamo::Item::from(to_item::<_, Item>(
        CallEventItem {
            pk,
            sk,
            event: event.clone(),
            ttl: keep_until,
        },
    )?))
}
