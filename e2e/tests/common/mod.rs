//! Every function of the stack on one store and one Vonage client, with the settings' defaults
//! and webhook signatures off, as the scenarios drive them.
#![allow(dead_code, clippy::unwrap_used)] // each scenario uses some of them

use std::time::Duration;

use shared::config::{CallConfig, ConversationConfig, NotifyConfig, SmsConfig};
use shared::domain::Retention;
use shared::signature::WebhookAuth;
use shared::store::Store;
use shared::vonage::VonageClient;

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
            },
            answer: answer::Deps {
                routes: store.clone(),
                call: CallConfig::from_source(&none).unwrap(),
                auth: WebhookAuth::Off,
            },
            calls: event::Deps {
                store: store.clone(),
                auth: WebhookAuth::Off,
                retention: Retention {
                    seconds: retention_seconds,
                },
            },
            texts: sms::Deps {
                store: store.clone(),
                vonage: vonage.clone(),
                auth: None,
                sms: SmsConfig::from_source(&none).unwrap(),
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
