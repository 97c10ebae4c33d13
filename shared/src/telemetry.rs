//! Logging set-up, one line per function: JSON in the deployed stack (the runtime's
//! `AWS_LAMBDA_LOG_FORMAT`), text locally. Phone numbers are logged only through
//! [`crate::phone::Msisdn::masked`].
//!
//! Metrics go out through CloudWatch's Embedded Metric Format: one JSON object per line on
//! standard output, which CloudWatch Logs turns into metrics in the [`NAMESPACE`] namespace (no
//! API call, nothing waited on).

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "VoiceProxy";

pub fn init() {
    lambda_http::tracing::init_default_subscriber();
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// One datum of metric `name`, with its `dimensions` (name, value), as an Embedded Metric
/// Format log object at `timestamp_ms`. A metric with dimensions is also kept without them,
/// so its total can be graphed and alarmed on.
pub fn emf(
    name: &str,
    value: f64,
    unit: Unit,
    dimensions: &[(&str, &str)],
    timestamp_ms: i64,
) -> Value {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimension_sets(dimensions),
                "Metrics": [{"Name": name, "Unit": unit.as_str()}],
            }],
        }),
    );
    for (k, v) in dimensions {
        line.insert((*k).into(), json!(v));
    }
    line.insert(name.into(), json!(value));
    Value::Object(line)
}

fn dimension_sets(dimensions: &[(&str, &str)]) -> Vec<Vec<String>> {
    let names: Vec<String> = dimensions.iter().map(|(k, _)| (*k).to_owned()).collect();
    if names.is_empty() {
        vec![names]
    } else {
        vec![names, Vec::new()]
    }
}

/// Emits one datum (see [`emf`]) now, when running as a Lambda function (the runtime, or
/// `cargo lambda watch` locally, names it); tests and benchmarks print nothing.
pub fn metric(name: &str, value: f64, unit: Unit, dimensions: &[(&str, &str)]) {
    static IN_LAMBDA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*IN_LAMBDA.get_or_init(|| std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some()) {
        return;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    println!("{}", emf(name, value, unit, dimensions, now_ms));
}

/// Counts one occurrence of `name`.
pub fn count(name: &str, dimensions: &[(&str, &str)]) {
    metric(name, 1.0, Unit::Count, dimensions);
}
