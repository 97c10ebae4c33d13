//! Every key in the table, in one place.

use crate::phone::Msisdn;
use crate::values::{CallStatus, ConversationId, Reference};

pub fn conversation(id: &ConversationId) -> (String, String) {
    (format!("CONV#{id}"), "CONV".into())
}
pub fn member(id: &ConversationId, index: usize) -> (String, String) {
    (format!("CONV#{id}"), format!("MEMBER#{index}"))
}
pub fn route(proxy: &Msisdn, caller: &Msisdn) -> (String, String) {
    (
        format!("ROUTE#{}#{}", proxy.as_str(), caller.as_str()),
        "ROUTE".into(),
    )
}
/// An access code on a proxy number: the way a caller who types it is routed.
pub fn access_code(proxy: &Msisdn, code: &crate::values::AccessCode) -> (String, String) {
    (
        format!("CODE#{}#{}", proxy.as_str(), code.as_str()),
        "CODE".into(),
    )
}
/// Wrong codes typed by one caller (`caller`: their number, or a withheld caller's own call)
/// on a proxy number.
pub fn code_failures(proxy: &Msisdn, caller: &str) -> (String, String) {
    (
        format!("CODEFAIL#{}#{caller}", proxy.as_str()),
        "CODEFAIL".into(),
    )
}
/// The access-code guesses spent on a proxy number on one day (days since the epoch, UTC).
pub fn code_guesses(proxy: &Msisdn, day: i64) -> (String, String) {
    (
        format!("CODEGUESS#{}", proxy.as_str()),
        format!("DAY#{day}"),
    )
}
pub fn number(msisdn: &Msisdn) -> (String, String) {
    (format!("NUMBER#{}", msisdn.as_str()), "NUMBER".into())
}
pub fn reference(reference: &Reference) -> (String, String) {
    (format!("REF#{reference}"), "REF".into())
}
pub fn call_ref(call_id: &str) -> (String, String) {
    (format!("CALLREF#{call_id}"), "CALLREF".into())
}
pub fn call_event(
    id: &ConversationId,
    call_id: &str,
    leg: &str,
    status: &CallStatus,
) -> (String, String) {
    (
        format!("CONV#{id}"),
        format!("CALL#{call_id}#{leg}#{status}"),
    )
}
/// A recording of a call in its conversation's log.
pub fn recording(id: &ConversationId, call_id: &str, recording_id: &str) -> (String, String) {
    (
        format!("CONV#{id}"),
        format!("REC#{call_id}#{recording_id}"),
    )
}
/// The latest missed-call notice for one caller of a conversation.
pub fn missed_call(id: &ConversationId, caller_index: u8) -> (String, String) {
    (
        format!("CONV#{id}"),
        format!("MISSED#{}", caller_index.min(1)),
    )
}
pub fn participant(number: &Msisdn) -> String {
    format!("PART#{}", number.as_str())
}
pub fn freed(proxy: &Msisdn, participant: &Msisdn) -> (String, String) {
    (
        format!("FREED#{}#{}", proxy.as_str(), participant.as_str()),
        "FREED".into(),
    )
}
/// One record per creation that found no number in `country`, at `at_ms`.
pub fn exhaustion(country: &crate::values::Country, at_ms: i64, id: &str) -> (String, String) {
    (
        format!("EXHAUSTED#{country}"),
        format!("EXHAUSTED#{at_ms:015}#{id}"),
    )
}
/// One record per call or text a hook decided (`key`: the call's id or the message id).
pub fn hook_decision(channel: crate::model::Channel, key: &str) -> (String, String) {
    let channel = match channel {
        crate::model::Channel::Voice => "VOICE",
        crate::model::Channel::Sms => "SMS",
    };
    (format!("HOOK#{channel}#{key}"), "HOOK".into())
}
pub fn insight(number: &Msisdn) -> (String, String) {
    (format!("INSIGHT#{}", number.as_str()), "INSIGHT".into())
}
pub fn pending(msisdn: &Msisdn) -> (String, String) {
    (format!("PENDING#{}", msisdn.as_str()), "PENDING".into())
}
pub fn lease(name: &str) -> (String, String) {
    (format!("LEASE#{name}"), "LEASE".into())
}
/// An inbound message id, once handled.
pub fn message_claim(message_id: &str) -> (String, String) {
    (format!("SMSID#{message_id}"), "SMSID".into())
}
fn message_parts(sender: &Msisdn, reference: &str) -> String {
    format!("SMSPARTS#{}#{reference}", sender.as_str())
}
/// One part of a concatenated message.
pub fn message_part(sender: &Msisdn, reference: &str, part: u32) -> (String, String) {
    (message_parts(sender, reference), format!("PART#{part:03}"))
}
/// The claim on relaying a concatenated message whole.
pub fn message_whole(sender: &Msisdn, reference: &str) -> (String, String) {
    (message_parts(sender, reference), "DONE".into())
}
/// A relayed message in its conversation's log.
pub fn message(conversation_id: &ConversationId, at: i64, message_id: &str) -> (String, String) {
    (
        format!("CONV#{conversation_id}"),
        format!("SMS#{at:012}#{message_id}"),
    )
}
/// What became of a text the product sent, by Vonage's id of it.
pub fn text(message_id: &str) -> (String, String) {
    (format!("TEXT#{message_id}"), "TEXT".into())
}
pub fn opt_out(participant: &Msisdn, proxy: &Msisdn) -> (String, String) {
    (
        format!("OPTOUT#{}#{}", participant.as_str(), proxy.as_str()),
        "OPTOUT".into(),
    )
}
pub const POOL: &str = "POOL";
pub const PENDING: &str = "PENDING";
pub const CONVERSATIONS: &str = "CONVS";
/// The collection of open conversations' access codes, for the pool's sharing figures.
pub const CODES: &str = "CODES";

