//! The doctor: checks a deployed (or the local) stack from the outside and says, line by line,
//! what is right and how to fix what is not. `scripts/doctor STACK` runs it with the stack's
//! outputs; `scripts/doctor --local` with the local stack's settings.
//!
//! The checks: the stack's secret is readable and has every key; the functions' roles may read
//! it; the Vonage application recorded there exists, with the stack's answer, fallback and event
//! URLs, each by `POST`; signed callbacks are on; every pool number is in the account and linked
//! to the application; inbound texts reach the stack (the application's Messages API webhooks,
//! or each pool number's `moHttpUrl` with `MESSAGING_API=sms`); a signed test call to the answer
//! URL gets a valid NCCO; an unsigned one gets `401`.

use std::collections::HashMap;
use std::time::Duration;

use shared::config::{MessagingApi, VonageConfig};
use shared::model::NumberState;
use shared::phone::Msisdn;
use shared::ports::Pool;
use shared::secrets::{
    API_SECRET, APPLICATION_ID, EVERY_FIELD, PRIVATE_KEY, SIGNATURE_SECRET, StackSecrets, Vault,
};
use shared::signature::{claims_for, sign};
use shared::store::Store;
use shared::vonage::{AppWebhook, Application, NumberOffer, VonageClient, VonageError};

/// What the stack says it is: its outputs, and the functions' roles (none for the local stack,
/// whose functions run with the caller's own credentials).
#[derive(Debug, Clone)]
pub struct Expected {
    pub answer_url: String,
    pub fallback_url: String,
    pub event_url: String,
    pub roles: Vec<Role>,
    /// How the fixes name the stack's scripts: `scripts/put-secret voice-proxy`, say.
    pub put_secret: String,
    /// The stack's webhooks take unsigned requests on purpose: a local stack started with
    /// `WEBHOOK_SIGNATURES=off` beside a local endpoint. Never a deployed stack.
    pub signatures_off_locally: bool,
}

/// A function's role and the stack's secrets its function reads (the template's
/// `FunctionRoles`: `arn|application,webhooks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub arn: String,
    pub reads: Vec<Vault>,
}

impl Role {
    /// One entry of `FunctionRoles`; a role without `|` reads every secret.
    pub fn parse(entry: &str) -> Option<Self> {
        let (arn, reads) = match entry.split_once('|') {
            Some((arn, reads)) => (
                arn,
                reads
                    .split(',')
                    .map(Vault::parse)
                    .collect::<Option<Vec<_>>>()?,
            ),
            None => (entry, Vault::ALL.to_vec()),
        };
        (!arn.is_empty()).then(|| Self {
            arn: arn.to_owned(),
            reads,
        })
    }
}

pub struct Doctor<S = Store> {
    pub secret: StackSecrets,
    pub store: S,
    /// Every Vonage setting but the API secret, which comes from the stack's secret.
    pub vonage: VonageConfig,
    pub iam: Option<aws_sdk_iam::Client>,
    pub http: reqwest::Client,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
    /// How to fix it (failed lines only).
    pub fix: Option<String>,
}

