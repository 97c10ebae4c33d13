//! Metrics in the Embedded Metric Format: each line is what CloudWatch Logs reads as a metric
//! (the specification's required members, every dimension and the value at the top level).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use serde_json::json;
use shared::telemetry::{NAMESPACE, Unit, emf};

#[test]
fn a_datum_is_an_embedded_metric_format_object() {
    let line = emf(
        "PoolExhausted",
        1.0,
        Unit::Count,
        &[("Country", "GB")],
        1_764_000_000_123,
    );
    assert_eq!(
        line,
        json!({
            "_aws": {
                "Timestamp": 1_764_000_000_123_i64,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Country"], []],
                    "Metrics": [{"Name": "PoolExhausted", "Unit": "Count"}],
                }],
            },
            "Country": "GB",
            "PoolExhausted": 1.0,
        })
    );
    // By country, and in all; without dimensions, only in all.
    let latency = emf("AnswerLatency", 12.5, Unit::Milliseconds, &[], 0);
    assert_eq!(
        latency["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([[]])
    );
    assert_eq!(
        latency["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Milliseconds"
    );
    assert_eq!(latency["AnswerLatency"], 12.5);
}
