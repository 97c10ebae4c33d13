//! The warning function speaks a call's warning into each of its legs through the Voice API's
//! talk at the warning's time, each request checked against `voice.yml` by a Prism proxy in
//! front of a stand-in; a leg that has ended is passed over, and the invocation fails only when
//! no leg heard it.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::json;
use shared::model::{CallWarning, SpokenLeg};
use testkit::fakes::FakeVonage;
use warn::{Deps, Spoken, handle};

/// The warning's time.
const AT: i64 = 1_893_492_540;

fn warning() -> CallWarning {
    CallWarning {
        conversation_id: "0d8f3c1e-1f2a-4b5c-9d8e-7f6a5b4c3d2e".parse().unwrap(),
        call_id: "CON-1".into(),
        at: AT,
        legs: vec![
            SpokenLeg {
                leg: "aaaaaaaa-0000-4000-8000-000000000001".into(),
                text: "This call will end in 60 seconds.".into(),
                language: Some("en-GB".parse().unwrap()),
            },
            SpokenLeg {
                leg: "aaaaaaaa-0000-4000-8000-000000000002".into(),
                text: "Esta llamada terminará en 60 segundos.".into(),
                language: Some("es-ES".parse().unwrap()),
            },
        ],
    }
}

#[tokio::test]
async fn each_leg_hears_its_own_text() {
    let deps = Deps {
        voice: FakeVonage::default(),
    };
    let spoken = handle(&deps, &warning(), AT).await.unwrap();
    assert_eq!(
        spoken,
        Spoken {
            spoken: 2,
            ended: 0,
            failed: 0,
        }
    );
    assert_eq!(
        deps.voice.legs(),
        [
            (
                "aaaaaaaa-0000-4000-8000-000000000001".to_owned(),
                "talk: This call will end in 60 seconds. (en-GB)".to_owned()
            ),
            (
                "aaaaaaaa-0000-4000-8000-000000000002".to_owned(),
                "talk: Esta llamada terminará en 60 segundos. (es-ES)".to_owned()
            ),
        ]
    );
    deps.voice.fail("voice", true);
    assert!(
        handle(&deps, &warning(), AT).await.is_err(),
        "nobody heard it: the invocation fails"
    );
}

/// The schedule goes off up to two minutes before the warning's time (Scheduler is precise to
/// the minute): the function waits for the time itself, and never longer than that.
#[tokio::test(start_paused = true)]
async fn the_warning_waits_for_its_time() {
    let deps = Deps {
        voice: FakeVonage::default(),
    };
    for (early, waited) in [(0, 0), (-30, 0), (45, 45), (119, 119), (600, 120)] {
        let started = tokio::time::Instant::now();
        handle(&deps, &warning(), AT - early).await.unwrap();
        assert_eq!(started.elapsed().as_secs(), waited, "{early} s early");
    }
}

#[cfg(feature = "services")] // needs Prism: scripts/test
#[tokio::test]
async fn the_talk_requests_are_the_specs() {
    use testkit::{SpecProxy, application_key_pair, voice_client};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let (private, _) = application_key_pair();
    let stand_in = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "message": "Talk started", "uuid": "aaaaaaaa-0000-4000-8000-000000000001",
        })))
        .mount(&stand_in)
        .await;
    let prism = SpecProxy::start("voice.yml", &stand_in.uri());
    let deps = Deps {
        voice: voice_client(&prism.url, &stand_in.uri(), "app", &private),
    };
    let spoken = handle(&deps, &warning(), AT).await.unwrap();
    assert_eq!(
        spoken,
        Spoken {
            spoken: 2,
            ended: 0,
            failed: 0,
        }
    );
    let requests = stand_in.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "both passed the spec");
    assert_eq!(
        requests[0].url.path(),
        "/aaaaaaaa-0000-4000-8000-000000000001/talk"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[0].body).unwrap(),
        json!({"text": "This call will end in 60 seconds.", "language": "en-GB"})
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&requests[1].body).unwrap(),
        json!({"text": "Esta llamada terminará en 60 segundos.", "language": "es-ES"})
    );
    // And again against scripts/test's Prism mock of voice.yml.
    let mock = std::env::var("PRISM_VOICE_URL")
        .expect("PRISM_VOICE_URL is not set: run the tests with scripts/test");
    testkit::assert_spec_accepts(&stand_in, "", &mock).await;
}

/// The warning, the Voice API answering `status` to the second leg's talk and `200` to the
/// first's; and how many talks were asked for.
async fn second_leg_answering(status: u16) -> (Spoken, usize) {
    use testkit::{application_key_pair, voice_client};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let (private, _) = application_key_pair();
    let vonage = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/aaaaaaaa-0000-4000-8000-000000000002/talk"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&vonage)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message": "Talk started"})))
        .mount(&vonage)
        .await;
    let deps = Deps {
        voice: voice_client(&vonage.uri(), &vonage.uri(), "app", &private),
    };
    let spoken = handle(&deps, &warning(), AT).await.unwrap();
    (spoken, vonage.received_requests().await.unwrap().len())
}

#[tokio::test]
async fn a_leg_that_has_ended_is_passed_over() {
    assert_eq!(
        second_leg_answering(404).await,
        (
            Spoken {
                spoken: 1,
                ended: 1,
                failed: 0,
            },
            2
        )
    );
}

/// One leg told and the other refused: the warning was spoken, and the refusal is logged.
#[tokio::test]
async fn one_leg_told_is_a_warning_spoken_and_the_refusal_is_logged() {
    assert_eq!(
        second_leg_answering(400).await,
        (
            Spoken {
                spoken: 1,
                ended: 0,
                failed: 1,
            },
            2
        )
    );
}

#[tokio::test]
async fn the_schedules_event_file_plays() {
    let path = format!(
        "{}/../../events/warn-schedule.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let warning: CallWarning =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let deps = Deps {
        voice: FakeVonage::default(),
    };
    assert_eq!(
        handle(&deps, &warning, warning.at).await.unwrap(),
        Spoken {
            spoken: 2,
            ended: 0,
            failed: 0,
        }
    );
}
