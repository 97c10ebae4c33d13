//! Test support, never part of a Lambda binary: fresh tables on the local DynamoDB-API server,
//! a Vonage stand-in on wiremock, Prism proxies that check requests and answers against the
//! Vonage specs, the fault proxy, fixtures, and in-memory fakes of the ports ([`fakes`]).
//! `scripts/test` starts the servers and sets the environment the server-backed helpers read.

pub mod fakes;
pub mod requests;

use std::sync::atomic::{AtomicU32, Ordering};

use secrecy::SecretString;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use shared::config::{ConfigError, Source, VonageConfig};
use shared::phone::Msisdn;
use shared::store::Store;
use shared::table;

/// Settings from a list in place of the environment: what a function's `Settings::from_source`
/// reads in tests.
#[derive(Debug, Clone, Default)]
pub struct MapSource(std::collections::HashMap<String, String>);

impl MapSource {
    pub fn new(pairs: &[(&str, &str)]) -> Self {
        Self(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    /// The same settings with `name` set to `value`.
    pub fn with(&self, name: &str, value: &str) -> Self {
        let mut changed = self.clone();
        changed.0.insert(name.to_owned(), value.to_owned());
        changed
    }

    /// The same settings without `name`.
    pub fn without(&self, name: &str) -> Self {
        let mut changed = self.clone();
        changed.0.remove(name);
        changed
    }
}

impl Source for MapSource {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// Asserts that `read` refuses `env` changed by each of `bad` (a setting and its value, an
/// empty value leaving the setting out) with the error naming that setting.
pub fn assert_refused<T: std::fmt::Debug>(
    read: impl Fn(&dyn Source) -> Result<T, ConfigError>,
    env: &MapSource,
    bad: &[(&str, &str)],
) {
    for &(name, value) in bad {
        let changed = if value.is_empty() {
            env.without(name)
        } else {
            env.with(name, value)
        };
        match read(&changed) {
            Ok(read) => panic!("{name}={value:?} was taken: {read:?}"),
            Err(e) => assert_eq!(e.variable(), name, "{name}={value:?}: {e}"),
        }
    }
}

/// The repository's `template.yaml`.
pub fn template_path() -> String {
    format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"))
}

/// A new, empty table defined by `template.yaml`, on the server `AWS_ENDPOINT_URL_DYNAMODB`
/// names. Each call gets its own table, so tests run in parallel without seeing each other.
pub async fn fresh_store() -> Store {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test, which starts the \
         local DynamoDB-API server"
    );
    let name = format!(
        "t-{}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    );
    let spec =
        table::spec_from_template(&template_path()).expect("template.yaml defines the table");
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    table::create(&client, &name, &spec)
        .await
        .expect("table created");
    Store::new(client, name)
}

/// Every item in the store's table (tests only: a Scan).
pub async fn all_items(
    store: &Store,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = store
            .client()
            .scan()
            .table_name(store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}

/// Client settings pointing every Vonage API at `base` (a wiremock server or a Prism mock).
pub fn vonage_config(ni: &str, sms: &str, numbers: &str) -> VonageConfig {
    VonageConfig {
        api_key: "abcd1234".into(),
        api_secret: SecretString::from("abcdef0123456789"),
        number_insight_url: ni.trim_end_matches('/').into(),
        // These tests answer number checks with Number Insight stand-ins; Identity Insights
        // has tests of its own.
        number_check: shared::config::NumberCheckMode::NumberInsight,
        identity_insights_url: String::new(),
        // And they send texts through SMS API stand-ins; the Messages API has tests of its own.
        messaging: shared::config::MessagingApi::Sms,
        messages_url: String::new(),
        public_base_url: None,
        sms_url: sms.trim_end_matches('/').into(),
        numbers_url: numbers.trim_end_matches('/').into(),
        applications_url: format!("{}/v2/applications", numbers.trim_end_matches('/')),
        timeout: std::time::Duration::from_millis(1500),
        max_retries: 2,
    }
}

/// Number Insight that answers like Vonage for the number it is asked about: status 0, the
/// number in international format and its country.
pub struct EchoInsight;

impl Respond for EchoInsight {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let number = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "number")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        match Msisdn::from_digits(&number) {
            Some(n) => ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "status": 0,
                "status_message": "Success",
                "request_id": uuid::Uuid::new_v4().to_string(),
                "international_format_number": n.as_str(),
                "country_code": n.region().map(String::from).unwrap_or_default(),
            })),
            None => ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"status": 3, "status_message": "Invalid request"}),
            ),
        }
    }
}

