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
    assert!(
        policies.contains("Resource: !Ref VonageSecret\n"),
        "{policies}"
    );
    assert_eq!(policies.matches("secretsmanager").count(), 2, "{policies}");
    assert_eq!(
        function["Metadata"]["BuildProperties"]["Binary"], "setup",
        "built from this crate"
    );
}

/// `FunctionRoles`, which the doctor checks, names the role of every function whose policy
/// reads the stack's secret, and no other.
#[test]
fn the_doctor_checks_the_role_of_every_function_that_reads_the_secret() {
    let t = template();
    let mut readers: Vec<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| {
            serde_yaml::to_string(&r["Properties"]["Policies"])
                .unwrap()
                .contains("secretsmanager:GetSecretValue")
        })
        .map(|(name, _)| format!("{}Role.Arn", name.as_str().unwrap()))
        .collect();
    readers.sort();
    let listed = serde_yaml::to_string(&t["Outputs"]["FunctionRoles"]["Value"]).unwrap();
    let mut roles: Vec<String> = listed
        .lines()
        .filter_map(|l| l.split("!GetAtt ").nth(1))
        .map(str::to_owned)
        .collect();
    roles.sort();
    assert_eq!(roles, readers);
}
