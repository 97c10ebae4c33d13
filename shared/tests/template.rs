//! `template.yaml` against the workspace: every function is a binary of the workspace, every
//! route reaches the function that handles it (the same one the local router sends it to), the
//! management API needs IAM authorization while webhooks (and the operator console, which checks
//! its own sign-in) do not, webhooks are throttled, no secret is in plain text, no function may
//! scan the table, use a wildcard action or read a stream beyond the table's, and no function can
//! switch webhook signature checks off; the console has a user pool of its own.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;

use serde_yaml::Value;

fn root() -> String {
    format!("{}/..", env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(format!("{}/template.yaml", root())).unwrap())
        .unwrap()
}

fn functions(t: &Value) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(k, r)| (k.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// (method, path, binary, authorizer) of every HTTP API route.
fn routes(t: &Value) -> Vec<(String, String, String, Option<String>)> {
    let mut out = Vec::new();
    for (_, f) in functions(t) {
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let Some(events) = f["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, e) in events {
            if e["Type"] != "HttpApi" {
                continue;
            }
            let p = &e["Properties"];
            out.push((
                p["Method"].as_str().unwrap().to_owned(),
                p["Path"].as_str().unwrap().to_owned(),
                binary.clone(),
                p["Auth"]["Authorizer"].as_str().map(str::to_owned),
            ));
        }
    }
    out
}

#[test]
fn every_function_is_a_workspace_binary_built_with_cargo_lambda() {
    let t = template();
    let fns = functions(&t);
    assert!(fns.len() >= 5);
    for (name, f) in fns {
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{name}");
        let binary = f["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let manifest = format!("{}/functions/{binary}/Cargo.toml", root());
        let text =
            std::fs::read_to_string(&manifest).unwrap_or_else(|_| panic!("{name}: no {manifest}"));
        let package: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(package["package"]["name"].as_str(), Some(binary), "{name}");
        assert!(
            std::path::Path::new(&format!("{}/functions/{binary}/src/main.rs", root())).exists()
        );
    }
    assert_eq!(t["Globals"]["Function"]["Runtime"], "provided.al2023");
    assert_eq!(t["Globals"]["Function"]["Architectures"][0], "arm64");
    assert_eq!(t["Globals"]["Function"]["Handler"], "bootstrap");
}

#[test]
fn every_route_reaches_the_function_the_local_router_uses() {
    let cargo: toml::Table =
        toml::from_str(&std::fs::read_to_string(format!("{}/Cargo.toml", root())).unwrap())
            .unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let t = template();
    let all = routes(&t);
    for (method, path, binary, _) in &all {
        assert_eq!(
            router.get(&local_path(path)).and_then(|f| f.as_str()),
            Some(binary.as_str()),
            "{method} {path}"
        );
    }
    let expected = [
        ("POST", "/conversations"),
        ("GET", "/conversations"),
        ("GET", "/conversations/{id}"),
        ("DELETE", "/conversations/{id}"),
        ("POST", "/numbers"),
        ("GET", "/numbers"),
        ("POST", "/numbers/provision"),
        ("DELETE", "/numbers/{msisdn}"),
        ("GET", "/webhooks/answer"),
        ("POST", "/webhooks/answer"),
        ("GET", "/webhooks/fallback"),
        ("POST", "/webhooks/fallback"),
        ("GET", "/webhooks/event"),
        ("POST", "/webhooks/event"),
        ("GET", "/webhooks/inbound-sms"),
        ("POST", "/webhooks/inbound-sms"),
        ("ANY", "/console"),
        ("ANY", "/console/{proxy+}"),
    ];
    for (method, path) in expected {
        assert!(
            all.iter().any(|(m, p, _, _)| m == method && p == path),
            "{method} {path} has no route"
        );
    }
}

/// The local router's spelling of an API Gateway path: a greedy `{name+}` is `{*name}` there
/// (`cargo lambda watch` matches paths with `matchit`).
fn local_path(path: &str) -> String {
    regex::Regex::new(r"\{([a-z_]+)\+\}")
        .unwrap()
        .replace_all(path, "{*$1}")
        .into_owned()
}

/// The operator console's routes: its pages check the console's own sign-in.
fn is_console(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

#[test]
fn the_management_api_needs_iam_and_webhooks_rely_on_signatures() {
    let t = template();
    for (method, path, _, auth) in routes(&t) {
        if path.starts_with("/webhooks/") {
            assert_eq!(auth, None, "{method} {path} must stay reachable by Vonage");
        } else if is_console(&path) {
            assert_eq!(
                auth, None,
                "{method} {path}: a browser cannot sign requests"
            );
        } else {
            assert_eq!(
                auth.as_deref(),
                Some("AWS_IAM"),
                "{method} {path} must require IAM"
            );
        }
    }
    let api = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"] == "AWS::Serverless::HttpApi")
        .unwrap();
    assert_eq!(api["Properties"]["Auth"]["EnableIamAuthorizer"], true);
}

#[test]
fn no_secret_in_plain_text_and_no_broad_permissions() {
    let t = template();
    let mut envs = vec![t["Globals"]["Function"]["Environment"]["Variables"].clone()];
    for (_, f) in functions(&t) {
        envs.push(f["Properties"]["Environment"]["Variables"].clone());
        let text = serde_yaml::to_string(&f["Properties"]["Policies"]).unwrap();
        for forbidden in [
            "dynamodb:*",
            "dynamodb:Scan",
            "secretsmanager:*",
            "Action: '*'",
            "\"*\"",
        ] {
            assert!(!text.contains(forbidden), "{forbidden} in {text}");
        }
    }
    for vars in envs {
        let Some(vars) = vars.as_mapping() else {
            continue;
        };
        for (k, _) in vars {
            let k = k.as_str().unwrap();
            assert!(
                !k.contains("SECRET") || k.ends_with("SECRET_ARN"),
                "{k} would put a secret in the environment"
            );
        }
    }
    // The stack creates its secrets; no parameter or output carries one.
    for secret in ["VonageSecret", "ApplicationSecret", "WebhookSecret"] {
        assert_eq!(
            t["Resources"][secret]["Type"], "AWS::SecretsManager::Secret",
            "{secret}"
        );
    }
    for (name, _) in t["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        assert!(
            !name.contains("Secret") || name.ends_with("SecretArn"),
            "{name} would make a secret a parameter"
        );
    }
    let outputs = serde_yaml::to_string(&t["Outputs"]).unwrap();
    for forbidden in ["SecretString", "private_key", "VonageApplication."] {
        assert!(!outputs.contains(forbidden), "{forbidden} in the outputs");
    }
}

#[test]
fn openapi_describes_exactly_the_management_routes() {
    let spec: Value =
        serde_yaml::from_str(&std::fs::read_to_string(format!("{}/openapi.yaml", root())).unwrap())
            .unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in spec["paths"].as_mapping().unwrap() {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    documented.sort();
    let mut management: Vec<(String, String)> = routes(&template())
        .into_iter()
        .filter(|(_, path, _, _)| !path.starts_with("/webhooks/") && !is_console(path))
        .map(|(method, path, _, _)| (method, path))
        .collect();
    management.sort();
    assert_eq!(documented, management);
}

/// Every HTTP function answers before Lambda would time it out: its request budget fits inside
/// its timeout with the runtime's margin to spare, and the answer webhook's fits inside the 2 s
/// of rule 3, with the store's own budget inside that.
#[test]
fn time_budgets_fit_the_lambda_timeouts_and_rule_three() {
    let t = template();
    let global = t["Globals"]["Function"]["Timeout"].as_u64().unwrap();
    let ms = |f: &Value, name: &str| -> Option<u64> {
        f["Properties"]["Environment"]["Variables"][name]
            .as_str()
            .map(|v| v.parse().unwrap())
    };
    let margin = shared::runtime::LAMBDA_MARGIN.as_millis() as u64;
    for (name, f) in functions(&t) {
        let is_http = f["Properties"]["Events"]
            .as_mapping()
            .is_some_and(|e| e.values().any(|e| e["Type"] == "HttpApi"));
        if !is_http {
            continue;
        }
        let timeout_ms = f["Properties"]["Timeout"].as_u64().unwrap_or(global) * 1000;
        let budget = ms(&f, "REQUEST_TIMEOUT_MS")
            .unwrap_or_else(|| panic!("{name} sets no REQUEST_TIMEOUT_MS"));
        assert!(
            budget + margin <= timeout_ms,
            "{name}: a {budget} ms request budget does not fit a {timeout_ms} ms timeout"
        );
        let store = ms(&f, "STORE_TIMEOUT_MS").unwrap_or(2500);
        assert!(
            store < budget,
            "{name}: the store's budget exceeds the request's"
        );
    }
    let answer = &functions(&t)["AnswerFunction"];
    let budget = ms(answer, "REQUEST_TIMEOUT_MS").unwrap();
    assert!(
        budget <= 1500,
        "the answer webhook keeps 500 ms of the 2 s for the network"
    );
}

/// A value as YAML text, intrinsic functions (`!GetAtt`, `!Ref`) included.
fn yaml(v: &Value) -> String {
    serde_yaml::to_string(v).unwrap()
}

/// An intrinsic function (`!Ref`, `!If`, ...) with its argument.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(tagged) => Some((tagged.tag.to_string(), &tagged.value)),
        _ => None,
    }
}

/// Whether `v` is `!Ref name`.
fn is_ref(v: &Value, name: &str) -> bool {
    matches!(intrinsic(v), Some((tag, Value::String(n))) if tag == "!Ref" && n == name)
}

#[test]
fn events_flow_from_the_table_stream_through_the_publisher_to_the_bus() {
    let t = template();
    let resources = &t["Resources"];
    assert_eq!(
        resources["Table"]["Properties"]["StreamSpecification"]["StreamViewType"],
        "NEW_AND_OLD_IMAGES",
        "events need the change's before and after"
    );
    assert_eq!(resources["EventBus"]["Type"], "AWS::Events::EventBus");

    let publisher = &functions(&t)["PublisherFunction"]["Properties"];
    let stream = stream_consumer(&t, "PublisherFunction", "PublisherDeadLetterQueue");
    assert_eq!(stream["BisectBatchOnFunctionError"], true);
    let retries = stream["MaximumRetryAttempts"].as_u64().unwrap();
    assert!((1..=100).contains(&retries), "a bounded retry");
    assert_eq!(
        resources["PublisherDeadLetterQueue"]["Type"],
        "AWS::SQS::Queue"
    );
    assert!(
        yaml(&publisher["Environment"]["Variables"]["EVENT_BUS_NAME"]).contains("EventBus"),
        "the publisher puts on the stack's bus"
    );
    let policies = yaml(&publisher["Policies"]);
    assert!(policies.contains("events:PutEvents") && policies.contains("EventBus.Arn"));

    let alarm = &resources["PublisherDeadLetterAlarm"]["Properties"];
    assert!(yaml(&alarm["Dimensions"]).contains("PublisherDeadLetterQueue.QueueName"));
}

#[test]
fn new_conversations_are_notified_from_the_table_stream_with_a_filter_and_a_dead_letter_queue() {
    let t = template();
    let notifier = &functions(&t)["NotifierFunction"]["Properties"];
    let stream = stream_consumer(&t, "NotifierFunction", "NotifierDeadLetterQueue");
    let pattern = |i: usize| -> serde_json::Value {
        serde_json::from_str(
            stream["FilterCriteria"]["Filters"][i]["Pattern"]
                .as_str()
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        pattern(0),
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["CONV"]}}}}),
        "new conversations reach it"
    );
    // A missed call's notice as the store writes it (the key the store gives it, a pending
    // notification) reaches it when written anew or over an older one.
    let notice = shared::store::missed_call_image(
        &shared::model::MissedCallNotice {
            conversation_id: shared::values::ConversationId::random(),
            caller_index: 0,
            call_id: "CON-1".into(),
            reason: "busy".parse().unwrap(),
            at: 0,
            notification: shared::model::Notification::pending(),
        },
        600,
    )
    .unwrap();
    let sk = match notice.get("sk") {
        Some(serde_dynamo::AttributeValue::S(sk)) => sk.clone(),
        _ => panic!("a notice has a sort key"),
    };
    assert!(sk.starts_with("MISSED#"));
    let Some(serde_dynamo::AttributeValue::M(notification)) = notice.get("notification") else {
        panic!("a notice has its notification as a map")
    };
    assert_eq!(
        notification.get("status"),
        Some(&serde_dynamo::AttributeValue::S("pending".into()))
    );
    assert_eq!(
        pattern(1),
        serde_json::json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "MISSED#"}]}}, "NewImage": {"notification": {"M": {"status": {"S": ["pending"]}}}}}}),
        "missed calls whose callee is still to be texted reach it"
    );
    assert_eq!(
        stream["FilterCriteria"]["Filters"]
            .as_sequence()
            .unwrap()
            .len(),
        2,
        "nothing else reaches it"
    );
    assert!(
        stream["MaximumRetryAttempts"].as_u64().is_some(),
        "a bounded retry"
    );
    let policies = yaml(&notifier["Policies"]);
    assert!(
        policies.contains("dynamodb:UpdateItem")
            && policies.contains("secretsmanager:GetSecretValue")
    );
    let alarm = &t["Resources"]["NotifierDeadLetterAlarm"]["Properties"];
    assert!(yaml(&alarm["Dimensions"]).contains("NotifierDeadLetterQueue.QueueName"));
}

