//! The custom resource in `template.yaml` and the set-up function agree.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_yaml::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every setting reaches the function twice from the same source: as the custom resource's
/// property (Create, Update, Delete) and as its environment variable (the sync), so the two
/// ways in never disagree. The function may read and write the stack's secret and nothing
/// else of Secrets Manager.
#[test]
fn the_custom_resource_and_the_sync_get_the_same_settings() {
    let t = template();
    let resource = &t["Resources"]["VonageApplication"];
    assert_eq!(resource["Type"], "Custom::VonageApplication");
    let properties = &resource["Properties"];
    let function = &t["Resources"]["SetupFunction"];
    let variables = &function["Properties"]["Environment"]["Variables"];
    for (property, variable) in setup::NAMES {
        assert!(!properties[property].is_null(), "{property} is not set");
        assert_eq!(properties[property], variables[variable], "{property}");
    }
    let serialized = |v: &Value| serde_yaml::to_string(v).unwrap();
    assert!(serialized(&properties["ServiceToken"]).contains("SetupFunction.Arn"));
    let policies = serialized(&function["Properties"]["Policies"]);
    assert!(policies.contains("secretsmanager:PutSecretValue"));
    for secret in ["VonageSecret", "ApplicationSecret", "WebhookSecret"] {
        assert!(
            policies.contains(&format!("- !Ref {secret}\n")),
            "{policies}"
        );
    }
    assert_eq!(policies.matches("secretsmanager").count(), 2, "{policies}");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"], "setup",
        "built from this crate"
    );
}

/// `FunctionRoles`, which the doctor checks, names the role of every function whose policy
/// reads the stack's secrets, and no other, each with the secrets its environment names; and
/// each policy reads exactly those secrets.
#[test]
fn the_doctor_checks_the_role_of_every_function_with_the_secrets_it_reads() {
    let t = template();
    let vault = |variable: &str| match variable {
        "VONAGE_SECRET_ARN" => "account",
        "APPLICATION_SECRET_ARN" => "application",
        "WEBHOOK_SECRET_ARN" => "webhooks",
        other => panic!("{other} names no secret of the stack"),
    };
    let secret = |variable: &str| match variable {
        "VONAGE_SECRET_ARN" => "VonageSecret",
        "APPLICATION_SECRET_ARN" => "ApplicationSecret",
        "WEBHOOK_SECRET_ARN" => "WebhookSecret",
        other => panic!("{other} names no secret of the stack"),
    };
    let mut readers = Vec::new();
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let policies = serde_yaml::to_string(&resource["Properties"]["Policies"]).unwrap();
        if !policies.contains("secretsmanager:GetSecretValue") {
            continue;
        }
        let mut named: Vec<&str> = resource["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .filter(|k| k.ends_with("SECRET_ARN") && *k != "EVENT_WEBHOOK_API_KEY_SECRET_ARN")
            .collect();
        named.sort_by_key(|v| vault(v));
        assert!(
            !named.is_empty(),
            "{name} reads a secret its environment does not name"
        );
        // Its policy reads the secrets its environment names, and no other.
        let mut granted: Vec<String> = policies
            .lines()
            .filter_map(|l| l.split("!Ref ").nth(1))
            .filter(|r| r.ends_with("Secret"))
            .map(str::to_owned)
            .collect();
        granted.sort();
        let mut expected: Vec<String> = named.iter().map(|v| secret(v).to_owned()).collect();
        expected.sort();
        assert_eq!(granted, expected, "{name}");
        let vaults: Vec<&str> = named.iter().map(|v| vault(v)).collect();
        readers.push(format!("{name}Role.Arn|{}", vaults.join(",")));
    }
    readers.sort();
    let listed = serde_yaml::to_string(&t["Outputs"]["FunctionRoles"]["Value"]).unwrap();
    let mut roles: Vec<String> = listed
        .lines()
        .filter_map(|l| l.split("${").nth(1))
        .map(|l| {
            l.trim_end_matches('\'')
                .trim_end_matches('"')
                .replace('}', "")
        })
        .collect();
    roles.sort();
    assert_eq!(roles, readers);
    // The answer function never reads the account's API secret.
    assert!(
        readers
            .iter()
            .any(|r| r == "AnswerFunctionRole.Arn|application,webhooks")
    );
}
