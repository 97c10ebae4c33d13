//! Rule 5 for every number creation accepts: whatever a participant's number, if creation takes
//! it, a call to them gets an NCCO that `ncco-schema.json` accepts.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::cell::Cell;

use conversations::create::participant_number;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use shared::ncco::{Bridge, Ncco};
use shared::phone::Msisdn;

/// Calling codes from the longest to the shortest numbering plans, small territories included.
const CODES: [&str; 16] = [
    "1", "7", "33", "44", "49", "55", "61", "81", "86", "91", "234", "290", "500", "672", "677",
    "683",
];

#[test]
fn every_accepted_participant_gets_a_valid_ncco() {
    let schema = testkit::ncco_schema();
    let proxy = Msisdn::from_digits("447700900101").unwrap();
    let (accepted, too_short) = (Cell::new(0), Cell::new(0));
    let mut runner = TestRunner::new(Config {
        cases: 2048,
        failure_persistence: None,
        ..Config::default()
    });
    let typed =
        (0..CODES.len(), "[0-9]{3,13}", 0..3usize).prop_map(|(code, digits, style)| match style {
            0 => format!("+{} {digits}", CODES[code]),
            1 => format!("00{}{digits}", CODES[code]),
            _ => format!("{}{digits}", CODES[code]),
        });
    runner
        .run(&typed, |typed| {
            match participant_number(0, &typed) {
                Ok(number) => {
                    accepted.set(accepted.get() + 1);
                    for announcement in ["Connecting your call.", ""] {
                        let ncco = Ncco::connect(Bridge {
                            announcement,
                            language: None,
                            callee: &number,
                            caller_id: &proxy,
                            ring_timeout: 45,
                            call_limit: 3600,
                            event_url: "https://abc123.execute-api.eu-west-1.amazonaws.com/webhooks/event",
                            on_answer: None,
                            synchronous: true,
                            record: None,
                        });
                        let json: serde_json::Value =
                            serde_json::from_str(&ncco.to_json()).unwrap();
                        let errors: Vec<String> =
                            schema.iter_errors(&json).map(|e| e.to_string()).collect();
                        prop_assert!(errors.is_empty(), "{typed}: {json} {errors:?}");
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e.problem().code, "invalid_number");
                    if Msisdn::parse(&typed).is_ok() {
                        too_short.set(too_short.get() + 1);
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let (accepted, too_short) = (accepted.get(), too_short.get());
    eprintln!("{accepted} accepted, {too_short} possible but too short for an NCCO");
    // The property held over numbers that were really accepted, and the short ones were seen.
    assert!(accepted > 200, "only {accepted} accepted");
    assert!(too_short > 0);
}
