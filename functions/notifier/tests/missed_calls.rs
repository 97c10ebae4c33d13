//! The notifier's half of a missed call, on fakes in memory: a notice written by the event
//! webhook texts the callee once, from the number they would call back on, naming the caller
//! by label and never by number; a redelivered record, or one that only counts an attempt,
//! texts no one again; an outage is retried with the stream; a callee who opted out of texts on
//! that number, or a conversation closed meanwhile, gets nothing and the notice says why.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::MissedCalls;
use std::time::Duration;

use notifier::{Deps, handle};
use shared::config::NotifyConfig;
use shared::model::{
    Conversation, ConversationStatus, MissedCallNotice, Notification, NotificationStatus,
};
use shared::ports::SmsLedger;
use shared::store::missed_call_image;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::{stream_batch, stream_record};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "5d0f1a2b-0000-4000-8000-000000000002";

/// The rider (A) and the driver (B) on ride-42, and a notice that the rider's call `CON-1` was
/// missed by the driver, as the event webhook writes it.
async fn missed() -> (
    Conversation,
    MissedCallNotice,
    Deps<MemoryStore, FakeVonage>,
) {
    let now = shared::now();
    let mut c = testkit::conversation(ID, (A, PA), (B, PB), now, now + 3600);
    c.participants[0].label = Some("rider".parse().unwrap());
    c.participants[1].label = Some("driver".parse().unwrap());
    c.reference = Some("ride-42".parse().unwrap());
    let notice = MissedCallNotice {
        conversation_id: c.id.clone(),
        caller_index: 0,
        call_id: "CON-1".into(),
        reason: "unanswered".parse().unwrap(),
        at: now,
        notification: Notification::pending(),
    };
    let deps = Deps {
        store: MemoryStore::with([c.clone()]),
        vonage: FakeVonage::default(),
        notify: NotifyConfig::from_source(&|_: &str| None).unwrap(),
        pause: Duration::ZERO,
    };
    assert!(
        deps.store
            .claim_missed_call(&notice, now + 600)
            .await
            .unwrap()
    );
    (c, notice, deps)
}

fn written(notice: &MissedCallNotice, old: Option<&MissedCallNotice>) -> shared::stream::Batch {
    stream_batch(vec![stream_record(
        7,
        old.map(|o| missed_call_image(o, 0).unwrap()),
        Some(missed_call_image(notice, notice.at + 600).unwrap()),
    )])
}

fn stored(deps: &Deps<MemoryStore, FakeVonage>) -> Notification {
    deps.store
        .missed_call_now(&ID.parse().unwrap(), 0)
        .unwrap()
        .notification
}

#[tokio::test]
async fn the_callee_is_texted_once_from_the_number_they_call_back_on() {
    let (_, notice, deps) = missed().await;
    let (response, report) = handle(&deps, written(&notice, None)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.notified, 1);
    let sent = deps.vonage.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].from.as_str(), sent[0].to.as_str()),
        (PB, B),
        "from the driver's own proxy number, which reaches the rider"
    );
    assert_eq!(
        sent[0].text,
        format!("Your rider tried to call you. Call back on +{PB}.")
    );
    assert!(
        !sent[0].text.contains(A),
        "the caller's number stays hidden"
    );
    assert_eq!(stored(&deps).status, NotificationStatus::Sent);

    // The same record again, and the record of an attempt counted on a pending notice (the
    // same call): nobody is texted again.
    let (_, report) = handle(&deps, written(&notice, None)).await;
    assert_eq!(report.notified, 1);
    let (_, report) = handle(&deps, written(&notice, Some(&notice))).await;
    assert_eq!(report.notified, 0);
    assert_eq!(deps.vonage.sent().len(), 1);

    // A later call's notice over this one, after the quiet interval, texts again.
    let mut later = notice.clone();
    later.call_id = "CON-2".into();
    later.at += 600;
    assert!(
        deps.store
            .claim_missed_call(&later, later.at + 600)
            .await
            .unwrap()
    );
    let (_, report) = handle(&deps, written(&later, Some(&notice))).await;
    assert_eq!(report.notified, 1);
    assert_eq!(deps.vonage.sent().len(), 2);
}

