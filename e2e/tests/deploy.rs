//! `scripts/deploy` and `scripts/destroy` as a stranger runs them, checked without AWS: their
//! `--dry-run` output against `template.yaml` (every parameter answered or defaulted, no
//! unknown one, no prompt, no secret shown), and the backend's policy in the template (the
//! management routes, never a webhook).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_yaml::Value;

const API_KEY: &str = "abcd1234";
const API_SECRET: &str = "Zq7apiSecretNotShown";
const SIGNATURE_SECRET: &str = "Wx9signatureSecretNotShown";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

/// A scratch directory (the HOME and the kept answers of one run), removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "voice-proxy-deploy-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(dir.join("home")).unwrap();
        Self(dir)
    }

    fn deploy_dir(&self) -> PathBuf {
        self.0.join("deploy")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ignored = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `scripts/NAME ARGS` with no AWS credentials, no terminal, a scratch HOME and kept-answers
/// directory, and only the variables given beside PATH.
fn run(scratch: &Scratch, script: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(root().join("scripts").join(script))
        .args(args)
        .current_dir(root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", scratch.0.join("home"))
        .env("DEPLOY_DIR", scratch.deploy_dir())
        .stdin(Stdio::null());
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn vonage_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("VONAGE_API_KEY", API_KEY),
        ("VONAGE_API_SECRET", API_SECRET),
        ("VONAGE_SIGNATURE_SECRET", SIGNATURE_SECRET),
    ]
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The words of one printed command: unquoted words, `'...'` and `\x` as a shell reads them.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => out.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            _ => word.get_or_insert_with(String::new).push(c),
        }
    }
    out.extend(word);
    out
}

/// The printed `sam deploy` command, and its parameter overrides by name (quotes removed).
fn sam_deploy(stdout: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("sam deploy "))
        .collect();
    assert_eq!(lines.len(), 1, "one sam deploy in:\n{stdout}");
    let command = words(lines[0]);
    let at = command
        .iter()
        .position(|w| w == "--parameter-overrides")
        .expect("--parameter-overrides");
    let mut overrides = BTreeMap::new();
    for pair in command[at + 1..]
        .iter()
        .take_while(|w| !w.starts_with("--"))
    {
        let (name, value) = pair.split_once('=').expect("Name=Value");
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        assert!(
            overrides
                .insert(name.to_owned(), value.to_owned())
                .is_none(),
            "{name} given twice"
        );
    }
    (command, overrides)
}

#[test]
fn a_dry_run_answers_every_parameter_prompts_for_nothing_and_shows_no_secret() {
    let scratch = Scratch::new("dry-run");
    let output = run(
        &scratch,
        "deploy",
        &[
            "--dry-run",
            "--stack",
            "marketplace-test",
            "--region",
            "eu-west-1",
            "--numbers",
            "+447700900001, 447700900002",
            "--param",
            "MessagingApi=sms",
            "--param",
            "OutOfSessionUrl=",
        ],
        &vonage_env(),
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");

    let (command, overrides) = sam_deploy(&stdout);
    for flag in [
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--capabilities",
        "--resolve-s3",
    ] {
        assert!(
            command.iter().any(|w| w == flag),
            "sam deploy without {flag}"
        );
    }
    let value_of = |flag: &str| {
        let at = command.iter().position(|w| w == flag).unwrap();
        command[at + 1].clone()
    };
    assert_eq!(value_of("--stack-name"), "marketplace-test");
    assert_eq!(value_of("--region"), "eu-west-1");
    assert_eq!(value_of("--capabilities"), "CAPABILITY_IAM");
    assert_eq!(value_of("--template-file"), ".aws-sam/build/template.yaml");
    assert!(!stdout.contains("--guided"), "{stdout}");

    // Every parameter is given or has a default, and every override is a parameter.
    let t = template();
    let parameters = t["Parameters"].as_mapping().unwrap();
    let names: BTreeSet<String> = parameters
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for (name, p) in parameters {
        let name = name.as_str().unwrap();
        assert!(
            overrides.contains_key(name) || p.get("Default").is_some(),
            "{name} has no default and the deploy does not answer it"
        );
    }
    for name in overrides.keys() {
        assert!(names.contains(name), "{name} is not a template parameter");
    }
    assert_eq!(overrides["VonageApiKey"], API_KEY);
    assert_eq!(overrides["ProxyNumbers"], "447700900001,447700900002");
    assert_eq!(overrides["MessagingApi"], "sms");
    assert_eq!(overrides["OutOfSessionUrl"], "");

    // The secrets reach put-secret through its environment, shown as ***; never the values.
    for secret in [API_SECRET, SIGNATURE_SECRET] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret in the output"
        );
    }
    let put_secret = stdout
        .lines()
        .find(|l| l.contains("scripts/put-secret"))
        .expect("put-secret");
    assert_eq!(
        words(put_secret),
        [
            "VONAGE_API_SECRET=***",
            "VONAGE_SIGNATURE_SECRET=***",
            "scripts/put-secret",
            "marketplace-test",
            "--region",
            "eu-west-1"
        ]
    );
    let order: Vec<usize> = [
        "scripts/build",
        "sam deploy",
        "scripts/put-secret",
        "scripts/doctor",
    ]
    .iter()
    .map(|c| {
        stdout
            .find(c)
            .unwrap_or_else(|| panic!("no {c} in\n{stdout}"))
    })
    .collect();
    assert!(
        order.is_sorted(),
        "build, deploy, secrets, doctor:\n{stdout}"
    );
    // A dry run keeps nothing.
    assert!(!scratch.deploy_dir().exists());
}