#[test]
fn calls_reach_number_health_from_the_table_stream_with_a_filter_and_a_dead_letter_queue() {
    let t = template();
    let health = &functions(&t)["HealthFunction"]["Properties"];
    let stream = stream_consumer(&t, "HealthFunction", "HealthDeadLetterQueue");
    let filters = stream["FilterCriteria"]["Filters"].as_sequence().unwrap();
    assert_eq!(filters.len(), 4, "nothing else reaches it");
    let patterns: Vec<serde_json::Value> = filters
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().unwrap()).unwrap())
        .collect();
    let pattern = patterns[0].clone();
    // What the console's overview counts: new conversations, creations with no number free,
    // and texts reaching a final state, in the state's stored spelling.
    assert_eq!(
        patterns[1],
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": ["CONV"]}}}})
    );
    assert_eq!(
        patterns[2],
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "EXHAUSTED#"}]}}}})
    );
    let finals = [
        shared::model::DeliveryState::Delivered,
        shared::model::DeliveryState::Failed,
    ]
    .map(|s| serde_json::to_value(s).unwrap());
    assert_eq!(
        patterns[3],
        serde_json::json!({"eventName": ["INSERT", "MODIFY"], "dynamodb": {"Keys": {"sk": {"S": ["TEXT"]}}, "NewImage": {"state": {"S": finals}}}})
    );
    let conversation = shared::store::conversation_image(&testkit::conversation(
        "c1",
        ("447700900001", "447700900101"),
        ("447700900002", "447700900102"),
        1,
        2,
    ))
    .unwrap();
    assert_eq!(
        conversation.get("sk"),
        Some(&serde_dynamo::AttributeValue::S("CONV".into()))
    );
    // A callee's leg as the store writes it: its sort key and its direction.
    let event = shared::model::CallEvent {
        call_id: "CON-1".into(),
        leg: "LEG-1".into(),
        direction: Some(shared::model::Direction::Outbound),
        shown_number: shared::phone::Msisdn::from_digits("447700900101"),
        status: "answered".parse().unwrap(),
        at_ms: 0,
        caller_index: 0,
        duration: None,
        rate: None,
        price: None,
        detail: None,
        routed_by: Default::default(),
        initiated_by: Default::default(),
    };
    let image =
        shared::store::call_event_image(&shared::values::ConversationId::random(), &event, 0)
            .unwrap();
    let Some(serde_dynamo::AttributeValue::S(sk)) = image.get("sk") else {
        panic!("a call event has a sort key")
    };
    assert!(sk.starts_with("CALL#"));
    assert_eq!(
        image.get("direction"),
        Some(&serde_dynamo::AttributeValue::S("outbound".into()))
    );
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "CALL#"}]}}, "NewImage": {"direction": {"S": ["outbound"]}}}}),
        "new events of callees' legs reach it"
    );
    let policies = yaml(&health["Policies"]);
    assert!(policies.contains("dynamodb:UpdateItem") && policies.contains("dynamodb:Query"));
    assert!(!policies.contains("secretsmanager"), "it needs no secret");
}

