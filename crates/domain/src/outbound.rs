//! What the use cases hand a channel driver to send — a reply or an acknowledgement with
//! everything the channel may need to thread it — and the driver's verdict on the attempt.

use std::time::Duration;

use crate::channel::KeyKind;
use crate::customer::IdentityKind;
use crate::ids::{CaseId, MessageId};

/// Someone to send to: a name and their identities (the driver picks the one it reaches).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recipient {
    pub name: String,
    pub identities: Vec<(IdentityKind, String)>,
}

impl Recipient {
    /// The recipient's first identity of `kind`.
    pub fn identity(&self, kind: IdentityKind) -> Option<&str> {
        self.identities_of(kind).next()
    }

    /// All of the recipient's identities of `kind`, oldest first.
    pub fn identities_of(&self, kind: IdentityKind) -> impl Iterator<Item = &str> {
        self.identities.iter().filter(move |(k, _)| *k == kind).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFile {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// The agent who wrote a reply; none for what the system sends (acknowledgements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub signature: Option<String>,
}

/// A key of the case's conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRef {
    pub key: String,
    pub kind: KeyKind,
}

/// An approved message template a reply is sent as (WhatsApp outside its 24-hour window): the
/// provider fills it with the variables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TemplateUse {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub variables: Vec<String>,
}

/// A button under a message, for channels that show buttons (Telegram, WhatsApp): its label,
/// and the data a press brings back (at most `Choice::MAX_DATA` bytes). Other channels send the
/// text alone, which always says how to answer without them (a link).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Choice {
    pub label: String,
    pub data: String,
    /// Where the same answer is given on a page, for channels without buttons (e-mail shows the
    /// choices as links); none when the message's text already links to its page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

impl Choice {
    /// Telegram's limit on a button's data.
    pub const MAX_DATA: usize = 64;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub message_id: MessageId,
    /// The key given to the message before it was sent (e-mail's Message-ID), if the driver
    /// gives one.
    pub key: Option<String>,
    pub case_id: CaseId,
    pub case_number: i64,
    pub case_subject: String,
    pub customer: Recipient,
    /// The others in the conversation, in copy.
    pub copies: Vec<Recipient>,
    pub author: Option<Author>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<OutgoingFile>,
    pub thread: Vec<ThreadRef>,
    /// Sent as this template rather than as free text.
    pub template: Option<TemplateUse>,
    /// Buttons under the message, where the channel shows them.
    pub choices: Vec<Choice>,
}

/// A driver's verdict on one attempt to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted by the provider; `key` is the provider's id for it, when it gives one.
    Sent { key: Option<String> },
    /// Worth trying again (a timeout, throttling, a server error), no sooner than `after` when
    /// the provider said so.
    Retry { reason: String, after: Option<Duration> },
    /// It will never go (refused, no address, no way to send): the agent must know.
    Failed { reason: String },
    /// The provider refuses the channel itself (a revoked bot token): this message fails, the
    /// channel is marked broken and admins are told.
    Broken { reason: String },
}
