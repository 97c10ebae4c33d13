//! Secrets come from Secrets Manager (here the local server) unless the plain variable is set,
//! and are read once per execution environment.
#![cfg(feature = "services")] // needs the local servers: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use secrecy::ExposeSecret;
use shared::secrets::{API_SECRET, SIGNATURE_SECRET, require, resolve};

#[tokio::test]
async fn secrets_come_from_secrets_manager_once_and_the_plain_variable_wins() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").is_ok(),
        "run with scripts/test, which points Secrets Manager at the local server"
    );
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);

    // A secret that cannot be used: the error says so without repeating what it holds, and
    // nothing is kept, so the next read tries again.
    let broken = format!("voice-proxy-{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&broken)
        .secret_string(r#"api_secret=leaked-if-shown, not JSON"#)
        .send()
        .await
        .unwrap();
    let arn = broken.clone();
    let misconfigured = move |k: &str| (k == "VONAGE_SECRET_ARN").then(|| arn.clone());
    let err = require(&misconfigured, API_SECRET).await.unwrap_err();
    assert!(err.to_string().contains("VONAGE_SECRET_ARN"), "{err}");
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("leaked-if-shown"), "{shown}");
    }

    let name = format!("voice-proxy-{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"api_secret":"from-the-vault","signature_secret":"signing-key"}"#)
        .send()
        .await
        .unwrap();

    let arn = name.clone();
    let deployed = move |k: &str| (k == "VONAGE_SECRET_ARN").then(|| arn.clone());
    assert_eq!(
        require(&deployed, API_SECRET)
            .await
            .unwrap()
            .expose_secret(),
        "from-the-vault"
    );
    assert_eq!(
        resolve(&deployed, SIGNATURE_SECRET)
            .await
            .unwrap()
            .unwrap()
            .expose_secret(),
        "signing-key"
    );

    // Read once: changing the stored value does not change what this environment uses.
    client
        .put_secret_value()
        .secret_id(&name)
        .secret_string(r#"{"api_secret":"rotated"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        require(&deployed, API_SECRET)
            .await
            .unwrap()
            .expose_secret(),
        "from-the-vault"
    );

    let arn = name.clone();
    let local = move |k: &str| match k {
        "VONAGE_API_SECRET" => Some("plain".to_string()),
        "VONAGE_SECRET_ARN" => Some(arn.clone()),
        _ => None,
    };
    assert_eq!(
        require(&local, API_SECRET).await.unwrap().expose_secret(),
        "plain"
    );

    let nothing = |_: &str| None;
    let err = require(&nothing, API_SECRET).await.unwrap_err();
    assert!(err.to_string().contains("VONAGE_API_SECRET"));
}

/// A secret in the local Secrets Manager holding `fields`; its name.
async fn secret(client: &aws_sdk_secretsmanager::Client, fields: serde_json::Value) -> String {
    let name = format!("voice-proxy-{}", uuid::Uuid::new_v4());
    client
        .create_secret()
        .name(&name)
        .secret_string(fields.to_string())
        .send()
        .await
        .unwrap();
    name
}

#[tokio::test]
async fn each_function_reads_its_own_secrets_and_the_set_up_moves_fields_into_them() {
    use shared::secrets::{APPLICATION_ID, HOOK_SECRET, PRIVATE_KEY, StackSecrets};
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    // A stack deployed with one secret: every field in the account's, the two new secrets as
    // the template creates them.
    let account = secret(
        &client,
        serde_json::json!({"api_secret": "api", "signature_secret": "sig",
            "hook_secret": "the-backend-knows-this-one", "application_id": "app-1",
            "private_key": "PEM"}),
    )
    .await;
    let application = secret(&client, serde_json::json!({})).await;
    let webhooks = secret(&client, serde_json::json!({"hook_secret": "generated"})).await;
    let (a, p, w) = (account.clone(), application.clone(), webhooks.clone());
    let setup = move |k: &str| match k {
        "VONAGE_SECRET_ARN" => Some(a.clone()),
        "APPLICATION_SECRET_ARN" => Some(p.clone()),
        "WEBHOOK_SECRET_ARN" => Some(w.clone()),
        _ => std::env::var(k).ok(),
    };
    let budget = shared::config::AwsBudget::from_source(&setup).unwrap();
    let secrets = StackSecrets::from_source(&setup, &budget).await.unwrap();
    // Before it settles, the fields are not where the functions look.
    let before = secrets.read().await.unwrap();
    assert_eq!(before.get("application_id"), None);
    assert_eq!(before["hook_secret"], "generated");

    let mut moved = secrets.settle().await.unwrap();
    moved.sort_unstable();
    assert_eq!(
        moved,
        [
            "application_id",
            "hook_secret",
            "private_key",
            "signature_secret"
        ]
    );
    let read = |name: &str| {
        let client = client.clone();
        let name = name.to_owned();
        async move {
            let out = client
                .get_secret_value()
                .secret_id(name)
                .send()
                .await
                .unwrap();
            serde_json::from_str::<serde_json::Value>(out.secret_string().unwrap()).unwrap()
        }
    };
    assert_eq!(
        read(&account).await,
        serde_json::json!({"api_secret": "api"})
    );
    assert_eq!(
        read(&application).await,
        serde_json::json!({"application_id": "app-1", "private_key": "PEM"})
    );
    assert_eq!(
        read(&webhooks).await,
        serde_json::json!({"signature_secret": "sig", "hook_secret": "the-backend-knows-this-one"}),
        "the hook secret the backend knows is kept"
    );
    assert!(secrets.settle().await.unwrap().is_empty(), "once");

    // The answer function is given the application's and the webhooks' secrets only: it finds
    // what it uses there, and no API secret.
    let (p, w) = (application.clone(), webhooks.clone());
    let answer = move |k: &str| match k {
        "APPLICATION_SECRET_ARN" => Some(p.clone()),
        "WEBHOOK_SECRET_ARN" => Some(w.clone()),
        _ => None,
    };
    for (name, value) in [
        (APPLICATION_ID, "app-1"),
        (PRIVATE_KEY, "PEM"),
        (SIGNATURE_SECRET, "sig"),
        (HOOK_SECRET, "the-backend-knows-this-one"),
    ] {
        assert_eq!(
            resolve(&answer, name)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{} not found", name.field))
                .expose_secret(),
            value,
            "{}",
            name.field
        );
    }
    assert!(resolve(&answer, API_SECRET).await.unwrap().is_none());
}