#[test]
fn number_flagged_reaches_the_replacement_through_a_bus_rule_with_retries_and_a_dead_letter_queue()
{
    let t = template();
    let resources = &t["Resources"];
    let rule = &resources["FlaggedNumberRule"];
    assert_eq!(rule["Type"], "AWS::Events::Rule");
    let rule = &rule["Properties"];
    assert!(is_ref(&rule["EventBusName"], "EventBus"), "the stack's bus");
    assert_eq!(
        rule["EventPattern"]["source"],
        serde_yaml::to_value([shared::domain::events::SOURCE]).unwrap()
    );
    assert_eq!(
        rule["EventPattern"]["detail-type"],
        serde_yaml::to_value([replace_detail_type()]).unwrap()
    );
    let targets = rule["Targets"].as_sequence().unwrap();
    assert_eq!(targets.len(), 1);
    let target = &targets[0];
    assert_eq!(yaml(&target["Arn"]).trim(), "!GetAtt ReplaceFunction.Arn");
    let retries = target["RetryPolicy"]["MaximumRetryAttempts"]
        .as_u64()
        .unwrap();
    assert!((1..=185).contains(&retries), "a bounded retry");
    assert_eq!(
        yaml(&target["DeadLetterConfig"]["Arn"]).trim(),
        "!GetAtt ReplaceDeadLetterQueue.Arn"
    );

    // The rule invokes asynchronously: the function's own failures are retried by Lambda a
    // bounded number of times, then land in the same queue.
    let f = &functions(&t)["ReplaceFunction"];
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "replace");
    let f = &f["Properties"];
    let invoke = &f["EventInvokeConfig"];
    let retries = invoke["MaximumRetryAttempts"].as_u64().unwrap();
    assert!((1..=2).contains(&retries));
    assert_eq!(invoke["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        yaml(&invoke["DestinationConfig"]["OnFailure"]["Destination"]).trim(),
        "!GetAtt ReplaceDeadLetterQueue.Arn"
    );
    let vars = &f["Environment"]["Variables"];
    for (var, parameter) in [
        ("AUTO_RENT", "AutoRent"),
        ("AUTO_RENT_MAX_PER_COUNTRY", "AutoRentMaxPerCountry"),
        ("QUARANTINE_FLAGGED", "QuarantineFlagged"),
    ] {
        assert!(is_ref(&vars[var], parameter), "{var}");
        assert!(
            is_ref(
                &functions(&t)["ConversationsFunction"]["Properties"]["Environment"]["Variables"]
                    [var],
                parameter
            ),
            "the creation reads {var} from the same parameter"
        );
    }

    // Only the rule may invoke it, and only the rule may dead-letter into its queue.
    let permissions: Vec<&Value> = resources
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::Permission")
        .map(|r| &r["Properties"])
        .filter(|p| yaml(&p["FunctionName"]).contains("ReplaceFunction"))
        .collect();
    assert_eq!(permissions.len(), 1);
    assert_eq!(permissions[0]["Principal"], "events.amazonaws.com");
    assert_eq!(
        yaml(&permissions[0]["SourceArn"]).trim(),
        "!GetAtt FlaggedNumberRule.Arn"
    );
    let queue_policy = &resources["ReplaceDeadLetterQueuePolicy"]["Properties"];
    assert!(is_ref(&queue_policy["Queues"][0], "ReplaceDeadLetterQueue"));
    let statement = &queue_policy["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(statement["Action"], "sqs:SendMessage");
    assert_eq!(
        yaml(&statement["Condition"]["ArnEquals"]["aws:SourceArn"]).trim(),
        "!GetAtt FlaggedNumberRule.Arn"
    );

    // Its role: the table and its collection index, the account's and the application's
    // secrets (renting and linking), its own queue; no stream, no webhook secret, no bus.
    let policies = yaml(&f["Policies"]);
    for needed in [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
        "index/collection",
        "VonageSecret",
        "ApplicationSecret",
        "ReplaceDeadLetterQueue.Arn",
    ] {
        assert!(policies.contains(needed), "{needed} in {policies}");
    }
    for unneeded in ["StreamArn", "WebhookSecret", "events:", "index/participant"] {
        assert!(!policies.contains(unneeded), "{unneeded} in {policies}");
    }
    assert!(
        yaml(&t["Outputs"]["FunctionRoles"])
            .contains("ReplaceFunctionRole.Arn}|account,application"),
        "the doctor checks the secrets it reads"
    );

    let alarm = &resources["ReplaceDeadLetterAlarm"]["Properties"];
    assert_eq!(alarm["Namespace"], "AWS/SQS");
    assert!(yaml(&alarm["Dimensions"]).contains("ReplaceDeadLetterQueue.QueueName"));
    assert!(yaml(&alarm["AlarmActions"]).contains("HasAlarmTopic"));
}

/// The detail-type the replacement takes, as the catalogue spells it.
fn replace_detail_type() -> &'static str {
    shared::domain::events::DETAIL_TYPES
        .into_iter()
        .find(|d| *d == "number.flagged")
        .unwrap()
}

