//! Messages: what customers and agents wrote, internal notes and system entries, with their
//! attachments.

use serde::Serialize;

use crate::channel::ChannelKind;
use crate::error::{Errors, FieldError};
use crate::ids::{AgentId, AttachmentId, CaseId, CustomerId, MessageId};
use crate::string_enum;
use crate::text;
use crate::time::Timestamp;
use crate::validate;

string_enum! {
    pub enum Direction {
        Inbound => "inbound",
        Outbound => "outbound",
        Internal => "internal",
        System => "system",
    }
}

string_enum! {
    /// Delivery of an outbound message to the customer's channel.
    pub enum DeliveryStatus {
        Pending => "pending",
        Sent => "sent",
        Delivered => "delivered",
        Read => "read",
        Failed => "failed",
        NotApplicable => "not_applicable",
    }
}

impl DeliveryStatus {
    /// Whether a report may move a message from this state to `to`. Delivery only goes
    /// forward (pending → sent → delivered → read): a late "sent" after "read" changes nothing.
    /// A failure may arrive until the message was read; failed and not-applicable are final.
    pub fn may_become(self, to: DeliveryStatus) -> bool {
        use DeliveryStatus::*;
        match (self, to) {
            (Failed | NotApplicable, _) | (_, Pending | NotApplicable) => false,
            (Read, _) => false,
            (_, Failed) => true,
            (from, to) => rank(to) > rank(from),
        }
    }
}

fn rank(status: DeliveryStatus) -> u8 {
    match status {
        DeliveryStatus::Pending => 0,
        DeliveryStatus::Sent => 1,
        DeliveryStatus::Delivered => 2,
        DeliveryStatus::Read => 3,
        DeliveryStatus::Failed | DeliveryStatus::NotApplicable => 4,
    }
}

pub const MAX_BODY_CHARS: usize = 200_000;

/// A validated message body: plain text always, sanitised HTML when the author sent HTML.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Body {
    pub text: String,
    pub html: Option<String>,
}

impl Body {
    /// Text, HTML or both; at least one must say something.
    pub fn parse(field: &str, body_text: Option<&str>, body_html: Option<&str>, errors: &mut Errors) -> Option<Body> {
        let html = body_html.map(str::trim).filter(|h| !h.is_empty());
        if let Some(html) = html
            && html.chars().count() > MAX_BODY_CHARS * 2
        {
            errors.push(FieldError::new(format!("{field}_html"), "too_long").with("max", MAX_BODY_CHARS * 2));
            return None;
        }
        let html = html.map(text::sanitize_html);
        let text_field = format!("{field}_text");
        let text = match (body_text, &html) {
            (Some(t), _) if !t.trim().is_empty() => errors.take(validate::text(&text_field, t, 1, MAX_BODY_CHARS))?,
            (_, Some(html)) => text::html_to_text(html),
            _ => {
                errors.push(FieldError::required(text_field));
                return None;
            }
        };
        if text.is_empty() && html.as_deref().is_none_or(|h| !h.contains("<img")) {
            errors.push(FieldError::required(format!("{field}_text")));
            return None;
        }
        Some(Body { text, html })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub content_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub id: MessageId,
    pub case_id: CaseId,
    pub direction: Direction,
    pub channel_kind: ChannelKind,
    /// The channel it came in or went out through, when there is one.
    pub channel_id: Option<crate::ids::ChannelId>,
    pub author_agent_id: Option<AgentId>,
    pub author_customer_id: Option<CustomerId>,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub attachments: Vec<Attachment>,
    pub external_id: Option<String>,
    pub delivery_status: DeliveryStatus,
    pub delivery_error: Option<String>,
    pub created_at: Timestamp,
    /// For a received message: why its sender may not be who the message says (`spf=fail,
    /// dmarc=fail`, as the receiving mail server found).
    pub sender_doubt: Option<String>,
    /// For a reply: who it was copied to, as the agent chose (none: the whole conversation).
    pub copies: Option<Vec<CustomerId>>,
    /// For a customer's edit (a messenger lets them change what they sent): the message it
    /// changes.
    pub edit_of: Option<MessageId>,
    /// For a reply sent as an approved template: which one, with its variables.
    pub template: Option<crate::outbound::TemplateUse>,
}

/// Cleans an uploaded file name: no paths, no control characters, at most 255 characters.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !crate::validate::is_invisible(*c)).take(255).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_body_gets_text_derived() {
        let mut errors = Errors::default();
        let body = Body::parse("body", None, Some("<p>Добрый день</p><script>x</script>"), &mut errors).expect("valid");
        assert_eq!(body.text, "Добрый день");
        assert_eq!(body.html.as_deref(), Some("<p>Добрый день</p>"));
        assert!(errors.is_empty());
    }

    #[test]
    fn empty_body_is_refused() {
        let mut errors = Errors::default();
        assert_eq!(Body::parse("body", Some("  "), None, &mut errors), None);
        assert_eq!(errors.0[0].field, "body_text");
        assert_eq!(errors.0[0].code, "required");
    }

    #[test]
    fn delivery_only_goes_forward() {
        use DeliveryStatus::*;
        assert!(Pending.may_become(Sent) && Sent.may_become(Delivered) && Delivered.may_become(Read));
        assert!(Pending.may_become(Failed) && Delivered.may_become(Failed));
        assert!(!Read.may_become(Delivered) && !Delivered.may_become(Sent) && !Read.may_become(Failed));
        assert!(!Failed.may_become(Sent) && !NotApplicable.may_become(Sent) && !Sent.may_become(Pending));
    }

    #[test]
    fn filenames_lose_paths() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\Users\\Иван\\Акт.pdf"), "Акт.pdf");
        assert_eq!(clean_filename(".."), "file");
        assert_eq!(clean_filename("invoice\u{202e}gnp.exe"), "invoicegnp.exe", "no direction override disguises the type");
        assert_eq!(clean_filename("акт\u{200b}.pdf"), "акт.pdf");
    }
}
