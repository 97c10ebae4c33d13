//! The notifier on fakes in memory: a new conversation's record texts both participants from
//! their own proxy numbers and records `sent`; a redelivered record texts no one again; an SMS
//! outage is retried with the stream until it goes out, or fails for good after the bounded
//! attempts; a refusal fails at once; every other change is passed over.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use notifier::{Deps, MAX_PAUSE, Report, handle, pause};
use shared::config::NotifyConfig;
use shared::model::{Conversation, ConversationStatus, Notification, NotificationStatus};
use shared::store::conversation_image;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::{numbered_conversation, stream_batch, stream_record};

const PA: &str = "447700900101";
const PB: &str = "447700900102";
const TEMPLATE: &str = "Reach your {other} on {proxy}";
const MISSED: &str = "Your {caller} called about {reference}. Call back on {proxy}.";

/// A new conversation as creation writes it (both notifications pending), and the notifier
/// over a store that holds it.
fn created() -> (Conversation, Deps<MemoryStore, FakeVonage>) {
    let mut c = numbered_conversation(1, (PA, PB), shared::now() + 3600);
    for p in &mut c.participants {
        p.notification = Some(Notification::pending());
    }
    let deps = Deps {
        store: MemoryStore::with([c.clone()]),
        vonage: FakeVonage::default(),
        notify: NotifyConfig {
            template: TEMPLATE.into(),
            missed_call_template: MISSED.into(),
            give_up_after_seconds: 900,
            texts: shared::config::Texts::default(),
            retention: shared::domain::Retention {
                seconds: 30 * 24 * 3600,
            },
        },
        pause: Duration::ZERO,
    };
    (c, deps)
}

fn insert(c: &Conversation) -> shared::stream::Batch {
    stream_batch(vec![stream_record(
        7,
        None,
        Some(conversation_image(c).unwrap()),
    )])
}

fn statuses(deps: &Deps<MemoryStore, FakeVonage>, c: &Conversation) -> Vec<Notification> {
    let stored = deps.store.conversation_now(c.id.as_str()).unwrap();
    stored
        .participants
        .iter()
        .map(|p| p.notification.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn a_new_conversation_texts_each_participant_once_from_their_own_proxy_number() {
    let (c, deps) = created();
    let (response, report) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        report,
        Report {
            records: 1,
            notified: 1,
            retried: 0
        }
    );
    let sent = deps.vonage.sent();
    assert_eq!(sent.len(), 2);
    let to_rider = sent
        .iter()
        .find(|s| s.to == c.participants[0].number.as_str())
        .unwrap();
    assert_eq!(to_rider.from, PA);
    assert_eq!(to_rider.text, format!("Reach your driver on +{PA}"));
    assert_eq!(to_rider.client_ref.as_deref(), Some(c.id.as_str()));
    let to_driver = sent
        .iter()
        .find(|s| s.to == c.participants[1].number.as_str())
        .unwrap();
    assert_eq!(to_driver.from, PB);
    assert!(
        statuses(&deps, &c)
            .iter()
            .all(|n| n.status == NotificationStatus::Sent)
    );

    // The stream delivers the same record again: nobody is texted twice.
    let (response, _) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(deps.vonage.sent().len(), 2);
}

#[tokio::test]
async fn an_sms_outage_is_retried_with_the_stream_until_the_text_goes_out() {
    let (c, deps) = created();
    deps.vonage.fail("sms", true);
    let (response, report) = handle(&deps, insert(&c)).await;
    assert_eq!(report.retried, 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("000000000000000000007")
    );
    let pending = statuses(&deps, &c);
    assert!(
        pending
            .iter()
            .all(|n| n.status == NotificationStatus::Pending && n.attempts == 1)
    );

    deps.vonage.fail("sms", false);
    let (response, report) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.notified, 1);
    assert_eq!(deps.vonage.sent().len(), 2);
    assert!(
        statuses(&deps, &c)
            .iter()
            .all(|n| n.status == NotificationStatus::Sent && n.attempts == 1)
    );
}

