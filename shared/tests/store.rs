//! The store against the local DynamoDB-API server (started by scripts/test).
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::model::{CloseOutcome, CreateConflict, ListFilter, WriteError};
use shared::model::{
    CloseReason, Conversation, ConversationStatus, ExpiryMode, NumberState, Participant, PoolNumber,
};
use shared::phone::Msisdn;
use shared::store::Store;
use testkit::{all_items, fresh_store, template_path};

fn m(d: &str) -> Msisdn {
    Msisdn::from_digits(d).unwrap()
}

async fn pool(store: &Store, numbers: &[(&str, NumberState)]) {
    for (n, state) in numbers {
        let added = store
            .add_number(&PoolNumber::new(m(n), "GB".parse().unwrap(), *state, 1))
            .await
            .unwrap();
        assert!(added);
    }
}

fn conversation(id: &str, a: (&str, &str), b: (&str, &str), expires_at: i64) -> Conversation {
    let p = |(number, proxy): (&str, &str), label: &str| Participant {
        number: m(number),
        label: label.parse().ok(),
        proxy_number: m(proxy),
        country: "GB".parse().unwrap(),
        notification: None,
        language: None,
        code: None,
        shared: false,
        checked: Default::default(),
        facts: Default::default(),
    };
    Conversation {
        id: id.parse().unwrap(),
        status: ConversationStatus::Active,
        created_at: 1_000,
        expires_at,
        reference: format!("ref-{id}").parse().ok(),
        participants: [p(a, "rider"), p(b, "driver")],
        closed_at: None,
        close_reason: None,
        expiry_mode: ExpiryMode::Absolute,
        ttl_seconds: 3600,
        last_activity: None,
        mode: Default::default(),
        intercept: false,
        call: Default::default(),
    }
}

const A: &str = "447700900001";
const B: &str = "447700900002";
const C: &str = "447700900003";
const P1: &str = "447700900101";
const P2: &str = "447700900102";

#[tokio::test]
async fn the_table_matches_the_template() {
    let store = fresh_store().await;
    let spec = shared::table::spec_from_template(&template_path()).unwrap();
    let table = store
        .client()
        .describe_table()
        .table_name(store.table())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let mut indexes: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name().map(str::to_owned))
        .collect();
    indexes.sort();
    let mut expected: Vec<String> = spec
        .global_secondary_indexes
        .iter()
        .map(|g| g.index_name.clone())
        .collect();
    expected.sort();
    assert_eq!(indexes, expected);
    assert_eq!(expected, ["collection", "expiry", "participant"]);
    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|t| t.attribute_name()),
        Some("ttl")
    );
}

/// A write applied by an attempt whose answer was lost, then sent again (without DynamoDB's
/// client-token idempotency): the second is told the conversation is there, and nothing
/// changes.
#[tokio::test]
async fn the_same_conversation_written_again_is_already_written() {
    let store = fresh_store().await;
    pool(
        &store,
        &[(P1, NumberState::Active), (P2, NumberState::Active)],
    )
    .await;
    let c = conversation("c1", (A, P1), (B, P2), i64::MAX / 2);
    store.create_conversation(&c).await.unwrap();
    let before = all_items(&store).await.len();
    let err = store.create_conversation(&c).await.unwrap_err();
    assert!(
        matches!(err, WriteError::Conflict(CreateConflict::AlreadyWritten)),
        "{err:?}"
    );
    assert_eq!(all_items(&store).await.len(), before);
    let counted = store.get_number(&m(P1)).await.unwrap().unwrap();
    assert_eq!(counted.active_count, 1, "counted once");
}

