//! The docs agree with the code: docs/configuration.md names every stack parameter of
//! `template.yaml` and every setting the functions read, and nothing else; README.md stays
//! short; every relative link in README.md and docs/ leads to a file, and to a heading, that
//! exists. Nothing needs to run: plain `cargo test`.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use regex::Regex;
use serde_yaml::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Upper-case string literals in the code that are not settings, each with why.
const NOT_SETTINGS: [(&str, &str); 3] = [
    (
        "CARGO_PKG_VERSION",
        "read by `env!` at compile time, for the User-Agent header",
    ),
    (
        "INVALID_NUMBER_FORMAT",
        "an error code in Identity Insights' answers",
    ),
    (
        "NEW_PASSWORD",
        "a Cognito challenge response's key, in the console's sign-in",
    ),
];

/// Variables the AWS SDK, the Lambda runtime or the logging library define, documented in
/// configuration.md's "Standard variables" rather than in the function-settings table.
fn is_standard(name: &str) -> bool {
    name.starts_with("AWS_") || name == "RUST_LOG"
}

const README_MAX_LINES: usize = 200;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn template() -> Value {
    serde_yaml::from_str(&read(&root().join("template.yaml"))).expect("template.yaml parses")
}

fn configuration() -> String {
    read(&root().join("docs/configuration.md"))
}

/// The lines of `doc` under the heading `## {title}`, up to the next `## ` heading.
fn section<'a>(doc: &'a str, title: &str) -> &'a str {
    let heading = format!("\n## {title}\n");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("docs/configuration.md has no \"## {title}\""))
        + heading.len();
    let rest = &doc[start..];
    &rest[..rest.find("\n## ").unwrap_or(rest.len())]
}

/// The names in the first column of a section's table: each `name` in backticks there.
fn first_column(section: &str) -> BTreeSet<String> {
    let name = Regex::new(r"`([^`]+)`").unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let cell = l.trim_start_matches('|').split(" | ").next().unwrap_or("");
            name.captures_iter(cell)
                .map(|c| c[1].to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every name that looks like a setting (`UPPER_CASE`) in backticks anywhere in `text`.
fn named(text: &str) -> BTreeSet<String> {
    let name = Regex::new(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)`").unwrap();
    name.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

/// What `expected` has that `found` lacks, and what `found` has that `expected` lacks.
fn differences(
    expected: &BTreeSet<String>,
    found: &BTreeSet<String>,
) -> (Vec<String>, Vec<String>) {
    (
        expected.difference(found).cloned().collect(),
        found.difference(expected).cloned().collect(),
    )
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The non-test source of the functions and of `shared`: each file up to its first
/// `#[cfg(test)]`, without its comment lines.
fn sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    for function in std::fs::read_dir(root().join("functions"))
        .unwrap()
        .flatten()
    {
        rust_files(&function.path().join("src"), &mut files);
    }
    assert!(files.len() > 20, "the sources are found: {files:?}");
    files
        .into_iter()
        .map(|path| {
            let text = read(&path);
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let code = code
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (path, code)
        })
        .collect()
}

/// The environment variables the code reads, found in the code itself: every upper-case
/// string literal with an underscore (`TABLE_NAME`, `RECORDING_MAX_BYTES`), and one without
/// (`TEXTS`) where it is handed straight to a reader (`optional(src, "TEXTS")`,
/// `.get("TEXTS")`, `var("TEXTS")`). Literals without an underscore elsewhere are data: item
/// types (`CONV`), country codes, keywords (`STOP`), HTTP methods.
fn read_by_the_code() -> BTreeSet<String> {
    let literal =
        Regex::new(r#"(src,\s*|get\(\s*|var(?:_os)?\(\s*)?"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)""#)
            .unwrap();
    let mut names = BTreeSet::new();
    for (_, code) in sources() {
        for c in literal.captures_iter(&code) {
            let name = &c[2];
            if name.contains('_') || c.get(1).is_some() {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

fn settings_found_in_code() -> BTreeSet<String> {
    read_by_the_code()
        .into_iter()
        .filter(|n| !is_standard(n) && !NOT_SETTINGS.iter().any(|(x, _)| x == n))
        .collect()
}

/// The variables `template.yaml` sets: `Globals.Function` and every resource's
/// `Properties.Environment.Variables`.
fn set_by_the_template(t: &Value) -> BTreeSet<String> {
    let mut environments = vec![&t["Globals"]["Function"]["Environment"]["Variables"]];
    if let Some(resources) = t["Resources"].as_mapping() {
        environments.extend(
            resources
                .values()
                .map(|r| &r["Properties"]["Environment"]["Variables"]),
        );
    }
    environments
        .into_iter()
        .filter_map(Value::as_mapping)
        .flat_map(|vars| vars.keys().filter_map(Value::as_str).map(str::to_owned))
        .collect()
}

#[test]
fn every_stack_parameter_is_documented_and_nothing_else() {
    let template: BTreeSet<String> = template()["Parameters"]
        .as_mapping()
        .expect("template.yaml has Parameters")
        .keys()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    assert!(template.len() > 20, "{template:?}");
    let documented = first_column(section(&configuration(), "Stack parameters"));
    let (missing, extra) = differences(&template, &documented);
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/configuration.md's stack parameters table and template.yaml's Parameters differ:\n\
         missing from the table: {missing:?}\n\
         in the table, not in the template: {extra:?}"
    );
}

#[test]
fn every_setting_the_code_reads_is_documented_and_nothing_else() {
    let code = settings_found_in_code();
    // The scan finds the settings of every concern (a few of each, as a check on the scan).
    for name in [
        "TABLE_NAME",
        "TEXTS",
        "ANNOUNCEMENT_TEXT",
        "ACCESS_CODE_DIGITS",
        "ADOPT_APPLICATION_ID",
        "EVENT_BUS_NAME",
        "FUNCTION_ROLES",
        "WEBHOOK_SECRET_ARN",
        "VONAGE_SIGNATURE_SECRET",
        "SMS_SIGNATURE_METHOD",
    ] {
        assert!(code.contains(name), "the scan of the code misses {name}");
    }
    let documented = first_column(section(&configuration(), "Function settings"));
    let (missing, extra) = differences(&code, &documented);
    assert!(
        missing.is_empty() && extra.is_empty(),
        "docs/configuration.md's function settings table and the code differ:\n\
         read by the code, missing from the table: {missing:?}\n\
         in the table, never read by the code: {extra:?}\n\
         (a literal that is not a setting belongs in NOT_SETTINGS in e2e/tests/docs.rs)"
    );
}

#[test]
fn standard_variables_the_code_reads_are_listed() {
    let standard: BTreeSet<String> = read_by_the_code()
        .into_iter()
        .filter(|n| is_standard(n))
        .collect();
    assert!(
        standard.contains("AWS_ENDPOINT_URL_DYNAMODB"),
        "{standard:?}"
    );
    let listed = named(section(&configuration(), "Standard variables"));
    let missing: Vec<_> = standard.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md's standard variables do not list {missing:?}"
    );
}

#[test]
fn every_variable_the_template_sets_is_documented() {
    let set = set_by_the_template(&template());
    assert!(
        set.contains("TABLE_NAME") && set.contains("ANSWER_URL"),
        "{set:?}"
    );
    let doc = configuration();
    let documented: BTreeSet<String> = first_column(section(&doc, "Function settings"))
        .into_iter()
        .chain(named(section(&doc, "Standard variables")))
        .collect();
    let missing: Vec<_> = set.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "template.yaml sets {missing:?}, which docs/configuration.md does not document"
    );
}

#[test]
fn the_readme_stays_short() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into docs/"
    );
}

/// The text of `doc` outside its fenced code blocks.
fn prose(doc: &str) -> Vec<&str> {
    let mut fenced = false;
    doc.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The anchors GitHub gives a document's headings: lower case, punctuation dropped, spaces as
/// hyphens, and `-1`, `-2`... on repeats.
fn anchors(doc: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose(doc) {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let title = title.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut anchor = slug.clone();
        let mut n = 0;
        while !seen.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{slug}-{n}");
        }
    }
    seen
}

/// README.md and every Markdown file in docs/, relative to the workspace.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    for entry in std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(Path::new("docs").join(path.file_name().unwrap()));
        }
    }
    docs.sort();
    docs
}

