//! The operator console in a real browser (headless Chromium through chromedriver), against a
//! running local stack: scripts/smoke starts both and runs this test with
//!
//! - `CONSOLE_URL`: the console, `http://127.0.0.1:{API_PORT}/console` (the management API and
//!   the webhooks are at the same address without `/console`);
//! - `LOCAL_STATE`: the stack's state directory (`console.json` with the users, `signing.json`
//!   to sign webhooks as Vonage does, `events.log` with every event the bus received);
//! - `WEBDRIVER_URL`: chromedriver;
//! - `CONSOLE_SCREENSHOTS`: where the pages' screenshots go (scripts/smoke copies them into
//!   `docs/console` once its stack is done with).
//!
//! A conversation with one completed call is set up through the API and the webhooks. An agent
//! finds it by its reference, sees the call on its timeline and no real number on any page, and
//! has no supervisor's actions; a supervisor closes it (the proxy number then answers as out of
//! service) and reveals a participant's number with a reason, which the conversation's page
//! lists and the bus receives as `console.number_revealed`, without the number.
//!
//! Without `CONSOLE_URL` (`cargo test --all-features`, which turns `browser` on) the test says
//! why and passes: there is no stack to drive. On a failure the page's source and a screenshot
//! are saved beside the screenshots (`failure.html`, `failure.png`).
#![cfg(feature = "browser")]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

type Failed = Box<dyn std::error::Error + Send + Sync>;
type Step<T = ()> = Result<T, Failed>;

/// Fails the scenario with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+).into());
        }
    };
}

/// How long a page or a condition is waited for.
const PATIENCE: Duration = Duration::from_secs(15);

/// How long the browser waits for a page to load (the local functions answer in milliseconds,
/// but the first request to each may wait for `cargo lambda watch` to build it).
const PAGE_LOAD: Duration = Duration::from_secs(120);

struct Settings {
    console: String,
    api: String,
    state: PathBuf,
    webdriver: String,
    screenshots: PathBuf,
}

impl Settings {
    /// `None` when the test is not driven by scripts/smoke.
    fn from_env() -> Option<Step<Self>> {
        let console = std::env::var("CONSOLE_URL")
            .ok()
            .filter(|v| !v.is_empty())?;
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("CONSOLE_URL is set but {name} is not (see scripts/smoke)"))
        };
        Some((|| {
            let console = console.trim_end_matches('/').to_owned();
            let api = console
                .strip_suffix("/console")
                .ok_or("CONSOLE_URL must end in /console")?
                .to_owned();
            Ok(Self {
                api,
                console,
                state: PathBuf::from(var("LOCAL_STATE")?),
                webdriver: var("WEBDRIVER_URL")?,
                screenshots: PathBuf::from(var("CONSOLE_SCREENSHOTS")?),
            })
        })())
    }
}

/// A participant of the conversation the test sets up: a number of Ofcom's drama range, in
/// every form a person might write it down.
struct Person {
    label: &'static str,
    digits: String,
    proxy: String,
}

impl Person {
    fn forms(&self) -> Vec<String> {
        let national = &self.digits[2..]; // 7700 900xxx
        vec![
            self.digits.clone(),
            format!("+{}", self.digits),
            format!("+44 {} {}", &national[..4], &national[4..]),
            format!("0{national}"),
            format!("0{} {}", &national[..4], &national[4..]),
            national.to_owned(),
            format!("{} {}", &national[..4], &national[4..]),
        ]
    }
}

/// Fails when any form of either person's number is in `text`.
fn no_number(text: &str, people: &[&Person], what: &str) -> Step {
    for p in people {
        for form in p.forms() {
            ensure!(
                !text.contains(&form),
                "{what} holds the {}'s number as {form:?}",
                p.label
            );
        }
    }
    Ok(())
}

// ---- the stack: management API and webhooks ---------------------------------------------------