/// A Vonage stand-in on wiremock: Number Insight echoes, every SMS is accepted, the search
/// offers two GB numbers, and every purchase, update and cancellation succeeds. Mount more
/// specific mocks first to override.
pub async fn vonage_mock() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ni/basic/json"))
        .respond_with(EchoInsight)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "message-count": "1",
            "messages": [{
                "to": "447700900000",
                "message-id": "0A0000000123ABCD1",
                "status": "0",
                "remaining-balance": "3.14159265",
                "message-price": "0.03330000",
                "network": "12345"
            }]
        })))
        .mount(&server)
        .await;
    for action in ["/number/update", "/number/buy", "/number/cancel"] {
        Mock::given(method("POST"))
            .and(path(action))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"error-code": "200", "error-code-label": "success"}),
            ))
            .mount(&server)
            .await;
    }
    let offer = |msisdn: &str| serde_json::json!({"country": "GB", "msisdn": msisdn, "type": "mobile-lvn", "cost": "1.25", "features": ["VOICE", "SMS"]});
    Mock::given(method("GET"))
        .and(path("/number/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "count": 2,
            "numbers": [offer("447700900101"), offer("447700900102")]
        })))
        .mount(&server)
        .await;
    server
}

/// Settings for a client talking to a [`vonage_mock`].
pub fn mock_config(server: &MockServer) -> VonageConfig {
    let base = server.uri();
    vonage_config(&format!("{base}/ni"), &format!("{base}/sms"), &base)
}

/// The SMS the mock received, as (from, to, text).
pub async fn sent_sms(server: &MockServer) -> Vec<(String, String, String)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/sms/json")
        .map(|r| {
            let form: std::collections::HashMap<String, String> =
                serde_urlencoded::from_bytes(&r.body).unwrap_or_default();
            let get = |k: &str| form.get(k).cloned().unwrap_or_default();
            (get("from"), get("to"), get("text"))
        })
        .collect()
}

/// The owner of a text sent for conversation `c-42` (reference `ride-42`), as `kind` says.
pub fn text_owner(kind: shared::model::TextKind) -> shared::model::TextOwner {
    shared::model::TextOwner {
        conversation_id: "c-42".parse().expect("a test conversation id"),
        reference: Some("ride-42".parse().expect("a test reference")),
        kind,
    }
}

/// Adds active pool numbers in `country`.
pub async fn add_pool(store: &impl shared::ports::Pool, numbers: &[&str], country: &str) {
    for n in numbers {
        let number = shared::model::PoolNumber::new(
            Msisdn::from_digits(n).expect("a pool number in E.164 digits"),
            country.parse().expect("a test country is a country code"),
            shared::model::NumberState::Active,
            0,
        );
        assert!(
            store.add_number(&number).await.expect("pool number added"),
            "{n} twice"
        );
    }
}

/// What the contract suite (`shared/tests/contract.rs`) may look at beyond the ports, on the
/// real store and the in-memory one alike.
pub trait Inspect: shared::ports::StoreContract {
    /// How many records the store holds: a refused write leaves it unchanged.
    fn footprint(&self) -> impl std::future::Future<Output = usize> + Send;

    /// The table's items, where there is a table (the real store only): for what only the
    /// table shows, such as each item's TTL.
    fn items(
        &self,
    ) -> impl std::future::Future<
        Output = Option<
            Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
        >,
    > + Send;
}

impl Inspect for Store {
    async fn footprint(&self) -> usize {
        all_items(self).await.len()
    }

    async fn items(
        &self,
    ) -> Option<Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>>
    {
        Some(all_items(self).await)
    }
}

impl Inspect for fakes::MemoryStore {
    async fn footprint(&self) -> usize {
        fakes::MemoryStore::footprint(self)
    }

