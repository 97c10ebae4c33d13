//! The store contract: every behaviour the ports promise, run on the real store (the local
//! DynamoDB-API server, with the `services` feature: scripts/test) and on the in-memory one that
//! handler tests use. A behaviour the in-memory store gets wrong fails here, so a handler test
//! cannot pass on something the table does not do.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

/// Runs each behaviour, an `async fn(&impl Inspect)` of the module it is called in, once on
/// each store.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&testkit::fakes::MemoryStore::default()).await;
                }
            )*
        }

        #[cfg(feature = "services")]
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&testkit::fresh_store().await).await;
                }
            )*
        }
    };
}

/// Conversations written whole under rule 2, closed, reopened and listed; routes, the pool count, the number check kept, the last conversation of a pair, missed-call notices.
mod conversations {
    use shared::model::{CloseOutcome, CreateConflict, ListFilter, WriteError};
    use shared::model::{CloseReason, Conversation, ConversationStatus, NumberState, PoolNumber};
    use shared::phone::Msisdn;
    use testkit::Inspect;

    fn m(d: &str) -> Msisdn {
        Msisdn::from_digits(d).unwrap()
    }

    async fn pool(store: &impl Inspect, numbers: &[(&str, NumberState)]) {
        for (n, state) in numbers {
            let added = store
                .add_number(&PoolNumber::new(m(n), "GB".parse().unwrap(), *state, 1))
                .await
                .unwrap();
            assert!(added);
        }
    }

    /// A rider and a driver, each on a proxy number, with a reference of the conversation's own.
    fn conversation(id: &str, a: (&str, &str), b: (&str, &str), expires_at: i64) -> Conversation {
        let mut c = testkit::conversation(id, a, b, 1_000, expires_at);
        c.reference = format!("ref-{id}").parse().ok();
        c.participants[0].label = "rider".parse().ok();
        c.participants[1].label = "driver".parse().ok();
        c.ttl_seconds = 3600;
        c
    }

    const A: &str = "447700900001";

    const B: &str = "447700900002";

    const C: &str = "447700900003";

    const P1: &str = "447700900101";

    const P2: &str = "447700900102";

    /// A write applied by an attempt whose answer was lost, then sent again (without DynamoDB's
    /// client-token idempotency): the second is told the conversation is there, and nothing
    /// changes.
    async fn the_same_conversation_written_again_is_already_written<S: Inspect>(store: &S) {
        pool(
            store,
            &[(P1, NumberState::Active), (P2, NumberState::Active)],
        )
        .await;
        let c = conversation("c1", (A, P1), (B, P2), i64::MAX / 2);
        store.create_conversation(&c).await.unwrap();
        let before = store.footprint().await;
        let err = store.create_conversation(&c).await.unwrap_err();
        assert!(
            matches!(err, WriteError::Conflict(CreateConflict::AlreadyWritten)),
            "{err:?}"
        );
        assert_eq!(store.footprint().await, before);
        let counted = store.get_number(&m(P1)).await.unwrap().unwrap();
        assert_eq!(counted.active_count, 1, "counted once");
    }

