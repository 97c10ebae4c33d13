//! Number health, end to end on one local store: calls reported to the event webhook as Vonage
//! reports them, the change stream handed to the `health` function and to the publisher as
//! Lambda would hand it. Callees stop answering one proxy number: it is flagged
//! (`number.flagged`), the bus's rule hands that event to the `replace` function, which rents one
//! number in its country once (the Numbers API's Prism mock), creation skips it while the
//! conversation that holds it keeps it, `GET /numbers` shows its health, and an operator's clear
//! brings it back (`number.cleared`).
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::json;
use shared::stream::Record as EventRecord;
use shared::stream::local::StreamReader;
use shared::vonage::VonageClient;
use testkit::requests::call;
use testkit::{assert_event, fresh_store, mock_config, stream_batch, vonage_mock};

mod common;

const POOL: [&str; 4] = [
    "447700900101",
    "447700900102",
    "447700900103",
    "447700900104",
];

/// The callee's leg of a call as Vonage reports it: from the number their phone shows, to them.
fn callee_leg(shown: &str, callee: &str, leg: &str, status: &str) -> serde_json::Value {
    json!({
        "from": shown, "to": callee, "uuid": leg, "conversation_uuid": format!("CON-{leg}"),
        "direction": "outbound", "status": status, "timestamp": shared::rfc3339(shared::now()),
    })
}

/// Every record the stream has for `reader` now.
async fn drain(reader: &mut StreamReader) -> Vec<EventRecord> {
    let mut all = Vec::new();
    loop {
        let records = reader.next(1000).await.unwrap();
        if records.is_empty() {
            return all;
        }
        all.extend(records);
    }
}