#[test]
fn https_delivery_of_events_exists_only_with_a_webhook_url() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let webhook: Vec<&str> = resources
        .iter()
        .filter(|(k, _)| k.as_str().unwrap().starts_with("EventWebhook"))
        .map(|(k, r)| {
            assert_eq!(r["Condition"], "HasEventWebhook", "{k:?} is conditional");
            r["Type"].as_str().unwrap()
        })
        .collect();
    for kind in [
        "AWS::Events::Connection",
        "AWS::Events::ApiDestination",
        "AWS::Events::Rule",
        "AWS::SQS::Queue",
        "AWS::IAM::Role",
        "AWS::CloudWatch::Alarm",
    ] {
        assert!(webhook.contains(&kind), "{kind} for the webhook");
    }
    let condition = yaml(&t["Conditions"]["HasEventWebhook"]);
    assert!(condition.contains("EventWebhookUrl"), "{condition}");
    assert_eq!(t["Parameters"]["EventWebhookUrl"]["Default"], "");

    let rule = &t["Resources"]["EventWebhookRule"]["Properties"];
    assert!(yaml(&rule["EventBusName"]).contains("EventBus"));
    assert_eq!(rule["EventPattern"]["source"][0], "voice-proxy");
    assert!(yaml(&rule["EventPattern"]["detail-type"]).contains("EventWebhookDetailTypes"));
    let target = &rule["Targets"][0];
    assert!(yaml(&target["Arn"]).contains("EventWebhookDestination.Arn"));
    assert!(
        target["RetryPolicy"]["MaximumRetryAttempts"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(yaml(&target["DeadLetterConfig"]["Arn"]).contains("EventWebhookDeadLetterQueue.Arn"));
    // The API key comes from Secrets Manager, never from a plain parameter.
    let key = yaml(
        &t["Resources"]["EventWebhookConnection"]["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
            ["ApiKeyValue"],
    );
    assert!(key.contains("resolve:secretsmanager"), "{key}");
}

#[test]
fn the_dashboard_shows_the_product_metrics_beside_lambda_api_gateway_and_dynamodb() {
    let t = template();
    let body = match &t["Resources"]["Dashboard"]["Properties"]["DashboardBody"] {
        Value::Tagged(tagged) => tagged.value.as_str().unwrap().to_owned(),
        other => other.as_str().unwrap().to_owned(),
    };
    // What `!Sub` fills in is a name; any name keeps the JSON valid.
    let filled = fill_sub(&body);
    let dashboard: serde_json::Value = serde_json::from_str(&filled).unwrap();
    let text = dashboard.to_string();
    for metric in [
        "\"Calls\"",
        "AnswerLatency",
        "ConversationsCreated",
        "ConversationsClosed",
        "PoolExhausted",
        "TextsRelayed",
        "EventsPublished",
        "EventsFailed",
        "HookCalls",
        "MissedCalls",
        "MissedCallTexts",
        "NumbersFlagged",
        "NumbersCleared",
        "AWS/Lambda",
        "AWS/ApiGateway",
        "AWS/DynamoDB",
    ] {
        assert!(text.contains(metric), "the dashboard shows {metric}");
    }
    let alarm = &t["Resources"]["PoolExhaustedAlarm"]["Properties"];
    assert_eq!(
        (&alarm["Namespace"], &alarm["MetricName"]),
        (&Value::from("VoiceProxy"), &Value::from("PoolExhausted"))
    );
    assert!(t["Resources"]["PublisherDeadLetterAlarm"].is_mapping());
}

/// `${Name}` and `${Name.Attr}` replaced by `name`.
fn fill_sub(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str("name");
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The event source mappings of the template, as (function they invoke, their properties).
fn mappings(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Lambda::EventSourceMapping")
        .map(|r| {
            let function = match intrinsic(&r["Properties"]["FunctionName"]) {
                Some((tag, Value::String(name))) if tag == "!Ref" => name.clone(),
                other => panic!("a mapping names its function with !Ref, not {other:?}"),
            };
            (function, &r["Properties"])
        })
        .collect()
}

/// The one stream source of `function`: an event source mapping on the table's stream, reporting
/// partial batch failures, with `dead_letter_queue` for what it finally cannot take.
fn stream_consumer<'a>(t: &'a Value, function: &str, dead_letter_queue: &str) -> &'a Value {
    let streams: Vec<&Value> = mappings(t)
        .into_iter()
        .filter(|(f, _)| f == function)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(streams.len(), 1, "{function} reads the table's stream");
    let stream = streams[0];
    assert_eq!(
        yaml(&stream["EventSourceArn"]).trim(),
        "!GetAtt Table.StreamArn"
    );
    assert_eq!(
        stream["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert!(
        yaml(&stream["DestinationConfig"]["OnFailure"]["Destination"])
            .contains(&format!("{dead_letter_queue}.Arn"))
    );
    stream
}

/// The deployed answer, fallback and event webhooks take POST only, so the signature covers
/// every field that routes a call.
#[test]
fn the_deployed_call_webhooks_take_post_only() {
    let t = template();
    let functions = functions(&t);
    for name in ["AnswerFunction", "EventFunction"] {
        let vars = &functions[name]["Properties"]["Environment"]["Variables"];
        assert_eq!(vars["WEBHOOK_METHODS"], "post", "{name}");
    }
}

/// The functions that route calls and texts take the hooks' settings from the same parameters,
/// which accept only https URLs (or none), and the answer webhook may write what a hook's
/// `reopen` writes.
#[test]
fn the_hooks_reach_the_answer_and_sms_functions_from_https_parameters() {
    let t = template();
    for p in ["OutOfSessionUrl", "InterceptUrl"] {
        let param = &t["Parameters"][p];
        assert_eq!(param["Default"], "", "{p} is off unless set");
        let pattern = regex::Regex::new(param["AllowedPattern"].as_str().unwrap()).unwrap();
        assert!(pattern.is_match("https://backend.example.com/hooks"), "{p}");
        assert!(pattern.is_match(""), "{p}");
        assert!(!pattern.is_match("http://backend.example.com/hooks"), "{p}");
    }
    let functions = functions(&t);
    for name in ["AnswerFunction", "SmsFunction"] {
        let vars = &functions[name]["Properties"]["Environment"]["Variables"];
        for (variable, parameter) in [
            ("OUT_OF_SESSION_URL", "OutOfSessionUrl"),
            ("INTERCEPT_URL", "InterceptUrl"),
            ("HOOK_TIMEOUT_MS", "HookTimeoutMs"),
        ] {
            assert_eq!(
                yaml(&vars[variable]).trim(),
                format!("!Ref {parameter}"),
                "{name}"
            );
        }
    }
    let answer = yaml(&functions["AnswerFunction"]["Properties"]["Policies"]);
    for action in [
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "ConditionCheckItem",
    ] {
        assert!(answer.contains(&format!("dynamodb:{action}")), "{action}");
    }
}

#[test]
fn recordings_are_kept_encrypted_never_public_and_expire_with_the_conversations() {
    let t = template();
    let bucket = &t["Resources"]["RecordingsBucket"]["Properties"];
    let encryption = &bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"].as_str(),
        Some("AES256")
    );
    let block = &bucket["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting].as_bool(), Some(true), "{setting}");
    }
    let rule = &bucket["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(rule["Status"].as_str(), Some("Enabled"));
    assert!(
        yaml(&rule["ExpirationInDays"]).contains("RetentionDays"),
        "objects expire with the conversations' retention"
    );
    let policy = yaml(&t["Resources"]["RecordingsBucketPolicy"]["Properties"]);
    assert!(policy.contains("aws:SecureTransport"), "TLS only");

    let function = &functions(&t)["RecordingsFunction"]["Properties"];
    assert!(
        yaml(&function["Environment"]["Variables"]["RECORDINGS_BUCKET"])
            .contains("RecordingsBucket")
    );
    let policies = yaml(&function["Policies"]);
    assert!(policies.contains("s3:PutObject") && policies.contains("s3:GetObject"));
    assert!(!policies.contains("s3:*") && !policies.contains("s3:DeleteObject"));
    assert!(
        policies.contains("/recordings/*"),
        "only the recordings' prefix"
    );
}

/// PRODUCT.md, "Webhook trust": signature checks cannot be switched off where the functions are
/// deployed, so the stack never sets `WEBHOOK_SIGNATURES`, in any function or in the globals.
#[test]
fn no_deployed_function_sets_webhook_signatures() {
    let t = template();
    let mut environments = vec![(
        "Globals".to_owned(),
        &t["Globals"]["Function"]["Environment"],
    )];
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        environments.push((
            name.as_str().unwrap().to_owned(),
            &resource["Properties"]["Environment"],
        ));
    }
    for (name, environment) in environments {
        assert!(
            !yaml(environment).contains("WEBHOOK_SIGNATURES"),
            "{name} sets WEBHOOK_SIGNATURES"
        );
    }
}

/// A flood is refused at the gateway: every webhook route has its own throttle, bound to the
/// stack's parameters, while the management routes (behind IAM) keep the account's limits.
#[test]
fn every_webhook_route_is_throttled_by_the_stacks_parameters() {
    let t = template();
    for (parameter, default) in [("WebhookRateLimit", 50), ("WebhookBurstLimit", 100)] {
        let p = &t["Parameters"][parameter];
        assert_eq!(p["Type"], "Number", "{parameter}");
        assert_eq!(p["Default"].as_u64(), Some(default), "{parameter}");
        assert!(
            p["MinValue"].as_u64().is_some_and(|min| min >= 1),
            "{parameter}: a limit of 0 would refuse every call"
        );
    }
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let settings = api["RouteSettings"]
        .as_mapping()
        .expect("the HTTP API has route settings");
    let mut throttled: Vec<String> = settings
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    throttled.sort();
    let mut webhooks: Vec<String> = routes(&t)
        .into_iter()
        .filter(|(_, path, _, _)| path.starts_with("/webhooks/"))
        .map(|(method, path, _, _)| format!("{method} {path}"))
        .collect();
    webhooks.sort();
    assert!(webhooks.contains(&"POST /webhooks/answer".to_owned()));
    // Exactly the webhook routes: a setting for a route the API does not have fails the deploy.
    assert_eq!(throttled, webhooks);
    for (route, setting) in settings {
        assert!(
            is_ref(&setting["ThrottlingRateLimit"], "WebhookRateLimit"),
            "{route:?}: {setting:?}"
        );
        assert!(
            is_ref(&setting["ThrottlingBurstLimit"], "WebhookBurstLimit"),
            "{route:?}: {setting:?}"
        );
    }
    // One place sets them: no stage-wide default (it would throttle the management API too),
    // and no event's own settings (SAM would merge them over these).
    assert!(api.get("DefaultRouteSettings").is_none());
    for (name, f) in functions(&t) {
        let Some(events) = f["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (event, e) in events {
            assert!(
                e["Properties"].get("RouteSettings").is_none(),
                "{name} {event:?} sets its own route settings"
            );
        }
    }
}

/// The answer function keeps concurrency of its own (the parameter; 0 reserves none), so the
/// rest of the account cannot take it from calls and a flood cannot take more.
#[test]
fn the_answer_function_reserves_concurrency_by_parameter() {
    let t = template();
    let p = &t["Parameters"]["AnswerReservedConcurrency"];
    assert_eq!(p["Type"], "Number");
    assert_eq!(p["Default"].as_u64(), Some(10));
    assert_eq!(p["MinValue"].as_u64(), Some(0));
    assert!(
        p["Description"].as_str().unwrap().contains("quota"),
        "the description says when an account must set 0"
    );

    let reserved = &functions(&t)["AnswerFunction"]["Properties"]["ReservedConcurrentExecutions"];
    let Some((tag, Value::Sequence(branches))) = intrinsic(reserved) else {
        panic!("not an !If: {reserved:?}")
    };
    assert_eq!(tag, "!If");
    assert_eq!(branches[0].as_str(), Some("HasAnswerReservedConcurrency"));
    assert!(is_ref(&branches[1], "AnswerReservedConcurrency"));
    assert!(is_ref(&branches[2], "AWS::NoValue"), "0 reserves nothing");

    // The condition: the parameter is not 0.
    let condition = &t["Conditions"]["HasAnswerReservedConcurrency"];
    let Some((not, Value::Sequence(negated))) = intrinsic(condition) else {
        panic!("{condition:?}")
    };
    assert_eq!(not, "!Not");
    let Some((equals, Value::Sequence(sides))) = intrinsic(&negated[0]) else {
        panic!("{condition:?}")
    };
    assert_eq!(equals, "!Equals");
    assert!(is_ref(&sides[0], "AnswerReservedConcurrency"));
    assert_eq!(sides[1].as_str(), Some("0"));
}

/// Reading a DynamoDB stream is granted on the table's stream only. The consumers are event
/// source mappings of their own (a function's `DynamoDB` event would give its role AWS's managed
/// stream policy, on `*`), every policy is written out as statements, and each statement that
/// grants a stream action names `Table.StreamArn` alone, for the functions that read it.
#[test]
fn stream_reads_are_granted_on_the_tables_stream_only() {
    const STREAM_ACTIONS: [&str; 4] = [
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    ];
    let t = template();
    let text = std::fs::read_to_string(format!("{}/template.yaml", root())).unwrap();
    for managed in [
        "AWSLambdaDynamoDBExecutionRole",
        "AWSLambdaInvocation-DynamoDB",
    ] {
        assert!(!text.contains(managed), "{managed} grants every stream");
    }

    let one_or_many = |v: &Value| -> Vec<Value> {
        match v {
            Value::Sequence(items) => items.clone(),
            Value::Null => Vec::new(),
            other => vec![other.clone()],
        }
    };
    // Whether an action of a statement (a pattern such as `dynamodb:Get*`) covers a stream action.
    let covers_a_stream_action = |action: &Value| -> bool {
        let pattern = action.as_str().unwrap_or("*");
        let pattern = format!(
            "(?i)^{}$",
            regex::escape(pattern)
                .replace(r"\*", ".*")
                .replace(r"\?", ".")
        );
        let pattern = regex::Regex::new(&pattern).unwrap();
        STREAM_ACTIONS.iter().any(|a| pattern.is_match(a))
    };
    // The statements of each role: each function's policies, and any role or policy of the
    // template's own.
    let mut statements: Vec<(String, Value)> = Vec::new();
    for (name, f) in functions(&t) {
        if let Some(events) = f["Properties"]["Events"].as_mapping() {
            for (event, e) in events {
                for kind in ["DynamoDB", "Kinesis"] {
                    assert_ne!(
                        e["Type"], kind,
                        "{name} {event:?}: SAM gives its role AWS's managed policy on every stream"
                    );
                }
            }
        }
        for policy in one_or_many(&f["Properties"]["Policies"]) {
            assert!(
                policy.get("Statement").is_some(),
                "{name}: a policy written out as statements, not {policy:?}"
            );
            for statement in one_or_many(&policy["Statement"]) {
                statements.push((name.clone(), statement));
            }
        }
    }
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        let name = name.as_str().unwrap().to_owned();
        let documents = match r["Type"].as_str() {
            Some("AWS::IAM::Role") => one_or_many(&r["Properties"]["Policies"])
                .into_iter()
                .map(|p| p["PolicyDocument"].clone())
                .collect(),
            Some("AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy") => {
                vec![r["Properties"]["PolicyDocument"].clone()]
            }
            _ => Vec::new(),
        };
        for document in documents {
            for statement in one_or_many(&document["Statement"]) {
                statements.push((name.clone(), statement));
            }
        }
    }
    assert!(!statements.is_empty());

    let mut readers = Vec::new();
    for (name, statement) in &statements {
        assert!(
            statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
            "{name}: {statement:?}"
        );
        if statement["Effect"] != "Allow"
            || !one_or_many(&statement["Action"])
                .iter()
                .any(covers_a_stream_action)
        {
            continue;
        }
        let resources = one_or_many(&statement["Resource"]);
        assert!(
            !resources.is_empty()
                && resources
                    .iter()
                    .all(|r| yaml(r).trim() == "!GetAtt Table.StreamArn"),
            "{name} may read streams beyond the table's: {statement:?}"
        );
        readers.push(name.clone());
    }
    readers.sort();
    readers.dedup();
    let mut consumers: Vec<String> = mappings(&t).into_iter().map(|(f, _)| f).collect();
    consumers.sort();
    consumers.dedup();
    assert_eq!(
        readers, consumers,
        "exactly the functions a mapping hands the stream to may read it"
    );
    assert_eq!(
        consumers,
        ["HealthFunction", "NotifierFunction", "PublisherFunction"]
    );
}

