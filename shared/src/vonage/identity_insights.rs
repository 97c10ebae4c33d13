//! Identity Insights (`identity-insights.yml`), the number check that replaces Number Insight:
//! `POST {url}/requests` with the application's JWT, asking for the `format` and
//! `original_carrier` insights. Each insight carries its own status, an extensible enum.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::jwt::{ApplicationToken, SetupError, SignedClient};
use super::{Api, Insight, VonageError};
use crate::model::{LineType, NumberFacts};
use crate::phone::Msisdn;
use crate::values::Country;

/// The insights asked for: `{}` each, as the spec says.
#[derive(Serialize)]
struct Wanted {
    format: Empty,
    original_carrier: Empty,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct InsightRequest<'a> {
    phone_number: &'a str,
    insights: Wanted,
}

#[derive(Debug, Default, Deserialize)]
struct InsightResponse {
    #[serde(default)]
    insights: Insights,
}

#[derive(Debug, Default, Deserialize)]
struct Insights {
    #[serde(default)]
    format: Option<FormatInsight>,
    #[serde(default)]
    original_carrier: Option<CarrierInsight>,
}

#[derive(Debug, Deserialize)]
struct Status {
    code: String,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FormatInsight {
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    offline_location: Option<String>,
    #[serde(default)]
    time_zones: Vec<String>,
    #[serde(default)]
    number_international: Option<String>,
    #[serde(default)]
    is_format_valid: Option<bool>,
    status: Status,
}

#[derive(Debug, Deserialize)]
struct CarrierInsight {
    #[serde(default)]
    network_type: Option<String>,
    status: Status,
}

/// The Identity Insights client. Cheap to clone.
#[derive(Clone)]
pub struct IdentityInsightsClient(SignedClient);

impl IdentityInsightsClient {
    /// A client for the API at `url` (`VONAGE_IDENTITY_INSIGHTS_URL`), signing as `token`.
    pub fn new(
        url: &str,
        token: ApplicationToken,
        timeout: Duration,
        max_retries: u32,
    ) -> Result<Self, SetupError> {
        SignedClient::new(url, token, timeout, max_retries).map(Self)
    }

    /// Shortens the wait between retries (tests).
    pub fn with_backoff(self, backoff: Duration) -> Self {
        Self(self.0.with_backoff(backoff))
    }

    /// What Identity Insights says of `number`. `NotValid` only on a definite answer (the
    /// format insight's `INVALID_NUMBER_FORMAT`, or `is_format_valid: false`); a format insight
    /// with any other status than `OK` is an error, so that the caller can check the number
    /// another way. The carrier insight only adds what it knows: without it the line type is
    /// unknown.
    #[tracing::instrument(skip_all, fields(number = %number.masked()))]
    pub async fn check(&self, number: &Msisdn) -> Result<Insight, VonageError> {
        let body = InsightRequest {
            phone_number: number.as_str(),
            insights: Wanted {
                format: Empty {},
                original_carrier: Empty {},
            },
        };
        let answer: InsightResponse = self
            .0
            .post(Api::IdentityInsights, "/requests", &body, true)
            .await?;
        read(number, answer.insights)
    }
}

/// The insights' answer about `number`.
fn read(number: &Msisdn, insights: Insights) -> Result<Insight, VonageError> {
    let api = Api::IdentityInsights;
    let Some(format) = insights.format else {
        return Err(VonageError::rejected(
            api,
            "none",
            "no format insight in the answer",
        ));
    };
    let message = format.status.message.clone().unwrap_or_default();
    match format.status.code.as_str() {
        "OK" => {}
        "INVALID_NUMBER_FORMAT" => {
            return Ok(Insight::NotValid {
                status: format.status.code,
                message,
            });
        }
        other => return Err(VonageError::rejected(api, other, &message)),
    }
    if format.is_format_valid == Some(false) {
        return Ok(Insight::NotValid {
            status: "is_format_valid".into(),
            message: "the number's format is not valid".into(),
        });
    }
    let international = format
        .number_international
        .as_deref()
        .map(|n| n.trim_start_matches('+'))
        .and_then(Msisdn::from_digits)
        .unwrap_or_else(|| number.clone());
    let country = format
        .country_code
        .and_then(|c| c.parse::<Country>().ok())
        .or_else(|| international.region())
        .unwrap_or_else(Country::unknown);
    let line = insights
        .original_carrier
        .filter(|c| c.status.code == "OK")
        .and_then(|c| c.network_type)
        .map(|t| LineType::from_network_type(&t));
    let time_zone = format
        .time_zones
        .into_iter()
        .next()
        .filter(|z| !z.is_empty() && z != "unknown");
    Ok(Insight::Valid {
        international,
        country,
        facts: NumberFacts {
            line,
            time_zone,
            location: format.offline_location.filter(|l| !l.is_empty()),
        },
    })
}