/// A response's status and its body, as JSON when it is JSON.
async fn answer(res: reqwest::Response) -> Step<(u16, Value)> {
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

struct Stack {
    http: reqwest::Client,
    settings: Settings,
    signing: Value,
}

impl Stack {
    fn new(settings: Settings) -> Step<Self> {
        let signing: Value = serde_json::from_str(&std::fs::read_to_string(
            settings.state.join("signing.json"),
        )?)?;
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            settings,
            signing,
        })
    }

    async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Step<(u16, Value)> {
        let url = format!("{}{path}", self.settings.api);
        let mut req = self.http.request(method.parse()?, &url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await?).await
    }

    /// A webhook as Vonage sends it: POSTed JSON with an HS256 token over the body's hash,
    /// signed with the local stack's signature secret.
    async fn webhook(&self, name: &str, body: Value) -> Step<(u16, Value)> {
        let text = body.to_string();
        let field = |k: &str| self.signing[k].as_str().unwrap_or_default().to_owned();
        let mut claims =
            shared::signature::claims_for(text.as_bytes(), shared::now(), &field("api_key"));
        claims.application_id = Some(field("application_id"));
        let token = shared::signature::sign(&claims, &field("signature_secret"));
        let res = self
            .http
            .post(format!("{}/webhooks/{name}", self.settings.api))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(text)
            .send()
            .await?;
        answer(res).await
    }

    /// Two pool numbers at least, as the walk-through adds them.
    async fn pool(&self) -> Step {
        let (status, pool) = self.api("GET", "/numbers", None).await?;
        ensure!(status == 200, "GET /numbers answered {status}: {pool}");
        let have: Vec<&str> = pool["numbers"]
            .as_array()
            .map(|ns| ns.iter().filter_map(|n| n["msisdn"].as_str()).collect())
            .unwrap_or_default();
        for msisdn in ["447700900101", "447700900102"] {
            if !have.contains(&msisdn) {
                let (status, added) = self
                    .api("POST", "/numbers", Some(json!({ "msisdn": msisdn })))
                    .await?;
                ensure!(
                    status == 201,
                    "POST /numbers {msisdn} answered {status}: {added}"
                );
            }
        }
        Ok(())
    }
}

/// The conversation the browser looks at.
struct Scene {
    id: String,
    reference: String,
    rider: Person,
    driver: Person,
}

