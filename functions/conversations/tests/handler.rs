//! The conversations API on the in-memory store and Vonage: no server needed. The same paths
//! against the real local DynamoDB-API server and the Vonage stand-in are in `api.rs`,
//! `pool_policy.rs`, `concurrency.rs` and `faults.rs`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use conversations::{Deps, handle};
use serde_json::json;
use shared::config::ConversationConfig;
use shared::model::{ConversationStatus, NumberState};
use shared::vonage::{Insight, NumberOffer};
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::{call, json, read, request};

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

fn app(store: MemoryStore, settings: &[(&str, &str)]) -> Deps<MemoryStore, FakeVonage> {
    let settings: std::collections::HashMap<String, String> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Deps {
        store,
        vonage: FakeVonage::default(),
        conversations: ConversationConfig::from_source(&move |k: &str| settings.get(k).cloned())
            .unwrap(),
        application_id: Some("aaaaaaaa-bbbb-cccc-dddd-0123456789ab".into()),
        calls: None,
    }
}

fn pair() -> serde_json::Value {
    json!({"participants": [{"number": A, "label": "rider"}, {"number": B, "label": "driver"}]})
}

#[tokio::test]
async fn create_read_and_close() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, read_back) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    assert_eq!((status, &read_back["status"]), (200, &json!("active")));

    let (status, closed) = call(&deps, "DELETE", &format!("/conversations/{id}"), None).await;
    assert_eq!((status, &closed["status"]), (200, &json!("closed")));
    assert_eq!(
        deps.store.conversation_now(&id).unwrap().status,
        ConversationStatus::Closed
    );
    for n in [PA, PB] {
        assert_eq!(deps.store.number_now(n).unwrap().active_count, 0);
    }
    // Closing again answers it as it is.
    assert_eq!(
        call(&deps, "DELETE", &format!("/conversations/{id}"), None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_reference_answers_the_same_conversation() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let mut body = pair();
    body["reference"] = json!("ride-42");
    let (first, a) = call(&deps, "POST", "/conversations", Some(body.clone())).await;
    let (second, b) = call(&deps, "POST", "/conversations", Some(body)).await;
    assert_eq!((first, second), (201, 200));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(deps.store.conversations_now().len(), 1);
}

#[tokio::test]
async fn refusals_write_nothing() {
    let deps = app(MemoryStore::default(), &[]);
    let (status, problem) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!((status, &problem["code"]), (409, &json!("pool_exhausted")));

    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.vonage.insight(
        B,
        Insight::NotValid {
            status: "3".into(),
            message: "Invalid request".into(),
        },
    );
    let (status, problem) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(
        (status, &problem["code"]),
        (422, &json!("number_not_valid"))
    );

    let (status, problem) = call(
        &deps,
        "POST",
        "/conversations",
        Some(json!({"participants": [{"number": A}, {"number": A}]})),
    )
    .await;
    assert_eq!(
        (status, &problem["code"]),
        (400, &json!("same_participant"))
    );

    let (status, problem) = call(
        &deps,
        "POST",
        "/conversations",
        Some(json!({"participants": [{"number": A}, {"number": PA}]})),
    )
    .await;
    assert_eq!((status, &problem["code"]), (400, &json!("invalid_number")));
    assert!(deps.store.conversations_now().is_empty());
    assert!(deps.vonage.sent().is_empty());
}

#[tokio::test]
async fn a_number_check_that_cannot_answer_never_fails_a_creation() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.vonage.fail("insight", true);
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201, "{created}");
    for p in created["participants"].as_array().unwrap() {
        assert_eq!(p["checked"], json!("local"), "{created}");
        assert_eq!(p["country"], json!("GB"));
    }
    // A local answer is not kept: the next creation asks Vonage again, and says so.
    deps.vonage.fail("insight", false);
    let close = format!("/conversations/{}", created["id"].as_str().unwrap());
    assert_eq!(call(&deps, "DELETE", &close, None).await.0, 200);
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201, "{created}");
    for p in created["participants"].as_array().unwrap() {
        assert_eq!(p["checked"], json!("vonage"), "{created}");
    }
    let lookups = deps
        .vonage
        .requests()
        .iter()
        .filter(|r| **r == "insight")
        .count();
    assert_eq!(lookups, 4);
}

