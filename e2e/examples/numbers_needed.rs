//! Numbers needed: for one participant in K concurrent conversations (each with someone new),
//! the smallest pool with which every creation succeeds, with access codes off and on. Each
//! pool size is tried on a fresh table of the local DynamoDB-API server, through the
//! conversations API; run by `scripts/numbers-needed`, which starts the server.
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a report, not a service

use serde_json::json;
use shared::config::ConversationConfig;
use shared::vonage::VonageClient;
use testkit::requests::call;
use testkit::{add_pool, fresh_store, mock_config, vonage_mock};

/// Whether `k` conversations of one participant all get created over `pool` numbers.
async fn fits(k: usize, pool: usize, codes: bool, vonage: &VonageClient) -> bool {
    let store = fresh_store().await;
    let numbers: Vec<String> = (0..pool)
        .map(|i| format!("4477009{:05}", 100 + i))
        .collect();
    add_pool(
        &store,
        &numbers.iter().map(String::as_str).collect::<Vec<_>>(),
        "GB",
    )
    .await;
    let mut conversations = ConversationConfig::from_source(&|_: &str| None).unwrap();
    conversations.access_codes = codes.then_some(4);
    let api = conversations::Deps {
        store,
        vonage: vonage.clone(),
        conversations,
        application_id: None,
        calls: None::<conversations::calls::Calls>,
    };
    for i in 0..k {
        let body = json!({"participants": [
            {"number": "447700900004"}, {"number": format!("4477008{i:05}")}
        ]});
        let (status, _) = call(&api, "POST", "/conversations", Some(body)).await;
        if status != 201 {
            return false;
        }
    }
    true
}

#[tokio::main]
async fn main() {
    let mock = vonage_mock().await;
    let vonage = VonageClient::new(&mock_config(&mock)).unwrap();
    println!("| K concurrent conversations | pool needed, codes off | pool needed, codes on |");
    println!("| --- | --- | --- |");
    for k in [1, 5, 30] {
        let mut needed = [0; 2];
        for (slot, codes) in [false, true].into_iter().enumerate() {
            let mut pool = 1;
            while !fits(k, pool, codes, &vonage).await {
                pool += 1;
            }
            needed[slot] = pool;
        }
        println!("| {k} | {} | {} |", needed[0], needed[1]);
    }
}