    async fn a_conversation_routes_both_ways_with_one_key_each<S: Inspect>(store: &S) {
        pool(
            store,
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
            ..Default::default()
        };
        store.create_conversation(&c).await.unwrap();

        // Each route carries what the answer webhook needs from the call settings, rendered.
        let ab = store.route(&m(P1), &m(A)).await.unwrap().unwrap();
        assert_eq!((ab.callee.as_str(), ab.callee_proxy.as_str()), (B, P2));
        assert_eq!(ab.announcement.as_deref(), Some("Calling your driver."));
        assert_eq!((ab.language, ab.whisper), (None, true));
        assert_eq!(ab.missed_call, shared::model::MissedCallMode::Silent);
        assert!(ab.record, "the caller is told the call is recorded");
        let ba = store.route(&m(P2), &m(B)).await.unwrap().unwrap();
        assert_eq!((ba.callee.as_str(), ba.callee_proxy.as_str()), (A, P1));
        assert_eq!(ba.announcement.as_deref(), Some("Calling your rider."));
        assert_eq!(ba.language.unwrap().as_str(), "es-MX");
        assert!(
            store.route(&m(P2), &m(A)).await.unwrap().is_none(),
            "A must call proxy(A)"
        );
        assert!(store.route(&m(P1), &m(C)).await.unwrap().is_none());

        assert_eq!(
            store
                .conversation(&"c1".parse().unwrap())
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

    async fn a_taken_pair_is_refused_and_nothing_is_written<S: Inspect>(store: &S) {
        pool(
            store,
            &[(P1, NumberState::Active), (P2, NumberState::Active)],
        )
        .await;
        store
            .create_conversation(&conversation("c1", (A, P1), (B, P2), i64::MAX / 2))
            .await
            .unwrap();
        let before = store.footprint().await;

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
            store.footprint().await,
            before,
            "a refused write leaves nothing behind"
        );
        // A on P2 is free: one participant may hold several proxy numbers.
        store
            .create_conversation(&conversation("c4", (A, P2), (C, P1), i64::MAX / 2))
            .await
            .unwrap();
    }

    async fn reserved_numbers_are_refused_by_the_transaction<S: Inspect>(store: &S) {
        pool(
            store,
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
                .conversation(&"c1".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }

    /// With `QUARANTINE_FLAGGED`, a number flagged between the pick and the write is refused as
    /// a retired one is (the creation picks again); without it, and for a number not flagged,
    /// the same write goes through.
    async fn flagged_numbers_are_refused_by_the_transaction_when_quarantined<S: Inspect>(
        store: &S,
    ) {
        use shared::model::{HealthFlag, Tally};
        pool(
            store,
            &[(P1, NumberState::Active), (P2, NumberState::Active)],
        )
        .await;
        let flag = HealthFlag {
            at: 1_000,
            number: Tally {
                answered: 3,
                calls: 40,
            },
            rest: Tally {
                answered: 650,
                calls: 1_000,
            },
        };
        assert!(store.flag_number(&m(P2), &flag).await.unwrap());
        let err = store
            .create_conversation_with(&conversation("c1", (A, P1), (B, P2), i64::MAX / 2), true)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, WriteError::Conflict(CreateConflict::NumberUnavailable(n)) if n.as_str() == P2),
            "{err:?}"
        );
        assert!(
            store
                .conversation(&"c1".parse().unwrap())
                .await
                .unwrap()
                .is_none()
        );
        let counts: Vec<i64> = store
            .list_pool()
            .await
            .unwrap()
            .iter()
            .map(|n| n.active_count)
            .collect();
        assert_eq!(counts, [0, 0], "a refused write leaves nothing behind");
        // An unflagged number is given when quarantined.
        store
            .create_conversation_with(&conversation("c2", (A, P1), (B, P1), i64::MAX / 2), true)
            .await
            .unwrap();
        // Not quarantined: the flagged number is given.
        store
            .create_conversation_with(&conversation("c3", (C, P2), (A, P2), i64::MAX / 2), false)
            .await
            .unwrap();
        let p2 = store.get_number(&m(P2)).await.unwrap().unwrap();
        assert_eq!(p2.active_count, 2);
    }

    async fn closing_frees_routes_and_counts_once<S: Inspect>(store: &S) {
        pool(store, &[(P1, NumberState::Active)]).await;
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
        assert!(store.route(&m(P1), &m(A)).await.unwrap().is_none());
        assert!(store.route(&m(P1), &m(B)).await.unwrap().is_none());
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
        if let Some(items) = store.items().await {
            let with_ttl = items.iter().filter(|i| i.get("ttl").is_some()).count();
            assert_eq!(
                with_ttl, 5,
                "the conversation, both members and both freed pairs carry a TTL"
            );
        }
        store
            .create_conversation(&conversation("c2", (A, P1), (B, P1), i64::MAX / 2))
            .await
            .unwrap();
    }

    async fn lists_by_status_and_participant_page_by_page<S: Inspect>(store: &S) {
        // Pairs are reused across counterparts at once here: no cool-off.
        pool(
            store,
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
            ..ListFilter::default()
        };
        let page = store.list_conversations(&active, 100, None).await.unwrap();
        assert_eq!(
            page.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["d2", "d1", "d0"]
        );

        let of_a = ListFilter {
            participant: Some(m(A)),
            ..ListFilter::default()
        };
        let page = store.list_conversations(&of_a, 100, None).await.unwrap();
        assert_eq!(
            page.items.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["d1", "d0", "c1", "c0"]
        );
        let closed_of_c = ListFilter {
            status: Some(ConversationStatus::Closed),
            participant: Some(m(C)),
            ..ListFilter::default()
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

        // By the proxy number a participant was given, open and closed alike, newest first.
        let ids = |page: shared::model::Page<Conversation>| {
            page.items
                .iter()
                .map(|c| c.id.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let on = |proxy: &str, participant: Option<&str>, status| ListFilter {
            status,
            participant: participant.map(m),
            proxy_number: Some(m(proxy)),
        };
        let all_on_p1 = on(P1, None, None);
        assert_eq!(
            ids(store
                .list_conversations(&all_on_p1, 100, None)
                .await
                .unwrap()),
            ["d2", "d1", "d0", "c2", "c1", "c0"]
        );
        let closed_on_p1 = on(P1, None, Some(ConversationStatus::Closed));
        assert_eq!(
            ids(store
                .list_conversations(&closed_on_p1, 100, None)
                .await
                .unwrap()),
            ["c2", "c1", "c0"]
        );
        let a_on_p1 = on(P1, Some(A), None);
        assert_eq!(
            ids(store.list_conversations(&a_on_p1, 100, None).await.unwrap()),
            ["d0", "c1", "c0"]
        );
        let c_on_p1 = on(P1, Some(C), None);
        assert_eq!(
            ids(store.list_conversations(&c_on_p1, 100, None).await.unwrap()),
            ["d1"]
        );
        let none_on = on("447700900199", None, None);
        assert!(
            store
                .list_conversations(&none_on, 100, None)
                .await
                .unwrap()
                .items
                .is_empty()
        );
    }

    /// An operator's extension moves an open conversation's expiry, with its routes, and only
    /// forward; a closed one is not extended.
    async fn an_extension_moves_expiry_and_routes_forward_only<S: Inspect>(store: &S) {
        pool(
            store,
            &[(P1, NumberState::Active), (P2, NumberState::Active)],
        )
        .await;
        let c = conversation("e1", (A, P1), (B, P2), 5_000);
        store.create_conversation(&c).await.unwrap();
        let extended = store.extend_conversation(&c, 9_000).await.unwrap().unwrap();
        assert_eq!(extended.expires_at, 9_000);
        assert_eq!(
            store
                .route(&m(P1), &m(A))
                .await
                .unwrap()
                .unwrap()
                .expires_at,
            9_000,
            "the route moves with it, so calls connect until the new expiry"
        );
        assert!(
            store
                .extend_conversation(&c, 8_000)
                .await
                .unwrap()
                .is_none(),
            "never backwards"
        );
        store
            .close_conversation(&c.id, &testkit::closing(CloseReason::Closed, 2_000, 9_000))
            .await
            .unwrap();
        assert!(
            store
                .extend_conversation(&extended, 20_000)
                .await
                .unwrap()
                .is_none(),
            "a closed conversation is reopened, not extended"
        );
        assert!(
            store
                .extend_conversation(&conversation("e2", (A, P1), (B, P2), 5_000), 9_000)
                .await
                .unwrap()
                .is_none(),
            "an unknown one"
        );
    }

    /// Each reveal is kept with its conversation, oldest first, and read back whole.
    async fn reveals_are_kept_with_their_conversation<S: Inspect>(store: &S) {
        use shared::model::Reveal;
        let id: shared::values::ConversationId = "r1".parse().unwrap();
        let reveal = |index: u8, at_ms: i64| Reveal {
            conversation_id: id.clone(),
            reference: "ride-1".parse().ok(),
            index,
            label: "driver".parse().ok(),
            by: "sam".into(),
            reason: format!("rider's complaint {at_ms}"),
            at_ms,
        };
        store.record_reveal(&reveal(1, 2_000)).await.unwrap();
        store.record_reveal(&reveal(0, 1_000)).await.unwrap();
        store
            .record_reveal(&Reveal {
                conversation_id: "r2".parse().unwrap(),
                ..reveal(0, 1_500)
            })
            .await
            .unwrap();
        assert_eq!(
            store.reveals(&id).await.unwrap(),
            [reveal(0, 1_000), reveal(1, 2_000)]
        );
        assert!(
            store
                .reveals(&"r3".parse().unwrap())
                .await
                .unwrap()
                .is_empty()
        );
    }

    /// The overview's counters: each change once, by its id, into its day.
    async fn day_counts_count_each_change_once<S: Inspect>(store: &S) {
        use shared::model::{DayCounter, DayCounts};
        assert_eq!(
            store.day_counts(20_000).await.unwrap(),
            DayCounts::default()
        );
        for (id, day, counter) in [
            ("e1", 20_000, DayCounter::Conversations),
            ("e2", 20_000, DayCounter::Conversations),
            ("e3", 20_000, DayCounter::TextsDelivered),
            ("e4", 20_000, DayCounter::TextsFailed),
            ("e5", 20_000, DayCounter::Exhausted),
            ("e6", 20_001, DayCounter::Conversations),
        ] {
            assert!(store.count_once(id, day, counter).await.unwrap(), "{id}");
        }
        assert!(
            !store
                .count_once("e1", 20_000, DayCounter::Conversations)
                .await
                .unwrap(),
            "a redelivered record counts nothing"
        );
        assert_eq!(
            store.day_counts(20_000).await.unwrap(),
            DayCounts {
                conversations: 2,
                texts_delivered: 1,
                texts_failed: 1,
                exhausted: 1,
            }
        );
        assert_eq!(store.day_counts(20_001).await.unwrap().conversations, 1);
    }

    async fn adding_a_number_twice_keeps_the_first<S: Inspect>(store: &S) {
        pool(store, &[(P1, NumberState::Active)]).await;
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

    async fn number_check_answers_are_kept_until_their_time<S: Inspect>(store: &S) {
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
        if let Some(items) = store.items().await {
            let ttl = items
                .into_iter()
                .find(|i| i["pk"].as_s().unwrap().starts_with("INSIGHT#"))
                .unwrap()["ttl"]
                .as_n()
                .unwrap()
                .parse::<i64>()
                .unwrap();
            assert_eq!(ttl, now + 60, "removed by the table's TTL");
        }
    }

    /// A store whose pool holds two active numbers.
    async fn two_numbers(store: &impl Inspect) {
        let active = NumberState::Active;
        pool(store, &[("447700900101", active), ("447700900102", active)]).await;
    }

    /// A conversation of two people on the two pool numbers (a new id each time), written and
    /// closed at `now`: as written, and as closed.
    async fn closed_conversation(store: &impl Inspect, now: i64) -> (Conversation, Conversation) {
        let mut c = testkit::numbered_conversation(1, ("447700900101", "447700900102"), now + 3600);
        c.id = shared::values::ConversationId::random();
        store.create_conversation(&c).await.unwrap();
        store
            .close_conversation(&c.id, &closed_now(now))
            .await
            .unwrap();
        let closed = store.conversation(&c.id).await.unwrap().unwrap();
        (c, closed)
    }

    fn closed_now(now: i64) -> shared::model::Closing {
        testkit::closing(CloseReason::Closed, now, now + 86_400)
    }

    async fn reopening_takes_both_pairs_again_or_names_the_one_taken_meanwhile<S: Inspect>(
        store: &S,
    ) {
        two_numbers(store).await;
        let now = shared::now();
        let (c, closed) = closed_conversation(store, now).await;

        // Both pairs free: open again, with its routes, counts and expiry index entry.
        let open = closed.reopened(now, 600);
        store
            .reopen_conversation(&closed, &open, now)
            .await
            .unwrap();
        assert_eq!(store.conversation(&c.id).await.unwrap().unwrap(), open);
        for route in open.routes() {
            let stored = store
                .route(&route.proxy_number, &route.caller)
                .await
                .unwrap();
            assert_eq!(stored, Some(route));
        }
        for n in store.list_pool().await.unwrap() {
            assert_eq!(n.active_count, 1);
        }
        if let Some(items) = store.items().await {
            let conv_item = items
                .into_iter()
                .find(|i| i["sk"].as_s().unwrap() == "CONV")
                .unwrap();
            assert!(!conv_item.contains_key("ttl"), "no longer due for removal");
        }
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
        let closed = store.conversation(&c.id).await.unwrap().unwrap();
        let mut rival = c.clone();
        rival.id = shared::values::ConversationId::random();
        store.create_conversation(&rival).await.unwrap();
        let before = store.footprint().await;
        let refused = store
            .reopen_conversation(&closed, &closed.reopened(now, 600), now)
            .await;
        assert!(matches!(
            refused,
            Err(WriteError::Conflict(CreateConflict::RouteTaken(0)))
        ));
        assert_eq!(store.footprint().await, before);
        assert_eq!(store.conversation(&c.id).await.unwrap().unwrap(), closed);
    }

    async fn reopening_racing_a_creation_for_the_same_pairs_lets_one_win<S: Inspect>(store: &S) {
        two_numbers(store).await;
        let now = shared::now();
        for round in 0..10 {
            let (c, closed) = closed_conversation(store, now).await;
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
                    .route(&route.proxy_number, &route.caller)
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
    async fn a_callers_last_conversation_is_the_one_that_freed_their_pair<S: Inspect>(store: &S) {
        two_numbers(store).await;
        let now = shared::now();
        let (c, _) = closed_conversation(store, now).await;
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
        let (again, _) = closed_conversation(store, now + 10).await;
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
    async fn a_missed_call_notice_is_written_once_per_caller_and_quiet_interval<S: Inspect>(
        store: &S,
    ) {
        use shared::model::{MissedCallNotice, Notification, NotificationStatus};
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

    contract!(
        the_same_conversation_written_again_is_already_written,
        a_conversation_routes_both_ways_with_one_key_each,
        a_taken_pair_is_refused_and_nothing_is_written,
        reserved_numbers_are_refused_by_the_transaction,
        flagged_numbers_are_refused_by_the_transaction_when_quarantined,
        closing_frees_routes_and_counts_once,
        lists_by_status_and_participant_page_by_page,
        adding_a_number_twice_keeps_the_first,
        number_check_answers_are_kept_until_their_time,
        reopening_takes_both_pairs_again_or_names_the_one_taken_meanwhile,
        reopening_racing_a_creation_for_the_same_pairs_lets_one_win,
        a_callers_last_conversation_is_the_one_that_freed_their_pair,
        a_missed_call_notice_is_written_once_per_caller_and_quiet_interval,
        an_extension_moves_expiry_and_routes_forward_only,
        reveals_are_kept_with_their_conversation,
        day_counts_count_each_change_once,
    );
}

/// The pool: cool-off of freed pairs, numbers on their way in, retiring and removing, and leases.
mod pool {
    use shared::model::{CloseReason, NumberState, PendingNumber, PendingStage, PoolNumber};
    use shared::model::{CreateConflict, RemoveOutcome, Replacing, WriteError};
    use shared::phone::Msisdn;
    use shared::values::{Feature, NumberType};
    use testkit::Inspect;
    use testkit::{add_pool, conversation};

    fn m(d: &str) -> Msisdn {
        Msisdn::from_digits(d).unwrap()
    }

    const A: &str = "447700900001";

    const B: &str = "447700900002";

    const C: &str = "447700900003";

    const P1: &str = "447700900101";

    const P2: &str = "447700900102";

    async fn a_freed_pair_cools_off_except_for_the_same_counterpart<S: Inspect>(store: &S) {
        add_pool(store, &[P1, P2], "GB").await;
        store
            .create_conversation(&conversation("c1", (A, P1), (B, P2), 1_000, 5_000))
            .await
            .unwrap();
        store
            .close_conversation(
                &"c1".parse().unwrap(),
                &testkit::closing(CloseReason::Closed, 2_000, 90_000),
            )
            .await
            .unwrap();

        let held = store.holdings(&m(A)).await.unwrap();
        assert!(held.held.is_empty());
        assert_eq!(held.previous_with(&m(B)), Some(&m(P1)));
        assert_eq!(held.excluded(&m(C), 2_100), [m(P1)].into());
        assert!(held.excluded(&m(B), 2_100).is_empty(), "same counterpart");
        assert!(held.excluded(&m(C), 2_600).is_empty(), "cool-off over");

        // A with someone else on P1 during the cool-off: refused by the store itself.
        let mut early = conversation("c2", (A, P1), (C, P2), 2_100, 9_000);
        early.created_at = 2_100;
        let err = store.create_conversation(&early).await.unwrap_err();
        assert!(
            matches!(err, WriteError::Conflict(CreateConflict::CoolingOff(0))),
            "{err:?}"
        );
        // With the same counterpart, at once.
        let mut again = conversation("c3", (A, P1), (B, P2), 2_100, 9_000);
        again.created_at = 2_100;
        store.create_conversation(&again).await.unwrap();
        store
            .close_conversation(
                &"c3".parse().unwrap(),
                &testkit::closing(CloseReason::Closed, 2_200, 90_000),
            )
            .await
            .unwrap();
        // With someone else once the cool-off has passed.
        let mut later = conversation("c4", (A, P1), (C, P2), 2_800, 9_000);
        later.created_at = 2_800;
        store.create_conversation(&later).await.unwrap();
    }

    async fn a_pending_number_becomes_a_pool_number_once<S: Inspect>(store: &S) {
        let pending = PendingNumber {
            msisdn: m(P1),
            country: "GB".parse().unwrap(),
            stage: PendingStage::Buying,
            features: vec![Feature::Voice, Feature::Sms],
            number_type: Some(NumberType::MobileLvn),
            since: 10,
            last_error: None,
            // A flagged number's replacement names it, from its pending record into the pool.
            replaces: Some(Replacing {
                number: m(P2),
                flagged_at: 5,
            }),
        };
        store.put_pending(&pending).await.unwrap();
        let bought = PendingNumber {
            stage: PendingStage::Bought,
            ..pending
        };
        store.put_pending(&bought).await.unwrap();
        assert_eq!(store.list_pending().await.unwrap(), vec![bought.clone()]);
        assert!(
            store.list_pool().await.unwrap().is_empty(),
            "not assignable yet"
        );

        let number = PoolNumber {
            replaces: bought.replaces.clone(),
            ..PoolNumber::new(m(P1), "GB".parse().unwrap(), NumberState::Active, 20)
        };
        assert!(store.complete_pending(&number).await.unwrap());
        assert!(store.list_pending().await.unwrap().is_empty());
        assert_eq!(store.list_pool().await.unwrap(), vec![number.clone()]);

        // Finishing it twice leaves one pool number and no pending record.
        store.put_pending(&bought).await.unwrap();
        assert!(!store.complete_pending(&number).await.unwrap());
        assert!(store.list_pending().await.unwrap().is_empty());
        assert_eq!(store.footprint().await, 1);
    }

    async fn a_number_in_use_is_retired_but_not_removed<S: Inspect>(store: &S) {
        add_pool(store, &[P1, P2], "GB").await;
        store
            .create_conversation(&conversation("c1", (A, P1), (B, P1), 1_000, i64::MAX / 2))
            .await
            .unwrap();
        let retired = store.retire_number(&m(P1)).await.unwrap().unwrap();
        assert_eq!(
            (retired.state, retired.active_count),
            (NumberState::Retired, 2)
        );
        assert_eq!(
            store.remove_number(&m(P1)).await.unwrap(),
            RemoveOutcome::InUse(2)
        );
        assert_eq!(store.retire_number(&m("447700900199")).await.unwrap(), None);
        assert_eq!(
            store.remove_number(&m("447700900199")).await.unwrap(),
            RemoveOutcome::NotFound
        );
        // An active number is not removed without being retired first.
        assert_eq!(
            store.remove_number(&m(P2)).await.unwrap(),
            RemoveOutcome::InUse(0)
        );

        store
            .close_conversation(
                &"c1".parse().unwrap(),
                &testkit::closing(CloseReason::Closed, 2_000, 9_000),
            )
            .await
            .unwrap();
        let RemoveOutcome::Removed(gone) = store.remove_number(&m(P1)).await.unwrap() else {
            panic!("removable once unused")
        };
        assert_eq!(gone.msisdn, m(P1));
        assert!(store.get_number(&m(P1)).await.unwrap().is_none());
    }

    async fn a_lease_has_one_holder_until_it_lapses<S: Inspect>(store: &S) {
        assert!(store.acquire_lease("rent-GB", "x", 100, 60).await.unwrap());
        assert!(!store.acquire_lease("rent-GB", "y", 120, 60).await.unwrap());
        assert!(store.acquire_lease("rent-US", "y", 120, 60).await.unwrap());
        store.release_lease("rent-GB", "y").await.unwrap();
        assert!(
            !store.acquire_lease("rent-GB", "y", 130, 60).await.unwrap(),
            "only the holder releases"
        );
        assert!(
            store.acquire_lease("rent-GB", "y", 161, 60).await.unwrap(),
            "lapsed"
        );
        store.release_lease("rent-GB", "y").await.unwrap();
        assert!(store.acquire_lease("rent-GB", "z", 162, 60).await.unwrap());
    }

    /// A pool number's area is kept with it, from the pool's listing and its own read alike.
    async fn a_numbers_area_is_kept<S: Inspect>(store: &S) {
        let located = PoolNumber {
            location: Some("California".into()),
            ..PoolNumber::new(m(P1), "US".parse().unwrap(), NumberState::Active, 1)
        };
        assert!(store.add_number(&located).await.unwrap());
        let plain = PoolNumber::new(m(P2), "US".parse().unwrap(), NumberState::Active, 1);
        assert!(store.add_number(&plain).await.unwrap());
        assert_eq!(
            store.get_number(&m(P1)).await.unwrap(),
            Some(located.clone())
        );
        let mut listed = store.list_pool().await.unwrap();
        listed.sort_by(|a, b| a.msisdn.cmp(&b.msisdn));
        assert_eq!(listed, [located, plain]);
    }

    contract!(
        a_freed_pair_cools_off_except_for_the_same_counterpart,
        a_pending_number_becomes_a_pool_number_once,
        a_number_in_use_is_retired_but_not_removed,
        a_lease_has_one_holder_until_it_lapses,
        a_numbers_area_is_kept,
    );
}

/// Access codes: a code is one conversation's on its number while it is open, a shared route routes nobody by caller ID, closing gives codes back, a sliding conversation keeps its codes alive, and guesses are spent and given back.
mod codes {
    use shared::model::{CloseReason, Conversation, ExpiryMode};
    use shared::model::{CodeFailures, CodeGuess, CreateConflict, GuessSpent, WriteError};
    use shared::phone::Msisdn;
    use shared::values::AccessCode;
    use testkit::Inspect;
    use testkit::{add_pool, closing, conversation};

    const P1: &str = "447700900101";

    const P2: &str = "447700900102";

    const COURIER: &str = "447700900004";

    fn m(d: &str) -> Msisdn {
        Msisdn::from_digits(d).unwrap()
    }

    fn code(c: &str) -> AccessCode {
        AccessCode::try_from(c.to_owned()).unwrap()
    }

    /// The courier (on `proxy`, with `courier_code`) and a customer (on P2), the courier sharing
    /// `proxy` when `shared`.
    fn delivery(
        id: &str,
        customer: &str,
        proxy: &str,
        courier_code: &str,
        shared: bool,
    ) -> Conversation {
        let mut c = conversation(id, (COURIER, proxy), (customer, P2), 1_000, 1_000 + 3600);
        c.participants[0].code = Some(code(courier_code));
        c.participants[0].shared = shared;
        c.participants[1].code = Some(code(&format!("9{}", &courier_code[1..])));
        c
    }

    async fn two_numbers(store: &impl Inspect) {
        add_pool(store, &[P1, P2], "GB").await;
    }

    async fn a_code_belongs_to_one_open_conversation_on_its_number<S: Inspect>(store: &S) {
        two_numbers(store).await;
        store
            .create_conversation(&delivery("c1", "447700900011", P1, "1234", false))
            .await
            .unwrap();
        // Another courier would be given the same code on the same number: refused, nothing written.
        let mut taken = delivery("c2", "447700900012", P1, "1234", false);
        taken.participants[0].number = m("447700900005");
        assert!(matches!(
            store.create_conversation(&taken).await,
            Err(WriteError::Conflict(CreateConflict::CodeTaken(0)))
        ));
        assert!(store.conversation(&taken.id).await.unwrap().is_none());
        // The code finds the courier's route, whoever types it.
        let route = store
            .code_route(&m(P1), &code("1234"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (route.caller.as_str(), route.callee.as_str()),
            (COURIER, "447700900011")
        );
        // Closed, it gives the code back.
        store
            .close_conversation(
                &"c1".parse().unwrap(),
                &closing(CloseReason::Closed, 2_000, 9_999),
            )
            .await
            .unwrap();
        let found = store.code_route(&m(P1), &code("1234")).await.unwrap();
        assert_eq!(found, None);
        store.create_conversation(&taken).await.unwrap();
    }

    async fn a_shared_number_routes_its_sharer_by_code_and_counts_as_shared<S: Inspect>(store: &S) {
        two_numbers(store).await;
        let first = delivery("c1", "447700900011", P1, "1234", false);
        let second = delivery("c2", "447700900012", P1, "5678", true);
        store.create_conversation(&first).await.unwrap();
        store.create_conversation(&second).await.unwrap();

        let route = store.route(&m(P1), &m(COURIER)).await.unwrap().unwrap();
        assert!(route.ambiguous, "caller ID cannot say which delivery");
        for (typed, customer) in [("1234", "447700900011"), ("5678", "447700900012")] {
            let route = store
                .code_route(&m(P1), &code(typed))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(route.callee.as_str(), customer);
            assert!(!route.ambiguous);
        }
        // The customers are not affected.
        let route = store
            .route(&m(P2), &m("447700900012"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(route.conversation_id.as_str(), "c2");
        assert!(!route.ambiguous);
        let sharing = store.sharing().await.unwrap();
        assert_eq!(
            (sharing.participants_sharing, sharing.most_on_one_number),
            (1, 2)
        );

        // One closes: the shared route goes, the other's code still routes.
        store
            .close_conversation(&second.id, &closing(CloseReason::Closed, 2_000, 9_999))
            .await
            .unwrap();
        assert_eq!(store.route(&m(P1), &m(COURIER)).await.unwrap(), None);
        let route = store.code_route(&m(P1), &code("1234")).await.unwrap();
        assert_eq!(route.unwrap().conversation_id.as_str(), "c1");
        let sharing = store.sharing().await.unwrap();
        assert_eq!(
            (sharing.participants_sharing, sharing.most_on_one_number),
            (0, 1)
        );
    }

    async fn a_sliding_conversation_whose_route_left_still_slides_with_its_codes<S: Inspect>(
        store: &S,
    ) {
        two_numbers(store).await;
        let mut first = delivery("c1", "447700900011", P1, "1234", false);
        first.expiry_mode = ExpiryMode::Sliding;
        let second = delivery("c2", "447700900012", P1, "5678", true);
        store.create_conversation(&first).await.unwrap();
        store.create_conversation(&second).await.unwrap();
        store
            .close_conversation(&second.id, &closing(CloseReason::Closed, 2_000, 9_999))
            .await
            .unwrap();
        // A call an hour and a half in moves the expiry, and the code's with it.
        store
            .note_activity(&first, 1_000 + 5_400, true)
            .await
            .unwrap();
        let now = store.conversation(&first.id).await.unwrap().unwrap();
        assert_eq!(now.expires_at, 1_000 + 5_400 + 3600);
        let route = store
            .code_route(&m(P1), &code("1234"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(route.expires_at, now.expires_at);
    }

    fn guess<'a>(proxy: &'a Msisdn, caller: &'a str, now: i64, budget: i64) -> CodeGuess<'a> {
        CodeGuess {
            proxy,
            caller,
            now,
            lock_seconds: 3600,
            max_failures: 3,
            daily_budget: budget,
        }
    }

    async fn each_typed_code_is_counted_against_its_caller_until_their_period_ends<S: Inspect>(
        store: &S,
    ) {
        two_numbers(store).await;
        let p1 = m(P1);
        let spent = |at| {
            let store = &store;
            let p1 = &p1;
            async move {
                store
                    .spend_code_guess(&guess(p1, COURIER, at, 1_000))
                    .await
                    .unwrap()
            }
        };
        let failures = |spent: GuessSpent| match spent {
            GuessSpent::Allowed { failures, .. } | GuessSpent::CallerLocked(failures) => failures,
            GuessSpent::NumberSpent => panic!("the number's budget is not spent"),
        };
        assert_eq!(failures(spent(10).await).failures, 1);
        assert_eq!(failures(spent(20).await).failures, 2);
        let third = failures(spent(30).await);
        assert_eq!((third.failures, third.until), (3, 3630));
        assert!(third.locks(3, 3629) && !third.locks(3, 3630) && !third.locks(4, 100));
        // A fourth within the period is not looked up.
        assert!(matches!(spent(40).await, GuessSpent::CallerLocked(_)));
        // Another caller, another number: counted apart.
        for (proxy, caller) in [(m(P2), COURIER), (m(P1), "withheld#CON-1")] {
            let other = store
                .spend_code_guess(&guess(&proxy, caller, 30, 1_000))
                .await
                .unwrap();
            assert_eq!(failures(other).failures, 1);
        }
        // After the period (its TTL not yet run), counting starts again.
        assert_eq!(failures(spent(3640 + 3600).await).failures, 1);
    }

    async fn a_number_spends_its_live_codes_per_guess_and_a_right_code_is_given_back<S: Inspect>(
        store: &S,
    ) {
        two_numbers(store).await;
        // Two live codes on P1 (the courier's in two deliveries): each guess there costs 2.
        store
            .create_conversation(&delivery("c1", "447700900011", P1, "1234", false))
            .await
            .unwrap();
        store
            .create_conversation(&delivery("c2", "447700900012", P1, "5678", true))
            .await
            .unwrap();
        let p1 = m(P1);
        let callers: Vec<String> = (0..6).map(|i| format!("4477009005{i:02}")).collect();
        let mut allowed = Vec::new();
        for caller in &callers {
            allowed.push(
                store
                    .spend_code_guess(&guess(&p1, caller, 100, 5))
                    .await
                    .unwrap(),
            );
        }
        // A budget of 5 takes two guesses of 2, whoever makes them.
        assert_eq!(
            allowed,
            [
                GuessSpent::Allowed {
                    failures: CodeFailures {
                        failures: 1,
                        until: 3700
                    },
                    cost: 2
                },
                GuessSpent::Allowed {
                    failures: CodeFailures {
                        failures: 1,
                        until: 3700
                    },
                    cost: 2
                },
                GuessSpent::NumberSpent,
                GuessSpent::NumberSpent,
                GuessSpent::NumberSpent,
                GuessSpent::NumberSpent,
            ]
        );
        // A right code is given back: the number can spend it again, the caller has no wrong code.
        store
            .refund_code_guess(&guess(&p1, &callers[0], 100, 5), 2)
            .await
            .unwrap();
        assert!(matches!(
            store
                .spend_code_guess(&guess(&p1, &callers[0], 200, 5))
                .await
                .unwrap(),
            GuessSpent::Allowed {
                failures: CodeFailures { failures: 1, .. },
                cost: 2
            }
        ));
        // The next day starts afresh.
        assert!(matches!(
            store
                .spend_code_guess(&guess(&p1, &callers[5], 86_400 + 100, 5))
                .await
                .unwrap(),
            GuessSpent::Allowed { .. }
        ));
    }

    contract!(
        a_code_belongs_to_one_open_conversation_on_its_number,
        a_shared_number_routes_its_sharer_by_code_and_counts_as_shared,
        a_sliding_conversation_whose_route_left_still_slides_with_its_codes,
        each_typed_code_is_counted_against_its_caller_until_their_period_ends,
        a_number_spends_its_live_codes_per_guess_and_a_right_code_is_given_back,
    );
}

/// Calls, notifications, texts, leases, hooks and the expiry index: each record once, each
/// claim taken once, each state moving forward only.
mod ledgers {
    use shared::model::{
        CallEvent, CallRecording, CallRef, Channel, ConversationStatus, CreateConflict, ExpiryMode,
        HookDecision, HookKind, MessagePart, Notification, NotificationStatus, RecordingKind,
        RelayedMessage, SentText, TextKind, TextOwner, WriteError,
    };
    use shared::phone::Msisdn;
    use shared::values::ConversationId;
    use testkit::{Inspect, add_pool, conversation};

    use shared::model::DeliveryState::{Delivered, Failed, Submitted};

    const A: &str = "447700900001";
    const B: &str = "447700900002";
    const P1: &str = "447700900101";
    const P2: &str = "447700900102";
    const ID: &str = "5d0f1a2b-0000-4000-8000-0000000000c1";

    fn m(d: &str) -> Msisdn {
        Msisdn::from_digits(d).unwrap()
    }

    fn event(call: &str, leg: &str, status: &str, at_ms: i64) -> CallEvent {
        CallEvent {
            call_id: call.into(),
            leg: leg.into(),
            direction: None,
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
        }
    }

    /// Rule 2 under concurrency: many creations racing for the same two pairs, one wins and
    /// the others are told which pair is taken, with nothing of theirs written.
    async fn racing_creations_for_the_same_pairs_let_one_win<S: Inspect>(store: &S) {
        add_pool(store, &[P1, P2], "GB").await;
        let racing = futures::future::join_all((0..8).map(|i| {
            let c = conversation(
                &format!("5d0f1a2b-0000-4000-8000-00000000010{i}"),
                (A, P1),
                (B, P2),
                1_000,
                9_000,
            );
            async move { store.create_conversation(&c).await }
        }))
        .await;
        let won: Vec<_> = racing.iter().filter(|r| r.is_ok()).collect();
        assert_eq!(won.len(), 1, "{racing:?}");
        for lost in racing.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(
                    lost,
                    WriteError::Conflict(
                        CreateConflict::RouteTaken(_) | CreateConflict::Contention
                    )
                ),
                "{lost:?}"
            );
        }
        let open = store
            .list_conversations(&Default::default(), 20, None)
            .await
            .unwrap();
        assert_eq!(open.items.len(), 1, "only the winner is written");
        for n in store.list_pool().await.unwrap() {
            assert_eq!(n.active_count, 1, "counted for the winner only");
        }
    }

    async fn a_call_log_keeps_each_event_once_and_notes_activity<S: Inspect>(store: &S) {
        add_pool(store, &[P1, P2], "GB").await;
        let mut c = conversation(ID, (A, P1), (B, P2), 1_000, 5_000);
        c.expiry_mode = ExpiryMode::Sliding;
        c.ttl_seconds = 4_000;
        store.create_conversation(&c).await.unwrap();

        let call = CallRef {
            conversation_id: c.id.clone(),
            caller_index: 1,
        };
        assert_eq!(store.call_ref("CON-1").await.unwrap(), None);
        store.remember_call("CON-1", &call, 9_000).await.unwrap();
        assert_eq!(store.call_ref("CON-1").await.unwrap(), Some(call));

        for e in [
            event("CON-1", "leg-a", "started", 1_000_000),
            event("CON-1", "leg-a", "answered", 1_001_000),
            event("CON-1", "leg-a", "answered", 1_001_000),
            event("CON-1", "leg-b", "completed", 1_002_000),
        ] {
            store.record_event(&c.id, &e, 9_000).await.unwrap();
        }
        let events = store.call_events(&c.id).await.unwrap();
        let seen: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.leg.as_str(), e.status.as_str()))
            .collect();
        assert_eq!(
            events.len(),
            3,
            "the same (call, leg, status) is one record"
        );
        for expected in [
            ("leg-a", "started"),
            ("leg-a", "answered"),
            ("leg-b", "completed"),
        ] {
            assert!(seen.contains(&expected), "{seen:?}");
        }

        // The first answered call: in progress, and a sliding expiry moves along.
        store.note_activity(&c, 2_000, true).await.unwrap();
        let noted = store.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(noted.status, ConversationStatus::InProgress);
        assert_eq!(noted.expires_at, 6_000);
        assert_eq!(noted.last_activity, Some(2_000));
        let route = store.route(&m(P1), &m(A)).await.unwrap().unwrap();
        assert_eq!(route.expires_at, 6_000, "its routes slide with it");
        // Activity noted earlier than the last changes nothing; nor does a small step.
        store.note_activity(&noted, 1_500, true).await.unwrap();
        store.note_activity(&noted, 2_030, false).await.unwrap();
        let again = store.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(again.expires_at, 6_000);
        assert_eq!(again.status, ConversationStatus::InProgress);

        let recording = CallRecording {
            call_id: "CON-1".into(),
            recording_id: "rec-1".into(),
            kind: RecordingKind::Call,
            key: "recordings/rec-1.mp3".into(),
            size: Some(1_024),
            started_at: None,
            ended_at: None,
            stored_at: 2_100,
        };
        store
            .keep_recording(&c.id, &recording, 9_000)
            .await
            .unwrap();
        store
            .keep_recording(&c.id, &recording, 9_000)
            .await
            .unwrap();
        assert_eq!(store.recordings(&c.id).await.unwrap(), vec![recording]);
    }

    async fn a_notification_is_finished_once_and_its_attempts_counted<S: Inspect>(store: &S) {
        add_pool(store, &[P1, P2], "GB").await;
        let mut c = conversation(ID, (A, P1), (B, P2), 1_000, 5_000);
        c.participants[0].notification = Some(Notification::pending());
        store.create_conversation(&c).await.unwrap();
        assert_eq!(
            store.count_notification_attempt(&c.id, 0).await.unwrap(),
            Some(1)
        );
        assert_eq!(
            store.count_notification_attempt(&c.id, 0).await.unwrap(),
            Some(2)
        );
        let sent = Notification {
            status: NotificationStatus::Sent,
            attempts: 2,
            reason: None,
            message_id: Some("msg-1".into()),
        };
        assert!(store.finish_notification(&c.id, 0, &sent).await.unwrap());
        assert!(!store.finish_notification(&c.id, 0, &sent).await.unwrap());
        assert_eq!(
            store.count_notification_attempt(&c.id, 0).await.unwrap(),
            None,
            "no longer pending"
        );
        let stored = store.conversation(&c.id).await.unwrap().unwrap();
        assert_eq!(stored.participants[0].notification, Some(sent));
    }

    async fn an_inbound_text_is_handled_once_whole_and_opt_outs_hold<S: Inspect>(store: &S) {
        assert!(store.claim_message("msg-1", 1_000).await.unwrap());
        assert!(
            !store.claim_message("msg-1", 1_001).await.unwrap(),
            "a retry"
        );
        store.release_message("msg-1").await.unwrap();
        assert!(store.claim_message("msg-1", 1_002).await.unwrap());

        let part = |n: u32, text: &str| MessagePart {
            part: n,
            total: 2,
            text: text.into(),
        };
        let sender = m(A);
        let first = store
            .put_part(&sender, "ref-1", &part(2, "world"), 1_000)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        let both = store
            .put_part(&sender, "ref-1", &part(1, "hello "), 1_001)
            .await
            .unwrap();
        let mut numbers: Vec<u32> = both.iter().map(|p| p.part).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, [1, 2]);
        assert!(store.claim_whole(&sender, "ref-1", 1_002).await.unwrap());
        assert!(!store.claim_whole(&sender, "ref-1", 1_003).await.unwrap());
        store.release_whole(&sender, "ref-1").await.unwrap();
        assert!(store.claim_whole(&sender, "ref-1", 1_004).await.unwrap());

        assert!(!store.opted_out(&sender, &m(P1)).await.unwrap());
        assert!(store.opt_out(&sender, &m(P1), 1_000).await.unwrap());
        assert!(!store.opt_out(&sender, &m(P1), 1_001).await.unwrap());
        assert!(store.opted_out(&sender, &m(P1)).await.unwrap());
        assert!(
            !store.opted_out(&sender, &m(P2)).await.unwrap(),
            "per number"
        );
        assert!(store.opt_in(&sender, &m(P1)).await.unwrap());
        assert!(!store.opt_in(&sender, &m(P1)).await.unwrap());
        assert!(!store.opted_out(&sender, &m(P1)).await.unwrap());

        let id: ConversationId = ID.parse().unwrap();
        let relayed = |message_id: &str, at: i64| RelayedMessage {
            message_id: message_id.into(),
            from_index: 0,
            at,
            parts: 1,
            status: shared::values::MessageStatus::Submitted,
            outbound_id: Some(format!("out-{message_id}")),
        };
        store
            .record_message(&id, &relayed("msg-1", 1_000), 9_000)
            .await
            .unwrap();
        store
            .record_message(&id, &relayed("msg-1", 1_000), 9_000)
            .await
            .unwrap();
        store
            .record_message(&id, &relayed("msg-2", 1_010), 9_000)
            .await
            .unwrap();
        assert_eq!(
            store.messages(&id).await.unwrap(),
            vec![relayed("msg-1", 1_000), relayed("msg-2", 1_010)]
        );
    }

    async fn a_hook_decision_is_kept_once<S: Inspect>(store: &S) {
        let decision = HookDecision {
            key: "CON-1".into(),
            hook: HookKind::OutOfSession,
            channel: Channel::Voice,
            action: "say".into(),
            proxy_number: m(P1),
            conversation_id: None,
            reference: None,
            from_index: None,
            at_ms: 1_000_000,
        };
        let before = store.footprint().await;
        store.record_hook(&decision).await.unwrap();
        store.record_hook(&decision).await.unwrap();
        assert_eq!(store.footprint().await, before + 1, "one record per call");
    }

    async fn expired_conversations_are_found_page_by_page<S: Inspect>(store: &S) {
        let numbers: Vec<String> = (0..12).map(|i| format!("4477009002{i:02}")).collect();
        let proxies: Vec<&str> = numbers.iter().map(String::as_str).collect();
        add_pool(store, &proxies, "GB").await;
        let mut expiring = Vec::new();
        for i in 0..6 {
            let mut c = testkit::numbered_conversation(
                i,
                (proxies[2 * i], proxies[2 * i + 1]),
                if i < 4 { 2_000 + i as i64 } else { 9_000 },
            );
            c.id = format!("5d0f1a2b-0000-4000-8000-00000000020{i}")
                .parse()
                .unwrap();
            store.create_conversation(&c).await.unwrap();
            if i < 4 {
                expiring.push(c.id.clone());
            }
        }
        let mut found = Vec::new();
        for shard in 0..shared::store::EXPIRY_SHARDS {
            let mut start = None;
            loop {
                let page = store.expired(shard, 5_000, 1, start).await.unwrap();
                found.extend(page.ids);
                match page.next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
        }
        found.sort();
        expiring.sort();
        assert_eq!(found, expiring, "past their expiry, and only those");
    }

    fn relayed() -> TextOwner {
        testkit::text_owner(TextKind::Relayed { from_index: 0 })
    }

    /// The steps every store must take alike, with what each answers and what is then known.
    async fn the_ledger_keeps_the_furthest_state<S: Inspect>(store: &S) {
        let now = shared::now();
        // Owner first, then the statuses, one repeated and one late.
        store.note_sent("m1", &relayed(), now + 60).await.unwrap();
        assert!(
            !store
                .note_status("m1", Submitted, None, None, now)
                .await
                .unwrap(),
            "sent is submitted already"
        );
        assert!(
            store
                .note_status("m1", Delivered, None, None, now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .note_status("m1", Delivered, None, None, now)
                .await
                .unwrap(),
            "a repeat"
        );
        assert!(
            !store
                .note_status("m1", Submitted, None, None, now)
                .await
                .unwrap(),
            "late"
        );
        assert!(
            !store
                .note_status("m1", Failed, Some("rejected"), Some("1250"), now)
                .await
                .unwrap(),
            "a final state stays"
        );
        // A status before its send is recorded: kept, and the owner joins it without undoing it.
        assert!(
            store
                .note_status("m2", Failed, Some("undeliverable"), Some("1320"), now)
                .await
                .unwrap()
        );
        store.note_sent("m2", &relayed(), now + 60).await.unwrap();
        // A status for a text no one here sent is kept without an owner.
        assert!(
            store
                .note_status("m3", Delivered, None, None, now)
                .await
                .unwrap()
        );

        let texts = store
            .texts(&[
                "m1".into(),
                "m2".into(),
                "m3".into(),
                "m4".into(),
                "m1".into(),
            ])
            .await
            .unwrap();
        assert_eq!(texts.len(), 3, "m4 was never heard of");
        let expect =
            |id: &str, owned: bool, state, reason: Option<&str>, code: Option<&str>| SentText {
                id: id.into(),
                owner: owned.then(relayed),
                state,
                reason: reason.map(Into::into),
                error_code: code.map(Into::into),
            };
        assert_eq!(texts["m1"], expect("m1", true, Delivered, None, None));
        assert_eq!(
            texts["m2"],
            expect("m2", true, Failed, Some("undeliverable"), Some("1320"))
        );
        assert_eq!(texts["m3"], expect("m3", false, Delivered, None, None));
    }

    contract!(
        racing_creations_for_the_same_pairs_let_one_win,
        a_call_log_keeps_each_event_once_and_notes_activity,
        a_notification_is_finished_once_and_its_attempts_counted,
        an_inbound_text_is_handled_once_whole_and_opt_outs_hold,
        a_hook_decision_is_kept_once,
        expired_conversations_are_found_page_by_page,
        the_ledger_keeps_the_furthest_state,
    );
}

/// Number health: each callee's leg counted once into its day's tallies, whatever order and
/// however often its records come; the flag set once and cleared once.
mod health {
    use shared::model::{
        ClearReason, CountedCall, HealthCleared, HealthFlag, NumberState, PoolNumber, Tally,
    };
    use shared::phone::Msisdn;
    use testkit::Inspect;

    fn m(d: &str) -> Msisdn {
        Msisdn::from_digits(d).unwrap()
    }

    const P1: &str = "447700900101";
    const P2: &str = "447700900102";
    const DAY: i64 = 20_000;

    fn call(shown: &str, id: &str, day: i64, answered: bool) -> CountedCall {
        CountedCall {
            shown_number: m(shown),
            call_id: id.into(),
            leg: format!("{id}-callee"),
            day,
            answered,
        }
    }

    fn t(answered: u64, calls: u64) -> Tally {
        Tally { answered, calls }
    }

    async fn each_leg_counts_once_whatever_the_order_of_its_records<S: Inspect>(store: &S) {
        // Missed, then answered (a late record): one call, answered.
        assert!(store.count_call(&call(P1, "c1", DAY, false)).await.unwrap());
        assert!(store.count_call(&call(P1, "c1", DAY, true)).await.unwrap());
        // Answered, then a missed status for the same leg: still one call, answered.
        assert!(store.count_call(&call(P1, "c2", DAY, true)).await.unwrap());
        assert!(!store.count_call(&call(P1, "c2", DAY, false)).await.unwrap());
        // A missed call, on the next day, and on another number.
        assert!(
            store
                .count_call(&call(P1, "c3", DAY + 1, false))
                .await
                .unwrap()
        );
        assert!(
            store
                .count_call(&call(P2, "c4", DAY + 1, true))
                .await
                .unwrap()
        );
        // Every record delivered again changes nothing.
        for (shown, id, day, answered) in [
            (P1, "c1", DAY, false),
            (P1, "c1", DAY, true),
            (P1, "c2", DAY, true),
            (P1, "c3", DAY + 1, false),
            (P2, "c4", DAY + 1, true),
        ] {
            assert!(
                !store
                    .count_call(&call(shown, id, day, answered))
                    .await
                    .unwrap(),
                "{id} counted twice"
            );
        }
        // An answer that comes after the leg was counted on the day before joins that day.
        assert!(store.count_call(&call(P2, "c5", DAY, false)).await.unwrap());
        assert!(
            store
                .count_call(&call(P2, "c5", DAY + 1, true))
                .await
                .unwrap()
        );

        assert_eq!(
            store.number_tally(&m(P1), DAY, DAY + 6).await.unwrap(),
            t(2, 3)
        );
        assert_eq!(store.number_tally(&m(P1), DAY, DAY).await.unwrap(), t(2, 2));
        assert_eq!(
            store.number_tally(&m(P1), DAY + 1, DAY + 7).await.unwrap(),
            t(0, 1)
        );
        assert_eq!(store.number_tally(&m(P2), DAY, DAY).await.unwrap(), t(1, 1));
        assert_eq!(
            store.number_tally(&m(P2), DAY - 6, DAY + 1).await.unwrap(),
            t(2, 2)
        );
        assert_eq!(store.pool_tally(DAY, DAY + 1).await.unwrap(), t(4, 5));
        assert_eq!(store.pool_tally(DAY + 2, DAY + 8).await.unwrap(), t(0, 0));
        // No days: nothing.
        assert_eq!(store.pool_tally(DAY + 1, DAY).await.unwrap(), t(0, 0));
        assert_eq!(
            store.number_tally(&m(P1), DAY + 1, DAY).await.unwrap(),
            t(0, 0)
        );
    }

    async fn a_flag_is_set_once_and_cleared_once<S: Inspect>(store: &S) {
        store
            .add_number(&PoolNumber::new(
                m(P1),
                "GB".parse().unwrap(),
                NumberState::Active,
                1,
            ))
            .await
            .unwrap();
        let flag = HealthFlag {
            at: 1_000,
            number: t(3, 40),
            rest: t(650, 1_000),
        };
        assert!(
            !store
                .clear_flag(
                    &m(P1),
                    &HealthCleared {
                        at: 900,
                        reason: ClearReason::Cleared
                    }
                )
                .await
                .unwrap(),
            "not flagged"
        );
        assert!(store.flag_number(&m(P1), &flag).await.unwrap());
        let later = HealthFlag { at: 2_000, ..flag };
        assert!(
            !store.flag_number(&m(P1), &later).await.unwrap(),
            "flagged once"
        );
        assert!(
            !store.flag_number(&m(P2), &flag).await.unwrap(),
            "not in the pool"
        );
        let stored = store.get_number(&m(P1)).await.unwrap().unwrap();
        assert_eq!(stored.health_flag, Some(flag));
        assert_eq!(stored.state, NumberState::Active);

        let cleared = HealthCleared {
            at: 3_000,
            reason: ClearReason::Recovered,
        };
        assert!(store.clear_flag(&m(P1), &cleared).await.unwrap());
        assert!(
            !store
                .clear_flag(
                    &m(P1),
                    &HealthCleared {
                        at: 4_000,
                        reason: ClearReason::Cleared
                    }
                )
                .await
                .unwrap()
        );
        let stored = store.get_number(&m(P1)).await.unwrap().unwrap();
        assert_eq!(stored.health_flag, None);
        assert_eq!(stored.health_cleared, Some(cleared));
        assert!(store.get_number(&m(P2)).await.unwrap().is_none());
        // The listing carries it too.
        let listed = store.list_pool().await.unwrap();
        assert_eq!(listed[0].health_cleared, Some(cleared));
    }

    contract!(
        each_leg_counts_once_whatever_the_order_of_its_records,
        a_flag_is_set_once_and_cleared_once,
    );
}
