//! Call settings as the caller and the callee hear them: the announcement (with the callee's
//! label) in the caller's language, the whisper through the connect's `onAnswer` (with the
//! caller's label and the reference) in the callee's language, the prompt to take the call and
//! what a refusal does, the notice before a recorded call is recorded, and the caller ID, which
//! is the callee's view of the caller's proxy number whatever the settings. Every NCCO is
//! checked against `vonage/ncco-schema.json`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use answer::{CallHooks, Deps, Outcome, answer, handle};
use lambda_http::{Body, Request};
use shared::config::{CallConfig, WebhookMethods};
use shared::model::{
    CallEvent, CallSettings, Conversation, ConversationStatus, Direction, InitiatedBy,
    MissedCallMode,
};
use shared::ncco::{Action, Endpoint, Ncco};
use shared::ports::CallLog;
use shared::seal::Carried;
use shared::signature::WebhookAuth;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::requests::webhook_get as get;

const A: &str = "447700900001";
const B: &str = "447700900002";
const PA: &str = "447700900101";
const PB: &str = "447700900102";
const ID: &str = "0b6c9a52-7d1e-4c3a-9f0e-5a1b2c3d4e5f";
const BASE: &str = "https://abc123.execute-api.eu-west-1.amazonaws.com";

fn conversation(call: CallSettings, languages: [Option<&str>; 2]) -> Conversation {
    let mut c = testkit::conversation(ID, (A, PA), (B, PB), 0, 4_000_000_000);
    c.reference = Some("ride-42".parse().unwrap());
    for (p, (label, language)) in c
        .participants
        .iter_mut()
        .zip([("rider", languages[0]), ("driver", languages[1])])
    {
        p.label = Some(label.parse().unwrap());
        p.language = language.map(|l| l.parse().unwrap());
    }
    c.call = call;
    c
}

/// The call settings with the built-in English texts alone: these tests are about who hears
/// what, when and in which voice; what each language's texts say is `languages.rs`'s.
fn english() -> CallConfig {
    CallConfig {
        texts: shared::config::Texts::default(),
        ..CallConfig::from_source(&|_: &str| None).unwrap()
    }
}

fn deps(c: &Conversation, methods: WebhookMethods) -> Deps<MemoryStore> {
    Deps {
        store: MemoryStore::with([c.clone()]),
        call: english(),
        auth: WebhookAuth::Off,
        methods,
        hooks: CallHooks::off().unwrap(),
        voice: None::<shared::vonage::VoiceClient>,
        codes: None,
    }
}

fn inbound(to: &str, from: &str) -> Request {
    get(
        "/webhooks/answer",
        &[
            ("to", to),
            ("from", from),
            ("uuid", "u1"),
            ("conversation_uuid", "CON-1"),
        ],
    )
}

fn json(ncco: &Ncco) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(&ncco.to_json()).unwrap();
    testkit::assert_ncco(&json);
    json
}

/// Our own URL at `path`, carrying `carried` sealed for the call `CON-1`, as `deps` seal it.
fn sealed<V>(deps: &Deps<MemoryStore, V>, path: &str, carried: Carried) -> String {
    deps.auth
        .seal()
        .url(&format!("{BASE}{path}"), "CON-1", &carried)
}

/// The whisper URL of a call from participant `caller` on leg `u1`.
fn whisper_url<V>(deps: &Deps<MemoryStore, V>, caller: u8, step: Option<&str>) -> String {
    sealed(
        deps,
        "/webhooks/whisper",
        Carried {
            conversation_id: Some(ID.into()),
            caller: Some(caller),
            leg: Some("u1".into()),
            step: step.map(str::to_owned),
            ..Carried::default()
        },
    )
}

