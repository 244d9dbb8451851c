//! Mailboxes: e-mail channels as the mailbox API and settings page have always shown them, and
//! the ways mail is handed to us from outside a driver's own poller (an MTA over LMTP, the
//! `opora mail ingest` pipe). Everything here is a view on the generic channel use cases.

use opora_domain::channel::{ChannelKind, PayloadSource, PayloadStatus};
use opora_domain::event::Actor;
use opora_domain::{ChannelId, DomainError, PayloadId};
use opora_store::channels;
use opora_store::payloads::Payload;

pub use opora_channels::email::mailbox::{
    Mailbox, MailboxInput, MailboxSpec, NO_SMTP_SERVER, Security, Server, ServerInput, Settings as MailboxSettings,
};

use super::{ChannelChange, NewChannel};
use crate::{App, Error, Result};

/// Channel errors in the words the mailbox API has always used.
fn as_mailbox(error: Error) -> Error {
    match error {
        Error::Domain(DomainError::NotFound("channel")) => Error::Domain(DomainError::NotFound("mailbox")),
        Error::Domain(DomainError::NotFound("payload")) => Error::Domain(DomainError::NotFound("mail")),
        Error::Domain(DomainError::Conflict("default_channel_required")) => {
            Error::Domain(DomainError::Conflict("default_mailbox_required"))
        }
        Error::Domain(DomainError::Conflict("channel_in_use")) => Error::Domain(DomainError::Conflict("mailbox_in_use")),
        Error::Domain(DomainError::Validation(mut fields)) => {
            for field in &mut fields {
                if field.code == "default_channel_required" {
                    field.code = "default_mailbox_required";
                }
            }
            Error::Domain(DomainError::Validation(fields))
        }
        other => other,
    }
}

fn mailbox(channel: &opora_domain::channel::Channel) -> Result<Mailbox> {
    if channel.kind != ChannelKind::Email {
        return Err(DomainError::NotFound("mailbox").into());
    }
    Mailbox::from_channel(channel).map_err(Error::Internal)
}

/// A mailbox's settings as the channel takes them.
fn settings(spec: &MailboxSpec) -> Result<serde_json::Value> {
    Ok(spec.form())
}

/// How one server of a mailbox answered: signed in, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCheck {
    pub ok: bool,
    pub error: Option<String>,
}

pub struct Mail<'a>(&'a App);

impl App {
    pub fn mail(&self) -> Mail<'_> {
        Mail(self)
    }
}