    async fn items(
        &self,
    ) -> Option<Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>>
    {
        None
    }
}

/// An active, unlabelled conversation in GB between `a` and `b`, each given as
/// (number, the proxy number they call).
pub fn conversation(
    id: &str,
    a: (&str, &str),
    b: (&str, &str),
    created_at: i64,
    expires_at: i64,
) -> shared::model::Conversation {
    use shared::model::{Conversation, ConversationStatus, ExpiryMode, Participant};
    let p = |(number, proxy): (&str, &str)| Participant {
        number: Msisdn::from_digits(number).expect("a participant in E.164 digits"),
        label: None,
        proxy_number: Msisdn::from_digits(proxy).expect("a proxy number in E.164 digits"),
        country: "GB".parse().expect("GB is a country code"),
        notification: None,
        language: None,
        code: None,
        shared: false,
        checked: Default::default(),
        facts: Default::default(),
        time_zone: None,
        quiet_hours: None,
    };
    Conversation {
        id: id.parse().expect("a test conversation id"),
        status: ConversationStatus::Active,
        created_at,
        expires_at,
        reference: None,
        participants: [p(a), p(b)],
        closed_at: None,
        close_reason: None,
        expiry_mode: ExpiryMode::Absolute,
        ttl_seconds: (expires_at - created_at).max(60),
        last_activity: None,
        mode: Default::default(),
        intercept: false,
        call: Default::default(),
    }
}

/// Conversation number `i` of a synthetic load: a rider and a driver of its own (`4477` and
/// eight digits, `2i` and `2i + 1`), who call the proxy numbers `proxies`, an hour long until
/// `expires_at`.
pub fn numbered_conversation(
    i: usize,
    proxies: (&str, &str),
    expires_at: i64,
) -> shared::model::Conversation {
    let mut c = conversation(
        &format!("00000000-0000-4000-8000-{i:012}"),
        (&format!("4477{:08}", 2 * i), proxies.0),
        (&format!("4477{:08}", 2 * i + 1), proxies.1),
        expires_at - 3600,
        expires_at,
    );
    c.participants[0].label = "rider".parse().ok();
    c.participants[1].label = "driver".parse().ok();
    c
}

/// Prism in proxy mode between the client and a stand-in: every request is checked against a
/// Vonage spec before it reaches `upstream` (a violation is answered 422, which fails the
/// client's call), and every answer is checked on the way back. Stopped when dropped.
pub struct SpecProxy {
    pub url: String,
    child: std::process::Child,
}

impl SpecProxy {
    /// Starts Prism (`PRISM_BIN`, set by scripts/test) on a free port for `spec` (a file name
    /// in `../shared/vonage`) in front of `upstream`.
    pub fn start(spec: &str, upstream: &str) -> Self {
        Self::start_file(&spec_path(spec), upstream)
    }

    /// [`Self::start`] for a spec at `path`.
    pub fn start_file(spec: &str, upstream: &str) -> Self {
        // A free port can be taken by another test's server between our probe and Prism's own
        // bind; Prism then exits, while that other server answers on the port. So the proxy
        // counts as started only when our process still runs and Prism itself answers.
        for _ in 0..5 {
            if let Some(proxy) = Self::try_start(spec, upstream) {
                return proxy;
            }
        }
        panic!("Prism proxy for {spec} did not start");
    }

