//! Number Insight basic (`number-insight.yml`), for accounts that still have it: it stops
//! working on 4 February 2027 (Identity Insights replaces it).

use serde::Deserialize;

use super::{Api, Insight, NumberFacts, VonageClient, VonageError};
use crate::phone::Msisdn;
use crate::values::Country;

#[derive(Debug, Deserialize)]
struct NiBasicResponse {
    status: i64,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    international_format_number: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
}

impl VonageClient {
    /// Number Insight basic: `GET {ni}/basic/json`, credentials in the query.
    #[tracing::instrument(skip_all, fields(number = %number.masked()))]
    pub async fn basic_insight(&self, number: &Msisdn) -> Result<Insight, VonageError> {
        let api = Api::NumberInsight;
        let url = format!("{}/basic/json", self.number_insight_url);
        let body: NiBasicResponse = self
            .send(api, true, || {
                self.http
                    .get(&url)
                    .query(&self.credentials())
                    .query(&[("number", number.as_str())])
            })
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        let message = body.status_message.unwrap_or_default();
        match body.status {
            0 => {
                let international = body
                    .international_format_number
                    .as_deref()
                    .and_then(Msisdn::from_digits)
                    .unwrap_or_else(|| number.clone());
                let country = body
                    .country_code
                    .and_then(|c| c.parse().ok())
                    .or_else(|| number.region())
                    .unwrap_or_else(Country::unknown);
                Ok(Insight::Valid {
                    international,
                    country,
                    facts: NumberFacts::default(),
                })
            }
            3 => Ok(Insight::NotValid {
                status: "3".into(),
                message,
            }),
            other => Err(VonageError::rejected(api, other.to_string(), &message)),
        }
    }
}
