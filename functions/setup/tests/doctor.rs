//! The doctor's checks, each shown passing and failing: the stack's secret in the local
//! Secrets Manager, the pool in the local DynamoDB-API server, the Application and Numbers APIs
//! as stand-ins (through Prism proxying their specs for the all-green run), the answer webhook
//! (signed calls and unsigned ones apart) and IAM's policy simulator as local servers (the local
//! AWS stand-in has no policy simulator).
#![cfg(all(feature = "services", feature = "doctor"))] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use secrecy::SecretString;
use serde_json::{Value, json};
use setup::doctor::{Doctor, Expected, Line, render};
use shared::config::MessagingApi;
use shared::secrets::StackSecrets;
use shared::signature::Verifier;
use shared::store::Store;
use testkit::{SpecProxy, add_pool, budget, fresh_store, vonage_config};
use wiremock::matchers::{header_exists, method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "78d335fa-323d-0114-9c3d-d6f0d48968cf";
const ROLE: &str = "arn:aws:iam::123456789012:role/voice-proxy-AnswerFunctionRole-ABC";
const EVERY_KEY: &str = r#"{"api_secret":"abcdef0123456789","signature_secret":"sig-secret","hook_secret":"h","application_id":"78d335fa-323d-0114-9c3d-d6f0d48968cf","private_key":"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}"#;

/// What the account and the stack look like in one run.
struct Setting {
    secret: String,
    webhook_method: &'static str,
    /// Where the application sends calls; `None`: the stack's answer URL.
    answer_address: Option<String>,
    signed_callbacks: bool,
    linked_to: &'static str,
    iam_decision: &'static str,
    answer_status: u16,
    /// What the answer URL gives a call without a signature.
    unsigned_status: u16,
    /// The local stack, whose webhooks take unsigned requests on purpose.
    signatures_off_locally: bool,
    /// Which API the account's texts go through, and whether the stack's text webhooks are set
    /// where that API sends texts (the application's messages webhooks, or the number's
    /// `moHttpUrl`).
    messaging: MessagingApi,
    texts_wired: bool,
    /// Vonage reached through Prism proxying its specs (the good stack's run checks every
    /// request the doctor makes; the others go straight to the stand-in, sparing the machine a
    /// Prism process per test).
    through_prism: bool,
}

impl Default for Setting {
    fn default() -> Self {
        Self {
            secret: EVERY_KEY.into(),
            webhook_method: "POST",
            answer_address: None,
            signed_callbacks: true,
            linked_to: ID,
            iam_decision: "allowed",
            answer_status: 200,
            unsigned_status: 401,
            signatures_off_locally: false,
            messaging: MessagingApi::Messages,
            texts_wired: true,
            through_prism: false,
        }
    }
}

struct Run {
    lines: Vec<Line>,
    webhook: MockServer,
    _proxies: Vec<SpecProxy>,
}

async fn examine(setting: Setting) -> Run {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let name = format!("voice-proxy-{}", uuid::Uuid::new_v4());
    aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(&name)
        .secret_string(&setting.secret)
        .send()
        .await
        .unwrap();

    let webhook = MockServer::start().await;
    let ncco = json!([{"action": "talk", "text": "The number you have called is not in service."}]);
    Mock::given(method("POST"))
        .and(path("/webhooks/answer"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(setting.answer_status).set_body_json(&ncco))
        .with_priority(1)
        .mount(&webhook)
        .await;
    // Anything else: a call without a signature.
    Mock::given(method("POST"))
        .and(path("/webhooks/answer"))
        .respond_with(ResponseTemplate::new(setting.unsigned_status).set_body_json(&ncco))
        .mount(&webhook)
        .await;
    // The stack's webhooks: the answer webhook's stand-in serves them.
    let base = format!("{}/webhooks", webhook.uri());

    let vonage = MockServer::start().await;
    let hook = |address: String| json!({"address": address, "http_method": setting.webhook_method});
    // Any other application: not in the account.
    Mock::given(method("GET"))
        .and(path_regex("^/v2/applications/.+$"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "type": "https://developer.nexmo.com/api-errors#not-found",
            "title": "Not Found",
            "detail": "No application with that id",
            "instance": "bf0ca0bf927b3b52e3cb03217e1a1ddf",
        })))
        .with_priority(10)
        .mount(&vonage)
        .await;
    let messages_wired = setting.texts_wired && setting.messaging == MessagingApi::Messages;
    let messages = if messages_wired {
        json!({"webhooks": {
            "inbound_url": {"address": format!("{base}/inbound-message"), "http_method": "POST"},
            "status_url": {"address": format!("{base}/message-status"), "http_method": "POST"},
        }, "version": "v1"})
    } else {
        json!({})
    };
    Mock::given(method("GET"))
        .and(path(format!("/v2/applications/{ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": ID, "name": "voice-proxy",
            "capabilities": {"voice": {
                "webhooks": {
                    "answer_url": hook(setting.answer_address.clone().unwrap_or(format!("{base}/answer"))),
                    "fallback_answer_url": hook(format!("{base}/fallback")),
                    "event_url": hook(format!("{base}/event")),
                },
                "signed_callbacks": setting.signed_callbacks,
            }, "messages": messages},
        })))
        .mount(&vonage)
        .await;
    let mo_http_url = (setting.texts_wired && setting.messaging == MessagingApi::Sms)
        .then(|| format!("{base}/inbound-sms"));
    let mut number = json!({"country": "GB", "msisdn": "447700900101", "type": "mobile-lvn",
                            "features": ["VOICE", "SMS"], "voiceCallbackType": "app",
                            "voiceCallbackValue": setting.linked_to});
    if let Some(url) = mo_http_url {
        number["moHttpUrl"] = json!(url);
    }
    Mock::given(method("GET"))
        .and(path("/account/numbers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "count": 1,
            "numbers": [number],
        })))
        .mount(&vonage)
        .await;
    let mut proxies = Vec::new();
    let (apps_url, numbers_url) = if setting.through_prism {
        proxies.push(SpecProxy::start(
            "application.v2.yml",
            &format!("{}/v2/applications", vonage.uri()),
        ));
        proxies.push(SpecProxy::start("numbers.yml", &vonage.uri()));
        (proxies[0].url.clone(), proxies[1].url.clone())
    } else {
        (format!("{}/v2/applications", vonage.uri()), vonage.uri())
    };
    let mut vonage_settings = vonage_config(&numbers_url, &numbers_url, &numbers_url);
    vonage_settings.applications_url = apps_url;
    vonage_settings.api_secret = SecretString::from(String::new());
    vonage_settings.messaging = setting.messaging;

    let iam = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(
            r#"<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <SimulatePrincipalPolicyResult>
    <IsTruncated>false</IsTruncated>
    <EvaluationResults>
      <member>
        <EvalDecision>{}</EvalDecision>
        <EvalActionName>secretsmanager:GetSecretValue</EvalActionName>
        <EvalResourceName>{name}</EvalResourceName>
        <MatchedStatements/>
        <MissingContextValues/>
      </member>
    </EvaluationResults>
  </SimulatePrincipalPolicyResult>
  <ResponseMetadata><RequestId>0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0</RequestId></ResponseMetadata>
</SimulatePrincipalPolicyResponse>"#,
            setting.iam_decision
        )))
        .mount(&iam)
        .await;
    let iam_config = aws_sdk_iam::config::Builder::from(&config)
        .endpoint_url(iam.uri())
        .build();

    let store: Store = fresh_store().await;
    add_pool(&store, &["447700900101"], "GB").await;
    let doctor = Doctor {
        secret: StackSecrets::single(name, &budget(2000, 5000, 3)).await,
        store,
        vonage: vonage_settings,
        iam: Some(aws_sdk_iam::Client::from_conf(iam_config)),
        http: reqwest::Client::new(),
    };
    let expected = Expected {
        answer_url: format!("{base}/answer"),
        fallback_url: format!("{base}/fallback"),
        event_url: format!("{base}/event"),
        roles: vec![setup::doctor::Role::parse(ROLE).unwrap()],
        put_secret: "scripts/put-secret voice-proxy".into(),
        signatures_off_locally: setting.signatures_off_locally,
    };
    let lines = doctor.examine(&expected).await;
    println!("{}", render(&lines));
    Run {
        lines,
        webhook,
        _proxies: proxies,
    }
}

