//! The e-mail channel's use cases. Every way mail arrives — LMTP from an MTA, the
//! `opora mail ingest` pipe, IMAP fetching — ends in [`Mail::receive`]: the bytes are on disk and
//! recorded before anything parses them. The processor (`inbound`) then files them into cases;
//! agents' replies leave through the `message.send` job (`outbound`).

pub mod check;
pub(crate) mod fetch;
pub(crate) mod filing;
pub(crate) mod inbound;
pub mod lmtp;
pub(crate) mod outbound;

use opora_domain::channel::ChannelKind;
use opora_domain::event::{Actor, ChangeAction, ChannelChanged, EventData};
use opora_domain::mail::{MailSource, Mailbox, MailboxSpec, RawStatus};
use opora_domain::{ChannelId, DomainError, PayloadId};
use opora_store::mail::{self, NewRaw};
use opora_store::{Store, mailboxes};
use tokio::sync::Notify;

use crate::{App, Error, Result, Unit};

pub use filing::FilingRules;
pub use opora_store::mail::RawMail;

/// The e-mail settings the use cases follow.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Our name in LMTP greetings and the default EHLO name.
    pub hostname: String,
    pub max_message_bytes: usize,
    /// A reply without threading headers or a case token joins the same sender's case with the
    /// same subject when that case was active this recently.
    pub subject_window_ms: i64,
    /// Automatic acknowledgements per sender address per hour, at most.
    pub acknowledgements_per_hour: i64,
    /// How long an IMAP IDLE waits before it is renewed.
    pub idle_minutes: u64,
    /// How often a server without IDLE is polled.
    pub poll_seconds: u64,
    /// Limit for each network step with a mail server.
    pub timeout_seconds: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            hostname: "opora.localhost".into(),
            max_message_bytes: 50 << 20,
            subject_window_ms: 14 * 86_400_000,
            acknowledgements_per_hour: 3,
            idle_minutes: 25,
            poll_seconds: 60,
            timeout_seconds: 60,
        }
    }
}

/// What the mail workers share in a process: the bell rung when mail arrives and the SMTP
/// connections kept per mailbox.
#[derive(Default)]
pub(crate) struct MailRuntime {
    pub received: Notify,
    pub sender: outbound::Sender,
}

/// Where an IMAP message came from, so its folder position moves in the same transaction.
#[derive(Debug, Clone)]
pub struct ImapPosition {
    pub folder: String,
    pub uidvalidity: i64,
    pub uid: i64,
}

fn mailbox_event(u: &mut Unit<'_, '_>, id: ChannelId, action: ChangeAction, name: Option<String>, actor: Actor) -> opora_store::Result<()> {
    let data = ChannelChanged { channel_id: id, kind: ChannelKind::Email, action, name };
    u.emit(None, None, actor, EventData::ChannelChanged(data)).map(|_| ())
}

pub struct Mail<'a>(&'a App);

impl App {
    pub fn mail(&self) -> Mail<'_> {
        Mail(self)
    }
}