/// The one alarm on `namespace`/`metric` (with `FunctionName` `function`, when given), which
/// notifies the alarm topic when there is one.
fn alarm<'a>(t: &'a Value, namespace: &str, metric: &str, function: Option<&str>) -> &'a Value {
    let found: Vec<&Value> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .map(|r| &r["Properties"])
        .filter(|a| a["Namespace"] == namespace && a["MetricName"] == metric)
        .filter(|a| {
            function.is_none_or(|f| {
                a["Dimensions"][0]["Name"] == "FunctionName"
                    && is_ref(&a["Dimensions"][0]["Value"], f)
            })
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one alarm on {namespace} {metric} {function:?}"
    );
    let alarm = found[0];
    assert!(
        yaml(&alarm["AlarmActions"]).contains("HasAlarmTopic"),
        "{metric}: {alarm:?}"
    );
    assert_eq!(alarm["TreatMissingData"], "notBreaching", "{metric}");
    alarm
}

/// The alarms a flood or a guessing caller raises: Lambda throttling the answer function at all,
/// one proxy number's access-code budget spent (the metric the answer function emits, in total
/// over every number), and a burst of refused webhooks.
#[test]
fn throttles_a_spent_code_budget_and_refused_webhooks_raise_alarms() {
    let t = template();
    let above = |a: &Value| -> f64 {
        let threshold = a["Threshold"].as_f64().unwrap();
        match a["ComparisonOperator"].as_str().unwrap() {
            "GreaterThanThreshold" => threshold,
            "GreaterThanOrEqualToThreshold" => threshold - 1.0,
            other => panic!("{other}"),
        }
    };

    let throttles = alarm(&t, "AWS/Lambda", "Throttles", Some("AnswerFunction"));
    assert_eq!(throttles["Statistic"], "Sum");
    assert_eq!(above(throttles), 0.0, "any throttle fires it");

    let budget = alarm(&t, "VoiceProxy", "CodeBudgetExhausted", None);
    assert!(
        budget.get("Dimensions").is_none(),
        "the total over every number"
    );
    assert_eq!(budget["Statistic"], "Sum");
    assert_eq!(budget["Period"].as_u64(), Some(300));
    assert_eq!(budget["EvaluationPeriods"].as_u64(), Some(1));
    assert_eq!(above(budget), 0.0, "one spent budget fires it");

    let refused = alarm(&t, "VoiceProxy", "WebhookRefused", None);
    assert!(refused.get("Dimensions").is_none());
    assert_eq!(refused["Statistic"], "Sum");
    assert_eq!(refused["Period"].as_u64(), Some(300));
    assert!(
        above(refused) >= 1.0,
        "a stray unsigned request is no alarm"
    );
}

