//! The Numbers API (`numbers.yml`): search, buy, link, look up and cancel the account's numbers.

use serde::{Deserialize, Serialize};

use super::{Api, VonageClient, VonageError};
use crate::config::MessagingApi;
use crate::phone::Msisdn;
use crate::values::{Country, NumberType};

#[derive(Serialize)]
struct NumberUpdate<'a> {
    country: &'a str,
    msisdn: &'a str,
    app_id: &'a str,
    #[serde(rename = "moHttpUrl", skip_serializing_if = "Option::is_none")]
    mo_http_url: Option<String>,
}

#[derive(Serialize)]
struct NumberDetails<'a> {
    country: &'a str,
    msisdn: &'a str,
}

#[derive(Serialize)]
struct NumberSearch<'a> {
    country: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    type_: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    search_pattern: Option<u8>,
    size: u32,
}

#[derive(Serialize)]
struct OwnedSearch<'a> {
    pattern: &'a str,
    search_pattern: u8,
}

/// What to look for with the Numbers search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberQuery {
    /// ISO 3166 alpha-2.
    pub country: Country,
    /// One of the spellings the spec allows, such as `SMS,VOICE` (see [`features_param`]).
    pub features: Option<&'static str>,
    /// `landline`, `mobile-lvn` or `landline-toll-free`.
    pub number_type: Option<NumberType>,
    /// Digits the number starts with (country code included).
    pub starts_with: Option<String>,
    pub size: u32,
}

impl NumberQuery {
    /// Any number in `country`.
    pub fn in_country(country: Country) -> Self {
        Self {
            country,
            features: None,
            number_type: None,
            starts_with: None,
            size: 0,
        }
    }
}

/// A number found by a search or owned by the account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NumberOffer {
    pub country: String,
    pub msisdn: String,
    #[serde(rename = "type", default)]
    pub number_type: Option<String>,
    #[serde(default)]
    pub features: Vec<String>,
    /// For an owned number: where its calls go (`app` for an application).
    #[serde(rename = "voiceCallbackType", default)]
    pub voice_callback_type: Option<String>,
    /// For an owned number: the application (or SIP URI, or number) its calls go to.
    #[serde(rename = "voiceCallbackValue", default)]
    pub voice_callback_value: Option<String>,
    /// For an owned number: where the SMS API sends its inbound texts.
    #[serde(rename = "moHttpUrl", default)]
    pub mo_http_url: Option<String>,
}

impl NumberOffer {
    /// Whether the number's calls go to the application `id`.
    pub fn linked_to(&self, id: &str) -> bool {
        self.voice_callback_type.as_deref() == Some("app")
            && self.voice_callback_value.as_deref() == Some(id)
    }
}

#[derive(Debug, Deserialize)]
struct NumberList {
    #[serde(default)]
    numbers: Vec<NumberOffer>,
}

#[derive(Debug, Deserialize)]
struct NumbersResponse {
    #[serde(rename = "error-code")]
    error_code: String,
    #[serde(rename = "error-code-label", default)]
    error_code_label: Option<String>,
}

pub use crate::model::features_param;

