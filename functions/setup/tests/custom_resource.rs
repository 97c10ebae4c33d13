//! The custom resource, played from the files in `events/` against the real local servers:
//! the stack's secret in the local Secrets Manager, the pool in the local DynamoDB-API server,
//! the Application and Numbers APIs through Prism proxying `application.v2.yml` and
//! `numbers.yml` (a request or answer the spec refuses fails the test) in front of stand-ins,
//! and a local server in place of CloudFormation's pre-signed response URL.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::ports::Pool;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use setup::{Deps, Settings, handle};
use shared::secrets::StackSecrets;
use shared::store::Store;
use testkit::{SpecProxy, budget, fresh_store, vonage_config};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ID: &str = "78d335fa-323d-0114-9c3d-d6f0d48968cf";
const FILLED: &str =
    r#"{"api_secret":"abcdef0123456789","signature_secret":"sig","hook_secret":"hook"}"#;

fn application(answer: &str) -> Value {
    let base = answer.trim_end_matches("/answer");
    let hook = |p: &str| json!({"address": format!("{base}/{p}"), "http_method": "POST"});
    json!({
        "id": ID, "name": "voice-proxy",
        "capabilities": {"voice": {
            "webhooks": {"answer_url": hook("answer"), "fallback_answer_url": hook("fallback"), "event_url": hook("event")},
            "signed_callbacks": true,
        }},
        "_links": {"self": {"href": format!("/v2/applications/{ID}")}},
    })
}

struct World {
    deps: Arc<Deps<Store>>,
    secrets: aws_sdk_secretsmanager::Client,
    secret: String,
    /// The Application API as Vonage answers it.
    apps: MockServer,
    /// The Numbers API as Vonage answers it.
    numbers: MockServer,
    /// CloudFormation's pre-signed response URL.
    cloudformation: MockServer,
    _proxies: Vec<SpecProxy>,
}