/// PRODUCT.md, "Operator console": the console signs staff in against a user pool of the
/// stack's own, where only an administrator creates users (the first supervisor from a
/// parameter, invited by e-mail), through an app client without a secret that takes a user name
/// and password; its function reads the pool's ids from the stack, reaches the table and the
/// recordings' prefix of the bucket, and nothing else.
#[test]
fn the_console_signs_in_against_the_stacks_own_user_pool() {
    let t = template();
    let resources = &t["Resources"];
    let pool = &resources["ConsoleUserPool"];
    assert_eq!(pool["Type"], "AWS::Cognito::UserPool");
    assert!(pool["DeletionPolicy"].is_string() && pool["UpdateReplacePolicy"] == "Retain");
    let pool = &pool["Properties"];
    let admin = &pool["AdminCreateUserConfig"];
    assert_eq!(admin["AllowAdminCreateUserOnly"], true, "no self sign-up");
    let invite = admin["InviteMessageTemplate"]["EmailMessage"]
        .as_str()
        .unwrap();
    assert!(invite.contains("{username}") && invite.contains("{####}"));
    let password = &pool["Policies"]["PasswordPolicy"];
    assert!(password["MinimumLength"].as_u64().unwrap() >= 12);
    for rule in [
        "RequireLowercase",
        "RequireUppercase",
        "RequireNumbers",
        "RequireSymbols",
    ] {
        assert_eq!(password[rule], true, "{rule}");
    }

    let client = &resources["ConsoleUserPoolClient"];
    assert_eq!(client["Type"], "AWS::Cognito::UserPoolClient");
    let client = &client["Properties"];
    assert!(is_ref(&client["UserPoolId"], "ConsoleUserPool"));
    assert_eq!(client["GenerateSecret"], false);
    assert_eq!(
        client["ExplicitAuthFlows"],
        serde_yaml::to_value(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]).unwrap()
    );
    assert_eq!(client["PreventUserExistenceErrors"], "ENABLED");
    for token in ["AccessToken", "IdToken"] {
        assert_eq!(
            client[format!("{token}Validity")].as_u64(),
            Some(1),
            "{token}"
        );
        assert_eq!(client["TokenValidityUnits"][token], "hours", "{token}");
    }

    let mut groups: Vec<&str> = resources
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Cognito::UserPoolGroup")
        .map(|r| {
            assert!(is_ref(&r["Properties"]["UserPoolId"], "ConsoleUserPool"));
            r["Properties"]["GroupName"].as_str().unwrap()
        })
        .collect();
    groups.sort();
    assert_eq!(groups, ["agents", "supervisors"]);

    // The first supervisor: only with the parameter set, invited by e-mail, in supervisors.
    let parameter = &t["Parameters"]["ConsoleSupervisorEmail"];
    assert_eq!(parameter["Default"], "");
    let pattern = regex::Regex::new(parameter["AllowedPattern"].as_str().unwrap()).unwrap();
    assert!(pattern.is_match("") && pattern.is_match("lead@example.com"));
    assert!(!pattern.is_match("lead") && !pattern.is_match("lead@example.com evil"));
    let condition = yaml(&t["Conditions"]["HasConsoleSupervisor"]);
    assert!(condition.contains("ConsoleSupervisorEmail"), "{condition}");
    let user = &resources["ConsoleSupervisor"];
    assert_eq!(user["Type"], "AWS::Cognito::UserPoolUser");
    assert_eq!(user["Condition"], "HasConsoleSupervisor");
    assert!(is_ref(
        &user["Properties"]["Username"],
        "ConsoleSupervisorEmail"
    ));
    assert_eq!(user["Properties"]["DesiredDeliveryMediums"][0], "EMAIL");
    let attachment = &resources["ConsoleSupervisorInGroup"];
    assert_eq!(
        attachment["Type"],
        "AWS::Cognito::UserPoolUserToGroupAttachment"
    );
    assert_eq!(attachment["Condition"], "HasConsoleSupervisor");
    assert!(is_ref(
        &attachment["Properties"]["GroupName"],
        "ConsoleSupervisorsGroup"
    ));
    assert_eq!(
        resources["ConsoleSupervisorsGroup"]["Properties"]["GroupName"],
        "supervisors"
    );
    assert!(is_ref(
        &attachment["Properties"]["Username"],
        "ConsoleSupervisor"
    ));

    // The function: the pool's ids and the bucket from the stack; secure cookies (the default).
    let f = &functions(&t)["ConsoleFunction"];
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"], "console");
    let f = &f["Properties"];
    let vars = &f["Environment"]["Variables"];
    assert!(is_ref(&vars["CONSOLE_USER_POOL_ID"], "ConsoleUserPool"));
    assert!(is_ref(&vars["CONSOLE_CLIENT_ID"], "ConsoleUserPoolClient"));
    assert!(is_ref(&vars["RECORDINGS_BUCKET"], "RecordingsBucket"));
    assert!(
        vars.get("CONSOLE_SECURE_COOKIE").is_none(),
        "never off when deployed"
    );
    let policies = yaml(&f["Policies"]);
    for needed in [
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "index/expiry",
        "index/participant",
        "index/collection",
        "s3:GetObject",
        "${RecordingsBucket.Arn}/recordings/*",
    ] {
        assert!(policies.contains(needed), "{needed} in {policies}");
    }
    // Signing in is one of Cognito's public calls; reveals reach the bus from the stream.
    for unneeded in [
        "s3:PutObject",
        "s3:DeleteObject",
        "secretsmanager",
        "cognito-idp",
        "events:",
        "StreamArn",
        "BatchWriteItem",
    ] {
        assert!(!policies.contains(unneeded), "{unneeded} in {policies}");
    }

    let url = &t["Outputs"]["ConsoleUrl"]["Value"];
    let Some((tag, Value::String(url))) = intrinsic(url) else {
        panic!("{url:?}")
    };
    assert_eq!(tag, "!Sub");
    assert!(
        url.starts_with("https://${HttpApi}.") && url.ends_with("/console"),
        "{url}"
    );
    assert!(is_ref(
        &t["Outputs"]["ConsoleUserPoolId"]["Value"],
        "ConsoleUserPool"
    ));
    assert!(is_ref(
        &t["Outputs"]["ConsoleClientId"]["Value"],
        "ConsoleUserPoolClient"
    ));
}

