//! Access codes in the store, against the local DynamoDB-API server (started by scripts/test):
//! a code is one conversation's on its number while it is open, a shared route routes nobody by
//! caller ID, closing gives codes back, and a sliding conversation keeps its codes alive.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::model::{CloseReason, Conversation, ExpiryMode};
use shared::model::{CodeFailures, CodeGuess, CreateConflict, GuessSpent, WriteError};
use shared::phone::Msisdn;
use shared::store::Store;
use shared::values::AccessCode;
use testkit::{add_pool, closing, conversation, fresh_store};

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

async fn store() -> Store {
    let store = fresh_store().await;
    add_pool(&store, &[P1, P2], "GB").await;
    store
}

#[tokio::test]
async fn a_code_belongs_to_one_open_conversation_on_its_number() {
    let store = store().await;
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
    assert!(store.get_conversation(&taken.id).await.unwrap().is_none());
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

#[tokio::test]
async fn a_shared_number_routes_its_sharer_by_code_and_counts_as_shared() {
    let store = store().await;
    let first = delivery("c1", "447700900011", P1, "1234", false);
    let second = delivery("c2", "447700900012", P1, "5678", true);
    store.create_conversation(&first).await.unwrap();
    store.create_conversation(&second).await.unwrap();

    let route = store.get_route(&m(P1), &m(COURIER)).await.unwrap().unwrap();
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
        .get_route(&m(P2), &m("447700900012"))
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
    assert_eq!(store.get_route(&m(P1), &m(COURIER)).await.unwrap(), None);
    let route = store.code_route(&m(P1), &code("1234")).await.unwrap();
    assert_eq!(route.unwrap().conversation_id.as_str(), "c1");
    let sharing = store.sharing().await.unwrap();
    assert_eq!(
        (sharing.participants_sharing, sharing.most_on_one_number),
        (0, 1)
    );
}

#[tokio::test]
async fn a_sliding_conversation_whose_route_left_still_slides_with_its_codes() {
    let store = store().await;
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
    let now = store.get_conversation(&first.id).await.unwrap().unwrap();
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

#[tokio::test]
async fn each_typed_code_is_counted_against_its_caller_until_their_period_ends() {
    let store = store().await;
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

#[tokio::test]
async fn a_number_spends_its_live_codes_per_guess_and_a_right_code_is_given_back() {
    let store = store().await;
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
