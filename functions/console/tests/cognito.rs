//! The console against the local AWS stand-in's Cognito: people sign in through the user pool,
//! invited ones choose a password first, and the pool's published keys decide which tokens
//! stand; a token another pool issued with the same keys is refused by its issuer.
#![cfg(feature = "services")]
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use std::time::Duration;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use common::*;
use console::auth::Verifier;
use console::signin::Cognito;
use console::{Deps, handle};
use shared::config::ConsoleConfig;
use testkit::MapSource;
use testkit::fakes::{MemoryBucket, MemoryStore};

struct Pool {
    id: String,
    client_id: String,
}

async fn client() -> Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Client::new(&config)
}

/// A pool as the stack makes it, with users `(name, password, group, permanent)`.
async fn pool(c: &Client, users: &[(&str, &str, &str, bool)]) -> Pool {
    let name = format!("console-{}", uuid::Uuid::new_v4());
    let pool = c.create_user_pool().pool_name(&name).send().await.unwrap();
    let id = pool.user_pool().unwrap().id().unwrap().to_owned();
    let app = c
        .create_user_pool_client()
        .user_pool_id(&id)
        .client_name("console")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .unwrap();
    let client_id = app
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_owned();
    for group in ["agents", "supervisors"] {
        c.create_group()
            .user_pool_id(&id)
            .group_name(group)
            .send()
            .await
            .unwrap();
    }
    for (user, password, group, permanent) in users {
        c.admin_create_user()
            .user_pool_id(&id)
            .username(*user)
            .temporary_password(*password)
            .message_action(aws_sdk_cognitoidentityprovider::types::MessageActionType::Suppress)
            .send()
            .await
            .unwrap();
        if *permanent {
            c.admin_set_user_password()
                .user_pool_id(&id)
                .username(*user)
                .password(*password)
                .permanent(true)
                .send()
                .await
                .unwrap();
        }
        c.admin_add_user_to_group()
            .user_pool_id(&id)
            .username(*user)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
    Pool { id, client_id }
}

fn config(p: &Pool) -> ConsoleConfig {
    // scripts/test points the SDK at the stand-in through the same variable the local stack sets.
    let endpoint = std::env::var("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        .expect("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER names the local AWS stand-in");
    ConsoleConfig::from_source(&MapSource::new(&[
        ("AWS_REGION", "us-east-1"),
        ("CONSOLE_USER_POOL_ID", &p.id),
        ("CONSOLE_CLIENT_ID", &p.client_id),
        ("CONSOLE_SECURE_COOKIE", "false"),
        ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", &endpoint),
    ]))
    .unwrap()
}

async fn console_for(p: &Pool) -> Deps<MemoryStore, Cognito, MemoryBucket> {
    let config = config(p);
    Deps {
        store: MemoryStore::default(),
        identity: Cognito::from_env(&p.client_id).await,
        files: MemoryBucket::default(),
        verifier: Verifier::new(&config),
        console: config,
        conversations: conversations(),
        link: Duration::from_secs(300),
    }
}

/// Signs in through the console's own form: the answer and the session cookie, if one was set.
async fn sign_in(
    deps: &Deps<MemoryStore, Cognito, MemoryBucket>,
    user: &str,
    password: &str,
) -> (lambda_http::Response<lambda_http::Body>, Option<String>) {
    let r = handle(
        deps,
        with_cookie(
            post(
                "/console/sign-in",
                None,
                &[("csrf", "t"), ("username", user), ("password", password)],
            ),
            Some("console_sign_in=t".into()),
        ),
    )
    .await;
    let session = cookie_value(&r, "console_session");
    (r, session)
}

#[tokio::test]
async fn people_sign_in_through_the_pool_and_its_keys_decide_every_request() {
    let c = client().await;
    let ours = pool(
        &c,
        &[
            ("ann", "Ann-password-1", "agents", true),
            ("sam", "Sam-password-1", "supervisors", true),
        ],
    )
    .await;
    let deps = console_for(&ours).await;

    let (r, session) = sign_in(&deps, "ann", "Ann-password-1").await;
    assert_eq!(r.status().as_u16(), 303, "{}", text(&r));
    let ann = session.unwrap();
    let page = handle(&deps, get("/console/search", Some(&ann))).await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(text(&page).contains("ann · agent"));
    let r = handle(&deps, act("/console/conversations/c1/close", &ann, &[])).await;
    assert_eq!(
        r.status().as_u16(),
        403,
        "an agent's token on a supervisor's action"
    );

    let (r, session) = sign_in(&deps, "sam", "Sam-password-1").await;
    assert_eq!(r.status().as_u16(), 303);
    let sam = session.unwrap();
    assert!(
        text(&handle(&deps, get("/console/search", Some(&sam))).await).contains("sam · supervisor")
    );

    let (wrong, session) = sign_in(&deps, "sam", "not-the-password").await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(session.is_none());

    // A supervisor of another pool: the stand-in signs every pool's tokens with the same
    // key, so only the issuer tells them apart.
    let theirs = pool(
        &c,
        &[("mallory", "Mallory-password-1", "supervisors", true)],
    )
    .await;
    let foreign = c
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&theirs.client_id)
        .auth_parameters("USERNAME", "mallory")
        .auth_parameters("PASSWORD", "Mallory-password-1")
        .send()
        .await
        .unwrap();
    let foreign = foreign
        .authentication_result()
        .unwrap()
        .id_token()
        .unwrap()
        .to_owned();
    let r = handle(&deps, get("/console/search", Some(&foreign))).await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(header(&r, "location"), Some("/console/sign-in"));
    let r = handle(&deps, act("/console/conversations/c1/close", &foreign, &[])).await;
    assert_eq!(r.status().as_u16(), 401);
    // Their own access token is no session either.
    let access = c
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&ours.client_id)
        .auth_parameters("USERNAME", "sam")
        .auth_parameters("PASSWORD", "Sam-password-1")
        .send()
        .await
        .unwrap();
    let access = access
        .authentication_result()
        .unwrap()
        .access_token()
        .unwrap()
        .to_owned();
    assert_eq!(
        handle(&deps, get("/console/search", Some(&access)))
            .await
            .status()
            .as_u16(),
        303
    );
}

#[tokio::test]
async fn an_invited_user_chooses_a_password_at_the_first_sign_in() {
    let c = client().await;
    let ours = pool(&c, &[("newbie", "Temporary-pass-1", "agents", false)]).await;
    let deps = console_for(&ours).await;
    let (r, session) = sign_in(&deps, "newbie", "Temporary-pass-1").await;
    assert_eq!(r.status().as_u16(), 200, "{}", text(&r));
    assert!(session.is_none());
    let page = text(&r);
    assert!(page.contains("id=\"new-password\""), "{page}");
    let pool_session = regex::Regex::new(r#"name="session" value="([^"]+)""#)
        .unwrap()
        .captures(&page)
        .unwrap()[1]
        .to_owned();
    let form_token = cookie_value(&r, "console_sign_in").unwrap();
    let r = handle(
        &deps,
        with_cookie(
            post(
                "/console/new-password",
                None,
                &[
                    ("csrf", form_token.as_str()),
                    ("username", "newbie"),
                    ("session", pool_session.as_str()),
                    ("password", "Chosen-password-2"),
                ],
            ),
            Some(format!("console_sign_in={form_token}")),
        ),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303, "{}", text(&r));
    let (r, session) = sign_in(&deps, "newbie", "Chosen-password-2").await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(session.is_some());
}