#[tokio::test]
async fn a_conversation_routes_both_ways_with_one_key_each() {
    let store = fresh_store().await;
    pool(
        &store,
        &[(P1, NumberState::Active), (P2, NumberState::Active)],
    )
    .await;
    let mut c = conversation("c1", (A, P1), (B, P2), i64::MAX / 2);
    c.participants[1].language = Some("es-MX".parse().unwrap());
    c.call = shared::model::CallSettings {
        announcement: Some("Calling your {callee}.".into()),
        whisper: Some("Your {caller} about {reference}.".into()),
        missed_call: shared::model::MissedCallMode::Silent,
        record: true,
        whisper_accept: false,
    };
    store.create_conversation(&c).await.unwrap();

    // Each route carries what the answer webhook needs from the call settings, rendered.
    let ab = store.get_route(&m(P1), &m(A)).await.unwrap().unwrap();
    assert_eq!((ab.callee.as_str(), ab.callee_proxy.as_str()), (B, P2));
    assert_eq!(ab.announcement.as_deref(), Some("Calling your driver."));
    assert_eq!((ab.language, ab.whisper), (None, true));
    assert_eq!(ab.missed_call, shared::model::MissedCallMode::Silent);
    assert!(ab.record, "the caller is told the call is recorded");
    let ba = store.get_route(&m(P2), &m(B)).await.unwrap().unwrap();
    assert_eq!((ba.callee.as_str(), ba.callee_proxy.as_str()), (A, P1));
    assert_eq!(ba.announcement.as_deref(), Some("Calling your rider."));
    assert_eq!(ba.language.unwrap().as_str(), "es-MX");
    assert!(
        store.get_route(&m(P2), &m(A)).await.unwrap().is_none(),
        "A must call proxy(A)"
    );
    assert!(store.get_route(&m(P1), &m(C)).await.unwrap().is_none());

    assert_eq!(
        store
            .get_conversation(&"c1".parse().unwrap())
            .await
            .unwrap()
            .unwrap(),
        c
    );
    assert_eq!(
        store
            .find_by_reference(&"ref-c1".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        "c1"
    );
    let counts: Vec<i64> = store
        .list_pool()
        .await
        .unwrap()
        .iter()
        .map(|n| n.active_count)
        .collect();
    assert_eq!(counts, [1, 1]);
    let held = store.holdings(&m(A)).await.unwrap().held;
    assert_eq!(held.into_iter().collect::<Vec<_>>(), [m(P1)]);
}

#[tokio::test]
async fn a_taken_pair_is_refused_and_nothing_is_written() {
    let store = fresh_store().await;
    pool(
        &store,
        &[(P1, NumberState::Active), (P2, NumberState::Active)],
    )
    .await;
    store
        .create_conversation(&conversation("c1", (A, P1), (B, P2), i64::MAX / 2))
        .await
        .unwrap();
    let before = all_items(&store).await.len();

    // A again on P1, with another counterpart: the pair (P1, A) is taken.
    let err = store
        .create_conversation(&conversation("c2", (A, P1), (C, P2), i64::MAX / 2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WriteError::Conflict(CreateConflict::RouteTaken(0))),
        "{err:?}"
    );
    // The same reference is refused too.
    let mut again = conversation("c3", (C, P1), (A, P2), i64::MAX / 2);
    again.reference = "ref-c1".parse().ok();
    let err = store.create_conversation(&again).await.unwrap_err();
    assert!(
        matches!(err, WriteError::Conflict(CreateConflict::ReferenceTaken)),
        "{err:?}"
    );

    assert_eq!(
        all_items(&store).await.len(),
        before,
        "a refused write leaves nothing behind"
    );
    // A on P2 is free: one participant may hold several proxy numbers.
    store
        .create_conversation(&conversation("c4", (A, P2), (C, P1), i64::MAX / 2))
        .await
        .unwrap();
}

#[tokio::test]
async fn reserved_numbers_are_refused_by_the_transaction() {
    let store = fresh_store().await;
    pool(
        &store,
        &[(P1, NumberState::Active), (P2, NumberState::Reserved)],
    )
    .await;
    let err = store
        .create_conversation(&conversation("c1", (A, P1), (B, P2), i64::MAX / 2))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, WriteError::Conflict(CreateConflict::NumberUnavailable(n)) if n.as_str() == P2),
        "{err:?}"
    );
    assert!(
        store
            .get_conversation(&"c1".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn closing_frees_routes_and_counts_once() {
    let store = fresh_store().await;
    pool(&store, &[(P1, NumberState::Active)]).await;
    // Both participants on the same proxy number: two routes, one number used twice.
    let c = conversation("c1", (A, P1), (B, P1), i64::MAX / 2);
    store.create_conversation(&c).await.unwrap();
    assert_eq!(store.list_pool().await.unwrap()[0].active_count, 2);

    let out = store
        .close_conversation(
            &"c1".parse().unwrap(),
            &testkit::closing(CloseReason::Closed, 2_000, 9_000),
        )
        .await
        .unwrap();
    let Some(CloseOutcome::Closed(closed)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert_eq!(closed.close_reason, Some(CloseReason::Closed));
    assert!(store.get_route(&m(P1), &m(A)).await.unwrap().is_none());
    assert!(store.get_route(&m(P1), &m(B)).await.unwrap().is_none());
    assert!(
        store
            .find_by_reference(&"ref-c1".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.list_pool().await.unwrap()[0].active_count, 0);
    assert!(store.holdings(&m(A)).await.unwrap().held.is_empty());

    let again = store
        .close_conversation(
            &"c1".parse().unwrap(),
            &testkit::closing(CloseReason::Expired, 3_000, 9_000),
        )
        .await
        .unwrap();
    assert!(
        matches!(again, Some(CloseOutcome::AlreadyClosed(ref c)) if c.close_reason == Some(CloseReason::Closed))
    );
    assert_eq!(
        store.list_pool().await.unwrap()[0].active_count,
        0,
        "closing twice counts once"
    );
    assert!(
        store
            .close_conversation(
                &"nope".parse().unwrap(),
                &testkit::closing(CloseReason::Closed, 1, 1)
            )
            .await
            .unwrap()
            .is_none()
    );

    // Closed items carry the retention TTL; the freed pairs can be used again.
    let items = all_items(&store).await;
    let with_ttl = items.iter().filter(|i| i.get("ttl").is_some()).count();
    assert_eq!(
        with_ttl, 5,
        "the conversation, both members and both freed pairs carry a TTL"
    );
    store
        .create_conversation(&conversation("c2", (A, P1), (B, P1), i64::MAX / 2))
        .await
        .unwrap();
}

#[tokio::test]
async fn lists_by_status_and_participant_page_by_page() {
    // Pairs are reused across counterparts at once here: no cool-off.
    let store = fresh_store().await;
    pool(
        &store,
        &[(P1, NumberState::Active), (P2, NumberState::Active)],
    )
    .await;
    for (i, (x, y)) in [(A, B), (A, C), (B, C)].iter().enumerate() {
        let mut c = conversation(&format!("c{i}"), (x, P1), (y, P2), i64::MAX / 2);
        c.created_at = 1_000 + i as i64;
        store.create_conversation(&c).await.unwrap();
        store
            .close_conversation(
                &c.id,
                &shared::model::Closing {
                    cool_off_seconds: 0,
                    ..testkit::closing(CloseReason::Closed, c.created_at, 9_000)
                },
            )
            .await
            .unwrap();
    }
    // Open ones, each participant on a distinct proxy number per conversation.
    for (i, (x, px, y, py)) in [(A, P1, B, P2), (A, P2, C, P1), (B, P1, C, P2)]
        .iter()
        .enumerate()
    {
        let mut d = conversation(&format!("d{i}"), (x, px), (y, py), i64::MAX / 2);
        d.created_at = 2_000 + i as i64;
        d.reference = None;
        store.create_conversation(&d).await.unwrap();
    }
    // All, newest first, two at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_conversations(&ListFilter::default(), 2, cursor.as_deref())
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|c| c.id.clone()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["d2", "d1", "d0", "c2", "c1", "c0"]);

    let active = ListFilter {
        status: Some(ConversationStatus::Active),
        participant: None,
    };
    let page = store.list_conversations(&active, 100, None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["d2", "d1", "d0"]
    );

    let of_a = ListFilter {
        status: None,
        participant: Some(m(A)),
    };
    let page = store.list_conversations(&of_a, 100, None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["d1", "d0", "c1", "c0"]
    );
    let closed_of_c = ListFilter {
        status: Some(ConversationStatus::Closed),
        participant: Some(m(C)),
    };
    let page = store
        .list_conversations(&closed_of_c, 100, None)
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["c2", "c1"]
    );

    assert!(
        store
            .list_conversations(&ListFilter::default(), 10, Some("not-a-cursor"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn adding_a_number_twice_keeps_the_first() {
    let store = fresh_store().await;
    pool(&store, &[(P1, NumberState::Active)]).await;
    let again = PoolNumber {
        active_count: 7,
        ..PoolNumber::new(m(P1), "US".parse().unwrap(), NumberState::Reserved, 5)
    };
    assert!(!store.add_number(&again).await.unwrap());
    let n = store.get_number(&m(P1)).await.unwrap().unwrap();
    assert_eq!(
        (n.country.as_str(), n.state, n.active_count),
        ("GB", NumberState::Active, 0)
    );
}

#[tokio::test]
async fn number_check_answers_are_kept_until_their_time() {
    let store = fresh_store().await;
    let typed = Msisdn::from_digits("447700900001").unwrap();
    let gb: shared::values::Country = "GB".parse().unwrap();
    let now = shared::now();
    assert_eq!(store.kept_insight(&typed, now).await.unwrap(), None);
    // What the check told beyond validity is kept with the answer.
    let facts = shared::model::NumberFacts {
        line: Some(shared::model::LineType::Landline),
        time_zone: Some("Europe/London".into()),
        location: Some("London".into()),
    };
    store
        .keep_insight(&typed, &typed, &gb, &facts, now + 60)
        .await
        .unwrap();
    assert_eq!(
        store.kept_insight(&typed, now).await.unwrap(),
        Some((typed.clone(), gb.clone(), facts))
    );
    // Past its time it is not used, even before DynamoDB's TTL removes it.
    assert_eq!(store.kept_insight(&typed, now + 60).await.unwrap(), None);
    let ttl = all_items(&store)
        .await
        .into_iter()
        .find(|i| i["pk"].as_s().unwrap().starts_with("INSIGHT#"))
        .unwrap()["ttl"]
        .as_n()
        .unwrap()
        .parse::<i64>()
        .unwrap();
    assert_eq!(ttl, now + 60, "removed by the table's TTL");
}

/// A store whose pool holds two active numbers.
async fn two_numbers() -> Store {
    let store = fresh_store().await;
    let active = NumberState::Active;
    pool(
        &store,
        &[("447700900101", active), ("447700900102", active)],
    )
    .await;
    store
}

/// A conversation of two people on the two pool numbers (a new id each time), written and
/// closed at `now`: as written, and as closed.
async fn closed_conversation(store: &Store, now: i64) -> (Conversation, Conversation) {
    let mut c = testkit::numbered_conversation(1, ("447700900101", "447700900102"), now + 3600);
    c.id = shared::values::ConversationId::random();
    store.create_conversation(&c).await.unwrap();
    store
        .close_conversation(&c.id, &closed_now(now))
        .await
        .unwrap();
    let closed = store.get_conversation(&c.id).await.unwrap().unwrap();
    (c, closed)
}

fn closed_now(now: i64) -> shared::model::Closing {
    testkit::closing(CloseReason::Closed, now, now + 86_400)
}

#[tokio::test]
async fn reopening_takes_both_pairs_again_or_names_the_one_taken_meanwhile() {
    let store = two_numbers().await;
    let now = shared::now();
    let (c, closed) = closed_conversation(&store, now).await;

    // Both pairs free: open again, with its routes, counts and expiry index entry.
    let open = closed.reopened(now, 600);
    store
        .reopen_conversation(&closed, &open, now)
        .await
        .unwrap();
    assert_eq!(store.get_conversation(&c.id).await.unwrap().unwrap(), open);
    for route in open.routes() {
        let stored = store
            .get_route(&route.proxy_number, &route.caller)
            .await
            .unwrap();
        assert_eq!(stored, Some(route));
    }
    for n in store.list_pool().await.unwrap() {
        assert_eq!(n.active_count, 1);
    }
    let conv_item = all_items(&store)
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().unwrap() == "CONV")
        .unwrap();
    assert!(!conv_item.contains_key("ttl"), "no longer due for removal");
    // The same close read twice cannot reopen twice.
    assert!(matches!(
        store.reopen_conversation(&closed, &open, now).await,
        Err(WriteError::Conflict(CreateConflict::Contention))
    ));

    // Closed again; meanwhile the same two people start another conversation on the same
    // numbers: the reopen is refused, naming the first pair taken, and nothing of it is written.
    store
        .close_conversation(&c.id, &closed_now(now))
        .await
        .unwrap();
    let closed = store.get_conversation(&c.id).await.unwrap().unwrap();
    let mut rival = c.clone();
    rival.id = shared::values::ConversationId::random();
    store.create_conversation(&rival).await.unwrap();
    let before = all_items(&store).await.len();
    let refused = store
        .reopen_conversation(&closed, &closed.reopened(now, 600), now)
        .await;
    assert!(matches!(
        refused,
        Err(WriteError::Conflict(CreateConflict::RouteTaken(0)))
    ));
    assert_eq!(all_items(&store).await.len(), before);
    assert_eq!(
        store.get_conversation(&c.id).await.unwrap().unwrap(),
        closed
    );
}

#[tokio::test]
async fn reopening_racing_a_creation_for_the_same_pairs_lets_one_win() {
    let store = two_numbers().await;
    let now = shared::now();
    for round in 0..10 {
        let (c, closed) = closed_conversation(&store, now).await;
        let mut rival = c.clone();
        rival.id = shared::values::ConversationId::random();
        let open = closed.reopened(now, 600);
        let (reopened, created) = tokio::join!(
            store.reopen_conversation(&closed, &open, now),
            store.create_conversation(&rival),
        );
        assert!(
            reopened.is_ok() != created.is_ok(),
            "round {round}: exactly one holds the pairs ({reopened:?}, {created:?})"
        );
        let winner = if reopened.is_ok() {
            &open.id
        } else {
            &rival.id
        };
        for route in c.routes() {
            let stored = store
                .get_route(&route.proxy_number, &route.caller)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&stored.conversation_id, winner);
        }
        store
            .close_conversation(winner, &closed_now(now))
            .await
            .unwrap();
    }
}

/// The conversation whose close freed a (proxy number, participant) pair is what the
/// out-of-session hook is told the caller last had there: the pair's own participant only, and
/// the one closed latest.
#[tokio::test]
async fn a_callers_last_conversation_is_the_one_that_freed_their_pair() {
    let store = two_numbers().await;
    let now = shared::now();
    let (c, _) = closed_conversation(&store, now).await;
    let [rider, driver] = c.participants.clone();
    let last = store
        .last_conversation(&rider.proxy_number, &rider.number)
        .await
        .unwrap();
    assert_eq!(last.map(|l| l.id), Some(c.id.clone()));
    let last = store
        .last_conversation(&driver.proxy_number, &driver.number)
        .await
        .unwrap();
    assert_eq!(last.map(|l| l.id), Some(c.id.clone()));
    // The rider on the driver's number, or a stranger, had nothing there.
    for (proxy, caller) in [
        (&driver.proxy_number, &rider.number),
        (&rider.proxy_number, &m(C)),
    ] {
        assert_eq!(store.last_conversation(proxy, caller).await.unwrap(), None);
    }
    // The same two again, closed later: that one is the last.
    let (again, _) = closed_conversation(&store, now + 10).await;
    let last = store
        .last_conversation(&rider.proxy_number, &rider.number)
        .await
        .unwrap();
    assert_eq!(last.map(|l| l.id), Some(again.id));
}

/// A missed call's notice is written once per caller and quiet interval, however many events
/// race to write it (the same call delivered again, the caller trying again at once); each
/// caller has their own; once the interval is over, the next call writes a new one, whose SMS
/// outcome only its own call can record.
#[tokio::test]
async fn a_missed_call_notice_is_written_once_per_caller_and_quiet_interval() {
    use shared::model::{MissedCallNotice, Notification, NotificationStatus};
    let store = fresh_store().await;
    let id: shared::values::ConversationId =
        "5d0f1a2b-0000-4000-8000-00000000000a".parse().unwrap();
    let notice = |call: &str, caller_index: u8, at: i64| MissedCallNotice {
        conversation_id: id.clone(),
        caller_index,
        call_id: call.into(),
        reason: "busy".parse().unwrap(),
        at,
        notification: Notification::pending(),
    };
    let racing = futures::future::join_all((0..20).map(|i| {
        let store = store.clone();
        let n = notice(&format!("CON-{}", i % 4), 0, 1_000 + i);
        async move { store.claim_missed_call(&n, n.at + 600).await.unwrap() }
    }))
    .await;
    assert_eq!(racing.iter().filter(|written| **written).count(), 1);
    let first = store.missed_call(&id, 0).await.unwrap().unwrap();

    assert!(
        store
            .claim_missed_call(&notice("CON-9", 1, 1_100), 1_700)
            .await
            .unwrap(),
        "the other caller has their own interval"
    );
    assert!(
        !store
            .claim_missed_call(&notice("CON-5", 0, 1_599), 2_199)
            .await
            .unwrap()
    );
    let later = notice("CON-6", 0, first.at + 600);
    assert!(
        store
            .claim_missed_call(&later, later.at + 600)
            .await
            .unwrap()
    );

    // Only the latest call's SMS can be recorded, once; an attempt is counted while pending.
    let sent = Notification {
        status: NotificationStatus::Sent,
        attempts: 0,
        reason: None,
        message_id: None,
    };
    assert!(!store.finish_missed_call(&first, &sent).await.unwrap());
    assert_eq!(
        store.count_missed_call_attempt(&later).await.unwrap(),
        Some(1)
    );
    assert!(store.finish_missed_call(&later, &sent).await.unwrap());
    assert!(!store.finish_missed_call(&later, &sent).await.unwrap());
    assert_eq!(store.count_missed_call_attempt(&later).await.unwrap(), None);
    let stored = store.missed_call(&id, 0).await.unwrap().unwrap();
    assert_eq!(stored.call_id, "CON-6");
    assert_eq!(stored.notification, sent);
}
