//! Number health through the real change stream (the local AWS stand-in): a seeded run of
//! simulated traffic written to the call log as the event webhook writes it, read off the
//! table's stream in batches as Lambda's mapping would hand them over (some twice), counted
//! and tested by the consumer. A pool of 20 numbers whose callees answer 65 % of calls, one
//! labelled (15 %): the labelled one is flagged within 60 of its calls, no healthy number is,
//! and the flag's change on the stream means a valid `number.flagged`.
//!
//! 2,000 calls, not 10,000: the local stand-in copies the whole table for each transaction, so
//! a run costs the square of its length (2,000 calls take about two minutes here). The same
//! decision code over 10,000 calls and 1,000 seeds is `shared/tests/health.rs`.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use health::{Deps, handle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use shared::domain::events;
use shared::model::{CallEvent, Change, Direction};
use shared::phone::Msisdn;
use shared::ports::{CallLog, Pool};
use shared::stream::{self, local::StreamReader};
use shared::values::ConversationId;
use testkit::{add_pool, assert_event, fresh_store, stream_batch};

const SEED: u64 = 34;
const CALLS: usize = 2_000;
/// Calls written before the stream is read and handed over: one batch.
const BATCH: usize = 100;

#[tokio::test]
async fn a_labelled_number_is_flagged_through_the_stream_and_no_healthy_one_is() {
    let store = fresh_store().await;
    let pool: Vec<String> = (0..20).map(|i| format!("4477009003{i:02}")).collect();
    let refs: Vec<&str> = pool.iter().map(String::as_str).collect();
    add_pool(&store, &refs, "GB").await;
    let numbers: Vec<Msisdn> = refs
        .iter()
        .map(|n| Msisdn::from_digits(n).unwrap())
        .collect();
    let conversation = ConversationId::random();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let mut reader = StreamReader::open(&config, store.client(), store.table())
        .await
        .unwrap();
    let deps = Deps {
        store: store.clone(),
    };
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut number_events = Vec::new();
    let keep_until = shared::now() + 30 * 86_400;
    for n in 0..CALLS / BATCH {
        for i in 0..BATCH {
            let which = rng.random_range(0..numbers.len());
            let rate = if which == 0 { 0.15 } else { 0.65 };
            let status = if rng.random_bool(rate) {
                "answered"
            } else {
                "unanswered"
            };
            let call = format!("call-{n}-{i}");
            let event = CallEvent {
                call_id: call.clone(),
                leg: format!("{call}-callee"),
                direction: Some(Direction::Outbound),
                shown_number: Some(numbers[which].clone()),
                status: status.parse().unwrap(),
                at_ms: shared::now() * 1000,
                caller_index: 0,
                duration: None,
                rate: None,
                price: None,
                detail: None,
                routed_by: Default::default(),
                initiated_by: Default::default(),
            };
            store
                .record_event(&conversation, &event, keep_until)
                .await
                .unwrap();
            // Now and then the caller's own leg too, which says nothing of the callee.
            if i % 10 == 0 {
                let caller = CallEvent {
                    leg: format!("{call}-caller"),
                    direction: Some(Direction::Inbound),
                    shown_number: None,
                    ..event
                };
                store
                    .record_event(&conversation, &caller, keep_until)
                    .await
                    .unwrap();
            }
        }
        let records = reader.next(1_000).await.unwrap();
        for r in &records {
            if let Ok(Some(change @ Change::Number { .. })) = stream::change_of(r) {
                number_events.extend(events::derive(&change, &r.event_id, stream::changed_at(r)));
            }
        }
        let (response, report) = handle(&deps, stream_batch(records.clone())).await;
        assert!(response.batch_item_failures.is_empty(), "{report:?}");
        // Every fifth batch is delivered again: nothing is counted twice.
        if n % 5 == 0 {
            let (_, again) = handle(&deps, stream_batch(records)).await;
            assert_eq!(again.counted, 0, "{again:?}");
        }
    }
    // The flag's change comes through the stream last.
    for r in reader.next(1_000).await.unwrap() {
        if let Ok(Some(change @ Change::Number { .. })) = stream::change_of(&r) {
            number_events.extend(events::derive(&change, &r.event_id, stream::changed_at(&r)));
        }
    }

    let labelled = store.get_number(&numbers[0]).await.unwrap().unwrap();
    let flag = labelled
        .health_flag
        .expect("the labelled number is flagged");
    println!(
        "number health through the stream, seed {SEED}: labelled number flagged after {} calls ({} answered)",
        flag.number.calls, flag.number.answered
    );
    assert!(flag.number.calls <= 60, "{flag:?}");
    for n in &numbers[1..] {
        let number = store.get_number(n).await.unwrap().unwrap();
        assert!(number.health_flag.is_none(), "{} flagged", n.as_str());
    }
    let flagged: Vec<_> = number_events
        .iter()
        .filter(|e| e.detail_type == "number.flagged")
        .collect();
    assert_eq!(flagged.len(), 1, "{number_events:?}");
    assert_event(flagged[0], &[]);
    assert_eq!(flagged[0].detail["proxy_number"], refs[0]);
    // The tallies add up to the calls written, each once.
    let (from, to) = shared::domain::health::window(shared::now());
    let total = shared::ports::NumberHealth::pool_tally(&store, from, to)
        .await
        .unwrap();
    assert_eq!(total.calls, CALLS as u64);
}
