//! Every function of the stack on one store and one Vonage client, with the settings' defaults
//! and webhook signatures off, as the scenarios drive them.
#![allow(dead_code, clippy::unwrap_used)] // each scenario uses some of them

use std::sync::{Arc, Mutex};
use std::time::Duration;

use publisher::{Bus, BusError};
use shared::domain::events::Event;
use shared::stream::Record as EventRecord;
use shared::stream::local::StreamReader;
use testkit::stream_batch;

use serde_json::{Value, json};
use shared::config::{CallConfig, ConversationConfig, NotifyConfig, SmsConfig};
use shared::domain::Retention;
use shared::runtime::Handler;
use shared::signature::WebhookAuth;
use shared::store::Store;
use shared::vonage::VonageClient;
use testkit::requests::{call, form};

pub struct Stack {
    pub numbers: numbers::Deps,
    pub api: conversations::Deps,
    pub answer: answer::Deps<Store>,
    pub calls: event::Deps,
    pub texts: sms::Deps,
    pub notifier: notifier::Deps,
}

impl Stack {
    /// Call records are kept `retention_seconds` after their conversation's expiry.
    pub fn new(store: &Store, vonage: &VonageClient, retention_seconds: i64) -> Self {
        let none = |_: &str| None;
        Self {
            numbers: numbers::Deps {
                store: store.clone(),
                vonage: vonage.clone(),
                application_id: "app".into(),
            },
            api: conversations::Deps {
                store: store.clone(),
                vonage: vonage.clone(),
                conversations: ConversationConfig::from_source(&none).unwrap(),
                application_id: None,
                calls: None,
            },
            answer: answer::Deps {
                store: store.clone(),
                call: CallConfig::from_source(&none).unwrap(),
                auth: WebhookAuth::Off,
                methods: shared::config::WebhookMethods::Any,
                hooks: answer::CallHooks::off().unwrap(),
                voice: None::<shared::vonage::VoiceClient>,
                codes: None,
            },
            calls: event::Deps {
                store: store.clone(),
                auth: WebhookAuth::Off,
                methods: shared::config::WebhookMethods::Any,
                retention: Retention {
                    seconds: retention_seconds,
                },
                missed: Default::default(),
                timers: None,
            },
            texts: sms::Deps {
                store: store.clone(),
                vonage: vonage.clone(),
                auth: None,
                jwt: shared::signature::WebhookAuth::Off,
                sms: SmsConfig::from_source(&none).unwrap(),
                hooks: Default::default(),
            },
            notifier: notifier::Deps {
                store: store.clone(),
                vonage: vonage.clone(),
                notify: NotifyConfig::from_source(&none).unwrap(),
                pause: Duration::ZERO,
            },
        }
    }
}

impl Stack {
    /// Puts `numbers` in the pool through the API.
    pub async fn add_numbers(&self, numbers: &[&str]) {
        for n in numbers {
            let (status, _) = call(
                &self.numbers,
                "POST",
                "/numbers",
                Some(json!({"msisdn": n})),
            )
            .await;
            assert_eq!(status, 201);
        }
    }

    /// The answer function's NCCO for `req`, as it answers in Lambda: within its budget, or
    /// with its own apology; checked against `ncco-schema.json`.
    pub async fn answered(&self, req: &lambda_http::Request) -> (Value, answer::Outcome) {
        let (ncco, outcome) = tokio::time::timeout(
            answer::DEFAULT_TIMEOUT,
            answer::answer(&self.answer, req, shared::now()),
        )
        .await
        .expect("the call was answered within its budget");
        (checked(&ncco), outcome)
    }

    /// A text from `from` to `to`; the webhook acknowledges it.
    pub async fn text(&self, to: &str, from: &str, id: &str, text: &str) {
        let req = form(
            "/webhooks/inbound-sms",
            &[
                ("msisdn", from),
                ("to", to),
                ("messageId", id),
                ("text", text),
                ("type", "text"),
            ],
        );
        assert_eq!(self.texts.handle(req).await.status(), 200);
    }
}

/// An NCCO as JSON, checked against `ncco-schema.json`.
pub fn checked(ncco: &shared::ncco::Ncco) -> Value {
    let ncco: Value = serde_json::from_str(&ncco.to_json()).unwrap();
    testkit::assert_ncco(&ncco);
    ncco
}

/// The connect action of an NCCO; every one hangs up on a machine that answers, so no caller
/// hears the callee's own greeting.
fn connect_action(ncco: &Value) -> &Value {
    let connect = ncco
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "connect")
        .unwrap_or_else(|| panic!("{ncco} connects nobody"));
    assert_eq!(connect["machineDetection"], "hangup", "{ncco}");
    connect
}

/// The (callee, caller ID) a connect NCCO rings.
pub fn connect(ncco: &Value) -> (String, String) {
    let c = connect_action(ncco);
    (
        c["endpoint"][0]["number"].as_str().unwrap().to_owned(),
        c["from"].as_str().unwrap().to_owned(),
    )
}

/// Where the connected leg's events go.
pub fn event_url(ncco: &Value) -> String {
    connect_action(ncco)["eventUrl"][0]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Keeps what it is given, in order.
#[derive(Default)]
pub struct Recorded(Mutex<Vec<Event>>);

impl Bus for Recorded {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, BusError> {
        self.0.lock().unwrap().extend(events.iter().cloned());
        Ok(vec![true; events.len()])
    }
}

/// Every record of the table's stream so far, from its start.
pub async fn whole_stream(store: &Store) -> Vec<EventRecord> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut reader = StreamReader::open(&config, store.client(), store.table())
        .await
        .unwrap();
    reader.next(1000).await.unwrap()
}

/// Publishes `records` as Lambda would hand them over (batches of 100): the events, in order.
pub async fn publish(records: &[EventRecord]) -> Vec<Event> {
    let deps = publisher::Deps {
        bus: Recorded::default(),
    };
    for chunk in records.chunks(100) {
        let (response, _) = publisher::handle(&deps, stream_batch(chunk.to_vec())).await;
        assert!(response.batch_item_failures.is_empty());
    }
    deps.bus.0.into_inner().unwrap()
}

/// Log output, kept as it is written (a `tracing_subscriber` writer).
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
