//! The e-mail channel as a driver: a mailbox's settings, reading a raw message into what the
//! intake files (sender, threading keys, the case a token or plus address names, bounces),
//! sending replies over SMTP, checking the servers, and fetching over IMAP.

use std::sync::Arc;
use std::time::Duration;

use opora_domain::channel::{Channel, ChannelKind, ConversationPolicy};
use opora_domain::customer::{IdentityKind, parse_identity};
use opora_domain::inbound::{Inbound, InboundFile, InboundMessage, Party, StatusReport, ThreadHints};
use opora_domain::message::DeliveryStatus;
use opora_domain::outbound::{Outbound, Verdict};
use opora_domain::thread::case_token;
use opora_domain::{FieldError, MessageId, Timestamp};
use serde_json::Value;

use super::mailbox::{Mailbox, Settings, plus_case};
use super::parse::{ParsedEmail, Person};
use super::poll::{Imap, account};
use super::send::{Transports, smtp_account};
use super::{Config, imap, parse, smtp};
use crate::driver::{BoxFuture, CheckStep, Driver, ParseContext, Poller, Profile, RawPayload, Unreadable};

/// HTML bodies beyond this are dropped (the text part stays): nobody reads them, they only slow
/// every page that shows the case.
const MAX_HTML_BYTES: usize = 2 << 20;
/// References kept per message: enough for any real thread.
const MAX_REFERENCES: usize = 50;

pub struct Email {
    config: Config,
    transports: Transports,
}

impl Email {
    pub fn new(config: Config) -> Self {
        Self { config, transports: Transports::default() }
    }
}

fn mailboxes(context: &ParseContext<'_>) -> Vec<Mailbox> {
    context.siblings.iter().chain(std::iter::once(context.channel)).filter_map(|c| Mailbox::from_channel(c).ok()).collect()
}

fn party(person: &Person) -> Party {
    let identities = parse_identity("address", IdentityKind::Email, &person.address).ok().map(|a| (IdentityKind::Email, a));
    Party { identities: identities.into_iter().collect(), name: person.name.trim().to_owned() }
}

/// A parsed message as the intake files it.
fn message(parsed: &ParsedEmail, payload: &RawPayload, ours: &[Mailbox]) -> InboundMessage {
    let key = parsed.message_id.clone().unwrap_or_else(|| format!("{}@no-message-id.opora", payload.sha256));
    // The sender is whoever From names, or Reply-To when From has no usable address.
    let from = parsed.from.iter().chain(parsed.reply_to.iter()).map(party).find(|p| !p.identities.is_empty());
    let name = parsed.from.as_ref().map(|p| p.name.trim().to_owned()).unwrap_or_default();
    let sender = Party { identities: from.map(|p| p.identities).unwrap_or_default(), name };
    let addressed = parsed
        .to
        .iter()
        .chain(&parsed.cc)
        .filter(|p| !ours.iter().any(|m| m.settings.owns(&p.address)))
        .map(party)
        .filter(|p| !p.identities.is_empty())
        .collect();
    let mut references: Vec<String> = parsed.in_reply_to.clone();
    references.extend(parsed.references.iter().rev().cloned());
    references.dedup();
    references.truncate(MAX_REFERENCES);
    let mut recipients: Vec<&str> = payload.recipients.iter().map(String::as_str).collect();
    recipients.extend(parsed.delivered_to.iter().map(String::as_str));
    recipients.extend(parsed.to.iter().chain(&parsed.cc).map(|p| p.address.as_str()));
    let by_address = recipients.iter().find_map(|a| ours.iter().any(|m| m.settings.owns(a)).then(|| plus_case(a)).flatten());
    let subject: String = parsed.subject.chars().filter(|c| !c.is_control()).take(998).collect();
    InboundMessage {
        key,
        sender,
        addressed,
        thread: ThreadHints { references, case_number: case_token(&subject).or(by_address), conversation: None },
        subject,
        text: parsed.text.clone(),
        html: parsed.html.clone().filter(|h| h.len() <= MAX_HTML_BYTES),
        attachments: parsed
            .attachments
            .iter()
            .map(|part| InboundFile {
                filename: part.filename.clone(),
                content_type: part.content_type.clone(),
                content: part.content.clone(),
                content_id: part.content_id.clone(),
            })
            .collect(),
        automatic: parsed.automatic.clone(),
        sender_doubt: parsed.sender_doubt.clone(),
        ..Default::default()
    }
}