impl Line {
    fn ok(check: &'static str, detail: impl Into<String>) -> Self {
        Self {
            check,
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn failed(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            check,
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// A pool number with the account's record of it (`None`: the account does not own it).
type Accounted = (Msisdn, Result<Option<NumberOffer>, VonageError>);

/// `check`'s line when the pool could not be read.
fn pool_unreadable(check: &'static str, error: &str) -> Line {
    Line::failed(
        check,
        format!("the pool could not be read: {error}"),
        "check the table and your credentials",
    )
}

/// Whether every pool number is in the account and linked to the application `app_id`.
fn numbers_line(accounted: &Result<Vec<Accounted>, String>, app_id: &str, sync: &str) -> Line {
    const CHECK: &str = "numbers";
    let accounted = match accounted {
        Ok(accounted) => accounted,
        Err(e) => return pool_unreadable(CHECK, e),
    };
    if accounted.is_empty() {
        return Line::ok(
            CHECK,
            "the pool is empty (add numbers with POST /numbers or the ProxyNumbers parameter)",
        );
    }
    let mut wrong = Vec::new();
    let mut missing = Vec::new();
    for (msisdn, owned) in accounted {
        match owned {
            Ok(Some(owned)) if owned.linked_to(app_id) => {}
            Ok(Some(owned)) => wrong.push(format!(
                "+{} goes to {}",
                msisdn.as_str(),
                owned.voice_callback_value.as_deref().unwrap_or("nothing")
            )),
            Ok(None) => missing.push(format!("+{}", msisdn.as_str())),
            Err(e) => wrong.push(format!("+{} could not be checked ({e})", msisdn.as_str())),
        }
    }
    if wrong.is_empty() && missing.is_empty() {
        return Line::ok(
            CHECK,
            format!(
                "all {} pool numbers are linked to {app_id}",
                accounted.len()
            ),
        );
    }
    let mut detail = Vec::new();
    let mut fix = Vec::new();
    if !wrong.is_empty() {
        detail.push(format!("not linked to {app_id}: {}", wrong.join(", ")));
        fix.push(format!("{sync} links every pool number"));
    }
    if !missing.is_empty() {
        detail.push(format!("not in the Vonage account: {}", missing.join(", ")));
        fix.push("retire them (DELETE /numbers/{msisdn}) or rent them again".to_owned());
    }
    Line::failed(CHECK, detail.join("; "), fix.join("; "))
}

/// The checklist as printed: `[ok]` or `[FAIL]`, the check, what was found, and the fix.
pub fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for line in lines {
        let mark = if line.ok { "[ok]  " } else { "[FAIL]" };
        out.push_str(&format!("{mark} {}: {}\n", line.check, line.detail));
        if let Some(fix) = &line.fix {
            out.push_str(&format!("       fix: {fix}\n"));
        }
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    if failed == 0 {
        out.push_str("all green\n");
    } else {
        out.push_str(&format!("{failed} of {} checks failed\n", lines.len()));
    }
    out
}

impl<S: Pool> Doctor<S> {
    /// Every check, in order. Checks that need what an earlier one could not find say so.
    pub async fn examine(&self, expected: &Expected) -> Vec<Line> {
        let mut lines = Vec::new();
        let sync = format!("{} --sync-only", expected.put_secret);
        let fields = match self.secret.read().await {
            Ok(fields) => {
                lines.push(secret_line(&fields, expected));
                Some(fields)
            }
            Err(e) => {
                lines.push(Line::failed(
                    "secret",
                    format!("{} cannot be read: {e}", self.secret.arns().join(", ")),
                    "deploy the stack (it creates the secret), and run the doctor with credentials that may read it",
                ));
                None
            }
        };
        lines.push(self.roles(expected).await);
        let fields = fields.unwrap_or_default();
        let vonage = crate::vonage_client(&self.vonage, &fields).ok().flatten();
        match self.application(vonage, &fields, &sync).await {
            Ok((app, vonage)) => {
                lines.push(webhooks_line(&app, expected, &sync));
                lines.push(if app.signed_callbacks == Some(true) {
                    Line::ok("signed callbacks", "on")
                } else {
                    Line::failed(
                        "signed callbacks",
                        "off: Vonage does not sign the webhooks, and the functions refuse them",
                        sync.clone(),
                    )
                });
                // Each pool number is looked up in the account once, for both checks.
                let accounted = self.accounted(&vonage).await;
                lines.push(numbers_line(&accounted, &app.id, &sync));
                lines.push(self.texts(&accounted, &app, expected, &sync));
            }
            Err(line) => {
                lines.push(line);
                lines.push(Line::failed(
                    "signed callbacks",
                    "not checked: no application",
                    sync.clone(),
                ));
                lines.push(Line::failed(
                    "numbers",
                    "not checked: no application",
                    sync.clone(),
                ));
                lines.push(Line::failed(
                    "texts",
                    "not checked: no application",
                    sync.clone(),
                ));
            }
        }
        lines.push(self.answer(&fields, expected).await);
        lines.push(self.unsigned(expected).await);
        lines
    }

    async fn roles(&self, expected: &Expected) -> Line {
        const CHECK: &str = "functions read the secret";
        let Some(iam) = self.iam.as_ref().filter(|_| !expected.roles.is_empty()) else {
            return Line::ok(
                CHECK,
                "the local functions run with these credentials, which read it",
            );
        };
        let mut denied = Vec::new();
        for Role { arn: role, reads } in &expected.roles {
            let mut secrets: Vec<&str> = reads.iter().map(|v| self.secret.of(*v).arn()).collect();
            secrets.dedup();
            let allowed = iam
                .simulate_principal_policy()
                .policy_source_arn(role)
                .action_names("secretsmanager:GetSecretValue")
                .set_resource_arns(Some(secrets.iter().map(|s| (*s).to_owned()).collect()))
                .send()
                .await
                .map(|out| {
                    let results = out.evaluation_results();
                    !results.is_empty()
                        && results.iter().all(|r| {
                            r.eval_decision()
                                == &aws_sdk_iam::types::PolicyEvaluationDecisionType::Allowed
                        })
                });
            match allowed {
                Ok(true) => {}
                Ok(false) => denied.push(format!("{role} may not")),
                Err(e) => denied.push(format!(
                    "{role} could not be checked ({})",
                    shared::error::error_chain(&e)
                )),
            }
        }
        if denied.is_empty() {
            Line::ok(
                CHECK,
                format!(
                    "all {} roles may call secretsmanager:GetSecretValue on the secrets they use",
                    expected.roles.len()
                ),
            )
        } else {
            Line::failed(
                CHECK,
                denied.join("; "),
                "deploy the stack again from template.yaml: each function's policy allows secretsmanager:GetSecretValue on the secrets it uses (and the doctor needs iam:SimulatePrincipalPolicy)",
            )
        }
    }

    /// The application the secret names, with the client that read it.
    async fn application(
        &self,
        vonage: Option<VonageClient>,
        fields: &HashMap<String, String>,
        sync: &str,
    ) -> Result<(Application, VonageClient), Line> {
        const CHECK: &str = "application";
        let put = "fill the secret first (see the secret line)";
        let (Some(vonage), Some(id)) = (vonage, fields.get(APPLICATION_ID.field)) else {
            return Err(Line::failed(
                CHECK,
                "not checked: the secret has no api_secret or application_id",
                put,
            ));
        };
        match vonage.get_application(id).await {
            Ok(Some(app)) => Ok((app, vonage)),
            Ok(None) => Err(Line::failed(
                CHECK,
                format!("{id} is not in the Vonage account of this API key"),
                format!(
                    "{sync} creates it (or adopt an existing one with the VonageApplicationId parameter)"
                ),
            )),
            Err(e) => Err(Line::failed(
                CHECK,
                format!("the Application API did not answer: {e}"),
                "check the api_secret in the secret (a 401 means it is not this account's)",
            )),
        }
    }

    /// The pool's numbers that are not retired, each with the account's record of it, or why
    /// the pool could not be read.
    async fn accounted(&self, vonage: &VonageClient) -> Result<Vec<Accounted>, String> {
        let pool = self.store.list_pool().await.map_err(|e| e.to_string())?;
        let mut accounted = Vec::new();
        for n in pool.into_iter().filter(|n| n.state != NumberState::Retired) {
            let owned = vonage.owned_number(&n.msisdn).await;
            accounted.push((n.msisdn, owned));
        }
        Ok(accounted)
    }

    /// Whether inbound texts and their statuses reach the stack, as `MESSAGING_API` has them
    /// sent: to the application's Messages API webhooks (`v1`), or to each pool number's
    /// `moHttpUrl`.
    fn texts(
        &self,
        accounted: &Result<Vec<Accounted>, String>,
        app: &Application,
        expected: &Expected,
        sync: &str,
    ) -> Line {
        const CHECK: &str = "texts";
        let want = |name: &str| crate::beside(&expected.answer_url, name).unwrap_or_default();
        if self.vonage.messaging == MessagingApi::Messages {
            let mut wrong = Vec::new();
            for (name, got, at) in [
                ("inbound_url", &app.inbound_message_url, "inbound-message"),
                ("status_url", &app.message_status_url, "message-status"),
            ] {
                let want = want(at);
                let right = got
                    .as_ref()
                    .is_some_and(|w| w.address == want && w.http_method.as_deref() == Some("POST"));
                if !right {
                    let shown = got.as_ref().map_or("unset", |w| w.address.as_str());
                    wrong.push(format!("messages {name} is {shown}, not POST {want}"));
                }
            }
            if app.messages_version.as_deref() != Some("v1") {
                wrong.push("the messages webhooks' version is not v1".to_owned());
            }
            return if wrong.is_empty() {
                Line::ok(
                    CHECK,
                    "the Messages API sends inbound texts and statuses to the stack",
                )
            } else {
                Line::failed(CHECK, wrong.join("; "), format!("{sync} sets them"))
            };
        }
        let accounted = match accounted {
            Ok(accounted) => accounted,
            Err(e) => return pool_unreadable(CHECK, e),
        };
        let inbound = want("inbound-sms");
        let mut wrong = Vec::new();
        for (msisdn, owned) in accounted {
            match owned {
                Ok(Some(owned)) if owned.mo_http_url.as_deref() == Some(inbound.as_str()) => {}
                Ok(Some(owned)) => wrong.push(format!(
                    "+{} sends them to {}",
                    msisdn.as_str(),
                    owned
                        .mo_http_url
                        .as_deref()
                        .unwrap_or("the account's default")
                )),
                Ok(None) => {} // the numbers line names it
                Err(e) => wrong.push(format!("+{} could not be checked ({e})", msisdn.as_str())),
            }
        }
        if wrong.is_empty() {
            Line::ok(
                CHECK,
                format!("the SMS API sends every pool number's inbound texts to {inbound}"),
            )
        } else {
            Line::failed(
                CHECK,
                format!("not sent to {inbound}: {}", wrong.join(", ")),
                format!("{sync} links every pool number with its inbound URL"),
            )
        }
    }

    /// A call as Vonage would make it: a signed POST to the stack's answer URL, which must
    /// answer 200 with an NCCO.
    async fn answer(&self, fields: &HashMap<String, String>, expected: &Expected) -> Line {
        const CHECK: &str = "answer webhook";
        let Some(secret) = fields.get(SIGNATURE_SECRET.field) else {
            return Line::failed(
                CHECK,
                "not checked: the secret has no signature_secret to sign with",
                format!("{} puts it", expected.put_secret),
            );
        };
        let body = serde_json::json!({
            "from": "447700900999",
            "to": "447700900000",
            "uuid": format!("doctor-{}", uuid::Uuid::new_v4()),
            "conversation_uuid": format!("CON-doctor-{}", uuid::Uuid::new_v4()),
            "direction": "inbound",
        })
        .to_string();
        let now = shared::now();
        let mut claims = claims_for(body.as_bytes(), now, &self.vonage.api_key);
        // Vonage names the application in every token; the stack refuses another's.
        claims.application_id = fields.get(APPLICATION_ID.field).cloned();
        let token = sign(&claims, secret);
        let sent = self
            .http
            .post(&expected.answer_url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let fix = "read the AnswerFunction's log; a 401 means signature_secret in the secret is not the account's signature secret";
        let response = match sent {
            Ok(r) => r,
            Err(e) => return not_reached(CHECK, expected, &e),
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if status != 200 {
            return Line::failed(
                CHECK,
                format!(
                    "a signed test call got {status} from {}",
                    expected.answer_url
                ),
                fix,
            );
        }
        match ncco_actions(&text) {
            Some(actions) => Line::ok(
                CHECK,
                format!("a signed test call got an NCCO ({})", actions.join(", ")),
            ),
            None => Line::failed(
                CHECK,
                "a signed test call got 200 but no NCCO (a JSON list of actions)",
                fix,
            ),
        }
    }

    /// A call without a signature, as anyone on the internet could send it: the stack's answer
    /// URL must refuse it with 401 before it routes anything.
    async fn unsigned(&self, expected: &Expected) -> Line {
        const CHECK: &str = "unsigned call";
        if expected.signatures_off_locally {
            return Line::ok(
                CHECK,
                "not checked: this local stack takes unsigned requests on purpose (WEBHOOK_SIGNATURES=off); a deployed stack refuses them",
            );
        }
        let body = serde_json::json!({
            "to": "447700900001",
            "from": "447700900002",
            "uuid": "doctor",
            "conversation_uuid": "CON-doctor",
        })
        .to_string();
        let sent = self
            .http
            .post(&expected.answer_url)
            .header("content-type", "application/json")
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let status = match sent {
            Ok(response) => response.status().as_u16(),
            Err(e) => return not_reached(CHECK, expected, &e),
        };
        match status {
            401 => Line::ok(CHECK, "an unsigned test call got 401"),
            429 => Line::failed(
                CHECK,
                format!(
                    "an unsigned test call got 429 from {}: the webhook routes' throttle took it",
                    expected.answer_url
                ),
                "run the doctor again in a minute; if calls get 429 too, raise WebhookRateLimit and WebhookBurstLimit",
            ),
            status => Line::failed(
                CHECK,
                format!(
                    "an unsigned test call got {status} from {}, not 401",
                    expected.answer_url
                ),
                "webhook signature checks are off or bypassed: no deployed function may set WEBHOOK_SIGNATURES (deploy the stack again from template.yaml, which never sets it), and nothing in front of the answer URL may answer for it; read the AnswerFunction's log",
            ),
        }
    }
}

/// The answer URL did not answer at all.
/// The texts catalogue as the functions will read it from these settings (`TEXTS` and the
/// single-text settings): a text with a placeholder it does not allow, malformed `TEXTS`, an
/// unknown key or language would stop every function that speaks or texts from starting.
pub fn wording(src: &dyn shared::config::Source) -> Line {
    const CHECK: &str = "wording";
    match shared::config::Texts::from_source(src) {
        Ok(texts) => Line::ok(
            CHECK,
            format!(
                "every text in {}",
                texts
                    .languages()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Err(e) => Line::failed(
            CHECK,
            e.to_string(),
            "correct the setting (docs/features.md, \"Texts and languages\") and deploy again",
        ),
    }
}

fn not_reached(check: &'static str, expected: &Expected, e: &reqwest::Error) -> Line {
    Line::failed(
        check,
        format!(
            "{} could not be reached ({})",
            expected.answer_url,
            shared::error::error_chain(e)
        ),
        "check that the stack is deployed and the URL is its AnswerUrl output",
    )
}

fn secret_line(fields: &HashMap<String, String>, expected: &Expected) -> Line {
    const CHECK: &str = "secret";
    let missing: Vec<&str> = EVERY_FIELD
        .iter()
        .map(|f| f.field)
        .filter(|f| fields.get(*f).is_none_or(|v| v.is_empty()))
        .collect();
    if missing.is_empty() {
        return Line::ok(
            CHECK,
            format!("readable, with all {} keys", EVERY_FIELD.len()),
        );
    }
    let by_operator = missing
        .iter()
        .any(|f| [API_SECRET.field, SIGNATURE_SECRET.field].contains(f));
    let fix = if by_operator {
        format!(
            "{} (asks for the API secret and signature secret, then sets the application up)",
            expected.put_secret
        )
    } else if missing.contains(&PRIVATE_KEY.field) && !missing.contains(&APPLICATION_ID.field) {
        format!(
            "{} --private-key FILE puts the application's key (Vonage shows it once, when the application is created)",
            expected.put_secret
        )
    } else {
        format!(
            "{} --sync-only (the set-up records the application)",
            expected.put_secret
        )
    };
    Line::failed(CHECK, format!("missing {}", missing.join(", ")), fix)
}

fn webhooks_line(app: &Application, expected: &Expected, sync: &str) -> Line {
    const CHECK: &str = "application";
    let mut wrong = Vec::new();
    for (name, got, want) in [
        ("answer_url", &app.answer_url, &expected.answer_url),
        (
            "fallback_answer_url",
            &app.fallback_answer_url,
            &expected.fallback_url,
        ),
        ("event_url", &app.event_url, &expected.event_url),
    ] {
        let shown = |w: &Option<AppWebhook>| match w {
            Some(w) => format!(
                "{} {}",
                w.http_method.as_deref().unwrap_or("GET"),
                w.address
            ),
            None => "unset".to_owned(),
        };
        let right = got
            .as_ref()
            .is_some_and(|w| &w.address == want && w.http_method.as_deref() == Some("POST"));
        if !right {
            wrong.push(format!("{name} is {}, not POST {want}", shown(got)));
        }
    }
    if wrong.is_empty() {
        Line::ok(
            CHECK,
            format!("{} has the stack's three webhooks, each by POST", app.id),
        )
    } else {
        Line::failed(
            CHECK,
            format!("{}: {}", app.id, wrong.join("; ")),
            format!("{sync} sets them"),
        )
    }
}

/// The actions of an NCCO, or `None` when `text` is not one: a non-empty list of actions the
/// NCCO schema knows, each with what the schema requires of it (a `talk` its text, a `connect`
/// its endpoints).
fn ncco_actions(text: &str) -> Option<Vec<String>> {
    const ACTIONS: [&str; 9] = [
        "record",
        "conversation",
        "connect",
        "talk",
        "stream",
        "input",
        "notify",
        "wait",
        "transfer",
    ];
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let list = value.as_array().filter(|l| !l.is_empty())?;
    list.iter()
        .map(|a| {
            let action = a.get("action")?.as_str()?;
            let complete = match action {
                "talk" => a.get("text").is_some_and(|t| t.is_string()),
                "connect" => a
                    .get("endpoint")
                    .and_then(|e| e.as_array())
                    .is_some_and(|e| !e.is_empty()),
                other => ACTIONS.contains(&other),
            };
            complete.then(|| action.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{ncco_actions, wording};

    #[test]
    fn bad_texts_fail_the_wording_line() {
        let line = wording(&|name: &str| {
            (name == "TEXTS").then(|| r#"{"es-ES": {"announcement": "Hola {caller}"}}"#.to_owned())
        });
        assert!(!line.ok);
        assert!(
            line.detail
                .contains("es-ES.announcement may use {callee} but not {caller}"),
            "{}",
            line.detail
        );
        let line = wording(&|_: &str| None);
        assert!(line.ok, "{}", line.detail);
        assert!(line.detail.contains("es-ES"), "{}", line.detail);
    }

    #[test]
    fn an_ncco_is_a_list_of_complete_known_actions() {
        assert_eq!(
            ncco_actions(
                r#"[{"action":"talk","text":"Hello"},{"action":"connect","from":"447700900101","endpoint":[{"type":"phone","number":"447700900002"}]}]"#
            ),
            Some(vec!["talk".to_owned(), "connect".to_owned()])
        );
        for not in [
            "[]",
            "{}",
            "not json",
            r#"[{"action":"talk"}]"#,
            r#"[{"action":"connect","endpoint":[]}]"#,
            r#"[{"action":"dance"}]"#,
            r#"[{"text":"no action"}]"#,
        ] {
            assert_eq!(ncco_actions(not), None, "{not}");
        }
    }
}
