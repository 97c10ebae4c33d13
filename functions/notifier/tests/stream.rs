//! The notifier on the table's real change stream (the local AWS stand-in) and the Vonage
//! client against a stand-in: an SMS outage at creation still creates the conversation at once;
//! the texts go out when Vonage is back, from the records the stream delivers again; `notified`
//! ends `sent`, and the changes it wrote mean `participant.notified` events.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Conversations;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use shared::config::{ConversationConfig, NotifyConfig};
use shared::domain::events;
use shared::model::NotificationStatus;
use shared::stream::local::StreamReader;
use shared::stream::{self, Batch};
use shared::vonage::VonageClient;
use testkit::requests::call;
use testkit::{
    add_pool, assert_event, fresh_store, mock_config, sent_sms, stream_batch, vonage_mock,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const GB1: &str = "447700900101";
const GB2: &str = "447700900102";
const RIDER: &str = "447700900001";
const DRIVER: &str = "447700900002";

#[tokio::test]
async fn an_sms_outage_at_creation_is_sent_when_vonage_is_back() {
    let store = fresh_store().await;
    add_pool(&store, &[GB1, GB2], "GB").await;
    let vonage = vonage_mock().await;
    let client = VonageClient::new(&mock_config(&vonage)).unwrap();
    let settings = ConversationConfig::from_source(&|_: &str| None).unwrap();
    let api = conversations::Deps {
        store: store.clone(),
        vonage: client.clone(),
        conversations: settings,
        application_id: None,
        calls: None::<conversations::calls::Calls>,
    };
    let notifier = notifier::Deps {
        store: store.clone(),
        vonage: client,
        notify: NotifyConfig::from_source(&|_: &str| None).unwrap(),
        pause: Duration::ZERO,
    };
    let outage = Outage::default();
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(outage.clone())
        .with_priority(1)
        .mount(&vonage)
        .await;
    outage.0.store(true, Ordering::SeqCst);

    // Creation answers without touching the SMS API.
    let body = json!({"participants": [{"number": RIDER, "label": "rider"}, {"number": DRIVER, "label": "driver"}]});
    let (status, created) = call(&api, "POST", "/conversations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    for p in created["participants"].as_array().unwrap() {
        assert_eq!(p["notified"], "pending");
    }
    let id: shared::values::ConversationId = created["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(vonage_sms_requests(&vonage).await, 0);

    // The stream hands the creation to the notifier while the SMS API is down: the record is
    // reported for retry, and each attempt is counted.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut reader = StreamReader::open(&config, store.client(), store.table())
        .await
        .unwrap();
    let first = reader.next(100).await.unwrap();
    let (response, report) = notifier::handle(&notifier, stream_batch(first.clone())).await;
    assert_eq!(report.retried, 1, "{report:?}");
    let failed_at = response.batch_item_failures[0].item_identifier.clone();
    let insert = first
        .iter()
        .position(|r| r.change.sequence_number == failed_at)
        .unwrap();
    let stored = store.conversation(&id).await.unwrap().unwrap();
    for p in &stored.participants {
        let n = p.notification.as_ref().unwrap();
        assert_eq!((n.status, n.attempts), (NotificationStatus::Pending, 1));
    }
    // Both texts were tried (the client retries a 503 itself before giving up).
    let refused = vonage_sms_requests(&vonage).await;
    assert!(refused >= 2, "{refused}");

    // Vonage is back; the stream delivers again from the failed record.
    outage.0.store(false, Ordering::SeqCst);
    let again: Batch = stream_batch(first[insert..].to_vec());
    let (response, report) = notifier::handle(&notifier, again).await;
    assert!(response.batch_item_failures.is_empty(), "{report:?}");
    let stored = store.conversation(&id).await.unwrap().unwrap();
    for p in &stored.participants {
        assert_eq!(
            p.notification.as_ref().unwrap().status,
            NotificationStatus::Sent
        );
    }
    // Refused during the outage, then one each accepted.
    let sms = sent_sms(&vonage).await;
    assert_eq!(sms.len(), refused + 2);
    let people = created["participants"].as_array().unwrap();
    for (from, to, text) in &sms[refused..] {
        let i = people
            .iter()
            .position(|p| p["number"] == to.as_str())
            .unwrap();
        let (me, other) = (&people[i], &people[1 - i]);
        assert_eq!(from, me["proxy_number"].as_str().unwrap());
        assert!(text.contains(&format!("+{from}")), "{text}");
        assert!(text.contains(other["label"].as_str().unwrap()), "{text}");
        assert!(!text.contains(other["number"].as_str().unwrap()), "{text}");
    }

    // What the notifier wrote comes down the stream as one `participant.notified` per
    // participant, and the API shows it.
    let later = reader.next(100).await.unwrap();
    let mut notified = Vec::new();
    for record in &later {
        if let Some(change) = stream::change_of(record).unwrap() {
            for event in events::derive(&change, &record.event_id, 0) {
                assert_event(&event, &[RIDER, DRIVER]);
                if event.detail_type == "participant.notified" {
                    notified.push(event.detail["index"].as_u64().unwrap());
                }
            }
        }
    }
    notified.sort();
    assert_eq!(notified, [0, 1]);
    let (status, got) = call(&api, "GET", &format!("/conversations/{id}"), None).await;
    assert_eq!(status, 200);
    assert!(
        got["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["notified"] == "sent")
    );
}

/// The SMS API answers `503` while on, and as the stand-in does otherwise.
#[derive(Clone, Default)]
struct Outage(Arc<AtomicBool>);

impl Respond for Outage {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.0.load(Ordering::SeqCst) {
            return ResponseTemplate::new(503);
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "message-count": "1",
            "messages": [{"to": RIDER, "message-id": "0A0000000123ABCD1", "status": "0"}]
        }))
    }
}

async fn vonage_sms_requests(vonage: &wiremock::MockServer) -> usize {
    vonage
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/sms/json")
        .count()
}