fn line<'a>(run: &'a Run, check: &str) -> &'a Line {
    run.lines
        .iter()
        .find(|l| l.check == check)
        .unwrap_or_else(|| panic!("no {check} line"))
}

fn assert_failed(run: &Run, check: &str, detail: &str, fix: &str) {
    let l = line(run, check);
    assert!(!l.ok, "{check} passed: {l:?}");
    assert!(l.detail.contains(detail), "{check}: {l:?}");
    assert!(l.fix.as_deref().unwrap().contains(fix), "{check}: {l:?}");
    let others_ok = run.lines.iter().filter(|o| o.check != check).all(|o| o.ok);
    assert!(others_ok, "only {check} fails: {:?}", run.lines);
}

#[tokio::test]
async fn a_good_stack_is_all_green_and_the_test_call_is_signed() {
    let run = examine(Setting {
        through_prism: true,
        ..Setting::default()
    })
    .await;
    assert!(run.lines.iter().all(|l| l.ok), "{}", render(&run.lines));
    assert_eq!(run.lines.len(), 8);
    assert!(render(&run.lines).ends_with("all green\n"));
    // The test call carries a signature the answer webhook accepts; the other carries none.
    let calls = run.webhook.received_requests().await.unwrap();
    let (signed, unsigned): (Vec<_>, Vec<_>) = calls
        .iter()
        .filter(|c| c.url.path() == "/webhooks/answer")
        .partition(|c| c.headers.contains_key("authorization"));
    assert_eq!((signed.len(), unsigned.len()), (1, 1), "{calls:?}");
    let call = signed[0];
    let token = call.headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let verifier = Verifier::new(
        SecretString::from("sig-secret"),
        Some("abcd1234".into()),
        300,
    );
    verifier.verify(token, &call.body, shared::now()).unwrap();
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert!(body["to"].is_string() && body["from"].is_string());
    let body: Value = serde_json::from_slice(&unsigned[0].body).unwrap();
    assert!(body["to"].is_string() && body["from"].is_string());
    assert!(line(&run, "unsigned call").detail.contains("got 401"));
}

