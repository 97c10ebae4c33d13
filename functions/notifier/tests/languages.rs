//! Each participant reads their text in their own language where the catalogue has it, with
//! their access code's hint in it too; anyone else reads the default language.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::time::Duration;

use notifier::{Deps, handle};
use shared::config::NotifyConfig;
use shared::model::Notification;
use shared::store::conversation_image;
use testkit::fakes::{FakeVonage, MemoryStore};
use testkit::{numbered_conversation, stream_batch, stream_record};

const PA: &str = "447700900101";
const PB: &str = "447700900102";

#[tokio::test]
async fn each_participant_is_texted_in_their_own_language() {
    let mut c = numbered_conversation(1, (PA, PB), shared::now() + 3600);
    for (p, (label, language)) in c
        .participants
        .iter_mut()
        .zip([("passageiro", Some("pt-BR")), ("chauffeur", Some("fr-CA"))])
    {
        p.notification = Some(Notification::pending());
        p.label = Some(label.parse().unwrap());
        p.language = language.map(|l| l.parse().unwrap());
    }
    c.participants[0].code = Some("4821".to_owned().try_into().unwrap());
    let deps = Deps {
        store: MemoryStore::with([c.clone()]),
        vonage: FakeVonage::default(),
        notify: NotifyConfig::from_source(&|_: &str| None).unwrap(),
        pause: Duration::ZERO,
    };
    let batch = stream_batch(vec![stream_record(
        7,
        None,
        Some(conversation_image(&c).unwrap()),
    )]);
    let (response, _) = handle(&deps, batch).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = deps.vonage.sent();
    let to = |i: usize| {
        sent.iter()
            .find(|s| s.to == c.participants[i].number.as_str())
            .unwrap()
            .text
            .clone()
    };
    assert_eq!(
        to(0),
        format!(
            "Para falar com chauffeur, ligue para +{PA}. Este número vale apenas para esta conversa. Se for pedido um código, digite 4821."
        )
    );
    assert_eq!(
        to(1),
        format!(
            "Pour joindre votre passageiro, appelez le +{PB}. Ce numéro ne sert que pour cette conversation."
        ),
        "fr-CA reads fr-FR's text"
    );
}