impl World {
    /// A stack whose secret holds `secret`, whose Vonage account answers `apps` (mounted by the
    /// test), reached through Prism unless `direct`.
    async fn new(secret: &str, direct: bool) -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let secrets = aws_sdk_secretsmanager::Client::new(&config);
        let name = format!("voice-proxy-{}", uuid::Uuid::new_v4());
        secrets
            .create_secret()
            .name(&name)
            .secret_string(secret)
            .send()
            .await
            .unwrap();
        let apps = MockServer::start().await;
        let numbers = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/number/update"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"error-code": "200", "error-code-label": "success"})),
            )
            .mount(&numbers)
            .await;
        let mut proxies = Vec::new();
        let (apps_url, numbers_url) = if direct {
            (format!("{}/v2/applications", apps.uri()), numbers.uri())
        } else {
            proxies.push(SpecProxy::start(
                "application.v2.yml",
                &format!("{}/v2/applications", apps.uri()),
            ));
            proxies.push(SpecProxy::start("numbers.yml", &numbers.uri()));
            (proxies[0].url.clone(), proxies[1].url.clone())
        };
        let mut vonage = vonage_config(&numbers_url, &numbers_url, &numbers_url);
        vonage.applications_url = apps_url;
        vonage.api_secret = String::new().into();
        let deps = Deps {
            secret: StackSecrets::single(name.clone(), &budget(2000, 5000, 3)).await,
            store: fresh_store().await,
            vonage,
            http: reqwest::Client::new(),
        };
        let cloudformation = MockServer::start().await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&cloudformation)
            .await;
        Self {
            deps: Arc::new(deps),
            secrets,
            secret: name,
            apps,
            numbers,
            cloudformation,
            _proxies: proxies,
        }
    }

    async fn answer_applications(&self, verb: &str, status: u16, body: Option<Value>) {
        let at = if verb == "POST" {
            "^/v2/applications/?$".to_owned()
        } else {
            format!("^/v2/applications/{ID}$")
        };
        let mut answer = ResponseTemplate::new(status);
        if let Some(body) = body {
            answer = answer.set_body_json(body);
        }
        Mock::given(method(verb))
            .and(path_regex(at))
            .respond_with(answer)
            .mount(&self.apps)
            .await;
    }

    /// Plays `events/{file}` (edited by `edit`), its response URL pointing at the local
    /// CloudFormation, within `deadline` from now; answers what CloudFormation received.
    async fn play(&self, file: &str, deadline: Duration, edit: impl FnOnce(&mut Value)) -> Value {
        let text = std::fs::read_to_string(format!(
            "{}/../../events/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut event: Value = serde_json::from_str(&text).unwrap();
        event["ResponseURL"] = json!(format!(
            "{}/response/{}?X-Amz-Signature=0123abcd",
            self.cloudformation.uri(),
            event["RequestId"].as_str().unwrap()
        ));
        edit(&mut event);
        let before = self.responses().await.len();
        let nothing = |_: &str| None;
        handle(
            self.deps.clone(),
            event,
            tokio::time::Instant::now() + deadline,
            &Settings::sync(&nothing),
        )
        .await
        .unwrap();
        let responses = self.responses().await;
        assert_eq!(responses.len(), before + 1, "one answer per request");
        responses.last().unwrap().clone()
    }

    async fn responses(&self) -> Vec<Value> {
        let received = self.cloudformation.received_requests().await.unwrap();
        for r in &received {
            assert!(
                r.headers.get("content-type").is_none(),
                "the pre-signed URL is signed without a content type"
            );
        }
        received
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }

    async fn secret(&self) -> HashMap<String, String> {
        self.deps.secret.read().await.unwrap()
    }

    async fn put_secret(&self, value: &str) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    async fn application_requests(&self) -> Vec<Request> {
        self.apps.received_requests().await.unwrap()
    }

    async fn linked(&self) -> Vec<(String, String)> {
        let mut linked: Vec<_> = self
            .numbers
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/number/update")
            .map(|r| {
                let form: HashMap<String, String> = serde_urlencoded::from_bytes(&r.body).unwrap();
                (form["msisdn"].clone(), form["app_id"].clone())
            })
            .collect();
        linked.sort();
        linked
    }
}

fn assert_answer(response: &Value, status: &str, request_id: &str) {
    assert_eq!(response["Status"], status, "{response}");
    assert_eq!(response["RequestId"], request_id);
    assert_eq!(response["LogicalResourceId"], "VonageApplication");
    assert_eq!(response["PhysicalResourceId"], "vonage-application");
    assert!(
        response["StackId"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:cloudformation:")
    );
    let reason = response["Reason"].as_str().unwrap();
    for secret in ["abcdef0123456789", "PRIVATE KEY"] {
        assert!(!reason.contains(secret), "{reason}");
    }
}

const LONG: Duration = Duration::from_secs(60);

/// A stack's life: created before its secret is filled (nothing happens on the Vonage side,
/// and CloudFormation still hears success), the sync once it is, an update when the URLs
/// change, and a delete that leaves the application, then one that deletes it.
#[tokio::test]
async fn create_sync_update_and_delete_do_what_the_stack_asks() {
    let w = World::new(r#"{"hook_secret":"generated"}"#, false).await;
    let created = {
        let mut app =
            application("https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/answer");
        app["keys"] = json!({
            "public_key": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n",
        });
        app
    };
    w.answer_applications("POST", 201, Some(created)).await;

    // Create with the secret not filled yet: success, and no request to Vonage.
    let response = w.play("setup-create.json", LONG, |_| {}).await;
    assert_answer(&response, "SUCCESS", "2c6e4a3b-6c1f-4d8e-9a55-0f3c5d1e7b01");
    assert!(
        response["Reason"]
            .as_str()
            .unwrap()
            .contains("scripts/put-secret")
    );
    assert!(w.application_requests().await.is_empty());

    // The operator fills the secret, and the same Create now sets everything up.
    w.put_secret(
        r#"{"hook_secret":"generated","api_secret":"abcdef0123456789","signature_secret":"sig"}"#,
    )
    .await;
    let response = w.play("setup-create.json", LONG, |_| {}).await;
    assert_answer(&response, "SUCCESS", "2c6e4a3b-6c1f-4d8e-9a55-0f3c5d1e7b01");
    assert_eq!(response["Data"]["ApplicationId"], ID);
    let sent = w.application_requests().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "POST");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["name"], "voice-proxy");
    let voice = &body["capabilities"]["voice"];
    assert_eq!(voice["signed_callbacks"], true);
    assert_eq!(
        voice["webhooks"]["answer_url"],
        json!({"address": "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/answer", "http_method": "POST"})
    );
    // The Messages API's webhooks: inbound texts and statuses come to the stack (v1 bodies).
    let messages = &body["capabilities"]["messages"];
    assert_eq!(messages["version"], "v1");
    assert_eq!(
        messages["webhooks"]["inbound_url"],
        json!({"address": "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/inbound-message", "http_method": "POST"})
    );
    assert_eq!(
        messages["webhooks"]["status_url"],
        json!({"address": "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/message-status", "http_method": "POST"})
    );
    // The id and the private key are in the secret, beside what was there, and where the
    // stack's webhooks are.
    let secret = w.secret().await;
    assert_eq!(secret["application_id"], ID);
    assert_eq!(
        secret["webhook_base_url"],
        "https://abc123def4.execute-api.us-east-1.amazonaws.com"
    );
    assert!(secret["private_key"].contains("BEGIN PRIVATE KEY"));
    assert_eq!(secret["hook_secret"], "generated");
    assert_eq!(secret["api_secret"], "abcdef0123456789");
    // And a key our own webhook URLs are sealed with: 64 hex digits, made once.
    let seal_key = secret["seal_key"].clone();
    assert!(
        seal_key.len() == 64 && seal_key.chars().all(|c| c.is_ascii_hexdigit()),
        "{seal_key}"
    );
    // The listed numbers are in the pool and linked to the application.
    let pool = w.deps.store.list_pool().await.unwrap();
    let mut in_pool: Vec<_> = pool.iter().map(|n| n.msisdn.as_str().to_owned()).collect();
    in_pool.sort();
    assert_eq!(in_pool, ["447700900001", "447700900002"]);
    assert_eq!(
        w.linked().await,
        [
            ("447700900001".to_owned(), ID.to_owned()),
            ("447700900002".to_owned(), ID.to_owned())
        ]
    );

    // Update with new URLs: the recorded application is read and changed, not created again.
    w.answer_applications(
        "GET",
        200,
        Some(application(
            "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/answer",
        )),
    )
    .await;
    w.answer_applications(
        "PUT",
        200,
        Some(application(
            "https://xyz987uvw6.execute-api.us-east-1.amazonaws.com/webhooks/answer",
        )),
    )
    .await;
    let response = w.play("setup-update.json", LONG, |_| {}).await;
    assert_answer(&response, "SUCCESS", "7d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c02");
    assert_eq!(response["Data"]["ApplicationId"], ID);
    let sent = w.application_requests().await;
    let verbs: Vec<_> = sent.iter().map(|r| r.method.as_str().to_owned()).collect();
    assert_eq!(verbs, ["POST", "GET", "PUT"]);
    let body: Value = serde_json::from_slice(&sent[2].body).unwrap();
    assert_eq!(
        body["capabilities"]["voice"]["webhooks"]["event_url"]["address"],
        "https://xyz987uvw6.execute-api.us-east-1.amazonaws.com/webhooks/event"
    );
    assert_eq!(body["capabilities"]["voice"]["signed_callbacks"], true);
    // Numbers already in the pool stay as they are, and are linked again.
    assert_eq!(w.deps.store.list_pool().await.unwrap().len(), 2);
    assert_eq!(w.linked().await.len(), 4);
    assert_eq!(w.secret().await["application_id"], ID);

    // The sync (what scripts/put-secret runs) does the same from the function's environment.
    let env = |k: &str| {
        Some(match k {
            "APPLICATION_NAME" => "voice-proxy".to_owned(),
            "ANSWER_URL" => {
                "https://xyz987uvw6.execute-api.us-east-1.amazonaws.com/webhooks/answer".into()
            }
            "FALLBACK_URL" => {
                "https://xyz987uvw6.execute-api.us-east-1.amazonaws.com/webhooks/fallback".into()
            }
            "EVENT_URL" => {
                "https://xyz987uvw6.execute-api.us-east-1.amazonaws.com/webhooks/event".into()
            }
            "PROXY_NUMBERS" => "447700900003".into(),
            _ => return None,
        })
    };
    let sync: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../../events/setup-sync.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let done = handle(
        w.deps.clone(),
        sync,
        tokio::time::Instant::now() + LONG,
        &Settings::sync(&env),
    )
    .await
    .unwrap();
    assert_eq!(done["state"], "ready");
    assert_eq!(done["application_id"], ID);
    assert_eq!(done["created"], false);
    let masked = shared::phone::Msisdn::parse("447700900003")
        .unwrap()
        .masked()
        .to_string();
    assert_eq!(done["added"], json!([masked]), "masked");
    assert_eq!(done["linked"], 3);

    // Delete with DeleteApplication false: the application is left.
    let requests_before = w.application_requests().await.len();
    let response = w
        .play("setup-delete.json", LONG, |e| {
            e["ResourceProperties"]["DeleteApplication"] = json!("false");
        })
        .await;
    assert_answer(&response, "SUCCESS", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b03");
    assert_eq!(w.application_requests().await.len(), requests_before);

    // Delete as the file has it (DeleteApplication true): the application is deleted.
    w.answer_applications("DELETE", 204, None).await;
    let response = w.play("setup-delete.json", LONG, |_| {}).await;
    assert_answer(&response, "SUCCESS", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b03");
    let last = w.application_requests().await.pop().unwrap();
    assert_eq!(last.method.as_str(), "DELETE");
    assert_eq!(last.url.path(), format!("/v2/applications/{ID}"));
}

/// An application given to adopt is updated, never created, and never deleted with the stack.
#[tokio::test]
async fn an_adopted_application_is_updated_and_never_deleted() {
    // The same requests as the lifecycle's, which checks them through Prism.
    let w = World::new(FILLED, true).await;
    w.answer_applications(
        "GET",
        200,
        Some(application("https://old.example.com/webhooks/answer")),
    )
    .await;
    w.answer_applications(
        "PUT",
        200,
        Some(application(
            "https://abc123def4.execute-api.us-east-1.amazonaws.com/webhooks/answer",
        )),
    )
    .await;
    let adopt = |e: &mut Value| e["ResourceProperties"]["AdoptApplicationId"] = json!(ID);
    let response = w.play("setup-create.json", LONG, adopt).await;
    assert_answer(&response, "SUCCESS", "2c6e4a3b-6c1f-4d8e-9a55-0f3c5d1e7b01");
    let verbs: Vec<_> = w
        .application_requests()
        .await
        .iter()
        .map(|r| r.method.as_str().to_owned())
        .collect();
    assert_eq!(verbs, ["GET", "PUT"]);
    let secret = w.secret().await;
    assert_eq!(secret["application_id"], ID);
    assert!(
        !secret.contains_key("private_key"),
        "an adopted application's key is the operator's"
    );

    let response = w.play("setup-delete.json", LONG, adopt).await;
    assert_answer(&response, "SUCCESS", "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b03");
    assert!(response["Reason"].as_str().unwrap().contains("left"));
    assert_eq!(w.application_requests().await.len(), 2, "no DELETE");
}

/// Every way the set-up can fail still answers CloudFormation, FAILED with a reason that
/// says what went wrong, so a stack never waits for an answer that will not come.
#[tokio::test]
async fn every_failure_still_answers_cloudformation() {
    let w = World::new(FILLED, true).await;

    // Vonage refuses the creation.
    Mock::given(method("POST"))
        .and(path("/v2/applications"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "type": "https://developer.nexmo.com/api-errors#unauthorized", "title": "Unauthorized"
        })))
        .up_to_n_times(1)
        .mount(&w.apps)
        .await;
    let response = w.play("setup-create.json", LONG, |_| {}).await;
    assert_answer(&response, "FAILED", "2c6e4a3b-6c1f-4d8e-9a55-0f3c5d1e7b01");
    assert!(
        response["Reason"].as_str().unwrap().contains("Vonage"),
        "{response}"
    );
    assert!(
        !w.secret().await.contains_key("application_id"),
        "nothing recorded"
    );
    assert!(
        w.deps.store.list_pool().await.unwrap().is_empty(),
        "no number added"
    );

    // Vonage does not answer before the function's own deadline.
    Mock::given(method("POST"))
        .and(path("/v2/applications"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(5)))
        .mount(&w.apps)
        .await;
    let response = w
        .play(
            "setup-create.json",
            setup::ANSWER_MARGIN + Duration::from_millis(300),
            |_| {},
        )
        .await;
    assert_answer(&response, "FAILED", "2c6e4a3b-6c1f-4d8e-9a55-0f3c5d1e7b01");
    assert!(
        response["Reason"].as_str().unwrap().contains("out of time"),
        "{response}"
    );

    // Settings that cannot be right fail before anything is asked of Vonage.
    let asked = w.application_requests().await.len();
    let response = w
        .play("setup-update.json", LONG, |e| {
            e["ResourceProperties"]["Numbers"] = json!("447700900001,not-a-number");
        })
        .await;
    assert_answer(&response, "FAILED", "7d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c02");
    assert!(
        response["Reason"]
            .as_str()
            .unwrap()
            .contains("not-a-number")
    );
    let response = w
        .play("setup-update.json", LONG, |e| {
            e["ResourceProperties"]["AnswerUrl"] = json!("http://example.com/answer");
        })
        .await;
    assert_answer(&response, "FAILED", "7d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c02");
    assert!(response["Reason"].as_str().unwrap().contains("https"));

    // An application to adopt that the account does not have.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "type": "https://developer.nexmo.com/api-errors#not-found", "title": "Not Found"
        })))
        .mount(&w.apps)
        .await;
    let response = w
        .play("setup-update.json", LONG, |e| {
            e["ResourceProperties"]["AdoptApplicationId"] = json!(ID);
        })
        .await;
    assert_answer(&response, "FAILED", "7d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c02");
    assert!(
        response["Reason"]
            .as_str()
            .unwrap()
            .contains("AdoptApplicationId")
    );
    assert_eq!(
        w.application_requests().await.len(),
        asked + 1,
        "one GET only"
    );

    // A request type no one knows.
    let response = w
        .play("setup-update.json", LONG, |e| {
            e["RequestType"] = json!("Rename")
        })
        .await;
    assert_answer(&response, "FAILED", "7d1a2b3c-4e5f-4a6b-8c7d-9e0f1a2b3c02");
    assert!(response["Reason"].as_str().unwrap().contains("Rename"));
}