// ---- the indexes' keys ---------------------------------------------------------------------

/// The expiry index's partition an open conversation is in.
pub fn expiry_partition(shard: u32) -> String {
    format!("EXP#{shard}")
}
/// The expiry index's sort key: due time first, so a query reads only what is past it.
pub fn expiry_sort_key(expires_at: i64, id: &ConversationId) -> String {
    format!("{expires_at:012}#{id}")
}
/// The shard of the expiry index a conversation goes to.
pub fn expiry_shard(id: &ConversationId) -> u32 {
    // FNV-1a: stable across releases, unlike std's hasher.
    let hash = id.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % super::EXPIRY_SHARDS
}
/// The collection index's sort key of a conversation: newest last.
pub fn created_sort_key(c: &crate::model::Conversation) -> String {
    format!("{:012}#{}", c.created_at, c.id)
}
/// The participant index's sort keys: a participant's conversations, routes, codes and freed
/// pairs, each kind under its own prefix (`FREED#` sorts just before `ROUTE#`, so one query
/// between them reads what they hold and what they gave back).
pub const PARTICIPANT_CONVERSATIONS: &str = "CONV#";
pub const PARTICIPANT_FREED: &str = "FREED#";
pub const PARTICIPANT_ROUTES: &str = "ROUTE#";
/// Just past every `ROUTE#…` sort key.
pub const PARTICIPANT_ROUTES_END: &str = "ROUTE$";
pub fn participant_conversation(c: &crate::model::Conversation) -> String {
    format!("{PARTICIPANT_CONVERSATIONS}{}", created_sort_key(c))
}
pub fn participant_route(proxy: &Msisdn) -> String {
    format!("{PARTICIPANT_ROUTES}{}", proxy.as_str())
}
pub fn participant_code(proxy: &Msisdn) -> String {
    format!("{PARTICIPANT_ROUTES}{}#CODE", proxy.as_str())
}
pub fn participant_freed(proxy: &Msisdn) -> String {
    format!("{PARTICIPANT_FREED}{}", proxy.as_str())
}
/// The conversation whose partition key `pk` is (`CONV#…`), if it is one.
pub fn conversation_of(pk: &str) -> Option<ConversationId> {
    pk.strip_prefix("CONV#")?.parse().ok()
}

// ---- number health -----------------------------------------------------------------------------

/// The partition of a proxy number's daily health tallies.
pub fn health(msisdn: &Msisdn) -> String {
    format!("HEALTH#{}", msisdn.as_str())
}
/// The partition of the whole pool's daily health tallies.
pub const HEALTH_POOL: &str = "HEALTH#POOL";
/// The `expiry` index partition of the members given proxy number `proxy`.
pub fn proxy_conversations(proxy: &Msisdn) -> String {
    format!("PROXY#{}", proxy.as_str())
}
/// A supervisor's reveal of a participant's number, in its conversation's partition.
pub fn reveal(id: &ConversationId, at_ms: i64, index: u8) -> (String, String) {
    (format!("CONV#{id}"), format!("{REVEAL}{at_ms:015}#{index}"))
}
pub const REVEAL: &str = "REVEAL#";
/// The console overview's counts of one day (days since the epoch, UTC).
pub fn day_stats(day: i64) -> (String, String) {
    ("STATS".into(), format!("DAY#{day:06}"))
}
/// The record that a stream record's change was counted into the day's counts.
pub fn counted_change(change_id: &str) -> (String, String) {
    (format!("COUNTED#{change_id}"), "COUNTED".into())
}
/// One day's tally in a health partition (days since the epoch, UTC).
pub fn health_day(day: i64) -> String {
    format!("DAY#{day:06}")
}
/// The record that a callee's leg was counted (and whether answered), so it counts once.
pub fn health_call(call_id: &str, leg: &str) -> (String, String) {
    (format!("HEALTHCALL#{call_id}#{leg}"), "HEALTHCALL".into())
}