#[tokio::test]
async fn a_secret_without_every_key_fails_with_its_fix() {
    let mut secret: Value = serde_json::from_str(EVERY_KEY).unwrap();
    secret.as_object_mut().unwrap().remove("private_key");
    let run = examine(Setting {
        secret: secret.to_string(),
        ..Setting::default()
    })
    .await;
    assert_failed(&run, "secret", "missing private_key", "--private-key");
}

#[tokio::test]
async fn a_role_that_may_not_read_the_secret_fails_with_its_fix() {
    let run = examine(Setting {
        iam_decision: "implicitDeny",
        ..Setting::default()
    })
    .await;
    assert_failed(
        &run,
        "functions read the secret",
        ROLE,
        "deploy the stack again",
    );
}

#[tokio::test]
async fn webhooks_by_get_or_elsewhere_fail_with_their_fix() {
    let run = examine(Setting {
        webhook_method: "GET",
        answer_address: Some("https://old.example.com/answer".into()),
        ..Setting::default()
    })
    .await;
    assert_failed(
        &run,
        "application",
        "answer_url is GET https://old.example.com/answer, not POST",
        "scripts/put-secret voice-proxy --sync-only",
    );
    assert!(
        line(&run, "application")
            .detail
            .contains("event_url is GET")
    );
}

#[tokio::test]
async fn unsigned_callbacks_fail_with_their_fix() {
    let run = examine(Setting {
        signed_callbacks: false,
        ..Setting::default()
    })
    .await;
    assert_failed(&run, "signed callbacks", "off", "--sync-only");
}

#[tokio::test]
async fn a_number_linked_elsewhere_fails_with_its_fix() {
    let run = examine(Setting {
        linked_to: "11111111-2222-3333-4444-555555555555",
        ..Setting::default()
    })
    .await;
    assert_failed(
        &run,
        "numbers",
        "+447700900101 goes to 11111111-2222-3333-4444-555555555555",
        "links every pool number",
    );
}

