//! The texts participants are sent: their proxy number when a conversation starts, and, if
//! configured, that it has ended. One template function fills every placeholder.

use crate::error::error_chain;
use crate::model::{Conversation, Participant};
use crate::ports::SmsSender;

/// `template` for participant `me` of `c`: `{other}` is the other participant's label (or
/// "the other participant"), `{proxy}` the proxy number `me` reaches them on, `{expires}` when
/// the conversation expires (RFC 3339).
pub fn text(template: &str, c: &Conversation, me: &Participant, other: &Participant) -> String {
    template
        .replace("{other}", other.display_name())
        .replace("{proxy}", &format!("+{}", me.proxy_number.as_str()))
        .replace("{expires}", &crate::rfc3339(c.expires_at))
}

/// Sends each participant, from their own proxy number, `template` filled for them. Both SMS
/// go out together; a failure is logged (as `failure`) and reported, never fatal.
pub async fn tell_both<V: SmsSender>(
    sms: &V,
    c: &Conversation,
    template: &str,
    failure: &str,
) -> [bool; 2] {
    let [a, b] = &c.participants;
    let (text_a, text_b) = (text(template, c, a, b), text(template, c, b, a));
    let (sent_a, sent_b) = tokio::join!(
        sms.send_sms(&a.proxy_number, &a.number, &text_a, Some(c.id.as_str())),
        sms.send_sms(&b.proxy_number, &b.number, &text_b, Some(c.id.as_str())),
    );
    [sent_a, sent_b].map(|r| match r {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(conversation_id = %c.id, error = %error_chain(&e), "{failure}");
            false
        }
    })
}