#[tokio::test]
async fn a_store_outage_is_a_503_and_writes_nothing() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.store.fail(true);
    let response = handle(&deps, json("POST", "/conversations", Some(pair()))).await;
    assert_eq!(response.headers()["retry-after"], "1");
    let (status, problem) = read(response);
    assert_eq!(
        (status, &problem["code"]),
        (503, &json!("store_unavailable"))
    );
    deps.store.fail(false);
    assert!(deps.store.conversations_now().is_empty());
}

#[tokio::test]
async fn creation_sends_no_sms_and_answers_the_notifications_pending() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.vonage.fail("sms", true);
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201);
    for p in created["participants"].as_array().unwrap() {
        assert_eq!(p["notified"], json!("pending"), "{created}");
    }
    assert_eq!(deps.store.conversations_now().len(), 1);
    assert!(
        !deps.vonage.requests().contains(&"sms"),
        "the notifier sends them"
    );
}

#[tokio::test]
async fn an_empty_pool_rents_with_auto_rent_and_links_the_number() {
    let offer = |msisdn: &str| NumberOffer {
        country: "GB".parse().unwrap(),
        msisdn: msisdn.into(),
        number_type: Some("mobile-lvn".into()),
        features: vec!["VOICE".into(), "SMS".into()],
        ..NumberOffer::default()
    };
    let deps = app(
        MemoryStore::default(),
        &[("AUTO_RENT", "true"), ("AUTO_RENT_MAX_PER_COUNTRY", "1")],
    );
    deps.vonage.offer([offer(PA), offer(PB)]);
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201, "{created}");
    // One number serves both participants: one was rented, linked and added.
    let number = deps.store.number_now(PA).unwrap();
    assert_eq!(number.state, NumberState::Active);
    assert_eq!(
        deps.vonage.linked()[PA],
        "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
    );
    assert!(deps.store.number_now(PB).is_none());
    assert!(
        !deps.store.lease_held("rent-GB"),
        "the renting lease is given back"
    );

    // The rider needs a second number for a second counterpart; at its ceiling, the pool does
    // not grow.
    let (status, problem) = call(
        &deps,
        "POST",
        "/conversations",
        Some(json!({"participants": [{"number": A}, {"number": "447700900004"}]})),
    )
    .await;
    assert_eq!((status, &problem["code"]), (409, &json!("pool_exhausted")));
    assert!(
        problem["detail"].as_str().unwrap().contains("ceiling"),
        "{problem}"
    );
}

