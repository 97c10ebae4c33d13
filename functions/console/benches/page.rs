//! A conversation page with 200 calls (1,200 call events), 20 texts and a recording, built by
//! the console function on the in-memory store: the session checked against the pool's key,
//! six store reads, the calls folded and the page rendered and escaped. Budget: 150 ms.
//! The store's own time is not in it (its reads are counted in the handler tests instead).
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use console::handle;
use criterion::{Criterion, criterion_group, criterion_main};
use shared::ports::SmsLedger;
use testkit::fakes::MemoryStore;

fn page(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let deps = rt.block_on(async {
        let deps = deps(MemoryStore::default());
        let conv = seeded(&deps.store, "c1", "ride-1").await;
        calls(&deps.store, &conv, 200).await;
        for i in 0..20 {
            deps.store
                .record_message(
                    &conv.id,
                    &shared::model::RelayedMessage {
                        message_id: format!("m{i}"),
                        from_index: (i % 2) as u8,
                        at: conv.created_at + 30 * i,
                        parts: 1,
                        status: shared::values::MessageStatus::Submitted,
                        outbound_id: Some(format!("out{i}")),
                    },
                    i64::MAX,
                )
                .await
                .unwrap();
        }
        deps
    });
    let sam = supervisor();
    let body = rt.block_on(async {
        let r = handle(&deps, get("/console/conversations/c1", Some(&sam))).await;
        assert_eq!(r.status().as_u16(), 200);
        text(&r)
    });
    assert_eq!(body.matches("class=\"entry call\"").count(), 200);
    assert_eq!(body.matches("class=\"entry text\"").count(), 20);
    c.bench_function("console/conversation page, 200 calls", |b| {
        b.to_async(&rt).iter(|| async {
            let r = handle(&deps, get("/console/conversations/c1", Some(&sam))).await;
            assert_eq!(r.status().as_u16(), 200);
        });
    });
}

criterion_group!(benches, page);
criterion_main!(benches);
