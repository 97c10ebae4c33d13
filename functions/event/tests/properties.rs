//! Property tests (proptest, 512 cases each) for what reads untrusted input: phone-number
//! parsing, signature verification and webhook parsing. None may panic, and each keeps its
//! promise on every input.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use answer::{Outcome, RouteLookup};
use lambda_http::{Body, Request, RequestExt};
use proptest::prelude::*;
use secrecy::SecretString;
use shared::config::CallConfig;
use shared::model::Route;
use shared::ncco::Action;
use shared::phone::Msisdn;
use shared::signature::{Verifier, WebhookAuth, claims_for, sign};
use shared::store::StoreError;

struct NoRoutes;

impl RouteLookup for NoRoutes {
    async fn route(&self, _: &Msisdn, _: &Msisdn) -> Result<Option<Route>, StoreError> {
        Ok(None)
    }
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
            prop_assert!(!incoming.event.status.is_empty());
            prop_assert!(incoming.event.call_id.len() <= 64);
        }
    }

    #[test]
    fn any_inbound_call_gets_a_safe_ncco(
        query in proptest::collection::hash_map("(to|from|uuid|conversation_uuid|reason)", ".{0,30}", 0..5),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let deps = answer::Deps {
            routes: NoRoutes,
            call: CallConfig::from_source(&|_: &str| None).unwrap(),
            auth: WebhookAuth::Off,
        };
        let req = body_request("application/json", body).with_query_string_parameters(query);
        let (ncco, outcome) = runtime().block_on(answer::answer(&deps, &req, 0));
        prop_assert_ne!(outcome, Outcome::Connected);
        prop_assert!(matches!(ncco.actions(), [Action::Talk(_)]));
    }
}