#[tokio::test]
async fn the_list_filters_and_pages() {
    let deps = app(MemoryStore::with_pool(&[PA, PB, "447700900103"], "GB"), &[]);
    for other in ["447700900003", "447700900004", "447700900005"] {
        let body = json!({"participants": [{"number": A}, {"number": other}]});
        assert_eq!(
            call(&deps, "POST", "/conversations", Some(body)).await.0,
            201
        );
    }
    let (status, page) = call(
        &deps,
        "GET",
        &format!("/conversations?participant={A}&limit=2"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["conversations"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = call(
        &deps,
        "GET",
        &format!("/conversations?participant={A}&limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(rest["conversations"].as_array().unwrap().len(), 1);
    let (status, problem) = call(&deps, "GET", "/conversations?status=nope", None).await;
    assert_eq!((status, &problem["code"]), (400, &json!("invalid_request")));
}

fn lookups(deps: &Deps<MemoryStore, FakeVonage>) -> usize {
    deps.vonage
        .requests()
        .iter()
        .filter(|r| **r == "insight")
        .count()
}

#[tokio::test]
async fn a_returning_participant_costs_no_number_insight_lookup() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let (status, first) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201);
    assert_eq!(lookups(&deps), 2);
    let id = first["id"].as_str().unwrap();
    call(&deps, "DELETE", &format!("/conversations/{id}"), None).await;

    // Both again, typed another way: the kept answers stand in for the lookups.
    let again =
        json!({"participants": [{"number": "+44 7700 900001"}, {"number": "+44 7700-900002"}]});
    let (status, second) = call(&deps, "POST", "/conversations", Some(again)).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(lookups(&deps), 2, "no new lookup");
    assert_eq!(second["participants"][0]["country"], "GB");
    assert_eq!(second["participants"][1]["number"], B);
}

#[tokio::test]
async fn only_answers_of_a_written_conversation_are_kept() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.vonage.insight(
        B,
        Insight::NotValid {
            status: "3".into(),
            message: "Invalid request".into(),
        },
    );
    for _ in 0..2 {
        let (status, problem) = call(&deps, "POST", "/conversations", Some(pair())).await;
        assert_eq!(
            (status, &problem["code"]),
            (422, &json!("number_not_valid"))
        );
    }
    // Answers are kept only with a conversation written: a refused creation keeps nothing.
    assert_eq!(lookups(&deps), 4);
    deps.vonage.insight(
        B,
        Insight::Valid {
            international: shared::phone::Msisdn::from_digits(B).unwrap(),
            country: "GB".parse().unwrap(),
            facts: Default::default(),
        },
    );
    let (status, _) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201);
    assert_eq!(lookups(&deps), 6);
}

#[tokio::test]
async fn with_keeping_off_every_creation_looks_both_numbers_up() {
    let deps = app(
        MemoryStore::with_pool(&[PA, PB], "GB"),
        &[("INSIGHT_CACHE_DAYS", "0")],
    );
    for expected in [2, 4] {
        let (status, c) = call(&deps, "POST", "/conversations", Some(pair())).await;
        assert_eq!(status, 201);
        call(
            &deps,
            "DELETE",
            &format!("/conversations/{}", c["id"].as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(lookups(&deps), expected);
    }
}

#[tokio::test]
async fn a_creation_that_finds_no_number_is_recorded_for_the_pool_exhausted_event() {
    // Participant 0 holds the only number already; a conversation with someone else needs another.
    let deps = app(MemoryStore::with_pool(&[PA], "GB"), &[]);
    let (status, _) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201);
    let other = json!({"participants": [{"number": "447700900003"}, {"number": A}]});
    let (status, problem) = call(&deps, "POST", "/conversations", Some(other)).await;
    assert_eq!((status, &problem["code"]), (409, &json!("pool_exhausted")));
    let recorded = deps.store.exhaustions_now();
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].country.as_str(), recorded[0].index), ("GB", 1));
    assert_eq!(deps.store.conversations_now().len(), 1);
}