#[tokio::test]
async fn a_number_callees_stop_answering_is_flagged_skipped_and_cleared() {
    let store = fresh_store().await;
    let vonage = vonage_mock().await;
    let client = VonageClient::new(&mock_config(&vonage)).unwrap();
    let common::Stack {
        numbers,
        api,
        calls,
        ..
    } = common::Stack::new(&store, &client, 86_400);
    let health = health::Deps {
        store: store.clone(),
    };
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut reader = StreamReader::open(&config, store.client(), store.table())
        .await
        .unwrap();

    for n in POOL {
        let (status, _) = call(&numbers, "POST", "/numbers", Some(json!({"msisdn": n}))).await;
        assert_eq!(status, 201);
    }
    // Two conversations: four people, each on their own proxy number.
    let mut people: Vec<(String, String)> = Vec::new();
    let mut held = String::new();
    for (a, b) in [
        ("447700900001", "447700900002"),
        ("447700900003", "447700900004"),
    ] {
        let body = json!({"participants": [{"number": a}, {"number": b}]});
        let (status, created) = call(&api, "POST", "/conversations", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        if held.is_empty() {
            held = created["id"].as_str().unwrap().to_owned();
        }
        for p in created["participants"].as_array().unwrap() {
            people.push((
                p["number"].as_str().unwrap().to_owned(),
                p["proxy_number"].as_str().unwrap().to_owned(),
            ));
        }
    }
    // The first participant's callees stop answering their number; the others' answer two in
    // three calls.
    let (labelled_callee, labelled) = people[0].clone();
    let mut n = 0;
    let mut report = |callee: &str, shown: &str, answered: bool| {
        n += 1;
        let status = if answered { "answered" } else { "unanswered" };
        (
            callee_leg(shown, callee, &format!("leg-{n}"), status),
            callee.to_owned(),
        )
    };
    let mut legs = Vec::new();
    for i in 0..120 {
        let (callee, shown) = &people[1 + i % 3];
        legs.push(report(callee, shown, (i / 3) % 3 != 0));
    }
    for i in 0..30 {
        legs.push(report(&labelled_callee, &labelled, i % 10 == 0));
    }
    for (leg, _) in legs {
        let (status, body) = call(&calls, "POST", "/webhooks/event", Some(leg)).await;
        assert!(status == 200 || status == 204, "{status} {body}");
    }

    // The stream reaches the health function: the labelled number, and only it, is flagged.
    let records = drain(&mut reader).await;
    let (response, counted) = health::handle(&health, stream_batch(records.clone())).await;
    assert!(response.batch_item_failures.is_empty(), "{counted:?}");
    assert_eq!((counted.counted, counted.flagged), (150, 1), "{counted:?}");
    // Delivered again, nothing is counted twice.
    let (_, again) = health::handle(&health, stream_batch(records)).await;
    assert_eq!((again.counted, again.flagged), (0, 0), "{again:?}");
    let published = common::publish(&drain(&mut reader).await).await;
    let flagged: Vec<_> = published
        .iter()
        .filter(|e| e.detail_type == "number.flagged")
        .collect();
    assert_eq!(flagged.len(), 1, "{published:?}");
    assert_event(flagged[0], &[]);
    assert_eq!(
        (
            &flagged[0].detail["proxy_number"],
            &flagged[0].detail["calls"],
            &flagged[0].detail["answered"]
        ),
        (&json!(labelled), &json!(30), &json!(3))
    );

    // The bus's rule hands number.flagged to the replacement, as EventBridge shapes it: with
    // auto-rent on, one number is rented in the flagged number's country, once.
    let replace = replace::Deps {
        store: store.clone(),
        vonage: VonageClient::new(&testkit::vonage_config(
            "http://127.0.0.1:9/ni",
            "http://127.0.0.1:9/sms",
            &std::env::var("PRISM_NUMBERS_URL").unwrap(),
        ))
        .unwrap(),
        application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
        auto_rent: Some(shared::config::AutoRent {
            max_per_country: 5,
            features: "SMS,VOICE",
            number_type: None,
        }),
        quarantine_flagged: true,
    };
    let delivered = || -> replace::BusEvent {
        serde_json::from_value(json!({
            "version": "0", "id": "e-1", "detail-type": flagged[0].detail_type,
            "source": shared::domain::events::SOURCE, "account": "123456789012",
            "time": flagged[0].detail["occurred_at"], "region": "us-east-1", "resources": [],
            "detail": flagged[0].detail,
        }))
        .unwrap()
    };
    let rented = replace::handle(&replace, delivered()).await.unwrap();
    // Prism offers the spec's example number, in GB as the pool is.
    assert_eq!(
        rented,
        replace::Outcome::Rented {
            msisdn: "447700900000".into()
        }
    );
    let again = replace::handle(&replace, delivered()).await.unwrap();
    assert!(
        matches!(again, replace::Outcome::Unneeded { .. }),
        "{again:?}"
    );
    let (_, pool) = call(&numbers, "GET", "/numbers", None).await;
    assert_eq!(pool["numbers"].as_array().unwrap().len(), POOL.len() + 1);

    // New conversations get the other numbers; the one that holds it keeps it.
    for i in 0..3 {
        let body = json!({"participants": [{"number": format!("4477009010{:02}", 2 * i)}, {"number": format!("4477009010{:02}", 2 * i + 1)}]});
        let (status, created) = call(&api, "POST", "/conversations", Some(body)).await;
        assert_eq!(status, 201, "{created}");
        for p in created["participants"].as_array().unwrap() {
            assert_ne!(p["proxy_number"], json!(labelled), "{created}");
        }
    }
    let (status, kept) = call(&api, "GET", &format!("/conversations/{held}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(kept["participants"][0]["proxy_number"], json!(labelled));
    assert_eq!(kept["status"], "in-progress", "its calls go on");

    // The pool shows each number's health.
    let (status, pool) = call(&numbers, "GET", "/numbers", None).await;
    assert_eq!(status, 200);
    let health_of = |n: &str| {
        pool["numbers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["msisdn"] == n)
            .unwrap()["health"]
            .clone()
    };
    let shown = health_of(&labelled);
    assert_eq!(
        (&shown["calls"], &shown["answered"], &shown["rate"]),
        (&json!(30), &json!(3), &json!(0.1))
    );
    assert!(shown["flagged_at"].is_string(), "{shown}");
    assert_eq!(health_of(&people[1].1)["calls"], 40);
    assert_eq!(health_of(&people[1].1)["flagged_at"], json!(null));

    // An operator clears it: `number.cleared`, and creation may give it again.
    let (status, cleared) = call(
        &numbers,
        "POST",
        &format!("/numbers/{labelled}/health/clear"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["health"]["flagged_at"], json!(null));
    let published = common::publish(&drain(&mut reader).await).await;
    let cleared: Vec<_> = published
        .iter()
        .filter(|e| e.detail_type == "number.cleared")
        .collect();
    assert_eq!(cleared.len(), 1, "{published:?}");
    assert_event(cleared[0], &[]);
    assert_eq!(cleared[0].detail["reason"], "cleared");
}