#[tokio::test]
async fn the_template_names_the_caller_the_reference_and_the_number() {
    let (_, notice, mut deps) = missed().await;
    deps.notify.missed_call_template =
        "Your {caller} called about {reference}. Ring {proxy} back.".into();
    handle(&deps, written(&notice, None)).await;
    assert_eq!(
        deps.vonage.sent()[0].text,
        format!("Your rider called about ride-42. Ring +{PB} back.")
    );
}

#[tokio::test]
async fn an_outage_is_retried_with_the_stream_and_a_refusal_fails_at_once() {
    let (_, notice, deps) = missed().await;
    deps.vonage.fail("sms", true);
    let (response, report) = handle(&deps, written(&notice, None)).await;
    assert_eq!((response.batch_item_failures.len(), report.retried), (1, 1));
    assert_eq!(
        (stored(&deps).status, stored(&deps).attempts),
        (NotificationStatus::Pending, 1)
    );
    deps.vonage.fail("sms", false);
    let (response, _) = handle(&deps, written(&notice, None)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stored(&deps).status, NotificationStatus::Sent);

    let (_, notice, deps) = missed().await;
    deps.vonage.refuse("sms", true);
    let (response, _) = handle(&deps, written(&notice, None)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stored(&deps).status, NotificationStatus::Failed);
}

#[tokio::test]
async fn a_callee_who_opted_out_or_a_closed_conversation_gets_no_text() {
    let (_, notice, deps) = missed().await;
    let (callee, proxy) = (
        shared::phone::Msisdn::from_digits(B).unwrap(),
        shared::phone::Msisdn::from_digits(PB).unwrap(),
    );
    deps.store.opt_out(&callee, &proxy, 0).await.unwrap();
    let (response, _) = handle(&deps, written(&notice, None)).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(deps.vonage.sent().is_empty(), "STOP is respected");
    let n = stored(&deps);
    assert_eq!(n.status, NotificationStatus::Failed);
    assert_eq!(n.reason.as_deref(), Some("opted_out"));

    let (mut c, notice, deps) = missed().await;
    c.status = ConversationStatus::Closed;
    let deps = Deps {
        store: MemoryStore::with([c]),
        ..deps
    };
    deps.store
        .claim_missed_call(&notice, notice.at + 600)
        .await
        .unwrap();
    handle(&deps, written(&notice, None)).await;
    assert!(deps.vonage.sent().is_empty());
    assert_eq!(stored(&deps).status, NotificationStatus::Failed);
}

#[tokio::test]
async fn the_stream_batch_in_events_texts_the_callee_of_its_missed_call() {
    let batch = testkit::stream_file("notifier-missed-call.json");
    let Ok(Some(shared::model::Change::MissedCall {
        old: None,
        new: Some(notice),
    })) = shared::stream::change_of(&batch.records[0])
    else {
        panic!("the file holds a new missed-call notice");
    };
    let now = shared::now();
    let c = testkit::conversation(
        notice.conversation_id.as_str(),
        (A, PA),
        (B, PB),
        now,
        now + 3600,
    );
    let deps = Deps {
        store: MemoryStore::with([c]),
        vonage: FakeVonage::default(),
        notify: NotifyConfig::from_source(&|_: &str| None).unwrap(),
        pause: Duration::ZERO,
    };
    deps.store
        .claim_missed_call(&notice, notice.at + 600)
        .await
        .unwrap();
    let (response, report) = handle(&deps, batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.notified, 1);
    let sent = deps.vonage.sent();
    assert_eq!((sent.len(), sent[0].to.as_str()), (1, B));
}