impl VonageClient {
    /// Links a number the account owns to the Voice application:
    /// `POST {numbers}/number/update`, credentials in the query, form body.
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked(), country))]
    pub async fn link_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
        app_id: &str,
    ) -> Result<(), VonageError> {
        let api = Api::Numbers;
        let url = format!("{}/number/update", self.numbers_url);
        let form = NumberUpdate {
            country: country.as_str(),
            msisdn: msisdn.as_str(),
            app_id,
            mo_http_url: self.inbound_sms_url(),
        };
        let response = self
            .send(api, true, || {
                self.http.post(&url).query(&self.credentials()).form(&form)
            })
            .await?;
        numbers_outcome(api, response).await
    }

    /// Where a number's inbound texts are to go, as the SMS API is told when a number is
    /// linked (`moHttpUrl`): the stack's `/webhooks/inbound-sms` with `MESSAGING_API=sms` (the
    /// Messages API sends them to the application's own webhook instead).
    pub fn inbound_sms_url(&self) -> Option<String> {
        match self.messaging_api {
            MessagingApi::Sms => self.webhook("/webhooks/inbound-sms"),
            MessagingApi::Messages => None,
        }
    }

    /// Numbers the account can buy: `GET {numbers}/number/search`, credentials in the query.
    #[tracing::instrument(skip_all, fields(country = %query.country))]
    pub async fn search_numbers(
        &self,
        query: &NumberQuery,
    ) -> Result<Vec<NumberOffer>, VonageError> {
        let params = NumberSearch {
            country: query.country.as_str(),
            features: query.features,
            type_: query.number_type.map(NumberType::as_str),
            pattern: query.starts_with.as_deref(),
            search_pattern: query.starts_with.as_ref().map(|_| 0),
            size: query.size.clamp(1, 100),
        };
        self.number_list("/number/search", &params).await
    }

    /// The account's own record of `msisdn`, if it owns it: `GET {numbers}/account/numbers`.
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked()))]
    pub async fn owned_number(&self, msisdn: &Msisdn) -> Result<Option<NumberOffer>, VonageError> {
        let params = OwnedSearch {
            pattern: msisdn.as_str(),
            search_pattern: 0,
        };
        let numbers = self.number_list("/account/numbers", &params).await?;
        Ok(numbers.into_iter().find(|n| n.msisdn == msisdn.as_str()))
    }

    /// A Numbers API list (`GET {numbers}{path}`, credentials and `params` in the query).
    async fn number_list(
        &self,
        path: &str,
        params: &impl Serialize,
    ) -> Result<Vec<NumberOffer>, VonageError> {
        let api = Api::Numbers;
        let url = format!("{}{path}", self.numbers_url);
        let list: NumberList = self
            .send(api, true, || {
                self.http.get(&url).query(&self.credentials()).query(params)
            })
            .await?
            .json()
            .await
            .map_err(|e| VonageError::from_reqwest(api, e))?;
        Ok(list.numbers)
    }

    /// Rents a number: `POST {numbers}/number/buy`. Not retried after a timeout: whether it was
    /// bought is then found out with [`Self::owned_number`].
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked(), country))]
    pub async fn buy_number(&self, msisdn: &Msisdn, country: &Country) -> Result<(), VonageError> {
        self.number_action("buy", false, msisdn, country).await
    }

    /// Ends a number's rental: `POST {numbers}/number/cancel`.
    #[tracing::instrument(skip_all, fields(msisdn = %msisdn.masked(), country))]
    pub async fn cancel_number(
        &self,
        msisdn: &Msisdn,
        country: &Country,
    ) -> Result<(), VonageError> {
        self.number_action("cancel", true, msisdn, country).await
    }

    async fn number_action(
        &self,
        action: &str,
        idempotent: bool,
        msisdn: &Msisdn,
        country: &Country,
    ) -> Result<(), VonageError> {
        let api = Api::Numbers;
        let url = format!("{}/number/{action}", self.numbers_url);
        let form = NumberDetails {
            country: country.as_str(),
            msisdn: msisdn.as_str(),
        };
        let response = self
            .send_allowing(api, idempotent, &[420], || {
                self.http.post(&url).query(&self.credentials()).form(&form)
            })
            .await?;
        numbers_outcome(api, response).await
    }
}

/// A Numbers API answer: `error-code` 200 is success, anything else a refusal with its label.
async fn numbers_outcome(api: Api, response: reqwest::Response) -> Result<(), VonageError> {
    let body: NumbersResponse = response
        .json()
        .await
        .map_err(|e| VonageError::from_reqwest(api, e))?;
    if body.error_code == "200" {
        Ok(())
    } else {
        Err(VonageError::rejected(
            api,
            body.error_code,
            body.error_code_label.as_deref().unwrap_or_default(),
        ))
    }
}