/// What the callee hears on picking up a call from participant `caller`: the whisper URL
/// posted as Vonage does, on the callee's leg of the same call.
async fn whisper_of(deps: &Deps<MemoryStore>, caller: &str) -> serde_json::Value {
    let url = whisper_url(deps, caller.parse().unwrap(), None);
    let body = serde_json::json!({"uuid": "callee-leg", "conversation_uuid": "CON-1"});
    let response = handle(
        deps,
        testkit::requests::json("POST", url.trim_start_matches(BASE), Some(body)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let Body::Text(text) = response.body() else {
        panic!("no NCCO")
    };
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    testkit::assert_ncco(&json);
    json
}

#[tokio::test]
async fn every_setting_does_what_it_says_and_the_caller_id_is_always_the_proxy() {
    let announcements = [
        (None, Some("Connecting your call.")),
        (Some(""), None),
        (
            Some("Connecting you to your {callee}."),
            Some("Connecting you to your driver."),
        ),
    ];
    let whispers = [None, Some("Your {caller} is calling about {reference}.")];
    let languages = [[None, None], [Some("de-DE"), Some("es-MX")]];
    let missed = [MissedCallMode::Message, MissedCallMode::Silent];
    let mut checked = 0;
    for (announcement, spoken) in announcements {
        for whisper in whispers {
            for (langs, missed_call) in languages.into_iter().zip(missed) {
                let call = CallSettings {
                    announcement: announcement.map(str::to_owned),
                    whisper: whisper.map(str::to_owned),
                    missed_call,
                    ..Default::default()
                };
                let c = conversation(call, langs);
                let deps = deps(&c, WebhookMethods::Any);
                // The rider (A) calls the driver (B) through A's proxy number.
                let (ncco, outcome) = answer(&deps, &inbound(PA, A), 1_000).await;
                assert_eq!(outcome, Outcome::Connected);
                let body = json(&ncco);
                let actions = ncco.actions();
                match spoken {
                    Some(text) => {
                        let Action::Talk(talk) = &actions[0] else {
                            panic!("no announcement in {body}")
                        };
                        assert_eq!(talk.text, text);
                        assert_eq!(
                            talk.language.as_ref().map(|l| l.as_str()),
                            langs[0],
                            "in the caller's language"
                        );
                    }
                    None => assert_eq!(actions.len(), 1, "no announcement: {body}"),
                }
                let Some(Action::Connect(connect)) = actions.last() else {
                    panic!("no connect in {body}")
                };
                assert_eq!(
                    connect.from, PB,
                    "the callee sees the caller's proxy number"
                );
                assert_eq!(connect.event_url, [format!("{BASE}/webhooks/event")]);
                assert_eq!(
                    connect.event_type,
                    missed_call.follows_up().then_some("synchronous"),
                    "a missed call can be followed up only when the connect reports it as it happens"
                );
                assert_eq!(
                    connect.machine_detection, "hangup",
                    "a machine that answers is hung up on, whatever the settings"
                );
                let Endpoint::Phone { number, on_answer } = &connect.endpoint[0];
                assert_eq!(number, B);
                assert_eq!(
                    on_answer.as_ref().map(|o| o.url.clone()),
                    whisper.map(|_| whisper_url(&deps, 0, None))
                );
                assert!(
                    !ncco.to_json().contains(A),
                    "the caller's number stays hidden"
                );

                // What the driver hears on picking up.
                let heard = whisper_of(&deps, "0").await;
                match whisper {
                    Some(_) => {
                        assert_eq!(heard[0]["text"], "Your rider is calling about ride-42.");
                        assert_eq!(heard[0]["language"].as_str(), langs[1]);
                    }
                    None => assert_eq!(heard[0]["text"], shared::ncco::SILENCE),
                }
                assert!(!heard.to_string().contains(A) && !heard.to_string().contains(B));

                // And the other way, from the driver to the rider.
                let (ncco, _) = answer(&deps, &inbound(PB, B), 1_000).await;
                json(&ncco);
                let Some(Action::Connect(connect)) = ncco.actions().last() else {
                    panic!("no connect")
                };
                assert_eq!(connect.from, PA);
                if whisper.is_some() {
                    let heard = whisper_of(&deps, "1").await;
                    assert_eq!(heard[0]["text"], "Your driver is calling about ride-42.");
                    assert_eq!(heard[0]["language"].as_str(), langs[0]);
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12);
}

/// The whisper is silence, and the call is bridged all the same, whenever it cannot be said:
/// a conversation that is gone or closed, a store that does not answer, a URL that names no
/// conversation. It takes POST only where the other webhooks do, and it is signed like them.
#[tokio::test]
async fn a_whisper_that_cannot_be_said_is_silence() {
    let call = CallSettings {
        announcement: None,
        whisper: Some("Your {caller} is calling.".into()),
        missed_call: MissedCallMode::Message,
        ..Default::default()
    };
    let open = conversation(call.clone(), [None, None]);
    let strict = deps(&open, WebhookMethods::Post);
    assert_eq!(
        whisper_of(&strict, "1").await[0]["text"],
        "Your driver is calling."
    );
    assert_eq!(
        handle(&strict, inbound(PA, A)).await.status(),
        405,
        "the answer webhook takes POST only"
    );
    assert_eq!(
        handle(
            &strict,
            get(
                "/webhooks/whisper",
                &[("conversation_id", ID), ("caller", "0")]
            )
        )
        .await
        .status(),
        405,
        "and so does the whisper"
    );

    let mut closed = open.clone();
    closed.status = ConversationStatus::Closed;
    let broken = deps(&open, WebhookMethods::Any);
    broken.store.fail(true);
    for deps in [deps(&closed, WebhookMethods::Any), broken] {
        assert_eq!(
            whisper_of(&deps, "0").await[0]["text"],
            shared::ncco::SILENCE
        );
    }
    let deps = deps(&open, WebhookMethods::Any);
    for query in [
        vec![("conversation_id", "not-a-uuid"), ("caller", "0")],
        vec![("conversation_id", ID), ("caller", "2")],
        vec![("caller", "0")],
    ] {
        let response = handle(&deps, get("/webhooks/whisper", &query)).await;
        let Body::Text(text) = response.body() else {
            panic!("no NCCO")
        };
        assert!(text.contains("break time"), "{query:?}: {text}");
    }

    let signed = Deps {
        auth: WebhookAuth::Required(shared::signature::Verifier::new(
            "secret".to_owned().into(),
            None,
            300,
        )),
        ..deps
    };
    let response = handle(
        &signed,
        get(
            "/webhooks/whisper",
            &[("conversation_id", ID), ("caller", "0")],
        ),
    )
    .await;
    assert_eq!(
        response.status(),
        401,
        "an unsigned whisper request is refused"
    );
}

fn accepting(c: &Conversation) -> Deps<MemoryStore, FakeVonage> {
    Deps {
        store: MemoryStore::with([c.clone()]),
        call: english(),
        auth: WebhookAuth::Off,
        methods: WebhookMethods::Any,
        hooks: CallHooks::off().unwrap(),
        voice: Some(FakeVonage::default()),
        codes: None,
    }
}

/// The callee's key press, as Vonage posts an `input` result to the prompt's `eventUrl`.
async fn press(deps: &Deps<MemoryStore, FakeVonage>, dtmf: serde_json::Value) -> serde_json::Value {
    let url = whisper_url(deps, 0, Some("accept"));
    let url = url.trim_start_matches(BASE);
    let body =
        serde_json::json!({"uuid": "callee-leg", "conversation_uuid": "CON-1", "dtmf": dtmf});
    let (status, ncco) = testkit::requests::read(
        handle(deps, testkit::requests::json("POST", url, Some(body))).await,
    );
    assert_eq!(status, 200);
    testkit::assert_ncco(&ncco);
    ncco
}

#[tokio::test]
async fn a_recorded_call_is_announced_to_both_in_their_language_then_recorded() {
    for whisper in [None, Some("Your {caller} is calling.")] {
        let call = CallSettings {
            whisper: whisper.map(str::to_owned),
            record: true,
            ..Default::default()
        };
        let c = conversation(call, [Some("es-MX"), Some("de-DE")]);
        let deps = deps(&c, WebhookMethods::Any);
        let (ncco, _) = answer(&deps, &inbound(PA, A), 1_000).await;
        let body = json(&ncco);
        assert_eq!(body[0]["text"], "Connecting your call.");
        assert_eq!(
            (&body[1]["text"], &body[1]["language"]),
            (
                &serde_json::json!("This call is recorded."),
                &serde_json::json!("es-MX")
            ),
            "the caller is told before the recording starts: {body}"
        );
        assert_eq!(
            body[2],
            serde_json::json!({"action": "record", "format": "mp3", "split": "conversation",
                "channels": 2, "eventMethod": "POST",
                "eventUrl": [sealed(&deps, "/webhooks/recording", Carried {
                conversation_id: Some(ID.into()),
                ..Carried::default()
            })]})
        );
        assert_eq!(body[3]["action"], "connect");
        assert_eq!(body[3]["from"], PB, "the caller ID is still the proxy");
        assert_eq!(
            body[3]["endpoint"][0]["onAnswer"]["url"],
            whisper_url(&deps, 0, None),
            "the callee is told too, when they pick up"
        );
        let heard = whisper_of(&deps, "0").await;
        assert_eq!(heard[0]["text"], "This call is recorded.");
        assert_eq!(heard[0]["language"], "de-DE");
        assert_eq!(
            heard.as_array().unwrap().len(),
            1 + usize::from(whisper.is_some())
        );
        assert!(!ncco.to_json().contains(A) && !heard.to_string().contains(A));
    }
    // Without `record`, no notice and no recording.
    let c = conversation(CallSettings::default(), [None, None]);
    let (ncco, _) = answer(&deps(&c, WebhookMethods::Any), &inbound(PA, A), 1_000).await;
    assert!(!ncco.to_json().contains("record"));
}

#[tokio::test]
async fn the_callee_presses_1_to_take_the_call_and_anything_else_ends_it() {
    let call = CallSettings {
        whisper: Some("Your {caller} is calling about {reference}.".into()),
        whisper_accept: true,
        ..Default::default()
    };
    let c = conversation(call, [Some("es-MX"), Some("de-DE")]);
    let deps = accepting(&c);
    let heard = whisper_of_any(&deps).await;
    assert_eq!(heard[0]["text"], "Your rider is calling about ride-42.");
    assert_eq!(
        heard[1],
        serde_json::json!({"action": "talk", "text": "Press 1 to take the call.",
            "language": "de-DE", "bargeIn": true})
    );
    assert_eq!(
        heard[2],
        serde_json::json!({"action": "input", "maxDigits": 1, "timeOut": 5, "eventMethod": "POST",
            "eventUrl": [whisper_url(&deps, 0, Some("accept"))]})
    );

    // 1 (in either shape Vonage sends it): a moment, then the two are bridged; no leg touched.
    for dtmf in [
        serde_json::json!("1"),
        serde_json::json!({"digits": "1", "timed_out": false}),
    ] {
        assert_eq!(press(&deps, dtmf).await[0]["text"], shared::ncco::SILENCE);
    }
    assert!(deps.voice.as_ref().unwrap().legs().is_empty());

    // Anything else, or nothing before the time-out: the caller is told, in their language,
    // and the callee's leg ends.
    for dtmf in [
        serde_json::json!("2"),
        serde_json::json!({"digits": "", "timed_out": true}),
    ] {
        let deps = accepting(&c);
        assert_eq!(press(&deps, dtmf).await[0]["text"], shared::ncco::SILENCE);
        let legs = deps.voice.as_ref().unwrap().legs();
        assert_eq!(legs.len(), 2, "{legs:?}");
        let (leg, told) = legs.iter().find(|(l, _)| l == "u1").unwrap();
        let told: serde_json::Value = serde_json::from_str(told).unwrap();
        testkit::assert_ncco(&told);
        assert_eq!(
            told,
            serde_json::json!([{"action": "talk", "language": "es-MX",
                "text": "Sorry, your driver cannot take your call right now."}]),
            "{leg}"
        );
        assert!(legs.contains(&("callee-leg".to_owned(), "hangup".to_owned())));
        assert!(
            !told.to_string().contains(B),
            "the callee's number stays hidden"
        );
    }

    // The Voice API failing, or not configured: still a 200 and an NCCO.
    let failing = accepting(&c);
    failing.voice.as_ref().unwrap().fail("voice", true);
    assert_eq!(
        press(&failing, serde_json::json!("9")).await[0]["text"],
        shared::ncco::SILENCE
    );
    let without = Deps {
        voice: None,
        codes: None,
        ..accepting(&c)
    };
    assert_eq!(
        press(&without, serde_json::json!("9")).await[0]["text"],
        shared::ncco::SILENCE
    );
}

/// A call the backend started (click-to-call) rang its caller before any URL could name their
/// leg: when the callee refuses it, the caller's leg is found in the call log, and told.
#[tokio::test]
async fn a_started_calls_caller_is_told_too_when_the_callee_refuses_it() {
    let call = CallSettings {
        whisper: Some("Your {caller} is calling.".into()),
        whisper_accept: true,
        ..Default::default()
    };
    let c = conversation(call, [Some("es-MX"), Some("de-DE")]);
    let deps = accepting(&c);
    let rider_answered = CallEvent {
        call_id: "CON-1".into(),
        leg: "rider-leg".into(),
        direction: Some(Direction::Inbound),
        shown_number: None,
        status: "answered".parse().unwrap(),
        at_ms: 1_000,
        caller_index: 0,
        duration: None,
        rate: None,
        price: None,
        detail: None,
        routed_by: Default::default(),
        initiated_by: InitiatedBy::Api,
    };
    deps.store
        .record_event(&c.id, &rider_answered, 0)
        .await
        .unwrap();
    let url = deps.auth.seal().url_for_started_call(
        &format!("{BASE}/webhooks/whisper"),
        &Carried {
            conversation_id: Some(ID.into()),
            caller: Some(0),
            step: Some("accept".into()),
            ..Carried::default()
        },
    );
    let body = serde_json::json!({"uuid": "callee-leg", "conversation_uuid": "CON-1", "dtmf": "2"});
    let (status, ncco) = testkit::requests::read(
        handle(
            &deps,
            testkit::requests::json("POST", url.trim_start_matches(BASE), Some(body)),
        )
        .await,
    );
    assert_eq!(status, 200);
    assert_eq!(ncco[0]["text"], shared::ncco::SILENCE);
    let legs = deps.voice.as_ref().unwrap().legs();
    assert!(
        legs.contains(&("callee-leg".to_owned(), "hangup".to_owned())),
        "{legs:?}"
    );
    let (_, told) = legs
        .iter()
        .find(|(l, _)| l == "rider-leg")
        .unwrap_or_else(|| panic!("the rider's leg is told: {legs:?}"));
    let told: serde_json::Value = serde_json::from_str(told).unwrap();
    assert_eq!(
        told,
        serde_json::json!([{"action": "talk", "language": "es-MX",
            "text": "Sorry, your driver cannot take your call right now."}])
    );
}

async fn whisper_of_any(deps: &Deps<MemoryStore, FakeVonage>) -> serde_json::Value {
    let response = handle(
        deps,
        get(
            "/webhooks/whisper",
            &[
                ("conversation_id", ID),
                ("caller", "0"),
                ("leg", "u1"),
                ("conversation_uuid", "CON-1"),
            ],
        ),
    )
    .await;
    let (status, ncco) = testkit::requests::read(response);
    assert_eq!(status, 200);
    testkit::assert_ncco(&ncco);
    ncco
}

/// Each person hears their own language where the texts catalogue has it: a Spanish-speaking
/// caller hears the Spanish announcement, out-of-service message and access-code prompt; the
/// callee hears the configured whisper in theirs. Every NCCO is checked against
/// `vonage/ncco-schema.json`.
mod languages {
    use super::{A, B, ID, PA, PB, inbound, json, whisper_of};
    use answer::{CallHooks, DEFAULT_TIMEOUT, Deps, Outcome, answer};
    use shared::config::{AccessCodeConfig, CallConfig, ConversationConfig, WebhookMethods};
    use shared::hook::Hooks;
    use shared::model::{CallSettings, Conversation, Mode};
    use shared::signature::WebhookAuth;
    use testkit::MapSource;
    use testkit::fakes::MemoryStore;

    const NOW: i64 = 1_000;

    /// The rider (A) speaks Spanish, the driver (B) German; the call settings as creation fills
    /// them in from configuration `settings`.
    fn ride(settings: &[(&str, &str)]) -> Conversation {
        let mut c = testkit::conversation(ID, (A, PA), (B, PB), 0, 4_000_000_000);
        c.reference = Some("ride-42".parse().unwrap());
        for (p, (label, language)) in c
            .participants
            .iter_mut()
            .zip([("rider", "es-ES"), ("driver", "de-DE")])
        {
            p.label = Some(label.parse().unwrap());
            p.language = Some(language.parse().unwrap());
        }
        c.call = ConversationConfig::from_source(&MapSource::new(settings))
            .unwrap()
            .call_defaults;
        c
    }

    /// The answer function as `main` builds it from `settings`, on a store holding `c`.
    fn deps(c: &Conversation, settings: &[(&str, &str)]) -> Deps<MemoryStore> {
        let src = MapSource::new(settings);
        Deps {
            store: MemoryStore::with([c.clone()]),
            call: CallConfig::from_source(&src).unwrap(),
            auth: WebhookAuth::Off,
            methods: WebhookMethods::Any,
            hooks: CallHooks {
                hooks: Hooks::default(),
                conversations: ConversationConfig::from_source(&src).unwrap(),
                budget: DEFAULT_TIMEOUT,
            },
            voice: None::<shared::vonage::VoiceClient>,
            codes: AccessCodeConfig::from_source(&src).unwrap(),
        }
    }

    async fn ncco_of(
        deps: &Deps<MemoryStore>,
        to: &str,
        from: &str,
    ) -> (serde_json::Value, Outcome) {
        let (ncco, outcome) = answer(deps, &inbound(to, from), NOW).await;
        (json(&ncco), outcome)
    }

    #[tokio::test]
    async fn a_spanish_caller_hears_the_spanish_announcement() {
        let c = ride(&[]);
        assert_eq!(
            c.call.announcement.as_deref(),
            Some("Connecting your call.")
        );
        let (ncco, outcome) = ncco_of(&deps(&c, &[]), PA, A).await;
        assert_eq!(outcome, Outcome::Connected);
        assert_eq!(
            ncco[0],
            serde_json::json!({"action": "talk", "text": "Estamos conectando su llamada.", "language": "es-ES"})
        );
        assert_eq!(ncco[1]["action"], "connect");

        // The German driver calling back hears German; the catalogue's texts, with the callee's
        // label, from TEXTS.
        let texts = r#"{"es-ES": {"announcement": "Le pasamos con su {callee}."}}"#;
        let settings = [("TEXTS", texts)];
        let c = ride(&settings);
        let deps = deps(&c, &settings);
        let (ncco, _) = ncco_of(&deps, PA, A).await;
        assert_eq!(ncco[0]["text"], "Le pasamos con su driver.");
        let (ncco, _) = ncco_of(&deps, PB, B).await;
        assert_eq!(
            (&ncco[0]["text"], &ncco[0]["language"]),
            (
                &serde_json::json!("Ihr Anruf wird verbunden."),
                &serde_json::json!("de-DE")
            )
        );

        // A conversation's own announcement wins over the catalogue.
        let mut c = ride(&[]);
        c.call.announcement = Some("Calling your {callee}.".into());
        let (ncco, _) = ncco_of(&deps_for(&c), PA, A).await;
        assert_eq!(ncco[0]["text"], "Calling your driver.");
    }

    fn deps_for(c: &Conversation) -> Deps<MemoryStore> {
        deps(c, &[])
    }

    #[tokio::test]
    async fn a_spanish_caller_hears_the_spanish_out_of_service_message() {
        let spanish = serde_json::json!([{"action": "talk",
            "text": "El número al que ha llamado no está en servicio.", "language": "es-ES"}]);
        // Their conversation here has expired.
        let mut c = ride(&[]);
        c.expires_at = NOW - 1;
        let (ncco, outcome) = ncco_of(&deps_for(&c), PA, A).await;
        assert_eq!((ncco, outcome), (spanish.clone(), Outcome::Expired));
        // It relays texts only.
        let mut c = ride(&[]);
        c.mode = Mode::Sms;
        let (ncco, outcome) = ncco_of(&deps_for(&c), PA, A).await;
        assert_eq!((ncco, outcome), (spanish, Outcome::VoiceOff));
        // A stranger, whose language nobody knows, hears the default language.
        let (ncco, outcome) = ncco_of(&deps_for(&ride(&[])), PA, "447700900999").await;
        assert_eq!(outcome, Outcome::UnknownCaller);
        assert_eq!(
            ncco,
            serde_json::json!([{"action": "talk", "text": "The number you have called is not in service."}])
        );
    }

    #[tokio::test]
    async fn a_spanish_caller_hears_the_spanish_access_code_prompt() {
        let settings = [("ACCESS_CODES", "true"), ("ACCESS_CODE_DIGITS", "4")];
        // The rider holds this number in more than one conversation: caller ID cannot route them.
        let mut c = ride(&settings);
        c.participants[0].shared = true;
        c.participants[0].code = Some("4821".to_owned().try_into().unwrap());
        let (ncco, outcome) = ncco_of(&deps(&c, &settings), PA, A).await;
        assert_eq!(outcome, Outcome::CodeAsked);
        assert_eq!(
            (&ncco[0]["action"], &ncco[0]["text"], &ncco[0]["language"]),
            (
                &serde_json::json!("talk"),
                &serde_json::json!("Introduzca su código de acceso y pulse la tecla almohadilla."),
                &serde_json::json!("es-ES")
            ),
            "{ncco}"
        );
        assert_eq!(ncco[1]["action"], "input");
    }

    #[tokio::test]
    async fn the_callee_hears_the_configured_whisper_in_their_language() {
        let settings = [(
            "WHISPER_TEXT",
            "Your {caller} is calling about {reference}.",
        )];
        let c = ride(&settings);
        let deps = deps(&c, &settings);
        let heard = whisper_of(&deps, "0").await;
        assert_eq!(
            (&heard[0]["text"], &heard[0]["language"]),
            (
                &serde_json::json!("Sie haben einen Anruf von rider zum Thema ride-42."),
                &serde_json::json!("de-DE")
            )
        );
        // The driver calling the rider: the Spanish whisper.
        let heard = whisper_of(&deps, "1").await;
        assert_eq!(
            heard[0]["text"],
            "Tiene una llamada de su driver sobre ride-42."
        );

        // A conversation's own whisper is said as it was asked for.
        let mut c = ride(&settings);
        c.call = CallSettings {
            whisper: Some("Your {caller} is on the line.".into()),
            ..c.call
        };
        let heard = whisper_of(&self::deps(&c, &settings), "0").await;
        assert_eq!(heard[0]["text"], "Your rider is on the line.");
    }
}
