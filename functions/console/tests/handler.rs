//! The console's pages and actions on the in-memory store: who may see and do what, what each
//! page shows and never shows, and how a page answers what it cannot take.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use common::*;
use console::handle;
use shared::model::ConversationStatus;
use shared::ports::{Conversations, RevealLog};
use testkit::fakes::MemoryStore;

/// Every page and action a signed-in person has, with what a request to it sends.
fn every_page_and_action(id: &str) -> Vec<(&'static str, String)> {
    let mut all: Vec<(&'static str, String)> = [
        "/console",
        "/console/search?q=ride-1",
        "/console/pool",
        "/console/overview",
    ]
    .iter()
    .map(|p| ("GET", (*p).to_owned()))
    .collect();
    all.push(("GET", format!("/console/conversations/{id}")));
    all.push((
        "GET",
        format!("/console/conversations/{id}/calls/CON-0000/recordings/r1"),
    ));
    for action in ["close", "extend", "reopen", "reveal?index=0"] {
        all.push(("GET", format!("/console/conversations/{id}/{action}")));
    }
    for action in ["close", "extend", "reopen", "reveal"] {
        all.push(("POST", format!("/console/conversations/{id}/{action}")));
    }
    all.push(("POST", "/console/sign-out".to_owned()));
    all
}

fn request(method: &str, path: &str, token: Option<&str>) -> lambda_http::Request {
    match method {
        "GET" => get(path, token),
        _ => post(
            path,
            token,
            &[
                ("csrf", &token.map(csrf).unwrap_or_default()),
                ("seconds", "3600"),
                ("index", "0"),
                ("reason", "the rider's complaint"),
            ],
        ),
    }
}