#[tokio::test]
async fn a_closed_conversation_reopens_when_both_pairs_are_free() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let (_, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    let id = created["id"].as_str().unwrap().to_owned();
    call(&deps, "DELETE", &format!("/conversations/{id}"), None).await;

    let reopen = format!("/conversations/{id}/reopen");
    let (status, reopened) = call(&deps, "POST", &reopen, Some(json!({"ttl_seconds": 600}))).await;
    assert_eq!(
        (status, &reopened["status"]),
        (200, &json!("active")),
        "{reopened}"
    );
    assert_eq!(
        reopened["participants"][0]["proxy_number"], created["participants"][0]["proxy_number"],
        "the same numbers, so nobody needs telling"
    );
    let stored = deps.store.conversation_now(&id).unwrap();
    assert_eq!(stored.expires_at - shared::now(), 600);
    assert_eq!(stored.closed_at, None);
    for n in [PA, PB] {
        assert_eq!(deps.store.number_now(n).unwrap().active_count, 1);
    }
    // Open already: answered as it is. Unknown ids and bad lifetimes are refused.
    let (status, again) = call(&deps, "POST", &reopen, None).await;
    assert_eq!(
        (status, &again["expires_at"]),
        (200, &reopened["expires_at"])
    );
    let unknown = "/conversations/3f2504e0-4f89-41d3-9a0c-0305e82c3301/reopen";
    assert_eq!(call(&deps, "POST", unknown, None).await.0, 404);
    let (status, problem) = call(&deps, "POST", &reopen, Some(json!({"ttl_seconds": 1}))).await;
    assert_eq!((status, &problem["code"]), (400, &json!("invalid_request")));
    // Malformed bodies and other media types are refused, and change nothing.
    let malformed = [
        (
            request("POST", &reopen, Some("application/json"), "{"),
            400,
            "invalid_json",
        ),
        (
            request("POST", &reopen, Some("application/json"), r#"{"ttl":600}"#),
            400,
            "invalid_request",
        ),
        (
            request("POST", &reopen, Some("text/plain"), "600"),
            415,
            "unsupported_media_type",
        ),
    ];
    for (req, status, code) in malformed {
        let (got, problem) = read(handle(&deps, req).await);
        assert_eq!(
            (got, problem["code"].as_str().unwrap()),
            (status, code),
            "{problem}"
        );
    }
    assert_eq!(
        deps.store.conversation_now(&id).unwrap().expires_at,
        stored.expires_at
    );
}

#[tokio::test]
async fn a_reopen_whose_pair_is_taken_meanwhile_is_a_conflict_that_names_it() {
    // One number: both participants are on it, in every conversation of theirs.
    let deps = app(MemoryStore::with_pool(&[PA], "GB"), &[]);
    let (_, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    let id = created["id"].as_str().unwrap().to_owned();
    call(&deps, "DELETE", &format!("/conversations/{id}"), None).await;
    // The same two people start a new conversation: it takes both pairs again.
    let (status, _) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201);

    let (status, problem) = call(&deps, "POST", &format!("/conversations/{id}/reopen"), None).await;
    assert_eq!(
        (status, &problem["code"]),
        (409, &json!("conflict")),
        "{problem}"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("participants[0]") && detail.contains("pair is taken"),
        "{detail}"
    );
    assert_eq!(
        deps.store.conversation_now(&id).unwrap().status,
        ConversationStatus::Closed,
        "nothing changed"
    );
}

#[tokio::test]
async fn call_settings_and_languages_are_kept_shown_and_checked() {
    let deps = app(
        MemoryStore::with_pool(&[PA, PB], "GB"),
        &[("WHISPER_TEXT", "Your {caller} is calling.")],
    );
    // Left out: the configured defaults, and each participant's country's language.
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["call"],
        json!({"announcement": "Connecting your call.", "whisper": "Your {caller} is calling.", "missed_call": "message"})
    );
    let deps = app(
        MemoryStore::with_pool(&[PA, PB], "GB"),
        &[("MISSED_CALL", "none")],
    );
    let (_, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(created["call"]["missed_call"], "none", "{created}");
    assert_eq!(created["participants"][0]["language"], "en-GB");

    // Asked for: kept, shown by GET, and on each route for the answer webhook.
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let mut body = pair();
    body["participants"][1]["language"] = json!("es-MX");
    body["call"] =
        json!({"announcement": "Calling your {callee}.", "whisper": "", "missed_call": "none"});
    let (status, created) = call(&deps, "POST", "/conversations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, read_back) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    assert_eq!(
        read_back["call"],
        json!({"announcement": "Calling your {callee}.", "missed_call": "none"})
    );
    assert_eq!(read_back["participants"][1]["language"], "es-MX");
    let stored = deps.store.conversation_now(id).unwrap();
    let [to_driver, to_rider] = stored.routes();
    assert_eq!(
        to_driver.announcement.as_deref(),
        Some("Calling your driver.")
    );
    assert_eq!(
        to_rider.announcement.as_deref(),
        Some("Calling your rider.")
    );
    assert_eq!(to_rider.language.unwrap().as_str(), "es-MX");
    assert!(!to_driver.whisper, "an empty whisper is none");
    assert!(!to_rider.missed_call.follows_up());

    let mut body = pair();
    body["call"] = json!({"whisper_accept": true, "record": true, "missed_call": "voicemail"});
    let (status, created) = call(&deps, "POST", "/conversations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["call"],
        json!({"announcement": "Connecting your call.", "whisper_accept": true, "record": true, "missed_call": "voicemail"})
    );
    let stored = deps
        .store
        .conversation_now(created["id"].as_str().unwrap())
        .unwrap();
    let [to_driver, _] = stored.routes();
    assert!(
        to_driver.record && to_driver.whisper,
        "the callee is told when they pick up"
    );

    // Refused, with nothing written.
    let before = deps.store.conversations_now().len();
    for (edit, says) in [
        (
            json!({"call": {"announcement": "Hello {caller}"}}),
            "call.announcement may use {callee} but not {caller}",
        ),
        (
            json!({"call": {"whisper": "About {order}"}}),
            "call.whisper may use {caller} and {reference} but not {order}",
        ),
        (
            json!({"call": {"whisper": "x".repeat(1501)}}),
            "call.whisper has at most 1500 characters",
        ),
        (
            json!({"language": "xx-XX"}),
            "participants[0].language must be a language the NCCO schema lists",
        ),
    ] {
        let mut body = pair();
        if let Some(language) = edit.get("language") {
            body["participants"][0]["language"] = language.clone();
        } else {
            body["call"] = edit["call"].clone();
        }
        let (status, problem) = call(&deps, "POST", "/conversations", Some(body)).await;
        assert_eq!(
            (status, &problem["code"]),
            (400, &json!("invalid_request")),
            "{problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    for (refused, says) in [
        (json!({"recorded": true}), "unknown field"),
        (json!({"missed_call": "later"}), "unknown variant"),
        (
            json!({"missed_call": "voicemail"}),
            "call.missed_call voicemail records the caller's message: it needs call.record true",
        ),
    ] {
        let mut body = pair();
        body["call"] = refused;
        let (status, problem) = call(&deps, "POST", "/conversations", Some(body)).await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    assert_eq!(deps.store.conversations_now().len(), before);
}

#[tokio::test]
async fn the_call_log_shows_why_a_call_was_missed_and_its_recordings() {
    use shared::model::{CallEvent, CallRecording, Direction, RecordingKind};
    use shared::ports::CallLog;
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let (_, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    let id: shared::values::ConversationId = created["id"].as_str().unwrap().parse().unwrap();
    for (status, at_ms) in [
        ("started", 1_000),
        ("ringing", 2_000),
        ("unanswered", 30_000),
    ] {
        let event = CallEvent {
            call_id: "CON-1".into(),
            leg: "out".into(),
            direction: Some(Direction::Outbound),
            shown_number: None,
            status: status.parse().unwrap(),
            at_ms,
            caller_index: 0,
            duration: None,
            rate: None,
            price: None,
            detail: None,
            routed_by: Default::default(),
            initiated_by: Default::default(),
        };
        deps.store.record_event(&id, &event, 0).await.unwrap();
    }
    let voicemail = CallRecording {
        call_id: "CON-1".into(),
        recording_id: "rec-1".into(),
        kind: RecordingKind::Voicemail,
        key: format!("recordings/{id}/CON-1/rec-1.mp3"),
        size: Some(2048),
        started_at: Some("2026-12-03T10:00:31Z".into()),
        ended_at: Some("2026-12-03T10:00:50Z".into()),
        stored_at: 1,
    };
    deps.store.keep_recording(&id, &voicemail, 0).await.unwrap();
    let (status, read) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    assert_eq!(status, 200);
    let logged = &read["calls"][0];
    assert_eq!(
        logged["missed"],
        json!({"reason": "unanswered", "rang": true})
    );
    assert_eq!(
        logged["recordings"],
        json!([{"recording_id": "rec-1", "kind": "voicemail", "size": 2048,
                "started_at": "2026-12-03T10:00:31Z", "ended_at": "2026-12-03T10:00:50Z"}])
    );
    assert!(
        !logged.to_string().contains("recordings/"),
        "the bucket's keys stay inside"
    );
}

#[tokio::test]
async fn a_landline_is_accepted_for_calls_and_shown_taking_no_texts() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.vonage.insight(
        B,
        Insight::Valid {
            international: shared::phone::Msisdn::from_digits(B).unwrap(),
            country: "GB".parse().unwrap(),
            facts: shared::model::NumberFacts {
                line: Some(shared::model::LineType::Landline),
                time_zone: Some("Europe/London".into()),
                location: Some("London".into()),
            },
        },
    );
    let (status, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(status, 201, "{created}");
    let [a, b] = [&created["participants"][0], &created["participants"][1]];
    assert_eq!((&a["sms"], &b["sms"]), (&json!(true), &json!(false)));
    assert_eq!(b["line"], json!("landline"));
    assert_eq!(b["time_zone"], json!("Europe/London"));
    assert_eq!(b["checked"], json!("vonage"));
    // Where the number was assigned is kept for later (area matching), not shown.
    assert!(b.get("location").is_none(), "{created}");
    let stored = deps
        .store
        .conversation_now(created["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        stored.participants[1].facts.location.as_deref(),
        Some("London")
    );
}

#[tokio::test]
async fn a_definite_not_valid_from_identity_insights_is_a_422_that_writes_nothing() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    deps.vonage.insight(
        A,
        Insight::NotValid {
            status: "INVALID_NUMBER_FORMAT".into(),
            message: "Invalid number format".into(),
        },
    );
    let (status, problem) = call(&deps, "POST", "/conversations", Some(pair())).await;
    assert_eq!(
        (status, &problem["code"]),
        (422, &json!("number_not_valid"))
    );
    assert!(deps.store.conversations_now().is_empty());
}

#[tokio::test]
async fn a_conversation_shows_how_far_each_notification_got_and_claims_no_delivery_without_a_receipt()
 {
    use shared::model::{DeliveryState, Notification, NotificationStatus, TextKind, TextOwner};
    use shared::ports::{Notifications, TextLedger};
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let (_, created) = call(&deps, "POST", "/conversations", Some(pair())).await;
    let id: shared::values::ConversationId = created["id"].as_str().unwrap().parse().unwrap();
    for (index, message_id) in [(0, "m-a"), (1, "m-b")] {
        let sent = Notification {
            status: NotificationStatus::Sent,
            attempts: 0,
            reason: None,
            message_id: Some(message_id.into()),
        };
        assert!(
            deps.store
                .finish_notification(&id, index, &sent)
                .await
                .unwrap()
        );
        let owner = TextOwner {
            conversation_id: id.clone(),
            reference: None,
            kind: TextKind::Notification {
                index: index as u8,
                label: None,
            },
        };
        deps.store
            .note_sent(message_id, &owner, i64::MAX)
            .await
            .unwrap();
    }
    deps.store
        .note_status("m-a", DeliveryState::Delivered, None, None, 0)
        .await
        .unwrap();
    let (status, shown) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    assert_eq!(status, 200);
    let [a, b] = [&shown["participants"][0], &shown["participants"][1]];
    assert_eq!(
        (&a["notified"], &a["delivery"]),
        (&json!("sent"), &json!("delivered"))
    );
    assert_eq!(
        (&b["notified"], &b["delivery"]),
        (&json!("sent"), &json!("submitted"))
    );
    deps.store
        .note_status(
            "m-b",
            DeliveryState::Failed,
            Some("undeliverable"),
            Some("6"),
            0,
        )
        .await
        .unwrap();
    let (_, shown) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    let b = &shown["participants"][1];
    assert_eq!(
        (&b["delivery"], &b["delivery_failure"]),
        (&json!("failed"), &json!("undeliverable"))
    );
}

#[tokio::test]
async fn quiet_hours_and_time_zones_are_kept_shown_and_checked() {
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    // The number check tells the rider's time zone; the driver's is given, over the check's.
    for (number, zone) in [(A, "Asia/Tokyo"), (B, "Europe/London")] {
        deps.vonage.insight(
            number,
            Insight::Valid {
                international: shared::phone::Msisdn::from_digits(number).unwrap(),
                country: "GB".parse().unwrap(),
                facts: shared::model::NumberFacts {
                    time_zone: Some(zone.into()),
                    ..Default::default()
                },
            },
        );
    }
    let mut body = pair();
    body["participants"][0]["quiet_hours"] = json!({"start": "22:00", "end": "07:00"});
    body["participants"][1]["time_zone"] = json!("America/Los_Angeles");
    body["participants"][1]["quiet_hours"] = json!({"start": "21:30", "end": "06:45"});
    let (status, created) = call(&deps, "POST", "/conversations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (_, read_back) = call(&deps, "GET", &format!("/conversations/{id}"), None).await;
    for shown in [&created, &read_back] {
        let [rider, driver] = [&shown["participants"][0], &shown["participants"][1]];
        assert_eq!(rider["time_zone"], "Asia/Tokyo", "{shown}");
        assert_eq!(
            rider["quiet_hours"],
            json!({"start": "22:00", "end": "07:00"})
        );
        assert_eq!(driver["time_zone"], "America/Los_Angeles", "{shown}");
        assert_eq!(
            driver["quiet_hours"],
            json!({"start": "21:30", "end": "06:45"})
        );
    }
    // Each route carries its callee's window, on the callee's clock, for the answer webhook.
    let stored = deps.store.conversation_now(id).unwrap();
    let [to_driver, to_rider] = stored.routes();
    let window = |r: &shared::model::Route| {
        let q = r.callee_quiet.clone().unwrap();
        (
            q.hours.start.as_str().to_owned(),
            q.hours.end.as_str().to_owned(),
            q.time_zone.as_str().to_owned(),
        )
    };
    assert_eq!(
        window(&to_driver),
        ("21:30".into(), "06:45".into(), "America/Los_Angeles".into())
    );
    assert_eq!(
        window(&to_rider),
        ("22:00".into(), "07:00".into(), "Asia/Tokyo".into())
    );

    // Refused, with nothing written.
    let before = deps.store.conversations_now().len();
    for (participant, says) in [
        (
            json!({"quiet_hours": {"start": "22:00", "end": "22:00"}}),
            "participants[0].quiet_hours.start and end must differ",
        ),
        (
            json!({"quiet_hours": {"start": "24:00", "end": "07:00"}}),
            "participants[0].quiet_hours.start must be a time of day as HH:MM",
        ),
        (
            json!({"quiet_hours": {"start": "22:00", "end": "7:00"}}),
            "participants[0].quiet_hours.end must be a time of day as HH:MM",
        ),
        (
            json!({"time_zone": "Mars/Olympus_Mons"}),
            "participants[0].time_zone must be a tz database time zone name",
        ),
        (
            json!({"quiet_hours": {"start": "22:00"}}),
            "missing field `end`",
        ),
    ] {
        let mut body = pair();
        for (k, v) in participant.as_object().unwrap() {
            body["participants"][0][k] = v.clone();
        }
        let (status, problem) = call(&deps, "POST", "/conversations", Some(body)).await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    assert_eq!(deps.store.conversations_now().len(), before);
    // Quiet hours with no time zone known: the check told none, and none was given.
    let deps = app(MemoryStore::with_pool(&[PA, PB], "GB"), &[]);
    let mut body = pair();
    body["participants"][1]["quiet_hours"] = json!({"start": "22:00", "end": "07:00"});
    let (status, problem) = call(&deps, "POST", "/conversations", Some(body.clone())).await;
    assert_eq!(
        (status, &problem["code"]),
        (400, &json!("invalid_request")),
        "{problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("participants[1].quiet_hours need a time zone"),
        "{problem}"
    );
    assert_eq!(deps.store.conversations_now().len(), 0);
    // Given, they are enough.
    body["participants"][1]["time_zone"] = json!("Europe/Madrid");
    let (status, created) = call(&deps, "POST", "/conversations", Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["participants"][1]["time_zone"], "Europe/Madrid");
}