#[tokio::test]
async fn an_outage_that_outlasts_the_retry_time_fails_the_notification_with_its_reason() {
    let (c, mut deps) = created();
    deps.notify.give_up_after_seconds = 0;
    deps.vonage.fail("sms", true);
    let (response, report) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty(), "no endless retry");
    assert_eq!(report.notified, 1);
    for n in statuses(&deps, &c) {
        assert_eq!(n.status, NotificationStatus::Failed);
        assert_eq!(n.attempts, 1);
        assert_eq!(n.reason.as_deref(), Some("vonage_error"));
    }
}

#[test]
fn retries_pause_longer_each_time_up_to_a_minute() {
    let base = Duration::from_secs(1);
    let pauses: Vec<u64> = (1..=8).map(|n| pause(base, n).as_secs()).collect();
    assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(pause(base, 0), base);
    assert_eq!(pause(base, u32::MAX), MAX_PAUSE);
}

#[tokio::test]
async fn a_refused_text_fails_at_once_and_one_closed_first_is_not_sent() {
    let (c, deps) = created();
    deps.vonage.refuse("sms", true);
    let (response, _) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty());
    for n in statuses(&deps, &c) {
        assert_eq!(n.status, NotificationStatus::Failed);
        assert_eq!(n.attempts, 0);
        assert_eq!(n.reason.as_deref(), Some("rejected"));
    }

    let (c, deps) = created();
    let mut closed = c.clone();
    closed.status = ConversationStatus::Closed;
    let deps = Deps {
        store: MemoryStore::with([closed]),
        ..deps
    };
    let (response, _) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(deps.vonage.sent().is_empty());
    assert!(
        statuses(&deps, &c)
            .iter()
            .all(|n| n.status == NotificationStatus::Failed)
    );
}