#[test]
fn a_calls_warning_is_a_schedule_of_the_stacks_group_that_invokes_the_warning_function_only() {
    let t = template();
    let r = &t["Resources"];
    assert_eq!(r["CallSchedules"]["Type"], "AWS::Scheduler::ScheduleGroup");
    let group_schedules = "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${CallSchedules}/*";

    // The role Scheduler assumes: for the group's schedules only, and it invokes one function.
    let role = &r["WarnScheduleRole"]["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "scheduler.amazonaws.com");
    assert!(is_ref(
        &trust["Condition"]["StringEquals"]["aws:SourceAccount"],
        "AWS::AccountId"
    ));
    assert_eq!(
        intrinsic(&trust["Condition"]["ArnLike"]["aws:SourceArn"]),
        Some(("!Sub".into(), &Value::String(group_schedules.into())))
    );
    let granted = &role["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(granted.as_sequence().unwrap().len(), 1);
    assert_eq!(granted[0]["Action"], "lambda:InvokeFunction");
    assert_eq!(
        yaml(&granted[0]["Resource"]),
        yaml(&serde_yaml::from_str("!GetAtt WarnFunction.Arn").unwrap())
    );

    // The event function makes and deletes schedules in that group alone, and passes that role
    // to Scheduler alone.
    let event = &r["EventFunction"]["Properties"];
    let vars = &event["Environment"]["Variables"];
    assert!(is_ref(
        &vars["CALL_WARNING_SCHEDULE_GROUP"],
        "CallSchedules"
    ));
    let statements = &event["Policies"][0]["Statement"];
    let scheduling = statements
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| yaml(&s["Action"]).contains("scheduler:"))
        .unwrap();
    assert_eq!(
        yaml(&scheduling["Action"]),
        yaml(
            &serde_yaml::from_str("[scheduler:CreateSchedule, scheduler:DeleteSchedule]").unwrap()
        )
    );
    assert_eq!(
        intrinsic(&scheduling["Resource"]),
        Some(("!Sub".into(), &Value::String(group_schedules.into())))
    );
    let passing = statements
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| yaml(&s["Action"]).contains("iam:PassRole"))
        .unwrap();
    assert_eq!(
        passing["Condition"]["StringEquals"]["iam:PassedToService"],
        "scheduler.amazonaws.com"
    );
    assert!(yaml(&passing["Resource"]).contains("WarnScheduleRole"));

    // It waits for the warning's time, up to two minutes, within its own timeout; a warning
    // that failed is not tried again a minute later.
    let warn = &r["WarnFunction"]["Properties"];
    let timeout = warn["Timeout"].as_i64().unwrap();
    assert!(timeout >= 120 + 15, "{timeout}");
    assert_eq!(warn["EventInvokeConfig"]["MaximumRetryAttempts"], 0);

    // The answer function reads a started call's caller leg from the call log.
    let answer = yaml(&r["AnswerFunction"]["Properties"]["Policies"]);
    assert!(answer.contains("dynamodb:Query"), "{answer}");
}