impl Mail<'_> {
    pub async fn mailboxes(&self) -> Result<Vec<Mailbox>> {
        let all = self.0.read(|conn| channels::of_kind(conn, ChannelKind::Email)).await?;
        all.iter().map(mailbox).collect()
    }

    pub async fn mailbox(&self, id: ChannelId) -> Result<Mailbox> {
        let channel = self.0.read(move |conn| channels::get(conn, id)).await.map_err(as_mailbox)?;
        mailbox(&channel)
    }

    /// The mailbox that takes mail when none is named.
    pub async fn default_mailbox(&self) -> Result<Mailbox> {
        let found = self.0.read(|conn| channels::default_of(conn, ChannelKind::Email)).await?;
        mailbox(&found.ok_or(DomainError::NotFound("mailbox"))?)
    }

    pub async fn create_mailbox(&self, actor: Actor, spec: MailboxSpec) -> Result<Mailbox> {
        let new = NewChannel {
            kind: ChannelKind::Email,
            name: spec.name.clone(),
            settings: settings(&spec)?,
            active: spec.active,
            is_default: spec.is_default,
        };
        let (view, _) = self.0.channels().create(actor, new).await.map_err(as_mailbox)?;
        mailbox(&view.channel)
    }

    pub async fn update_mailbox(&self, actor: Actor, id: ChannelId, spec: MailboxSpec) -> Result<Mailbox> {
        self.mailbox(id).await?;
        let change = ChannelChange {
            name: Some(spec.name.clone()),
            settings: Some(settings(&spec)?),
            active: Some(spec.active),
            is_default: Some(spec.is_default),
        };
        let view = self.0.channels().update(actor, id, change).await.map_err(as_mailbox)?;
        mailbox(&view.channel)
    }

    /// Removes a mailbox no mail refers to; one with history can only be switched off.
    pub async fn delete_mailbox(&self, actor: Actor, id: ChannelId) -> Result<()> {
        self.mailbox(id).await?;
        self.0.channels().delete(actor, id).await.map_err(as_mailbox)
    }

    /// Keeps a mailbox as configured: created when missing, updated when it differs.
    pub async fn sync_mailbox(&self, spec: MailboxSpec) -> Result<()> {
        let name = spec.name.clone();
        let current = self.0.read(move |conn| channels::by_name(conn, &name)).await?;
        match current {
            Some(channel) => {
                let current = mailbox(&channel)?;
                let spec = MailboxSpec { is_default: spec.is_default || current.is_default, ..spec };
                if current.spec() != spec {
                    self.update_mailbox(Actor::SYSTEM, current.id, spec).await?;
                }
            }
            None => {
                self.create_mailbox(Actor::SYSTEM, spec).await?;
            }
        }
        Ok(())
    }

    /// Tries the mailbox's IMAP and SMTP servers; a server it does not have is `None`.
    pub async fn check(&self, id: ChannelId) -> Result<(Option<ServerCheck>, Option<ServerCheck>)> {
        self.mailbox(id).await?;
        let steps = self.0.channels().check(id).await?;
        let find = |name: &str| steps.iter().find(|s| s.name == name).map(|s| ServerCheck { ok: s.ok, error: s.error.clone() });
        Ok((find("imap"), find("smtp")))
    }

    /// The mailbox for a message: the one named, else the one owning a recipient, else the default.
    pub async fn choose_mailbox(&self, name: Option<String>, recipients: Vec<String>) -> Result<ChannelId> {
        if let Some(name) = name {
            let found = self.0.read(move |conn| channels::by_name(conn, &name)).await?;
            return match found {
                Some(channel) if channel.kind == ChannelKind::Email => Ok(channel.id),
                _ => Err(DomainError::NotFound("mailbox").into()),
            };
        }
        let boxes = self.mailboxes().await?;
        for recipient in &recipients {
            if let Some(found) = boxes.iter().find(|m| m.settings.owns(recipient)) {
                return Ok(found.id);
            }
        }
        Ok(self.default_mailbox().await?.id)
    }

    /// Records a message handed over by an MTA and wakes the intake.
    pub async fn receive(&self, mailbox: ChannelId, source: PayloadSource, recipients: Vec<String>, raw: Vec<u8>) -> Result<PayloadId> {
        self.0.intake().receive(mailbox, source, recipients, raw, None).await
    }

    /// Received mail, newest first, optionally in one state; `before` pages back.
    pub async fn received(&self, status: Option<PayloadStatus>, before: Option<PayloadId>, limit: i64) -> Result<Vec<Payload>> {
        self.0.intake().received(ChannelKind::Email, status, before, limit).await
    }

    pub async fn received_counts(&self) -> Result<Vec<(PayloadStatus, i64)>> {
        self.0.intake().counts(ChannelKind::Email).await
    }

    pub async fn message(&self, id: PayloadId) -> Result<Payload> {
        self.0.intake().payload(id).await.map_err(as_mailbox)
    }

    /// A received message exactly as it arrived.
    pub async fn raw(&self, id: PayloadId) -> Result<Vec<u8>> {
        self.0.intake().raw(id).await.map_err(as_mailbox)
    }

    /// Sends a quarantined or ignored message through processing again.
    pub async fn reprocess(&self, id: PayloadId) -> Result<Payload> {
        self.0.intake().reprocess(id).await.map_err(as_mailbox)
    }
}