impl Driver for Email {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Email
    }

    fn settings(&self, input: &Value, current: Option<&Value>) -> Result<Value, Vec<FieldError>> {
        let current = current.map(|c| serde_json::from_value::<Settings>(c.clone())).transpose().ok().flatten();
        let settings = Settings::from_input(input, current.as_ref())?;
        serde_json::to_value(settings).map_err(|e| vec![FieldError::new("settings", "invalid_value").with("reason", e.to_string())])
    }

    fn public_settings(&self, settings: &Value) -> Value {
        serde_json::from_value::<Settings>(settings.clone()).map(|s| s.public()).unwrap_or(Value::Null)
    }

    fn profile(&self, channel: &Channel) -> Profile {
        let settings = Settings::of(channel).ok();
        Profile {
            can_send: settings.as_ref().is_some_and(|s| s.smtp.is_some()),
            receive_only: false,
            acknowledge: settings.as_ref().is_some_and(|s| s.acknowledge),
            conversation: ConversationPolicy::Ongoing,
            subject_window_ms: self.config.subject_window_ms,
            reply_window_ms: None,
        }
    }

    fn is_own(&self, channel: &Channel, kind: IdentityKind, value: &str) -> bool {
        kind == IdentityKind::Email && Mailbox::from_channel(channel).is_ok_and(|m| m.settings.owns(value))
    }

    fn parse(&self, payload: &RawPayload, context: &ParseContext<'_>) -> Result<Vec<Inbound>, Unreadable> {
        let parsed = parse(&payload.bytes).map_err(|e| Unreadable::new(e.to_string()))?;
        let ours = mailboxes(context);
        let message = message(&parsed, payload, &ours);
        Ok(vec![match &parsed.bounce {
            // A delivery report names the message it reports on; the report itself is kept on
            // the case for the agent to read.
            Some(bounce) => Inbound::Status(StatusReport {
                key: message.key.clone(),
                about: bounce.original_message_id.clone().unwrap_or_default(),
                status: bounce.permanent.then_some(DeliveryStatus::Failed),
                reason: Some(
                    bounce
                        .diagnostic
                        .clone()
                        .or(bounce.status.clone())
                        .unwrap_or_else(|| "the recipient's server refused the message".into()),
                ),
                note: Some(Box::new(message)),
            }),
            None => Inbound::Message(Box::new(message)),
        }])
    }

    fn outbound_key(&self, channel: &Channel, case_number: i64, message: MessageId, now: Timestamp) -> Option<String> {
        let domain = Mailbox::from_channel(channel).map(|m| m.settings.domain().to_owned()).unwrap_or_else(|_| "localhost".into());
        // The random part makes it unguessable: whoever can name one of our messages (in a forged
        // bounce, say) must have received it.
        let mut random = [0u8; 8];
        let nonce = match getrandom::fill(&mut random) {
            Ok(()) => u64::from_be_bytes(random),
            Err(_) => now.millis() as u64,
        };
        Some(format!("opora.{case_number}.{}.{nonce:016x}@{domain}", message.0))
    }

    fn send<'a>(&'a self, channel: &'a Channel, message: &'a Outbound) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            match Mailbox::from_channel(channel) {
                Ok(mailbox) => self.transports.send(&mailbox, message, Duration::from_secs(self.config.timeout_seconds)).await,
                Err(reason) => Verdict::Failed { reason },
            }
        })
    }

    fn check<'a>(&'a self, channel: &'a Channel) -> BoxFuture<'a, Vec<CheckStep>> {
        Box::pin(async move {
            let mailbox = match Mailbox::from_channel(channel) {
                Ok(mailbox) => mailbox,
                Err(error) => return vec![CheckStep { name: "settings", ok: false, error: Some(error) }],
            };
            let limit = Duration::from_secs(self.config.timeout_seconds);
            let imap_check = async {
                let account = account(&self.config, &mailbox)?;
                let steps = async {
                    let mut session = imap::connect(&account).await.map_err(|e| e.to_string())?;
                    let opened =
                        imap::select(&mut session, &mailbox.settings.imap_folder, limit).await.map(|_| ()).map_err(|e| e.to_string());
                    imap::logout(session, limit).await;
                    opened
                };
                // The admin waits for the answer: the whole check, not only each step, is bounded.
                let result = tokio::time::timeout(limit, steps)
                    .await
                    .unwrap_or_else(|_| Err(format!("IMAP: the check took longer than {}s", limit.as_secs())));
                Some(step("imap", result))
            };
            let smtp_check = async {
                mailbox.settings.smtp.as_ref()?;
                let result = async {
                    let transport = smtp::transport(&smtp_account(&mailbox, limit).map_err(|e| e.text)?).map_err(|e| e.text)?;
                    smtp::check(&transport, limit).await.map_err(|e| e.text)
                }
                .await;
                Some(step("smtp", result))
            };
            let (imap, smtp) = tokio::join!(imap_check, smtp_check);
            imap.into_iter().chain(smtp).collect()
        })
    }

    fn poller(&self) -> Option<Arc<dyn Poller>> {
        Some(Arc::new(Imap { config: self.config.clone() }))
    }
}

fn step(name: &'static str, result: Result<(), String>) -> CheckStep {
    CheckStep { name, ok: result.is_ok(), error: result.err() }
}