/// `path` with its `.` and `..` steps taken, relative to the workspace.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every relative link of every document that leads nowhere, as `file: target (why)`.
fn broken_links() -> Vec<String> {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut broken = Vec::new();
    for doc in documents() {
        let text = read(&root().join(&doc));
        for line in prose(&text) {
            for c in link.captures_iter(line) {
                let target = &c[1];
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((file, anchor)) => (file, Some(anchor)),
                    None => (target, None),
                };
                let linked = if file.is_empty() {
                    doc.clone()
                } else {
                    normalize(&doc.parent().unwrap_or(Path::new("")).join(file))
                };
                let path = root().join(&linked);
                if !path.exists() {
                    broken.push(format!("{}: {target} (no such file)", doc.display()));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let is_markdown = linked.extension().is_some_and(|e| e == "md");
                    if is_markdown && !anchors(&read(&path)).contains(anchor) {
                        broken.push(format!("{}: {target} (no such heading)", doc.display()));
                    }
                }
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_leads_to_a_file_and_a_heading_that_exist() {
    let broken = broken_links();
    assert!(
        broken.is_empty(),
        "links that lead nowhere:\n{}",
        broken.join("\n")
    );
}

#[test]
fn anchors_are_the_ones_github_makes_and_paths_are_normalized() {
    let doc = "# Voice proxy\n\n## Local quick start\n\n```sh\n# 1. not a heading\n```\n\n## Texts and languages\n## Texts and languages\n";
    let found = anchors(doc);
    for anchor in [
        "voice-proxy",
        "local-quick-start",
        "texts-and-languages",
        "texts-and-languages-1",
    ] {
        assert!(found.contains(anchor), "{anchor} in {found:?}");
    }
    assert!(!found.contains("1-not-a-heading"), "{found:?}");
    assert_eq!(
        normalize(Path::new("docs/../schemas/./events")),
        PathBuf::from("schemas/events")
    );
}
