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