#[tokio::test]
async fn every_page_and_action_refuses_a_missing_expired_forged_or_foreign_token() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let foreign_pool = {
        let mut claims = claims("sam", &["supervisors"], 3600);
        claims["iss"] = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool".into();
        signed(TEST_KEY, claims)
    };
    let other_client = {
        let mut claims = claims("sam", &["supervisors"], 3600);
        claims["aud"] = "another-client".into();
        signed(TEST_KEY, claims)
    };
    let access_token = {
        let mut claims = claims("sam", &["supervisors"], 3600);
        claims["token_use"] = "access".into();
        signed(TEST_KEY, claims)
    };
    let tampered = {
        let genuine = token("ann", &["agents"], 3600);
        let mut parts: Vec<String> = genuine.split('.').map(str::to_owned).collect();
        let claims = claims("ann", &["supervisors"], 3600).to_string();
        use base64::Engine as _;
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        parts.join(".")
    };
    let refused: Vec<(&str, Option<String>)> = vec![
        ("no session", None),
        ("expired", Some(token("sam", &["supervisors"], -5))),
        (
            "signed with another key",
            Some(signed(OTHER_KEY, claims("sam", &["supervisors"], 3600))),
        ),
        ("another pool's", Some(foreign_pool)),
        ("another app client's", Some(other_client)),
        ("an access token", Some(access_token)),
        ("tampered claims", Some(tampered)),
        ("in no group", Some(token("nobody", &[], 3600))),
        ("not a token", Some("not-a-token".into())),
    ];
    for (why, token) in &refused {
        for (method, path) in every_page_and_action(c.id.as_str()) {
            let r = handle(&deps, request(method, &path, token.as_deref())).await;
            let status = r.status().as_u16();
            match method {
                "GET" => {
                    assert_eq!(status, 303, "{why}: GET {path}");
                    assert_eq!(
                        header(&r, "location"),
                        Some("/console/sign-in"),
                        "{why}: {path}"
                    );
                }
                _ => assert_eq!(status, 401, "{why}: POST {path}"),
            }
            assert!(
                !text(&r).contains(RIDER) && !text(&r).contains("ride-1"),
                "{why}: {path} showed nothing of the conversation"
            );
        }
    }
    // Nothing was done by any of them.
    let after = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(after.status, ConversationStatus::Active);
    assert_eq!(after.expires_at, c.expires_at);
    assert!(deps.store.reveals(&c.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_agent_is_refused_every_supervisor_action_with_403() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let ann = agent();
    for (method, path) in every_page_and_action(c.id.as_str())
        .into_iter()
        .filter(|(_, p)| {
            ["close", "extend", "reopen", "reveal"]
                .iter()
                .any(|a| p.contains(a))
        })
    {
        let r = handle(&deps, request(method, &path, Some(&ann))).await;
        assert_eq!(r.status().as_u16(), 403, "{method} {path}");
        assert!(!text(&r).contains(RIDER) && !text(&r).contains(DRIVER));
    }
    let after = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(after.status, ConversationStatus::Active);
    assert!(deps.store.reveals(&c.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_form_without_its_sessions_csrf_token_is_refused_with_403() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let someone_elses = csrf(&token("sam", &["supervisors"], 1800));
    for action in ["close", "extend", "reopen", "reveal"] {
        let path = format!("/console/conversations/{}/{action}", c.id);
        for fields in [
            vec![
                ("seconds", "3600"),
                ("index", "0"),
                ("reason", "a good reason"),
            ],
            vec![
                ("csrf", ""),
                ("seconds", "3600"),
                ("index", "0"),
                ("reason", "a good reason"),
            ],
            vec![
                ("csrf", someone_elses.as_str()),
                ("seconds", "3600"),
                ("index", "0"),
                ("reason", "a good reason"),
            ],
        ] {
            let r = handle(&deps, post(&path, Some(&sam), &fields)).await;
            assert_eq!(r.status().as_u16(), 403, "{action} with {fields:?}");
        }
    }
    let r = handle(&deps, post("/console/sign-out", Some(&sam), &[])).await;
    assert_eq!(r.status().as_u16(), 403, "sign-out is a form too");
    let after = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(after.status, ConversationStatus::Active);
    assert_eq!(after.expires_at, c.expires_at);
    assert!(deps.store.reveals(&c.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_page_is_sent_with_headers_that_forbid_script_frames_and_caching() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let mut pages = vec![get("/console/sign-in", None)];
    for (method, path) in every_page_and_action(c.id.as_str()) {
        if method == "GET" && !path.contains("/recordings/") && path != "/console" {
            pages.push(get(&path, Some(&sam)));
        }
    }
    for req in pages {
        let path = req.uri().path().to_owned();
        let r = handle(&deps, req).await;
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let csp = header(&r, "content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(
            !csp.contains("script-src"),
            "no script is allowed at all: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            !csp.contains("http:"),
            "recordings over HTTPS only, but for the local stack: {csp}"
        );
        assert_eq!(header(&r, "x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(header(&r, "cache-control"), Some("no-store"), "{path}");
        assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
        let body = text(&r);
        assert!(
            !body.to_lowercase().contains("<script"),
            "{path} holds a script"
        );
        assert!(body.contains("/console/style.css"), "{path}");
    }
}

#[tokio::test]
async fn signing_in_sets_an_http_only_strict_secure_cookie_and_signing_out_clears_it() {
    let deps = deps(MemoryStore::default());
    let page = handle(&deps, get("/console/sign-in", None)).await;
    let form_token = cookie_value(&page, "console_sign_in").unwrap();
    assert!(
        text(&page).contains(&form_token),
        "the form carries the cookie's token"
    );
    let sign_in = |fields: Vec<(&str, &str)>, cookie: Option<String>| {
        with_cookie(post("/console/sign-in", None, &fields), cookie)
    };
    // Without the sign-in form's own token (a form posted from elsewhere): refused.
    let r = handle(
        &deps,
        sign_in(
            vec![("username", "sam"), ("password", "sam-password-1")],
            None,
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 403);
    let cookie = Some(format!("console_sign_in={form_token}"));
    let wrong = handle(
        &deps,
        sign_in(
            vec![
                ("csrf", &form_token),
                ("username", "sam"),
                ("password", "guess"),
            ],
            cookie.clone(),
        ),
    )
    .await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(
        cookies(&wrong)
            .iter()
            .all(|c| !c.starts_with("console_session=ey"))
    );
    let r = handle(
        &deps,
        sign_in(
            vec![
                ("csrf", &form_token),
                ("username", "sam"),
                ("password", "sam-password-1"),
            ],
            cookie,
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(header(&r, "location"), Some("/console/search"));
    let session = cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("console_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    let token = cookie_value(&r, "console_session").unwrap();
    let search = handle(&deps, get("/console/search", Some(&token))).await;
    assert_eq!(search.status().as_u16(), 200);
    assert!(text(&search).contains("sam · supervisor"));

    let out = handle(
        &deps,
        post(
            "/console/sign-out",
            Some(&token),
            &[("csrf", &csrf(&token))],
        ),
    )
    .await;
    assert_eq!(out.status().as_u16(), 303);
    assert!(
        cookies(&out)
            .iter()
            .any(|c| c.starts_with("console_session=;") && c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_before_the_first_session() {
    let deps = deps(MemoryStore::default());
    deps.identity.temporary.lock().unwrap().push("sam".into());
    let form = |fields: Vec<(&str, &str)>| {
        with_cookie(
            post("/console/sign-in", None, &fields),
            Some("console_sign_in=form-token".into()),
        )
    };
    let r = handle(
        &deps,
        form(vec![
            ("csrf", "form-token"),
            ("username", "sam"),
            ("password", "sam-password-1"),
        ]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let page = text(&r);
    assert!(page.contains("id=\"new-password\""));
    assert!(
        cookies(&r)
            .iter()
            .all(|c| !c.starts_with("console_session=ey"))
    );
    let form_token = cookie_value(&r, "console_sign_in").unwrap();
    let choose = |password: &str| {
        with_cookie(
            post(
                "/console/new-password",
                None,
                &[
                    ("csrf", form_token.as_str()),
                    ("username", "sam"),
                    ("session", "session-of-sam"),
                    ("password", password),
                ],
            ),
            Some(format!("console_sign_in={form_token}")),
        )
    };
    let weak = handle(&deps, choose("short")).await;
    assert_eq!(weak.status().as_u16(), 400);
    assert!(text(&weak).contains("Password did not conform"));
    let done = handle(&deps, choose("a-long-new-password")).await;
    assert_eq!(done.status().as_u16(), 303);
    assert!(
        cookies(&done)
            .iter()
            .any(|c| c.starts_with("console_session=ey"))
    );
}

#[tokio::test]
async fn the_user_pool_down_is_said_and_no_session_is_given() {
    let deps = deps(MemoryStore::default());
    deps.identity
        .down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let r = handle(
        &deps,
        with_cookie(
            post(
                "/console/sign-in",
                None,
                &[
                    ("csrf", "t"),
                    ("username", "sam"),
                    ("password", "sam-password-1"),
                ],
            ),
            Some("console_sign_in=t".into()),
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(text(&r).contains("not possible right now"));
}

#[tokio::test]
async fn an_agent_finds_a_conversation_and_its_calls_but_no_real_number_anywhere() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    calls(&deps.store, &c, 3).await;
    let ann = agent();
    let mut pages = Vec::new();
    for q in ["ride-1", "c1", "+44 7700 900101", "447700900102"] {
        let r = handle(
            &deps,
            get(&format!("/console/search?q={}", urlencode(q)), Some(&ann)),
        )
        .await;
        assert_eq!(r.status().as_u16(), 200, "{q}");
        let body = text(&r);
        assert!(
            body.contains("href=\"/console/conversations/c1\""),
            "{q} finds the conversation: {body}"
        );
        pages.push(body);
    }
    let r = handle(&deps, get("/console/conversations/c1", Some(&ann))).await;
    assert_eq!(r.status().as_u16(), 200);
    let page = text(&r);
    assert_eq!(page.matches("class=\"entry call\"").count(), 3);
    assert!(page.contains("<span class=\"outcome\">completed</span>"));
    assert!(page.contains("42 s") && page.contains("routed by caller ID"));
    assert!(
        page.contains("+44•••••••01") && page.contains("+44•••••••02"),
        "masked"
    );
    assert!(page.contains("+447700900101"), "proxy numbers are shown");
    assert!(!page.contains("id=\"action-close\"") && !page.contains("id=\"reveal-0\""));
    pages.push(page);
    for path in ["/console/pool", "/console/overview"] {
        pages.push(text(&handle(&deps, get(path, Some(&ann))).await));
    }
    for page in &pages {
        for number in [RIDER, DRIVER] {
            for form in forms_of(number) {
                assert!(!page.contains(&form), "{form} on an agent's page");
            }
        }
    }
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("q", s)]).unwrap()[2..].to_owned()
}

#[tokio::test]
async fn what_people_type_is_shown_escaped() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let attack = "<script>alert(1)</script>";
    let r = handle(
        &deps,
        get(
            &format!("/console/search?q={}", urlencode(attack)),
            Some(&sam),
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let body = text(&r);
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || body.contains("&#60;script"),
        "{body}"
    );
    assert!(!body.contains(attack));
    // A reveal's reason, as the conversation page lists it.
    let reason = format!("asked by the rider {attack} \"quoted\"");
    let r = handle(
        &deps,
        act(
            &format!("/console/conversations/{}/reveal", c.id),
            &sam,
            &[("index", "0"), ("reason", &reason)],
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    let page = text(&handle(&deps, get("/console/conversations/c1", Some(&sam))).await);
    assert!(!page.contains(attack), "{page}");
    assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script"));
    // A label holding markup, should one be stored, is escaped as well.
    let mut odd = testkit::conversation(
        "c2",
        ("447700900003", P1),
        ("447700900004", P2),
        1,
        i64::MAX / 2,
    );
    odd.reference = "ride-2".parse().ok();
    odd.participants[0].label = serde_json::from_value(serde_json::json!("<b>rider</b>")).ok();
    if odd.participants[0].label.is_some() {
        deps.store.create_conversation(&odd).await.unwrap();
        let page = text(&handle(&deps, get("/console/conversations/c2", Some(&sam))).await);
        assert!(!page.contains("<b>rider</b>"));
    }
}

#[tokio::test]
async fn a_supervisor_closes_extends_and_reopens_behind_confirmations() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let page = text(&handle(&deps, get("/console/conversations/c1", Some(&sam))).await);
    assert!(page.contains("id=\"action-close\"") && page.contains("id=\"action-extend\""));
    assert!(
        !page.contains("id=\"action-reopen\""),
        "an open conversation is not reopened"
    );

    let confirm = handle(&deps, get("/console/conversations/c1/extend", Some(&sam))).await;
    assert_eq!(confirm.status().as_u16(), 200);
    assert!(text(&confirm).contains(&format!("value=\"{}\"", csrf(&sam))));
    let r = handle(
        &deps,
        act(
            "/console/conversations/c1/extend",
            &sam,
            &[("seconds", "86400")],
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(header(&r, "location"), Some("/console/conversations/c1"));
    let extended = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(extended.expires_at, c.expires_at + 86_400);
    let bad = handle(
        &deps,
        act(
            "/console/conversations/c1/extend",
            &sam,
            &[("seconds", "99")],
        ),
    )
    .await;
    assert_eq!(bad.status().as_u16(), 400);

    let r = handle(&deps, act("/console/conversations/c1/close", &sam, &[])).await;
    assert_eq!(r.status().as_u16(), 303);
    let closed = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
    let page = text(&handle(&deps, get("/console/conversations/c1", Some(&sam))).await);
    assert!(page.contains("<span id=\"status\" class=\"status closed\">closed</span>"));
    assert!(page.contains("id=\"action-reopen\""));
    let late = handle(
        &deps,
        act(
            "/console/conversations/c1/extend",
            &sam,
            &[("seconds", "3600")],
        ),
    )
    .await;
    assert_eq!(
        late.status().as_u16(),
        409,
        "a closed conversation is reopened, not extended"
    );

    let r = handle(&deps, act("/console/conversations/c1/reopen", &sam, &[])).await;
    assert_eq!(r.status().as_u16(), 303);
    let reopened = deps.store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(reopened.status, ConversationStatus::Active);
}

#[tokio::test]
async fn a_reveal_needs_a_reason_and_is_recorded_before_the_number_is_shown() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let reveal =
        |fields: Vec<(&str, &str)>| post("/console/conversations/c1/reveal", Some(&sam), &fields);
    let token = csrf(&sam);
    for fields in [
        vec![("csrf", token.as_str()), ("index", "1")],
        vec![
            ("csrf", token.as_str()),
            ("index", "1"),
            ("reason", "  ok "),
        ],
        vec![
            ("csrf", token.as_str()),
            ("index", "2"),
            ("reason", "a real reason"),
        ],
    ] {
        let r = handle(&deps, reveal(fields.clone())).await;
        assert_eq!(r.status().as_u16(), 400, "{fields:?}");
        assert!(!text(&r).contains(DRIVER));
    }
    assert!(deps.store.reveals(&c.id).await.unwrap().is_empty());

    // The store down: nothing is shown, since nothing could be kept.
    deps.store.fail(true);
    let r = handle(
        &deps,
        reveal(vec![
            ("csrf", &token),
            ("index", "1"),
            ("reason", "driver dispute"),
        ]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(!text(&r).contains(DRIVER));
    deps.store.fail(false);

    let r = handle(
        &deps,
        reveal(vec![
            ("csrf", &token),
            ("index", "1"),
            ("reason", "driver dispute"),
        ]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(text(&r).contains(&format!("<output id=\"revealed\">+{DRIVER}</output>")));
    let kept = deps.store.reveals(&c.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].index, kept[0].by.as_str(), kept[0].reason.as_str()),
        (1, "sam", "driver dispute")
    );
    assert_eq!(kept[0].reference, c.reference);
    let page = text(&handle(&deps, get("/console/conversations/c1", Some(&sam))).await);
    assert!(
        page.contains("class=\"reveal\"")
            && page.contains("sam saw driver")
            && page.contains("driver dispute")
    );
    // An agent sees the log, never the number.
    let page = text(&handle(&deps, get("/console/conversations/c1", Some(&agent()))).await);
    assert!(page.contains("driver dispute") && !page.contains(DRIVER));
}

#[tokio::test]
async fn bad_forms_unknown_pages_and_methods_get_clear_answers() {
    let deps = deps(MemoryStore::default());
    seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let big = "x".repeat(console::MAX_FORM_BYTES + 1);
    let r = handle(
        &deps,
        act(
            "/console/conversations/c1/reveal",
            &sam,
            &[("reason", &big)],
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 413);
    let json = with_cookie(
        testkit::requests::request(
            "POST",
            "/console/conversations/c1/close",
            Some("application/json"),
            "{}",
        ),
        Some(format!("console_session={sam}")),
    );
    assert_eq!(handle(&deps, json).await.status().as_u16(), 415);
    assert_eq!(
        handle(&deps, get("/console/conversations/nope", Some(&sam)))
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        handle(&deps, get("/console/elsewhere", Some(&sam)))
            .await
            .status()
            .as_u16(),
        404
    );
    let delete = with_cookie(
        testkit::requests::request("DELETE", "/console/conversations/c1", None, ""),
        Some(format!("console_session={sam}")),
    );
    assert_eq!(handle(&deps, delete).await.status().as_u16(), 405);
    let r = handle(&deps, get("/console/search?q=nothing-like-it", Some(&sam))).await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(text(&r).contains("Nothing found"));
    deps.store.fail(true);
    let r = handle(&deps, get("/console/conversations/c1", Some(&sam))).await;
    assert_eq!(r.status().as_u16(), 503);
    assert!(text(&r).contains("store_unavailable"));
}

#[tokio::test]
async fn a_conversation_page_reads_the_store_a_bounded_number_of_times() {
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    let sam = supervisor();
    let reads = || async {
        let before = deps.store.requests();
        let r = handle(&deps, get("/console/conversations/c1", Some(&sam))).await;
        assert_eq!(r.status().as_u16(), 200);
        (deps.store.requests() - before, text(&r))
    };
    let (none, _) = reads().await;
    calls(&deps.store, &c, 200).await;
    let (many, page) = reads().await;
    assert_eq!(page.matches("class=\"entry call\"").count(), 200);
    assert!(many <= 6, "{many} reads");
    assert_eq!(none, many, "as many reads for 200 calls as for none");
}

#[tokio::test]
async fn the_pool_and_the_day_are_shown_with_health_and_counts() {
    use shared::model::{DayCounter, HealthFlag, Tally};
    use shared::ports::{DayStats, NumberHealth};
    let deps = deps(MemoryStore::default());
    seeded(&deps.store, "c1", "ride-1").await;
    let day = shared::now().div_euclid(86_400);
    for (i, counter) in [
        DayCounter::Conversations,
        DayCounter::Conversations,
        DayCounter::TextsDelivered,
        DayCounter::TextsFailed,
        DayCounter::Exhausted,
    ]
    .into_iter()
    .enumerate()
    {
        deps.store
            .count_once(&format!("e{i}"), day, counter)
            .await
            .unwrap();
    }
    for (i, answered) in [true, true, false].into_iter().enumerate() {
        deps.store
            .count_call(&shared::model::CountedCall {
                call_id: format!("CON-{i}"),
                leg: format!("leg-{i}"),
                shown_number: shared::phone::Msisdn::from_digits(P1).unwrap(),
                answered,
                day,
            })
            .await
            .unwrap();
    }
    let flag = HealthFlag {
        at: shared::now(),
        number: Tally {
            answered: 1,
            calls: 30,
        },
        rest: Tally {
            answered: 65,
            calls: 100,
        },
    };
    deps.store
        .flag_number(&shared::phone::Msisdn::from_digits(P2).unwrap(), &flag)
        .await
        .unwrap();
    let ann = agent();
    let pool = text(&handle(&deps, get("/console/pool", Some(&ann))).await);
    assert!(pool.contains("+447700900101") && pool.contains("+447700900102"));
    assert!(pool.contains("1 flagged"), "{pool}");
    assert!(pool.contains("<tr class=\"flagged\">"));
    assert!(pool.contains("67%"), "P1: 2 of 3 answered: {pool}");
    let overview = text(&handle(&deps, get("/console/overview", Some(&ann))).await);
    for (id, value) in [
        ("conversations", 2),
        ("calls-connected", 2),
        ("calls-missed", 1),
        ("texts-delivered", 1),
        ("texts-failed", 1),
        ("exhausted", 1),
        ("pool-size", 2),
        ("flagged", 1),
    ] {
        assert!(
            overview.contains(&format!("<dd id=\"{id}\">{value}</dd>")),
            "{id} = {value}: {overview}"
        );
    }
}

#[tokio::test]
async fn a_recording_plays_through_a_short_lived_link() {
    use shared::model::{CallRecording, RecordingKind};
    use shared::ports::CallLog;
    let deps = deps(MemoryStore::default());
    let c = seeded(&deps.store, "c1", "ride-1").await;
    calls(&deps.store, &c, 1).await;
    deps.store
        .keep_recording(
            &c.id,
            &CallRecording {
                call_id: "CON-0000".into(),
                recording_id: "r1".into(),
                kind: RecordingKind::Call,
                key: "recordings/c1/CON-0000/r1.mp3".into(),
                size: Some(1234),
                started_at: None,
                ended_at: None,
                stored_at: 1,
            },
            i64::MAX,
        )
        .await
        .unwrap();
    let ann = agent();
    let page = text(&handle(&deps, get("/console/conversations/c1", Some(&ann))).await);
    let href = "/console/conversations/c1/calls/CON-0000/recordings/r1";
    assert!(page.contains(&format!("src=\"{href}\"")), "{page}");
    let r = handle(&deps, get(href, Some(&ann))).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        header(&r, "location"),
        Some("memory://recordings/c1/CON-0000/r1.mp3?expires=300")
    );
    let none = handle(
        &deps,
        get(
            "/console/conversations/c1/calls/CON-0000/recordings/r9",
            Some(&ann),
        ),
    )
    .await;
    assert_eq!(none.status().as_u16(), 404);
}