#[tokio::test]
async fn an_answer_webhook_refusing_the_test_call_fails_with_its_fix() {
    let run = examine(Setting {
        answer_status: 401,
        ..Setting::default()
    })
    .await;
    assert_failed(&run, "answer webhook", "got 401", "signature_secret");
}

#[tokio::test]
async fn an_application_the_account_does_not_have_fails_and_what_needs_it_says_so() {
    let mut secret: Value = serde_json::from_str(EVERY_KEY).unwrap();
    secret["application_id"] = json!("11111111-2222-3333-4444-555555555555");
    let run = examine(Setting {
        secret: secret.to_string(),
        ..Setting::default()
    })
    .await;
    let app = line(&run, "application");
    assert!(
        !app.ok && app.detail.contains("is not in the Vonage account"),
        "{app:?}"
    );
    assert!(
        app.fix
            .as_deref()
            .unwrap()
            .contains("--sync-only creates it")
    );
    for check in ["signed callbacks", "numbers"] {
        let l = line(&run, check);
        assert!(!l.ok && l.detail.contains("not checked"), "{l:?}");
    }
    for check in ["secret", "functions read the secret", "answer webhook"] {
        assert!(line(&run, check).ok, "{check}: {:?}", run.lines);
    }
}

#[tokio::test]
async fn a_secret_without_the_operators_keys_says_to_put_them() {
    let run = examine(Setting {
        secret: r#"{"hook_secret":"h"}"#.into(),
        ..Setting::default()
    })
    .await;
    let secret = line(&run, "secret");
    assert!(!secret.ok, "{secret:?}");
    assert!(
        secret.detail.contains("api_secret, signature_secret"),
        "{secret:?}"
    );
    assert!(
        secret
            .fix
            .as_deref()
            .unwrap()
            .starts_with("scripts/put-secret voice-proxy (asks"),
        "{secret:?}"
    );
    for check in ["application", "answer webhook"] {
        assert!(line(&run, check).detail.contains("not checked"), "{check}");
    }
}

#[tokio::test]
async fn messages_webhooks_not_set_fail_with_their_fix() {
    let run = examine(Setting {
        texts_wired: false,
        ..Setting::default()
    })
    .await;
    assert_failed(
        &run,
        "texts",
        "messages inbound_url is unset",
        "scripts/put-secret voice-proxy --sync-only sets them",
    );
}

#[tokio::test]
async fn an_sms_api_account_needs_each_number_wired_to_the_stack() {
    let run = examine(Setting {
        messaging: MessagingApi::Sms,
        ..Setting::default()
    })
    .await;
    assert!(run.lines.iter().all(|l| l.ok), "{}", render(&run.lines));
    assert!(line(&run, "texts").detail.contains("/webhooks/inbound-sms"));

    let run = examine(Setting {
        messaging: MessagingApi::Sms,
        texts_wired: false,
        ..Setting::default()
    })
    .await;
    assert_failed(
        &run,
        "texts",
        "+447700900101 sends them to the account's default",
        "links every pool number with its inbound URL",
    );
}

#[tokio::test]
async fn an_answer_url_taking_unsigned_calls_fails_with_its_fix() {
    let run = examine(Setting {
        unsigned_status: 200,
        ..Setting::default()
    })
    .await;
    assert_failed(
        &run,
        "unsigned call",
        "an unsigned test call got 200",
        "webhook signature checks are off or bypassed",
    );
}

#[tokio::test]
async fn the_local_stack_is_not_expected_to_refuse_unsigned_calls() {
    let run = examine(Setting {
        unsigned_status: 200,
        signatures_off_locally: true,
        ..Setting::default()
    })
    .await;
    assert!(run.lines.iter().all(|l| l.ok), "{}", render(&run.lines));
    assert!(
        line(&run, "unsigned call")
            .detail
            .starts_with("not checked: this local stack takes unsigned requests on purpose")
    );
    let calls = run.webhook.received_requests().await.unwrap();
    assert!(
        calls
            .iter()
            .all(|c| c.headers.contains_key("authorization")),
        "no unsigned call was sent: {calls:?}"
    );
}