#[test]
fn the_kept_answers_are_reused_and_a_new_answer_wins() {
    let scratch = Scratch::new("kept");
    std::fs::create_dir_all(scratch.deploy_dir()).unwrap();
    std::fs::write(
        scratch.deploy_dir().join("voice-proxy.env"),
        "# kept\nREGION=ap-southeast-2\nVONAGE_API_KEY=keep1234\nPARAM_AutoRent=true\nPARAM_ProxyNumbers=447700900009\n",
    )
    .unwrap();
    // The key from the kept answers; the secrets from a file.
    let secrets = scratch.0.join("vonage.env");
    std::fs::write(
        &secrets,
        format!("# from the dashboard\nVONAGE_API_SECRET={API_SECRET}\nVONAGE_SIGNATURE_SECRET={SIGNATURE_SECRET}\n"),
    )
    .unwrap();
    let output = run(
        &scratch,
        "deploy",
        &[
            "--dry-run",
            "--secrets-file",
            secrets.to_str().unwrap(),
            "--numbers",
            "447700900001",
        ],
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let (command, overrides) = sam_deploy(&stdout);
    assert!(
        command
            .windows(2)
            .any(|w| w == ["--region", "ap-southeast-2"])
    );
    assert!(
        command
            .windows(2)
            .any(|w| w == ["--stack-name", "voice-proxy"])
    );
    assert_eq!(overrides["VonageApiKey"], "keep1234");
    assert_eq!(overrides["AutoRent"], "true");
    assert_eq!(overrides["ProxyNumbers"], "447700900001");
    assert!(!stdout.contains(API_SECRET) && !stdout.contains(SIGNATURE_SECRET));
}

#[test]
fn without_a_terminal_a_missing_secret_stops_the_deploy_before_anything() {
    let scratch = Scratch::new("missing");
    let output = run(
        &scratch,
        "deploy",
        &["--dry-run"],
        &[
            ("AWS_REGION", "eu-west-1"),
            ("VONAGE_API_KEY", API_KEY),
            ("VONAGE_API_SECRET", API_SECRET),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("VONAGE_SIGNATURE_SECRET"), "{stderr}");
    assert!(!stderr.contains("VONAGE_API_SECRET)"), "{stderr}");
    assert!(!stdout.contains("sam "), "{stdout}");
    assert!(!stderr.contains(API_SECRET));

    let output = run(
        &scratch,
        "deploy",
        &[
            "--dry-run",
            "--region",
            "eu-west-1",
            "--param",
            "NoSuchThing=1",
        ],
        &vonage_env(),
    );
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("NoSuchThing"), "{stderr}");
    assert!(!stdout.contains("sam "), "{stdout}");
    assert!(!scratch.deploy_dir().exists());
}

#[test]
fn a_destroy_dry_run_names_the_stack_and_asks_aws_for_nothing() {
    let scratch = Scratch::new("destroy");
    let output = run(
        &scratch,
        "destroy",
        &[
            "--dry-run",
            "--stack",
            "marketplace-test",
            "--region",
            "eu-west-1",
            "--release-numbers",
            "--delete-application",
        ],
        &[],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let commands: Vec<Vec<String>> = stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(words)
        .collect();
    let delete = commands
        .iter()
        .find(|c| c.starts_with(&["aws".into(), "cloudformation".into(), "delete-stack".into()]))
        .expect("delete-stack");
    assert!(
        delete
            .windows(2)
            .any(|w| w == ["--stack-name", "marketplace-test"])
    );
    assert!(delete.windows(2).any(|w| w == ["--region", "eu-west-1"]));
    let position = |what: &str| stdout.find(what).unwrap_or_else(|| panic!("no {what}"));
    // Numbers and the application first: both need the stack.
    assert!(position("numbers-release.json") < position("delete-stack"));
    assert!(position("DeleteApplication,ParameterValue=true") < position("delete-stack"));
    assert!(position("detach-role-policy") < position("delete-stack"));
    assert!(position("delete-stack") < position("stack-delete-complete"));
}

#[test]
fn nothing_makes_sam_deploy_prompt_and_the_kept_answers_are_ignored_by_git() {
    let samconfig = std::fs::read_to_string(root().join("samconfig.toml")).unwrap();
    let config: toml::Table = toml::from_str(&samconfig).unwrap();
    let deploy = config["default"]["deploy"]["parameters"]
        .as_table()
        .unwrap();
    for prompting in ["confirm_changeset", "guided", "parameter_overrides"] {
        assert!(
            !deploy.contains_key(prompting),
            "samconfig.toml sets {prompting}"
        );
    }
    let gitignore = std::fs::read_to_string(root().join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == ".deploy/"));
}

/// Whether an IAM resource pattern (`*` for any characters) matches `text`.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (head.len()..=text.len())
                    .any(|at| text.is_char_boundary(at) && glob(tail, &text[at..]))
        }
    }
}