/// Two people no other conversation has (a random pair of Ofcom's drama range), a conversation
/// between them, and one call from the rider to the driver, answered and completed.
async fn set_up(stack: &Stack) -> Step<Scene> {
    stack.pool().await?;
    let first: u32 = rand::random_range(300..650);
    let second: u32 = rand::random_range(650..999);
    let reference = format!(
        "console-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let (rider, driver) = (format!("447700900{first}"), format!("447700900{second}"));
    let (status, created) = stack
        .api(
            "POST",
            "/conversations",
            Some(json!({
                "participants": [
                    {"number": format!("+44 7700 900{first}"), "label": "rider"},
                    {"number": driver, "label": "driver"},
                ],
                "ttl_seconds": 3600,
                "reference": reference,
            })),
        )
        .await?;
    ensure!(
        status == 201,
        "POST /conversations answered {status}: {created}"
    );
    let id = created["id"].as_str().ok_or("no id")?.to_owned();
    let proxy = |i: usize| {
        created["participants"][i]["proxy_number"]
            .as_str()
            .map(str::to_owned)
    };
    let scene = Scene {
        id,
        reference,
        rider: Person {
            label: "rider",
            digits: rider,
            proxy: proxy(0).ok_or("no proxy number for the rider")?,
        },
        driver: Person {
            label: "driver",
            digits: driver,
            proxy: proxy(1).ok_or("no proxy number for the driver")?,
        },
    };

    // The rider calls their proxy number; the driver's phone shows theirs.
    let call = uuid::Uuid::new_v4().simple().to_string();
    let vonage_conversation = format!("CON-{call}");
    let (status, ncco) = stack
        .webhook(
            "answer",
            json!({"to": scene.rider.proxy, "from": scene.rider.digits,
                   "uuid": format!("{call}-in"), "conversation_uuid": vonage_conversation}),
        )
        .await?;
    let connect = ncco
        .as_array()
        .and_then(|actions| actions.iter().find(|a| a["action"] == "connect"));
    ensure!(
        status == 200
            && connect.is_some_and(
                |c| c["endpoint"][0]["number"] == scene.driver.digits.as_str()
                    && c["from"] == scene.driver.proxy.as_str()
            ),
        "the answer webhook did not connect the rider to the driver ({status}): {ncco}"
    );
    for status in ["answered", "completed"] {
        let (answered, body) = stack
            .webhook(
                "event",
                json!({"from": scene.driver.proxy, "to": scene.driver.digits,
                       "uuid": format!("{call}-out"), "conversation_uuid": vonage_conversation,
                       "direction": "outbound", "status": status, "duration": "42",
                       "price": "0.00980000", "timestamp": shared::rfc3339(shared::now())}),
            )
            .await?;
        ensure!(
            answered == 204,
            "the {status} event answered {answered}: {body}"
        );
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, got) = stack
            .api("GET", &format!("/conversations/{}", scene.id), None)
            .await?;
        ensure!(
            status == 200,
            "GET /conversations/{} answered {status}",
            scene.id
        );
        if got["calls"][0]["status"] == "completed" {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the call is not in the conversation's log: {got}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(scene)
}

// ---- the browser -------------------------------------------------------------------------------

async fn browser(settings: &Settings, profile: &Path) -> Step<Client> {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--hide-scrollbars", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&settings.webdriver)
        .await
        .map_err(|e| format!("no browser session at {}: {e}", settings.webdriver))?;
    let timeouts = fantoccini::wd::TimeoutConfiguration::new(
        Some(Duration::from_secs(30)),
        Some(PAGE_LOAD),
        Some(Duration::ZERO),
    );
    client.update_timeouts(timeouts).await?;
    Ok(client)
}

async fn wait_for(b: &Client, css: &str) -> Step<fantoccini::elements::Element> {
    match b
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => Ok(element),
        Err(e) => Err(format!("no {css} on {}: {e}", url(b).await).into()),
    }
}

async fn url(b: &Client) -> String {
    b.current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default()
}

async fn text(b: &Client, css: &str) -> Step<String> {
    Ok(wait_for(b, css).await?.text().await?)
}

async fn absent(b: &Client, css: &str) -> Step {
    let found = b.find_all(Locator::Css(css)).await?;
    ensure!(found.is_empty(), "{css} is on {}", url(b).await);
    Ok(())
}

async fn screenshot(b: &Client, settings: &Settings, name: &str) -> Step {
    std::fs::create_dir_all(&settings.screenshots)?;
    let png = b.screenshot().await?;
    std::fs::write(settings.screenshots.join(name), png)?;
    println!("console_browser: {name}");
    Ok(())
}

/// The page's source and its visible text, neither with a real number.
async fn no_number_on_page(b: &Client, scene: &Scene, page: &str) -> Step {
    let people = [&scene.rider, &scene.driver];
    no_number(&b.source().await?, &people, &format!("{page}'s source"))?;
    let visible = b.find(Locator::Css("body")).await?.text().await?;
    no_number(&visible, &people, &format!("{page}'s text"))
}

async fn sign_in(b: &Client, settings: &Settings, user: &Value) -> Step {
    let (name, password) = (
        user["username"]
            .as_str()
            .ok_or("no username in console.json")?,
        user["password"]
            .as_str()
            .ok_or("no password in console.json")?,
    );
    b.goto(&format!("{}/sign-in", settings.console)).await?;
    wait_for(b, "form#sign-in input[name=csrf]").await?;
    wait_for(b, "#username").await?.send_keys(name).await?;
    wait_for(b, "#password").await?.send_keys(password).await?;
    wait_for(b, "form#sign-in button[type=submit]")
        .await?
        .click()
        .await?;
    let who = text(b, "form#sign-out .who").await?;
    ensure!(
        who.starts_with(name) && url(b).await.ends_with("/console/search"),
        "{name} is not signed in: {who:?} on {}",
        url(b).await
    );
    Ok(())
}

async fn sign_out(b: &Client, settings: &Settings) -> Step {
    wait_for(b, "form#sign-out button[type=submit]")
        .await?
        .click()
        .await?;
    wait_for(b, "form#sign-in").await?;
    // The session is gone: a page sends the browser back to the sign-in.
    b.goto(&format!("{}/search", settings.console)).await?;
    wait_for(b, "form#sign-in").await?;
    absent(b, "form#sign-out").await
}

async fn open_conversation(b: &Client, settings: &Settings, scene: &Scene) -> Step {
    b.goto(&format!("{}/conversations/{}", settings.console, scene.id))
        .await?;
    wait_for(b, "#timeline").await?;
    Ok(())
}

/// The agent: search, the conversation and its call, the pool, the day; no number, no actions.
async fn as_agent(b: &Client, settings: &Settings, scene: &Scene, agent: &Value) -> Step {
    sign_in(b, settings, agent).await?;
    let q = wait_for(b, "form#search input[name=q]").await?;
    q.clear().await?;
    q.send_keys(&scene.reference).await?;
    wait_for(b, "form#search button[type=submit]")
        .await?
        .click()
        .await?;
    let found = text(b, "#results tbody tr").await?;
    ensure!(
        found.contains(&scene.reference) && found.contains(&scene.id),
        "the search for {} found {found:?}",
        scene.reference
    );
    no_number_on_page(b, scene, "the search").await?;
    screenshot(b, settings, "console-search.png").await?;

    wait_for(b, "#results a.conversation")
        .await?
        .click()
        .await?;
    let outcome = text(b, "#timeline li.entry.call span.outcome").await?;
    ensure!(
        outcome == "completed",
        "the call's outcome reads {outcome:?}"
    );
    let call = text(b, "#timeline li.entry.call").await?;
    ensure!(
        call.contains("Call from rider to driver") && call.contains("42 s"),
        "the call reads {call:?}"
    );
    let status = text(b, "#status").await?;
    ensure!(
        status == "active" || status == "in-progress",
        "the conversation reads {status:?}, not open"
    );
    let participants = text(b, "#participants tbody").await?;
    ensure!(
        participants.contains(&format!("+{}", scene.rider.proxy))
            && participants.contains(&format!("+{}", scene.driver.proxy)),
        "the participants' proxy numbers are not shown: {participants:?}"
    );
    no_number_on_page(b, scene, "the agent's conversation page").await?;
    for action in [
        "#action-close",
        "#action-extend",
        "#action-reopen",
        "#reveal-0",
        "#reveal-1",
    ] {
        absent(b, action).await?;
    }
    screenshot(b, settings, "console-conversation.png").await?;
    // Nor can an agent reach a supervisor's page by its address.
    b.goto(&format!(
        "{}/conversations/{}/reveal?index=1",
        settings.console, scene.id
    ))
    .await?;
    let refused = wait_for(b, "p.problem").await?;
    ensure!(
        refused.attr("data-code").await?.as_deref() == Some("forbidden"),
        "an agent's reveal was not refused: {:?}",
        refused.text().await?
    );
    no_number_on_page(b, scene, "the agent's refused reveal").await?;

    wait_for(b, "#nav-pool").await?.click().await?;
    let pool = text(b, "table#pool").await?;
    ensure!(
        pool.contains(&format!("+{}", scene.rider.proxy)),
        "the pool does not list +{}: {pool:?}",
        scene.rider.proxy
    );
    no_number_on_page(b, scene, "the pool").await?;
    screenshot(b, settings, "console-pool.png").await?;

    // The day's counts come from the change stream: wait until they hold this conversation
    // and its call.
    wait_for(b, "#nav-overview").await?.click().await?;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let count = |css: &'static str| async move {
            text(b, css)
                .await
                .map(|t| t.trim().parse::<u64>().unwrap_or(0))
        };
        let (created, connected) = (
            count("#conversations").await?,
            count("#calls-connected").await?,
        );
        if created >= 1 && connected >= 1 {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the overview shows {created} conversations created and {connected} calls connected"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        b.refresh().await?;
    }
    no_number_on_page(b, scene, "the overview").await?;
    screenshot(b, settings, "console-overview.png").await?;
    sign_out(b, settings).await
}