    fn try_start(spec: &str, upstream: &str) -> Option<Self> {
        let prism = std::env::var("PRISM_BIN")
            .expect("PRISM_BIN is not set: run the tests with scripts/test, which installs Prism");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(prism)
            .args(["proxy", spec, upstream, "--errors", "-h", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Prism starts");
        let mut proxy = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if !matches!(proxy.child.try_wait(), Ok(None)) {
                return None;
            }
            if prism_answers(port) {
                return Some(proxy);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

/// The path of the Vonage spec `file` in `../shared/vonage`.
fn spec_path(file: &str) -> String {
    format!("{}/../../shared/vonage/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// `voice.yml` with its call endpoints told apart, written to a file of its own: the path.
///
/// The published spec lists a create-call request's `to` as `oneOf` a phone, SIP, websocket or
/// VBC endpoint, but its SIP endpoint requires only `type` (which no `enum` pins), so every
/// phone endpoint matches it too and no request with a phone `to` passes a strict `oneOf`
/// (Prism answers `422` to any). Here the SIP endpoint requires its `uri`, as Vonage's own
/// reference says it has, and each endpoint's `type` is the one word it documents; nothing
/// else changes.
pub fn voice_spec_for_calls() -> String {
    let text = std::fs::read_to_string(spec_path("voice.yml")).expect("voice.yml");
    let mut spec: serde_yaml::Value = serde_yaml::from_str(&text).expect("voice.yml is YAML");
    let schemas = &mut spec["components"]["schemas"];
    schemas["EndpointSip"]["required"] = serde_yaml::from_str("[type, uri]").expect("YAML");
    for (endpoint, word) in [
        ("EndpointPhoneTo", "phone"),
        ("EndpointPhoneFrom", "phone"),
        ("EndpointSip", "sip"),
        ("EndpointWebsocket", "websocket"),
        ("EndpointVBCExtension", "vbc"),
    ] {
        schemas[endpoint]["properties"]["type"]["enum"] =
            serde_yaml::from_str(&format!("[{word}]")).expect("YAML");
    }
    let path = std::env::temp_dir().join(format!("voice-for-calls-{}.yml", std::process::id()));
    std::fs::write(&path, serde_yaml::to_string(&spec).expect("YAML")).expect("written");
    path.to_string_lossy().into_owned()
}

/// Whether Prism answers on `port`: a path no spec has gets one of Prism's own errors.
fn prism_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let timeout = Some(std::time::Duration::from_secs(2));
    if stream.set_read_timeout(timeout).is_err()
        || stream
            .write_all(
                b"GET /__prism_probe HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )
            .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    stream.read_to_string(&mut answer).is_ok() && answer.contains("stoplight.io/prism")
}

impl Drop for SpecProxy {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("Prism proxy not stopped: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("Prism proxy not reaped: {e}");
        }
    }
}

/// Replays every request `stand_in` received under `prefix` against the Prism mock of a Vonage
/// spec at `prism_url` (with `prefix` taken off the path) and fails unless Prism accepts each
/// one (and fails when it received none): the requests a test made are checked against the
/// published spec, while the stand-in decided the answers. (Used where the spec's responses cannot be validated by a Prism proxy:
/// `sms.yml` answers with a `oneOf` whose branches both match any body.)
pub async fn assert_spec_accepts(stand_in: &MockServer, prefix: &str, prism_url: &str) {
    let client = reqwest::Client::new();
    let requests = stand_in.received_requests().await.unwrap_or_default();
    let seen: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .collect();
    // A check that saw nothing proves nothing: the test meant to send something and did not.
    assert!(
        !seen.is_empty(),
        "the stand-in received no request under {prefix} to check against the spec"
    );
    for r in seen {
        let mut url = format!("{prism_url}{}", &r.url.path()[prefix.len()..]);
        if let Some(q) = r.url.query() {
            url.push('?');
            url.push_str(q);
        }
        let method =
            reqwest::Method::from_bytes(r.method.as_str().as_bytes()).expect("an HTTP method");
        let mut replay = client.request(method, &url).body(r.body.clone());
        for name in ["content-type", "authorization"] {
            if let Some(value) = r.headers.get(name) {
                replay = replay.header(name, value.as_bytes());
            }
        }
        let answer = replay.send().await.expect("the Prism mock answers");
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "{} {} is refused by the spec ({status}): {text}",
            r.method,
            r.url.path()
        );
    }
}

/// The fault-injecting DynamoDB proxy (`scripts/fault_proxy.py`) between a test's store and the
/// local DynamoDB-API server, started for one test on a free port and stopped when dropped.
/// The test drives it: added latency, hangs, throttling, transaction conflicts, internal
/// errors and dropped connections, at a rate or on the Nth request.
pub struct FaultProxy {
    pub url: String,
    child: std::process::Child,
    http: reqwest::Client,
}

impl FaultProxy {
    pub fn start() -> Self {
        use std::io::BufRead;
        let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test, which starts \
             the local DynamoDB-API server",
        );
        let script = format!("{}/../scripts/fault_proxy.py", env!("CARGO_MANIFEST_DIR"));
        let mut child = std::process::Command::new("python3")
            .args([script.as_str(), "0", upstream.as_str()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the fault proxy starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the proxy's output");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the proxy says where it listens");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .expect("listening on PORT");
        Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            http: reqwest::Client::new(),
        }
    }

    /// Replaces the rules (see the script for their shape) and zeroes the counts.
    pub async fn set(&self, seed: u64, rules: serde_json::Value) {
        let out = self
            .http
            .put(format!("{}/_faults", self.url))
            .json(&serde_json::json!({ "seed": seed, "rules": rules }))
            .send()
            .await
            .expect("the fault proxy answers");
        assert!(out.status().is_success(), "rules refused: {out:?}");
    }

    /// No more faults; requests held by a hang are let go.
    pub async fn clear(&self) {
        self.http
            .delete(format!("{}/_faults", self.url))
            .send()
            .await
            .expect("the fault proxy answers");
    }

    /// `{"requests": {op: n}, "injected": {fault: n}, "forwarded": n}` since the last `set`.
    pub async fn counts(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/_faults", self.url))
            .send()
            .await
            .expect("the fault proxy answers")
            .json()
            .await
            .expect("counts")
    }

    /// A store on `table` whose every request goes through the proxy, within `budget`.
    ///
    /// Its retry quota is unlimited: the tests run many requests at once through one client,
    /// standing for as many Lambda execution environments, each of which has a quota of its own
    /// (the SDK's token bucket is per process). One shared quota would be spent by the first
    /// burst of injected faults and refuse every retry after it.
    pub async fn store(&self, table: &str, budget: &shared::config::AwsBudget) -> Store {
        use aws_sdk_dynamodb::config::retry::{RetryPartition, TokenBucket};
        let sdk = shared::aws::sdk_config(budget).await;
        let partition = RetryPartition::custom(format!("fault-proxy-{}", self.url))
            .token_bucket(TokenBucket::unlimited())
            .build();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
            .endpoint_url(&self.url)
            .retry_partition(partition)
            .build();
        Store::new(aws_sdk_dynamodb::Client::from_conf(config), table)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("fault proxy not stopped: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("fault proxy not reaped: {e}");
        }
    }
}

/// A time budget for stores in tests, as tight as a deployed answer webhook's.
pub fn budget(attempt_ms: u64, operation_ms: u64, max_attempts: u32) -> shared::config::AwsBudget {
    shared::config::AwsBudget {
        connect: std::time::Duration::from_millis(500),
        attempt: std::time::Duration::from_millis(attempt_ms),
        operation: std::time::Duration::from_millis(operation_ms),
        max_attempts,
    }
}

/// A validator for Vonage's NCCO schema (`NCCO_SCHEMA`, else `../shared/vonage/ncco-schema.json`).
pub fn ncco_schema() -> jsonschema::Validator {
    let path = std::env::var("NCCO_SCHEMA").unwrap_or_else(|_| {
        format!(
            "{}/../../shared/vonage/ncco-schema.json",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the NCCO schema is JSON");
    jsonschema::draft4::new(&schema).expect("the NCCO schema compiles")
}

/// Fails unless `ncco` validates against `vonage/ncco-schema.json`, naming each error.
pub fn assert_ncco(ncco: &serde_json::Value) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let errors: Vec<String> = SCHEMA
        .get_or_init(ncco_schema)
        .iter_errors(ncco)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "NCCO {ncco} is not valid: {errors:?}");
}

/// The JSON Schema of one event detail-type (`schemas/events/<detail-type>.json`).
pub fn event_schema(detail_type: &str) -> jsonschema::Validator {
    let path = format!(
        "{}/../schemas/events/{detail_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("an event schema is JSON");
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("an event schema compiles")
}

/// Checks an event against its detail-type's schema, and that it names no participant's real
/// number: `real` are the numbers that must not appear anywhere in it.
pub fn assert_event(event: &shared::domain::events::Event, real: &[&str]) {
    let schema = event_schema(event.detail_type);
    let errors: Vec<String> = schema
        .iter_errors(&event.detail)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not match its schema: {errors:?}\n{}",
        event.detail_type,
        event.detail
    );
    let text = event.detail.to_string();
    for number in real {
        assert!(
            !text.contains(number),
            "{} names a real number: {text}",
            event.detail_type
        );
    }
}

/// Closing at `at` for `reason`, records kept until `retain_until`, pairs cooling off for the
/// default 600 s.
pub fn closing(
    reason: shared::model::CloseReason,
    at: i64,
    retain_until: i64,
) -> shared::model::Closing {
    shared::model::Closing {
        reason,
        at,
        retain_until,
        cool_off_seconds: 600,
    }
}

/// A stream record as Lambda hands it over: the change from `old` to `new` (item images),
/// numbered `seq` on its shard.
pub fn stream_record(
    seq: u64,
    old: Option<serde_dynamo::Item>,
    new: Option<serde_dynamo::Item>,
) -> aws_lambda_events::event::dynamodb::EventRecord {
    let name = match (&old, &new) {
        (None, _) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
    };
    let image = |i: &Option<serde_dynamo::Item>| {
        serde_json::to_value(i.clone().unwrap_or_default()).expect("an image is JSON")
    };
    let record = serde_json::json!({
        "eventID": format!("record-{seq}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": shared::now(),
            "Keys": {},
            "SequenceNumber": format!("{seq:021}"),
            "SizeBytes": 512,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "OldImage": image(&old),
            "NewImage": image(&new),
        },
    });
    serde_json::from_value(record).expect("a stream record")
}

/// The stream batch in `events/{name}` (the files `cargo lambda invoke` can play).
pub fn stream_file(name: &str) -> shared::stream::Batch {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A batch of stream records.
pub fn stream_batch(
    records: Vec<aws_lambda_events::event::dynamodb::EventRecord>,
) -> shared::stream::Batch {
    let mut batch = shared::stream::Batch::default();
    batch.records = records;
    batch
}

/// A new RSA key pair in PEM (private, public), as the Application API gives a new application
/// one: for signing and checking the application's Voice API tokens in tests.
pub fn application_key_pair() -> (String, String) {
    let run = |args: &[&str], input: Option<&str>| -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("openssl")
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl runs");
        if let Some(input) = input {
            child
                .stdin
                .take()
                .expect("openssl's input")
                .write_all(input.as_bytes())
                .expect("openssl takes the key");
        }
        let out = child.wait_with_output().expect("openssl finishes");
        assert!(out.status.success(), "openssl {args:?} failed");
        String::from_utf8(out.stdout).expect("PEM is text")
    };
    let private = run(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ],
        None,
    );
    let public = run(&["pkey", "-pubout"], Some(&private));
    (private, public)
}

/// The claims of the application token (`Authorization: Bearer`) a request carried, verified
/// with the application's public key in PEM: RS256, and an `exp` required.
pub fn application_claims(request: &wiremock::Request, public: &str) -> serde_json::Value {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let header = request
        .headers
        .get("authorization")
        .expect("an Authorization header")
        .to_str()
        .expect("a header of text");
    let token = header.strip_prefix("Bearer ").expect("a bearer token");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp"]);
    decode::<serde_json::Value>(
        token,
        &DecodingKey::from_rsa_pem(public.as_bytes()).expect("a public key in PEM"),
        &validation,
    )
    .expect("a token the application's key signed")
    .claims
}

/// A Voice API client for the application `app` signing with `private_key`, against
/// `voice_url`, fetching recordings from `files_url`.
pub fn voice_client(
    voice_url: &str,
    files_url: &str,
    app: &str,
    private_key: &str,
) -> shared::vonage::VoiceClient {
    let config = shared::config::VoiceConfig {
        voice_url: voice_url.to_owned(),
        files_url: files_url.to_owned(),
        application_id: app.to_owned(),
        private_key: private_key.to_owned().into(),
        timeout: std::time::Duration::from_secs(5),
        max_retries: 1,
        max_recording_bytes: 1024 * 1024,
    };
    shared::vonage::VoiceClient::new(&config)
        .expect("a Voice API client")
        .with_backoff(std::time::Duration::from_millis(5))
}

/// An Identity Insights client for the application `app` signing with `private_key`, against
/// `url`, with a short wait between retries.
pub fn identity_insights_client(
    url: &str,
    app: &str,
    private_key: &str,
    timeout: std::time::Duration,
) -> shared::vonage::IdentityInsightsClient {
    let token = shared::vonage::jwt::ApplicationToken::new(app, &private_key.to_owned().into())
        .expect("an RSA key");
    shared::vonage::IdentityInsightsClient::new(url, token, timeout, 2)
        .expect("an Identity Insights client")
        .with_backoff(std::time::Duration::from_millis(5))
}

/// A Messages API client for the application `app` signing with `private_key`, against `url`,
/// with a short wait between retries.
pub fn messages_client(url: &str, app: &str, private_key: &str) -> shared::vonage::MessagesClient {
    let token = shared::vonage::jwt::ApplicationToken::new(app, &private_key.to_owned().into())
        .expect("an RSA key");
    shared::vonage::MessagesClient::new(url, token, std::time::Duration::from_secs(5), 2)
        .expect("a Messages API client")
        .with_backoff(std::time::Duration::from_millis(5))
}

/// A validator for the schema `component` (`components.schemas.X`) of the Vonage spec `file` in
/// `../shared/vonage`, its `$ref`s resolved within the spec: for the webhook bodies Vonage
/// sends, which Prism cannot check (`x-webhooks`).
pub fn vonage_schema(file: &str, component: &str) -> jsonschema::Validator {
    let path = format!("{}/../../shared/vonage/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut spec: serde_json::Value = serde_yaml::from_str(&text).expect("a spec in YAML");
    assert!(
        spec["components"]["schemas"].get(component).is_some(),
        "{file} has no schema {component}"
    );
    spec["$ref"] = serde_json::json!(format!("#/components/schemas/{component}"));
    jsonschema::draft4::options()
        .build(&spec)
        .expect("the spec's schema compiles")
}

/// A new, empty recordings bucket on the local AWS stand-in (`AWS_ENDPOINT_URL_S3`), addressed
/// by path, with links good for a minute.
pub async fn fresh_bucket() -> shared::files::Bucket {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_S3").is_ok(),
        "AWS_ENDPOINT_URL_S3 is not set: run the tests with scripts/test, which starts the local \
         AWS stand-in"
    );
    let config = shared::config::RecordingConfig {
        bucket: format!("recordings-{}", uuid::Uuid::new_v4().simple()),
        path_style: true,
        link_seconds: 60,
    };
    let bucket = shared::files::Bucket::from_env(&config).await;
    bucket
        .client()
        .create_bucket()
        .bucket(bucket.name())
        .send()
        .await
        .expect("bucket created");
    bucket
}

/// A new, empty schedule group on the local AWS stand-in (`AWS_ENDPOINT_URL_SCHEDULER`), and
/// the call timers that schedule warnings in it for a warning function and role of the test's.
pub async fn fresh_timers() -> shared::scheduler::Scheduler {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_SCHEDULER").is_ok(),
        "AWS_ENDPOINT_URL_SCHEDULER is not set: run the tests with scripts/test, which starts the \
         local AWS stand-in"
    );
    let config = shared::config::WarningConfig {
        group: format!("calls-{}", uuid::Uuid::new_v4().simple()),
        target_arn: "arn:aws:lambda:us-east-1:123456789012:function:warn".into(),
        role_arn: "arn:aws:iam::123456789012:role/warn-schedules".into(),
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_scheduler::Client::new(&sdk);
    client
        .create_schedule_group()
        .name(&config.group)
        .send()
        .await
        .expect("schedule group created");
    shared::scheduler::Scheduler::with_client(client, &config)
}

/// The schedule `name` of `timers`' group as the stand-in keeps it, or `None`.
pub async fn schedule(
    timers: &shared::scheduler::Scheduler,
    name: &str,
) -> Option<aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput> {
    match timers
        .client()
        .get_schedule()
        .group_name(timers.group())
        .name(name)
        .send()
        .await
    {
        Ok(found) => Some(found),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            None
        }
        Err(e) => panic!("get_schedule failed: {e:?}"),
    }
}
