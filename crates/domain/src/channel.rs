//! Channels: the configured connections customers reach us through (a mailbox, a bot, the
//! website widget, an integration's API). Here are the words every channel shares; what a
//! channel does lives in its driver (the `channels` crate), what the product does with what it
//! receives in the use-case layer.

use crate::string_enum;

string_enum! {
    /// What kind of connection a channel is, and so which driver serves it. Cases and messages
    /// carry the kind they came through; `internal` marks what was written inside Opora (notes,
    /// system entries) and is never sent anywhere.
    pub enum ChannelKind {
        Api => "api",
        Email => "email",
        Web => "web",
        /// The website chat widget (`web` stays for cases an integration files as from the site).
        Widget => "widget",
        Telegram => "telegram",
        Whatsapp => "whatsapp",
        Vk => "vk",
        Phone => "phone",
        Internal => "internal",
    }
}

impl ChannelKind {
    /// The kind of identity a channel of this kind reaches a customer by; `None`: it sends to
    /// no one (phone events, notes).
    pub fn reaches(self) -> Option<crate::customer::IdentityKind> {
        use crate::customer::IdentityKind as I;
        match self {
            ChannelKind::Email => Some(I::Email),
            ChannelKind::Telegram => Some(I::Telegram),
            ChannelKind::Whatsapp => Some(I::Whatsapp),
            ChannelKind::Vk => Some(I::Vk),
            ChannelKind::Widget | ChannelKind::Web => Some(I::Web),
            ChannelKind::Api => Some(I::External),
            ChannelKind::Phone | ChannelKind::Internal => None,
        }
    }

    /// The kinds an admin can add today: those with a driver (`opora_channels::drivers` serves
    /// exactly these, which its tests check).
    pub const CONFIGURABLE: &'static [ChannelKind] = &[
        ChannelKind::Email,
        ChannelKind::Api,
        ChannelKind::Telegram,
        ChannelKind::Whatsapp,
        ChannelKind::Vk,
        ChannelKind::Widget,
        ChannelKind::Phone,
    ];
}

string_enum! {
    /// What became of a received payload. Only `received` ones wait for processing.
    pub enum PayloadStatus {
        Received => "received",
        Processed => "processed",
        Duplicate => "duplicate",
        Quarantined => "quarantined",
        Ignored => "ignored",
    }
}

string_enum! {
    /// How a payload reached us.
    pub enum PayloadSource {
        /// Delivered by an MTA over LMTP.
        Lmtp => "lmtp",
        /// Handed over on standard input (`opora mail ingest`).
        Pipe => "pipe",
        /// Fetched from an IMAP folder.
        Imap => "imap",
        /// Stored by Opora itself (the demo) or an admin.
        Api => "api",
        /// Pushed to us by the provider (a signed webhook).
        Webhook => "webhook",
        /// Pulled by a channel's poller (long polling).
        Poll => "poll",
    }
}

string_enum! {
    /// How a channel's problem stands: `failing` clears itself when the next round works;
    /// `broken` waits for an admin (a revoked token, refused credentials).
    pub enum ChannelState {
        Ok => "ok",
        Failing => "failing",
        Broken => "broken",
    }
}

/// A configured connection: a mailbox, a bot, an integration. Its settings belong to its
/// driver, which checks them and alone reads them.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: crate::ids::ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    pub settings: serde_json::Value,
    pub active: bool,
    /// Takes what arrives for no other channel of its kind (the default mailbox).
    pub is_default: bool,
    pub state: ChannelState,
    /// What the last round of receiving (or a refused send) said, while not `ok`.
    pub error: Option<String>,
    /// When the channel last reported on itself.
    pub checked_at: Option<crate::time::Timestamp>,
    pub created_at: crate::time::Timestamp,
    pub updated_at: crate::time::Timestamp,
}

string_enum! {
    /// How a thread key is known to us.
    pub enum KeyKind {
        /// The key of a message we received.
        Inbound => "inbound",
        /// The key of a message we sent.
        Outbound => "outbound",
        /// Named by a message we filed, not seen itself (yet): a parent arriving after its
        /// reply still finds the reply's case.
        Reference => "reference",
        /// A conversation (a chat): its ongoing case.
        Conversation => "conversation",
    }
}

string_enum! {
    /// When a new message of a conversation (a chat) opens a new case.
    pub enum ConversationPolicy {
        /// One ongoing case per conversation: a solved case reopens, a closed one gets a
        /// follow-up.
        Ongoing => "ongoing",
        /// A new case once the last one is solved.
        NewAfterSolved => "new_after_solved",
    }
}

impl ConversationPolicy {
    /// Whether a message of the conversation continues a case in this status.
    pub fn continues(self, status: crate::status::Status) -> bool {
        use crate::status::Status;
        match self {
            ConversationPolicy::Ongoing => status != Status::Closed,
            ConversationPolicy::NewAfterSolved => status.is_active(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    #[test]
    fn conversation_policies() {
        assert!(ConversationPolicy::Ongoing.continues(Status::Solved));
        assert!(!ConversationPolicy::Ongoing.continues(Status::Closed));
        assert!(!ConversationPolicy::NewAfterSolved.continues(Status::Solved));
        assert!(ConversationPolicy::NewAfterSolved.continues(Status::PendingCustomer));
    }
}