/// The supervisor: close (the numbers stop working), then reveal the driver's number.
async fn as_supervisor(b: &Client, stack: &Stack, scene: &Scene, supervisor: &Value) -> Step {
    let settings = &stack.settings;
    sign_in(b, settings, supervisor).await?;
    open_conversation(b, settings, scene).await?;
    no_number_on_page(b, scene, "the supervisor's conversation page").await?;

    wait_for(b, "#action-close").await?.click().await?;
    wait_for(b, "form#confirm input[name=csrf]").await?;
    ensure!(
        url(b)
            .await
            .ends_with(&format!("/conversations/{}/close", scene.id)),
        "#action-close led to {}",
        url(b).await
    );
    screenshot(b, settings, "console-confirm.png").await?;
    wait_for(b, "form#confirm button[type=submit]")
        .await?
        .click()
        .await?;
    let deadline = Instant::now() + PATIENCE;
    while text(b, "#status").await? != "closed" {
        ensure!(
            Instant::now() < deadline,
            "the conversation's status reads {:?} after the close",
            text(b, "#status").await?
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    absent(b, "#action-close").await?;
    wait_for(b, "#action-reopen").await?;

    // The rider's proxy number no longer reaches the driver: the caller hears it is out of
    // service.
    let texts: Value = serde_json::from_str(&std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/config/texts/builtin.json"),
    )?)?;
    let out_of_service = texts["en-GB"]["out_of_service"]
        .as_str()
        .ok_or("no out_of_service text in builtin.json")?;
    let call = uuid::Uuid::new_v4().simple().to_string();
    let (status, ncco) = stack
        .webhook(
            "answer",
            json!({"to": scene.rider.proxy, "from": scene.rider.digits, "uuid": call,
                   "conversation_uuid": format!("CON-{call}")}),
        )
        .await?;
    let actions: Vec<&str> = ncco
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["action"].as_str()).collect())
        .unwrap_or_default();
    ensure!(
        status == 200 && actions == ["talk"] && ncco[0]["text"] == out_of_service,
        "a call to the closed conversation's number got ({status}) {ncco}, not {out_of_service:?}"
    );

    wait_for(b, "#reveal-1").await?.click().await?;
    let reason = format!(
        "The driver asked us to confirm the number on file ({})",
        scene.reference
    );
    wait_for(b, "form#confirm textarea[name=reason]")
        .await?
        .send_keys(&reason)
        .await?;
    wait_for(b, "form#confirm button[type=submit]")
        .await?
        .click()
        .await?;
    let revealed = text(b, "output#revealed").await?;
    ensure!(
        revealed == format!("+{}", scene.driver.digits),
        "the reveal shows {revealed:?}, not the driver's number"
    );
    screenshot(b, settings, "console-reveal.png").await?;

    b.find(Locator::LinkText("Back to the conversation"))
        .await?
        .click()
        .await?;
    let reveal = text(b, "#reveals li.reveal").await?;
    ensure!(
        reveal.contains(supervisor["username"].as_str().unwrap_or("supervisor"))
            && reveal.contains(&reason)
            && reveal.contains("driver"),
        "the conversation lists the reveal as {reveal:?}"
    );
    no_number_on_page(b, scene, "the conversation page after the reveal").await?;
    sign_out(b, settings).await?;

    // The bus received the reveal, with who, why and whose, and no number.
    let log = settings.state.join("events.log");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let lines = std::fs::read_to_string(&log).unwrap_or_default();
        let event = lines
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok().map(|v| (l, v)))
            .find(|(_, e)| {
                e["detail-type"] == "console.number_revealed"
                    && e["detail"]["conversation_id"] == scene.id.as_str()
            });
        if let Some((line, event)) = event {
            let d = &event["detail"];
            ensure!(
                d["index"] == 1
                    && d["revealed_by"] == supervisor["username"]
                    && d["reason"] == reason.as_str()
                    && d["reference"] == scene.reference.as_str(),
                "console.number_revealed reads {event}"
            );
            no_number(
                line,
                &[&scene.rider, &scene.driver],
                "console.number_revealed",
            )?;
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "no console.number_revealed for {} in {}",
            scene.id,
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn scenario(b: &Client, stack: &Stack, scene: &Scene) -> Step {
    let users: Value = serde_json::from_str(&std::fs::read_to_string(
        stack.settings.state.join("console.json"),
    )?)?;
    as_agent(b, &stack.settings, scene, &users["agent"]).await?;
    as_supervisor(b, stack, scene, &users["supervisor"]).await
}

/// What the browser showed when the scenario failed, for whoever reads the failure.
async fn keep_failure(b: &Client, settings: &Settings) {
    std::fs::create_dir_all(&settings.screenshots).ok();
    if let Ok(source) = b.source().await {
        std::fs::write(settings.screenshots.join("failure.html"), source).ok();
    }
    if let Ok(png) = b.screenshot().await {
        std::fs::write(settings.screenshots.join("failure.png"), png).ok();
    }
    eprintln!(
        "console_browser: the page at {} is in {}",
        url(b).await,
        settings.screenshots.join("failure.html").display()
    );
}

#[tokio::test]
async fn agents_look_up_and_supervisors_close_and_reveal_in_a_browser() {
    let Some(settings) = Settings::from_env() else {
        println!(
            "console_browser: skipped, CONSOLE_URL is not set (scripts/smoke runs this test \
             against its local stack and chromedriver)"
        );
        return;
    };
    let started = Instant::now();
    let stack = match settings.and_then(Stack::new) {
        Ok(stack) => stack,
        Err(e) => panic!("{e}"),
    };
    let scene = match set_up(&stack).await {
        Ok(scene) => scene,
        Err(e) => panic!("setting the conversation up: {e}"),
    };
    println!(
        "console_browser: conversation {} ({}) with one call, set up in {:.1} s",
        scene.id,
        scene.reference,
        started.elapsed().as_secs_f64()
    );
    let profile = std::env::temp_dir().join(format!("console-browser-{}", uuid::Uuid::new_v4()));
    let b = match browser(&stack.settings, &profile).await {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let outcome = scenario(&b, &stack, &scene).await;
    if outcome.is_err() {
        keep_failure(&b, &stack.settings).await;
    }
    b.close().await.ok();
    std::fs::remove_dir_all(&profile).ok();
    if let Err(e) = outcome {
        panic!("{e}");
    }
    println!(
        "console_browser: passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