#[tokio::test]
async fn a_store_that_does_not_answer_retries_the_record_and_other_changes_are_passed_over() {
    let (c, deps) = created();
    deps.store.fail(true);
    let (response, report) = handle(&deps, insert(&c)).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(report.retried, 1);
    assert!(deps.vonage.sent().is_empty());
    deps.store.fail(false);

    // A conversation written before notifications were tracked, one closed, and one whose
    // notifications are finished: nothing to send.
    let mut untracked = c.clone();
    for p in &mut untracked.participants {
        p.notification = None;
    }
    let mut closed = c.clone();
    closed.status = ConversationStatus::Closed;
    let batch = stream_batch(vec![
        stream_record(1, None, Some(conversation_image(&untracked).unwrap())),
        stream_record(
            2,
            Some(conversation_image(&c).unwrap()),
            Some(conversation_image(&closed).unwrap()),
        ),
        stream_record(3, Some(conversation_image(&c).unwrap()), None),
    ]);
    let (response, report) = handle(&deps, batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!((report.records, report.notified), (3, 0));
    assert!(deps.vonage.sent().is_empty());
}

#[tokio::test]
async fn the_stream_batch_in_events_notifies_its_conversation() {
    let batch = testkit::stream_file("notifier-stream.json");
    let Ok(Some(shared::model::Change::Conversation { new: Some(c), .. })) =
        shared::stream::change_of(&batch.records[0])
    else {
        panic!("the file holds a new conversation");
    };
    let (_, deps) = created();
    let deps = Deps {
        store: MemoryStore::with([*c.clone()]),
        ..deps
    };
    let (response, report) = handle(&deps, batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(report.notified, 1);
    assert_eq!(deps.vonage.sent().len(), 2);
}

#[tokio::test]
async fn with_access_codes_each_participant_is_told_their_own_code() {
    let (mut c, mut deps) = created();
    c.participants[0].code = shared::values::AccessCode::typed("4821", 4);
    c.participants[1].code = shared::values::AccessCode::typed("0317", 4);
    deps.store = MemoryStore::with([c.clone()]);
    handle(&deps, insert(&c)).await;
    let text_to = |i: usize| {
        deps.vonage
            .sent()
            .into_iter()
            .find(|s| s.to == c.participants[i].number.as_str())
            .unwrap()
            .text
    };
    assert_eq!(
        text_to(0),
        format!("Reach your driver on +{PA} If asked for a code, enter 4821.")
    );
    assert!(text_to(1).ends_with("enter 0317."));

    // A template that places the code itself has it there, once.
    deps.notify.template = "Call {proxy} and enter {code} if asked.".into();
    let (c2, _) = created();
    let mut c2 = Conversation {
        id: "c2".parse().unwrap(),
        ..c2
    };
    c2.participants[0].code = shared::values::AccessCode::typed("4821", 4);
    deps.store = MemoryStore::with([c2.clone()]);
    deps.vonage = FakeVonage::default();
    handle(&deps, insert(&c2)).await;
    let sent = deps.vonage.sent();
    let to_rider = sent
        .iter()
        .find(|s| s.to == c2.participants[0].number.as_str())
        .unwrap();
    assert_eq!(
        to_rider.text,
        format!("Call +{PA} and enter 4821 if asked.")
    );
}

#[tokio::test]
async fn a_landline_is_sent_no_text_and_its_notification_fails_as_not_sms_capable() {
    let (mut c, _) = created();
    c.participants[1].facts.line = Some(shared::model::LineType::Landline);
    let (_, deps) = created();
    let deps = Deps {
        store: MemoryStore::with([c.clone()]),
        ..deps
    };
    let (response, _) = handle(&deps, insert(&c)).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = deps.vonage.sent();
    assert_eq!(sent.len(), 1, "only the mobile is texted");
    assert_eq!(sent[0].to, c.participants[0].number.as_str());
    let [mobile, landline] = <[Notification; 2]>::try_from(statuses(&deps, &c)).unwrap();
    assert_eq!(mobile.status, NotificationStatus::Sent);
    assert_eq!(landline.status, NotificationStatus::Failed);
    assert_eq!(landline.reason.as_deref(), Some("not_sms_capable"));
}

/// Each participant reads their text in their own language where the catalogue has it, with
/// their access code's hint in it too; anyone else reads the default language.
mod languages {
    use super::{PA, PB};
    use std::time::Duration;

    use notifier::{Deps, handle};
    use shared::config::NotifyConfig;
    use shared::model::Notification;
    use shared::store::conversation_image;
    use testkit::fakes::{FakeVonage, MemoryStore};
    use testkit::{numbered_conversation, stream_batch, stream_record};

    #[tokio::test]
    async fn each_participant_is_texted_in_their_own_language() {
        let mut c = numbered_conversation(1, (PA, PB), shared::now() + 3600);
        for (p, (label, language)) in c
            .participants
            .iter_mut()
            .zip([("passageiro", Some("pt-BR")), ("chauffeur", Some("fr-CA"))])
        {
            p.notification = Some(Notification::pending());
            p.label = Some(label.parse().unwrap());
            p.language = language.map(|l| l.parse().unwrap());
        }
        c.participants[0].code = Some("4821".to_owned().try_into().unwrap());
        let deps = Deps {
            store: MemoryStore::with([c.clone()]),
            vonage: FakeVonage::default(),
            notify: NotifyConfig::from_source(&|_: &str| None).unwrap(),
            pause: Duration::ZERO,
        };
        let batch = stream_batch(vec![stream_record(
            7,
            None,
            Some(conversation_image(&c).unwrap()),
        )]);
        let (response, _) = handle(&deps, batch).await;
        assert!(response.batch_item_failures.is_empty());
        let sent = deps.vonage.sent();
        let to = |i: usize| {
            sent.iter()
                .find(|s| s.to == c.participants[i].number.as_str())
                .unwrap()
                .text
                .clone()
        };
        assert_eq!(
            to(0),
            format!(
                "Para falar com chauffeur, ligue para +{PA}. Este número vale apenas para esta conversa. Se for pedido um código, digite 4821."
            )
        );
        assert_eq!(
            to(1),
            format!(
                "Pour joindre votre passageiro, appelez le +{PB}. Ce numéro ne sert que pour cette conversation."
            ),
            "fr-CA reads fr-FR's text"
        );
    }
}