impl Mail<'_> {
    pub fn settings(&self) -> &MailSettings {
        &self.0.config().mail
    }

    /// Records a message and wakes the processor.
    pub async fn receive(&self, mailbox: ChannelId, source: MailSource, recipients: Vec<String>, raw: Vec<u8>) -> Result<PayloadId> {
        let id = record_raw(&self.0.core.store, mailbox, source, recipients, raw, None).await?;
        self.0.core.mail.received.notify_one();
        Ok(id)
    }

    /// The mailbox for a message: the one named, else the one owning a recipient, else the default.
    pub async fn choose_mailbox(&self, name: Option<String>, recipients: Vec<String>) -> Result<ChannelId> {
        self.0
            .read(move |conn| {
                if let Some(name) = name {
                    return mailboxes::by_name(conn, &name)?.map(|m| m.id).ok_or_else(|| DomainError::NotFound("mailbox").into());
                }
                for recipient in &recipients {
                    if let Some(mailbox) = mailboxes::for_address(conn, recipient)? {
                        return Ok(mailbox.id);
                    }
                }
                Ok(mailboxes::default(conn)?.id)
            })
            .await
    }

    pub async fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        self.0.read(mailboxes::list).await
    }

    /// The mailbox that takes mail when none is named.
    pub async fn default_mailbox(&self) -> Result<Mailbox> {
        self.0.read(mailboxes::default).await
    }

    pub async fn mailbox(&self, id: ChannelId) -> Result<Mailbox> {
        self.0.read(move |conn| mailboxes::get(conn, id)).await
    }

    pub async fn create_mailbox(&self, actor: Actor, spec: MailboxSpec) -> Result<Mailbox> {
        self.0
            .write(move |u| {
                let mailbox = mailboxes::create(u.tx(), spec)?;
                mailbox_event(u, mailbox.id, ChangeAction::Created, Some(mailbox.name.clone()), actor)?;
                Ok(mailbox)
            })
            .await
    }

    pub async fn update_mailbox(&self, actor: Actor, id: ChannelId, spec: MailboxSpec) -> Result<Mailbox> {
        self.0
            .write(move |u| {
                let mailbox = mailboxes::update(u.tx(), id, spec)?;
                mailbox_event(u, id, ChangeAction::Updated, None, actor)?;
                Ok(mailbox)
            })
            .await
    }

    /// Removes a mailbox no mail refers to; one with history can only be switched off.
    pub async fn delete_mailbox(&self, actor: Actor, id: ChannelId) -> Result<()> {
        self.0
            .write(move |u| {
                mailboxes::delete(u.tx(), id)?;
                mailbox_event(u, id, ChangeAction::Deleted, None, actor)
            })
            .await
    }

    /// Keeps a mailbox as configured: created when missing, updated when it differs.
    pub async fn sync_mailbox(&self, spec: MailboxSpec) -> Result<()> {
        self.0
            .write(move |u| {
                match mailboxes::by_name(u.conn(), &spec.name)? {
                    Some(current) => {
                        let spec = MailboxSpec { is_default: spec.is_default || current.is_default, ..spec };
                        if spec_of(&current) != spec {
                            mailboxes::update(u.tx(), current.id, spec)?;
                            mailbox_event(u, current.id, ChangeAction::Updated, None, Actor::SYSTEM)?;
                        }
                    }
                    None => {
                        let mailbox = mailboxes::create(u.tx(), spec)?;
                        mailbox_event(u, mailbox.id, ChangeAction::Created, Some(mailbox.name.clone()), Actor::SYSTEM)?;
                    }
                }
                Ok(())
            })
            .await
    }

    /// Received messages, newest first, optionally in one state; `before` pages back.
    pub async fn received(&self, status: Option<RawStatus>, before: Option<PayloadId>, limit: i64) -> Result<Vec<RawMail>> {
        self.0.read(move |conn| mail::list(conn, status, before, limit)).await
    }

    pub async fn received_counts(&self) -> Result<Vec<(RawStatus, i64)>> {
        self.0.read(mail::counts).await
    }

    pub async fn message(&self, id: PayloadId) -> Result<RawMail> {
        self.0.read(move |conn| mail::get(conn, id)).await
    }

    /// A received message exactly as it arrived.
    pub async fn raw(&self, id: PayloadId) -> Result<Vec<u8>> {
        let raw = self.message(id).await?;
        self.0.core.store.blobs().get(&raw.sha256).await.map_err(|e| Error::internal(format!("raw mail {id}: {e}")))
    }

    /// Sends a quarantined or ignored message through processing again.
    pub async fn reprocess(&self, id: PayloadId) -> Result<RawMail> {
        let raw = self.0.write(move |u| mail::reprocess(u.tx(), id)).await?;
        self.0.core.mail.received.notify_one();
        Ok(raw)
    }

    /// Marks a received message unusable, with the reason.
    pub async fn quarantine(&self, id: PayloadId, reason: String) -> Result<()> {
        self.0.write(move |u| mail::quarantine(u.tx(), id, &reason)).await
    }

    /// Messages still waiting for the processor (tests, benchmarks).
    pub async fn waiting(&self) -> Result<i64> {
        self.0.read(mail::waiting_count).await
    }

    /// Processes what is waiting once, here and now (the pipe command, tests); returns how many.
    pub async fn process_waiting(&self) -> Result<usize> {
        Ok(inbound::process_batch(self.0).await?)
    }
}

/// Stores the raw bytes (content-addressed, synced to disk) and records them as received.
pub(crate) async fn record_raw(
    store: &Store,
    mailbox: ChannelId,
    source: MailSource,
    recipients: Vec<String>,
    raw: Vec<u8>,
    imap: Option<ImapPosition>,
) -> opora_store::Result<PayloadId> {
    let size = raw.len() as i64;
    let sha256 = store.blobs().put(raw).await?;
    let new = NewRaw { mailbox_id: mailbox, source, recipients, size, sha256 };
    store
        .write(move |tx| {
            let id = mail::record(tx, &new)?;
            if let Some(position) = imap {
                mail::advance_imap(tx, mailbox, &position.folder, position.uidvalidity, position.uid)?;
            }
            Ok(id)
        })
        .await
}

/// A stored mailbox as a spec, to compare with the configured one.
pub fn spec_of(mailbox: &Mailbox) -> MailboxSpec {
    MailboxSpec {
        name: mailbox.name.clone(),
        address: mailbox.address.clone(),
        sender_name: mailbox.sender_name.clone(),
        imap: mailbox.imap.clone(),
        imap_folder: mailbox.imap_folder.clone(),
        imap_archive_folder: mailbox.imap_archive_folder.clone(),
        smtp: mailbox.smtp.clone(),
        accept_invalid_certs: mailbox.accept_invalid_certs,
        acknowledge: mailbox.acknowledge,
        plus_addressing: mailbox.plus_addressing,
        active: mailbox.active,
        is_default: mailbox.is_default,
    }
}