#[test]
fn the_backend_policy_covers_every_management_route_and_no_webhook() {
    let t = template();
    let policy = &t["Resources"]["BackendPolicy"];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    let statement = &statements[0];
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Action"], "execute-api:Invoke");
    // This API's $default stage: METHOD/path after the prefix.
    let prefix =
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/$default/";
    let patterns: Vec<String> = statement["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| {
            let Value::Tagged(sub) = r else {
                panic!("{r:?} is not a !Sub")
            };
            assert_eq!(sub.tag.to_string(), "!Sub");
            let arn = sub.value.as_str().unwrap();
            arn.strip_prefix(prefix)
                .unwrap_or_else(|| panic!("{arn} is not of this API and stage"))
                .to_owned()
        })
        .collect();

    let mut management = 0;
    let mut webhooks = 0;
    for (_, resource) in t["Resources"].as_mapping().unwrap() {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events.iter().filter(|(_, e)| e["Type"] == "HttpApi") {
            let method = event["Properties"]["Method"].as_str().unwrap();
            let path = event["Properties"]["Path"]
                .as_str()
                .unwrap()
                .replace(['{', '}'], "");
            let request = format!("{}{path}", method.to_uppercase());
            let allowed = patterns.iter().any(|p| glob(p, &request));
            if path.starts_with("/webhooks/") {
                webhooks += 1;
                assert!(!allowed, "the backend policy allows the webhook {request}");
            } else if path == "/console" || path.starts_with("/console/") {
                // The operator console's pages (method ANY), for staff signed in to its pool.
                for method in ["GET", "POST"] {
                    let request = format!("{method}{path}");
                    assert!(
                        !allowed && !patterns.iter().any(|p| glob(p, &request)),
                        "the backend policy allows the console's {request}"
                    );
                }
            } else {
                management += 1;
                assert!(allowed, "the backend policy misses {request}");
            }
        }
    }
    assert!(management >= 10 && webhooks >= 5);
    // Any method on a later management route too, and nothing beside the two collections.
    assert!(patterns.iter().any(|p| glob(p, "PATCH/conversations")));
    assert!(
        patterns
            .iter()
            .any(|p| glob(p, "POST/numbers/447700900001/health/clear"))
    );
    assert!(!patterns.iter().any(|p| glob(p, "GET/console")));

    let output = &t["Outputs"]["BackendPolicyArn"]["Value"];
    let Value::Tagged(reference) = output else {
        panic!("BackendPolicyArn is {output:?}")
    };
    assert_eq!(reference.tag.to_string(), "!Ref");
    assert_eq!(reference.value, "BackendPolicy");
}
