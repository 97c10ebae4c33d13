//! Property tests (proptest, 512 cases each) for what reads untrusted input: phone-number
//! parsing, signature verification and webhook parsing. None may panic, and each keeps its
//! promise on every input.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use answer::Outcome;
use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use secrecy::SecretString;
use shared::config::CallConfig;
use shared::ncco::Action;
use shared::phone::Msisdn;
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use testkit::fakes::MemoryStore;

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";

/// A store that knows one conversation: A calling PA reaches B, who sees PB, and back.
fn one_route() -> MemoryStore {
    MemoryStore::with([testkit::conversation(
        "c1",
        (A, PA),
        (B, PB),
        0,
        i64::MAX / 2,
    )])
}

fn body_request(content_type: &str, body: Vec<u8>) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/webhooks/event")
        .header("content-type", content_type)
        .body(Body::Binary(body))
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn number_parsing_never_panics_and_is_stable(input in ".{0,40}") {
        if let Ok(n) = Msisdn::parse(&input) {
            prop_assert!((7..=15).contains(&n.as_str().len()));
            prop_assert!(n.as_str().bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(Msisdn::parse(n.as_str()).unwrap(), n.clone());
            prop_assert!(!n.masked().to_string().contains(n.as_str()));
        }
    }

    #[test]
    fn formatted_numbers_parse_to_their_digits(national in 7_000_000_000u64..7_999_999_999u64) {
        let digits = format!("44{national}");
        let spaced = format!("+44 {} {}", &digits[2..6], &digits[6..]);
        let parsed = Msisdn::parse(&spaced).unwrap();
        prop_assert_eq!(parsed.as_str(), digits.as_str());
    }

    #[test]
    fn a_signature_holds_for_its_body_only(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        flip in any::<prop::sample::Index>(),
        secret in "[ -~]{8,40}",
    ) {
        let now = 1_800_000_000;
        let verifier = Verifier::new(SecretString::from(secret.clone()), None, 300);
        let token = sign(&claims_for(&body, now, "abcd1234"), &secret);
        prop_assert!(verifier.verify(&token, &body, now).is_ok());
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = flip.index(changed.len());
            changed[i] ^= 0x01;
            prop_assert!(verifier.verify(&token, &changed, now).is_err());
        }
    }

    #[test]
    fn arbitrary_tokens_never_verify(token in ".{0,300}", body in ".{0,100}") {
        let verifier = Verifier::new(SecretString::from("the-secret"), None, 300);
        prop_assert!(verifier.verify(&token, body.as_bytes(), 1_800_000_000).is_err());
    }

    #[test]
    fn event_parsing_never_panics(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        json in any::<bool>(),
    ) {
        let content_type = if json { "application/json" } else { "application/x-www-form-urlencoded" };
        if let Err(refused) = event::parse(&body_request(content_type, body)) {
            prop_assert!(refused.parts().0 < 500, "{refused}");
        }
    }

    #[test]
    fn event_fields_of_any_value_never_panic(
        fields in proptest::collection::hash_map("(status|uuid|conversation_uuid|timestamp|duration|price|rate|direction|to|from|detail)", ".{0,40}", 0..11),
    ) {
        let body = serde_json::to_vec(&fields).unwrap();
        if let Ok(Some(incoming)) = event::parse(&body_request("application/json", body)) {
            prop_assert!(!incoming.event.status.as_str().is_empty());
            prop_assert!(incoming.event.call_id.len() <= 64);
        }
    }

    #[test]
    fn an_inbound_call_connects_only_on_its_route_and_is_safe_otherwise(
        to in prop_oneof![Just(PA.to_owned()), Just(PB.to_owned()), ".{0,20}"],
        from in prop_oneof![Just(A.to_owned()), Just(B.to_owned()), ".{0,20}"],
        extra in proptest::collection::hash_map("(uuid|conversation_uuid|reason)", ".{0,30}", 0..3),
        body in prop_oneof![
            Just(Vec::new()),
            proptest::collection::hash_map("(to|from|uuid)", prop_oneof![Just(PA.to_owned()), Just(A.to_owned()), ".{0,12}"], 0..3)
                .prop_map(|m| serde_json::to_vec(&m).unwrap()),
            proptest::collection::vec(any::<u8>(), 0..200),
        ],
    ) {
        let deps = answer::Deps {
            store: one_route(),
            call: CallConfig::from_source(&|_: &str| None).unwrap(),
            auth: WebhookAuth::Off,
            methods: shared::config::WebhookMethods::Any,
            hooks: answer::CallHooks::off().unwrap(),
            voice: None::<shared::vonage::VoiceClient>,
            codes: None,
        };
        let mut query = extra;
        query.insert("to".to_owned(), to.clone());
        query.insert("from".to_owned(), from.clone());
        let req = body_request("application/json", body).with_query_string_parameters(query);
        // What the request says, wherever Vonage put it (a JSON body may name to and from too).
        let fields = shared::http::webhook_fields(&req);
        let says = |k: &str| fields.as_ref().and_then(|f| f.get(k)).map(String::as_str);
        let (ncco, outcome) = runtime().block_on(answer::answer(&deps, &req, 0));
        // Only the conversation's two (proxy, caller) pairs connect, each to the other
        // participant with their proxy number as caller ID; everything else gets the one spoken
        // message.
        let known = [((PA, A), (B, PB)), ((PB, B), (A, PA))]
            .into_iter()
            .find(|((proxy, caller), _)| says("to") == Some(*proxy) && says("from") == Some(*caller));
        if let Some((_, (callee, caller_id))) = known {
            prop_assert_eq!(outcome, Outcome::Connected);
            let connect = ncco.actions().iter().find_map(|a| match a {
                Action::Connect(c) => Some(c),
                _ => None,
            });
            let json = serde_json::to_value(connect.unwrap()).unwrap();
            prop_assert_eq!(&json["endpoint"][0]["number"], callee);
            prop_assert_eq!(&json["from"], caller_id);
            prop_assert_eq!(&json["machineDetection"], "hangup");
        } else {
            prop_assert_ne!(outcome, Outcome::Connected);
            prop_assert!(matches!(ncco.actions(), [Action::Talk(_)]));
        }
    }
}
