//! What a channel driver makes of a received payload, whatever the channel: a customer's message
//! with its sender's identity, the keys that thread it, its files and flags; or a report on a
//! message we sent. The intake pipeline files these the same way for every channel.

use crate::customer::IdentityKind;
use crate::message::DeliveryStatus;

/// A person in a message: their identities the message gives (on the channel itself first, then
/// any it also knows: an integration may send an e-mail and a phone too), and the name they go by.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub identities: Vec<(IdentityKind, String)>,
    pub name: String,
}

impl Party {
    /// The identity on the channel itself, when the message gives a usable one.
    pub fn identity(&self) -> Option<&(IdentityKind, String)> {
        self.identities.first()
    }
}

/// A file that came with a message. `content_id` names an inline part the HTML refers to as
/// `cid:…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundFile {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
    pub content_id: Option<String>,
}

/// A file a message names but does not carry (Telegram's `file_id`, WhatsApp's media id): the
/// intake asks the channel's driver to download it before filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    pub filename: String,
    pub content_type: String,
    /// The provider's handle for it, as the driver understands it.
    pub reference: String,
    /// The size the provider announced, when it did.
    pub size: Option<u64>,
}

/// What ties a message to a case, in order of certainty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadHints {
    /// Keys of the messages this one answers or refers to, nearest first.
    pub references: Vec<String>,
    /// A case number the message names (the `[#1042]` token, a `+c1042` reply address).
    pub case_number: Option<i64>,
    /// The conversation (a chat) it belongs to: messages of one conversation share a case.
    pub conversation: Option<String>,
}

/// A customer's message, as any driver normalises it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InboundMessage {
    /// Unique per message across channels (the driver namespaces it): the same key twice is a
    /// redelivery.
    pub key: String,
    pub sender: Party,
    /// Others the message was addressed to besides us (e-mail To and Cc): they join the
    /// conversation.
    pub addressed: Vec<Party>,
    pub subject: String,
    pub text: String,
    /// As the sender wrote it; the intake sanitises it.
    pub html: Option<String>,
    pub attachments: Vec<InboundFile>,
    /// Files still at the provider: downloaded before filing; one that cannot be is named in
    /// the text, and the message is filed without it.
    pub remote_files: Vec<RemoteFile>,
    pub thread: ThreadHints,
    /// The key of the message this one changes (a messenger's edit): filed beside the original,
    /// shown as its edit.
    pub edit_of: Option<String>,
    /// Why the message is automatic (an auto-reply, a list): recorded, never answered.
    pub automatic: Option<String>,
    /// Why the sender may not be who the message says (the receiving server's failed checks):
    /// filed as theirs, shown with a warning.
    pub sender_doubt: Option<String>,
}

/// A report on a message we sent: delivered, read, failed (a bounce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    /// The report's own key, so a redelivered report is recognised.
    pub key: String,
    /// The key of the message it reports on.
    pub about: String,
    /// The new state, when the report changes it (a delay notice does not).
    pub status: Option<DeliveryStatus>,
    pub reason: Option<String>,
    /// A report written for people (a bounce message), kept on the case.
    pub note: Option<Box<InboundMessage>>,
}

crate::string_enum! {
    /// Where a phone call stands, as every telephony provider's events are read.
    pub enum CallState {
        /// Ringing at the team now: agents see who calls.
        Ringing => "ringing",
        Answered => "answered",
        /// Over after a conversation.
        Ended => "ended",
        /// Over with nobody answering (busy, no answer, hung up while waiting).
        Missed => "missed",
    }
}

/// A phone call event from a telephony provider, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// Unique per call and state (the driver namespaces it): a resent event is recognised.
    pub key: String,
    pub state: CallState,
    /// The customer called us (not we them).
    pub incoming: bool,
    /// The customer's number, E.164.
    pub customer_number: String,
    /// Our line (the number dialled), when the provider says.
    pub line: Option<String>,
    /// The extension that took or made the call.
    pub agent_extension: Option<String>,
    pub duration_secs: Option<i64>,
    pub recording_url: Option<String>,
}

/// A button the customer pressed under one of our messages (a rating's score, a survey's
/// answer): what the button carried, and who pressed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceMade {
    /// Unique per press (the driver namespaces it).
    pub key: String,
    pub sender: Party,
    /// The button's data, as we gave it (`Choice::data`).
    pub data: String,
    /// The provider's handle for answering the press (Telegram's callback query id), if it
    /// wants one.
    pub handle: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    Message(Box<InboundMessage>),
    Status(StatusReport),
    Call(CallEvent),
    Choice(ChoiceMade),
}

impl Inbound {
    pub fn key(&self) -> &str {
        match self {
            Inbound::Message(message) => &message.key,
            Inbound::Status(report) => &report.key,
            Inbound::Call(call) => &call.key,
            Inbound::Choice(choice) => &choice.key,
        }
    }
}
