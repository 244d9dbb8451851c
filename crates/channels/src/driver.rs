//! The one interface every channel driver implements, and what drivers are handed in place of
//! the store: a sink for what a poller pulls in.
//!
//! A driver knows its provider's protocol and its own settings, never the database: the intake
//! pipeline and the outbound job (in the use-case layer) call it by kind.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy, PayloadSource};
use opora_domain::customer::IdentityKind;
use opora_domain::inbound::{Inbound, RemoteFile};
use opora_domain::outbound::{Outbound, Verdict};
use opora_domain::{ChannelId, FieldError, MessageId, PayloadId, Timestamp};
use serde_json::Value;
use tokio::sync::watch;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Raw bytes as they arrived, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPayload {
    pub bytes: Vec<u8>,
    pub source: PayloadSource,
    /// Envelope recipients (LMTP `RCPT TO`): plus addresses live here.
    pub recipients: Vec<String>,
    /// SHA-256 of the bytes, hex: a message without an id of its own is known by it.
    pub sha256: String,
}

/// What a driver may consult while parsing: the channel the payload came in by and the other
/// channels of its kind (so a mailbox knows every address of ours).
pub struct ParseContext<'a> {
    pub channel: &'a Channel,
    pub siblings: &'a [Channel],
}

/// Why a payload cannot be read. A pushed payload is refused with the fields at fault; one
/// already stored is quarantined with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub reason: String,
    pub fields: Vec<FieldError>,
}

impl Unreadable {
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into(), fields: Vec::new() }
    }
}

/// A request a provider pushed to us: its headers (lower-case names) and raw body.
pub struct Pushed<'a> {
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Our clock, in seconds, for signatures that carry a timestamp.
    pub now_secs: i64,
}

impl Pushed<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why a pushed request was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// This kind of channel does not take pushed requests.
    NotPushed,
    /// The request is not signed by the provider (or the signature is stale).
    BadSignature(String),
}

/// What the intake needs to know of a configured channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Replies can leave through it (an e-mail channel needs an SMTP server).
    pub can_send: bool,
    /// It only receives by design (an API channel without an address: its system reads replies
    /// from events): replies on it are recorded, not sent. A channel that should send but cannot
    /// (a mailbox without SMTP) is not receive-only: its replies fail where the agent sees why.
    pub receive_only: bool,
    /// A new case gets an automatic acknowledgement (rate-limited per sender).
    pub acknowledge: bool,
    /// When a conversation's new message opens a new case.
    pub conversation: ConversationPolicy,
    /// How far back a reply is matched to its case by sender and subject alone (0: never).
    pub subject_window_ms: i64,
    /// How long after the customer's last message free text may still reach them (WhatsApp's
    /// 24 hours); after it, only an approved template. `None`: no such limit.
    pub reply_window_ms: Option<i64>,
}

impl Profile {
    /// A messenger's: it sends once configured, continues conversations per its policy,
    /// acknowledges when asked to, and never threads by subject.
    pub fn messenger(conversation: Option<(ConversationPolicy, bool)>, reply_window_ms: Option<i64>) -> Self {
        Profile {
            can_send: conversation.is_some(),
            receive_only: false,
            acknowledge: conversation.is_some_and(|(_, acknowledge)| acknowledge),
            conversation: conversation.map_or(ConversationPolicy::Ongoing, |(policy, _)| policy),
            subject_window_ms: 0,
            reply_window_ms,
        }
    }
}

/// A message template the provider approved for messages outside the reply window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApprovedTemplate {
    pub name: String,
    pub language: String,
    /// Its text, with `{{1}}`, `{{2}}`… where the variables go.
    pub body: String,
    pub variables: usize,
}

/// One step of a connection check ("imap", "smtp", "webhook"): passed, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckStep {
    pub name: &'static str,
    pub ok: bool,
    pub error: Option<String>,
}

/// Where a poller hands what it pulls in. The use-case layer implements it: a payload and the
/// poller's new position are stored in one transaction, before the provider is told.
pub trait Sink: Send + Sync {
    /// Where the poller stopped last time (its own JSON), if anywhere.
    fn cursor(&self, channel: ChannelId) -> BoxFuture<'_, Result<Option<Value>, String>>;
    /// Starts over from `cursor` (another folder, or the provider renumbered).
    fn set_cursor(&self, channel: ChannelId, cursor: Value) -> BoxFuture<'_, Result<(), String>>;
    /// Stores a payload, moving the cursor in the same transaction, and wakes the processor.
    fn receive(&self, channel: ChannelId, payload: RawPayload, cursor: Option<Value>) -> BoxFuture<'_, Result<PayloadId, String>>;
    /// Keeps a payload that must not be processed (over the size limit) with the reason.
    fn quarantine(&self, payload: PayloadId, reason: String) -> BoxFuture<'_, Result<(), String>>;
    /// How the last round went: `None` when it worked.
    fn report(&self, channel: ChannelId, error: Option<String>) -> BoxFuture<'_, ()>;
    /// The provider refuses the channel itself (a revoked token): it waits for an admin, who
    /// is told.
    fn broken(&self, channel: ChannelId, reason: String) -> BoxFuture<'_, ()>;
}

