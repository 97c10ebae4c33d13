//! The whisper (`/webhooks/whisper`): what the callee hears when they pick up, and their
//! answer to its prompt.

use lambda_http::Request;
use shared::config::texts::Key;
use shared::domain::answer::{ACTING_RESERVE, pressed};
use shared::domain::calls;
use shared::model::{Conversation, ConversationStatus, spoken};
use shared::ncco::Ncco;
use shared::ports::CallControl;
use shared::problem::error_chain;
use shared::seal::Carried;
use shared::signature::Signed;
use shared::values::ConversationId;

use crate::render::{base_url, in_language, leg_id};
use crate::{AnswerStore, Deps};

/// The whisper (the connect's `onAnswer`): what the callee hears when they pick up, before the
/// two are bridged, in the callee's language: that the call is recorded, the conversation's
/// whisper for this caller, and the prompt to take the call (its key posted back here, the
/// step sealed in the URL). A conversation that is gone, closed or has nothing to say, or a
/// store that cannot say, gets a moment of silence: the call is bridged all the same.
pub async fn whisper<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    req: &Request,
    signed: &Signed,
    now: i64,
) -> Ncco {
    let Some((conversation, caller, carried)) = whispered(deps, signed, now).await else {
        return Ncco::reject();
    };
    let (from, to) = (
        &conversation.participants[caller],
        &conversation.participants[1 - caller],
    );
    let settings = &conversation.call;
    let language = to.language.as_ref();
    let mut texts = Vec::new();
    if settings.record {
        let notice = &deps.call.recording_notice;
        texts.push(in_language(deps, Key::RecordingNotice, notice, language).to_owned());
    }
    if let Some(text) = settings.whisper.as_deref() {
        // The configured whisper (as creation fills it in) is said in the callee's language.
        let configured = deps.hooks.conversations.call_defaults.whisper.as_deref();
        let text = match configured {
            Some(configured) if configured == text => {
                in_language(deps, Key::Whisper, text, language)
            }
            _ => text,
        };
        texts.push(spoken(text, &conversation, from, to));
    }
    let ask = settings.whisper_accept.then(|| {
        (
            in_language(deps, Key::WhisperAccept, &deps.call.accept_prompt, language),
            deps.auth.seal().url(
                &format!("{}/webhooks/whisper", base_url(deps, req)),
                signed.field("conversation_uuid"),
                &Carried {
                    step: Some("accept".into()),
                    ..carried.clone()
                },
            ),
        )
    });
    tracing::info!(conversation_id = %conversation.id, accept = ask.is_some(), "whisper to the callee");
    Ncco::tell(&texts, language, ask)
}

/// The conversation and caller index a whisper URL carries, if it is open at `now`, with what
/// the URL carried.
async fn whispered<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    signed: &Signed,
    now: i64,
) -> Option<(shared::model::Conversation, usize, Carried)> {
    let carried = signed.carried.clone().unwrap_or_default();
    let id = carried
        .conversation_id
        .as_deref()
        .and_then(ConversationId::from_uuid);
    let (Some(id), Some(caller @ 0..=1)) = (id, carried.caller.map(usize::from)) else {
        tracing::warn!("whisper webhook without a conversation and caller");
        return None;
    };
    match deps.store.conversation(&id).await {
        Ok(Some(c)) if c.status_at(now) == ConversationStatus::Active => Some((c, caller, carried)),
        Ok(_) => None,
        Err(e) => {
            tracing::error!(conversation_id = %id, error = %error_chain(&e), "whisper: the conversation could not be read");
            None
        }
    }
}

/// The callee's answer to the prompt (the sealed step `accept`): `1` takes the call (a moment
/// of silence, then the two are bridged); anything else, or no key, ends the callee's leg, and
/// the caller (whose leg the URL carries) is told, in their language, that the callee could
/// not take the call. Both go through the Voice API within the call's budget; without it the
/// callee is connected after all.
pub async fn accept<S: AnswerStore, V: CallControl>(
    deps: &Deps<S, V>,
    signed: &Signed,
    now: i64,
) -> Ncco {
    if pressed(&signed.fields).as_deref() == Some("1") {
        tracing::info!("the callee took the call");
        return Ncco::reject();
    }
    let Some((conversation, caller, carried)) = whispered(deps, signed, now).await else {
        return Ncco::reject();
    };
    let callee_leg = leg_id(signed.field("uuid"));
    let sealed_leg = carried.leg.as_deref().and_then(leg_id).map(str::to_owned);
    let Some(voice) = &deps.voice else {
        tracing::warn!(conversation_id = %conversation.id, "the callee did not take the call, but no Voice API is configured: connecting");
        return Ncco::reject();
    };
    let (from, to) = (
        &conversation.participants[caller],
        &conversation.participants[1 - caller],
    );
    let language = from.language.as_ref();
    let declined = in_language(deps, Key::WhisperDeclined, &deps.call.declined, language);
    let told = Ncco::speak(&spoken(declined, &conversation, from, to), language);
    let tell_caller = async {
        let caller_leg = match sealed_leg {
            Some(leg) => Some(leg),
            // A call the backend started (click-to-call) rang its caller before any URL could
            // name their leg: the call log has it, as the call's caller's leg.
            None => logged_caller_leg(deps, &conversation, signed).await,
        };
        match &caller_leg {
            Some(leg) => voice.transfer(leg, &told).await,
            None => Ok(()),
        }
    };
    let end_callee = async {
        match callee_leg {
            Some(leg) => voice.hang_up(leg).await,
            None => Ok(()),
        }
    };
    let done = tokio::time::timeout(deps.hooks.budget.saturating_sub(ACTING_RESERVE), async {
        tokio::join!(tell_caller, end_callee)
    })
    .await;
    match done {
        Ok((Ok(()), Ok(()))) => {
            tracing::info!(conversation_id = %conversation.id, "the callee did not take the call")
        }
        Ok((told, ended)) => {
            for e in [told.err(), ended.err()].into_iter().flatten() {
                tracing::error!(conversation_id = %conversation.id, error = %error_chain(&e), "a refused call could not be ended");
            }
        }
        Err(_) => {
            tracing::error!(conversation_id = %conversation.id, "the Voice API did not answer in time")
        }
    }
    Ncco::reject()
}

/// The caller's leg of the call `signed` names, as the event webhook logged it.
async fn logged_caller_leg<S: AnswerStore, V>(
    deps: &Deps<S, V>,
    conversation: &Conversation,
    signed: &Signed,
) -> Option<String> {
    let call_id = signed.field("conversation_uuid");
    if call_id.is_empty() {
        return None;
    }
    match deps.store.call_events(&conversation.id).await {
        Ok(logged) => calls::caller_leg(&logged, call_id).map(str::to_owned),
        Err(e) => {
            tracing::error!(conversation_id = %conversation.id, error = %error_chain(&e), "whisper: the call log could not be read");
            None
        }
    }
}
