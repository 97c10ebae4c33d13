//! The Vonage stand-in's own answers are checked against the published specs, as the client's
//! requests are: each request goes through a Prism proxy (`--errors`) in front of the
//! stand-in, which refuses an answer the spec does not allow. (`sms.yml` cannot be checked this
//! way: its answer is a `oneOf` whose branches both match any body; its requests are replayed
//! against the Prism mock instead, in the relay tests.)
#![cfg(feature = "services")] // needs Prism: scripts/test
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use shared::phone::Msisdn;
use shared::vonage::{Insight, NumberQuery, VonageClient};
use testkit::{SpecProxy, vonage_config, vonage_mock};

#[tokio::test]
async fn the_stand_ins_answers_satisfy_the_specs() {
    let stand_in = vonage_mock().await;
    let ni = SpecProxy::start("number-insight.yml", &format!("{}/ni", stand_in.uri()));
    let numbers = SpecProxy::start("numbers.yml", &stand_in.uri());
    let client = VonageClient::new(&vonage_config(&ni.url, &stand_in.uri(), &numbers.url)).unwrap();

    let number = Msisdn::from_digits("447700900001").unwrap();
    assert!(matches!(
        client.basic_insight(&number).await.unwrap(),
        Insight::Valid { .. }
    ));
    let query = NumberQuery {
        size: 10,
        ..NumberQuery::in_country("GB".parse().unwrap())
    };
    let offers = client.search_numbers(&query).await.unwrap();
    assert_eq!(offers.len(), 2);
    let offered = Msisdn::from_digits(&offers[0].msisdn).unwrap();
    let gb = offers[0].country.parse().unwrap();
    client.buy_number(&offered, &gb).await.unwrap();
    client
        .link_number(&offered, &gb, "aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
        .await
        .unwrap();
    client.cancel_number(&offered, &gb).await.unwrap();
}