/// Why a file a message names could not be downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfetched {
    /// Worth trying again later (a timeout, throttling, a server error).
    Retry(String),
    /// It will never come (too large for the provider to hand over, expired): the message is
    /// filed without it, saying so.
    Gone(String),
}

/// Waits `pause` unless asked to stop; `true` when stopping (a poller's rest between rounds).
pub async fn rest(stop: &mut watch::Receiver<bool>, pause: std::time::Duration) -> bool {
    tokio::select! {
        _ = stop.changed() => true,
        _ = tokio::time::sleep(pause) => *stop.borrow(),
    }
}

/// A loop that pulls from the provider (IMAP, long polling), one per channel, until `stop`.
pub trait Poller: Send + Sync {
    /// Whether this channel has anything to pull from (a mailbox with an IMAP server).
    fn wants(&self, channel: &Channel) -> bool;

    fn run(&self, channel: Channel, sink: Arc<dyn Sink>, stop: watch::Receiver<bool>) -> BoxFuture<'static, ()>;
}

pub trait Driver: Send + Sync + 'static {
    fn kind(&self) -> ChannelKind;

    /// Checks settings as an admin sent them, over the current ones when the channel exists
    /// (secrets not sent again are kept), and returns what the channel stores.
    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>>;

    /// The settings as shown back: secrets replaced by whether they are set.
    fn public_settings(&self, settings: &Value) -> Value;

    /// What is shown once, when the channel is created (a generated signing secret).
    fn reveal_once(&self, _settings: &Value) -> Option<Value> {
        None
    }

    fn profile(&self, channel: &Channel) -> Profile;

    /// Whether this is the channel's own address (a message from it is a loop).
    fn is_own(&self, _channel: &Channel, _kind: IdentityKind, _value: &str) -> bool {
        false
    }

    /// Checks that a pushed request comes from the provider, over its raw bytes.
    fn authenticate(&self, _channel: &Channel, _request: &Pushed<'_>) -> Result<(), Refusal> {
        Err(Refusal::NotPushed)
    }

    /// Answers the provider's check of the hook address — WhatsApp's `hub.challenge` (a GET: its
    /// query), VK's `confirmation` (a POST: its body): the text to answer with, or why not.
    /// `None`: this request is no such check.
    fn handshake(&self, _channel: &Channel, _query: &[(String, String)], _body: &[u8]) -> Option<Result<String, Refusal>> {
        None
    }

    /// Reads a payload into what it says. Runs on a blocking thread: CPU only, no I/O.
    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable>;

    /// The key an outbound message carries before it is sent (e-mail's Message-ID), so a reply
    /// that beats the send still threads; `None` when the provider gives the id.
    fn outbound_key(&self, _channel: &Channel, _case_number: i64, _message: MessageId, _now: Timestamp) -> Option<String> {
        None
    }

    /// Downloads a file a parsed message names but does not carry.
    fn download<'a>(&'a self, _channel: &'a Channel, _file: &'a RemoteFile) -> BoxFuture<'a, Result<Vec<u8>, Unfetched>> {
        Box::pin(async { Err(Unfetched::Gone("this channel does not download files".into())) })
    }

    /// The templates the provider approved, for replies outside the reply window.
    fn templates<'a>(&'a self, _channel: &'a Channel) -> BoxFuture<'a, Result<Vec<ApprovedTemplate>, String>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Answers a button press so the customer's app stops waiting, showing them `note`
    /// (Telegram's `answerCallbackQuery`); best effort.
    fn answer_choice<'a>(&'a self, _channel: &'a Channel, _handle: &'a str, _note: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    /// One attempt to send.
    fn send<'a>(&'a self, channel: &'a Channel, message: &'a Outbound) -> BoxFuture<'a, Verdict>;

    /// Tries the connection now, as receiving and sending would (the settings page).
    fn check<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>>;

    /// The loop that pulls from the provider, for kinds that pull.
    fn poller(&self) -> Option<Arc<dyn Poller>> {
        None
    }
}
