//! The e-mail channel wired to the store. Every way mail arrives — LMTP from an MTA, the
//! `opora mail ingest` pipe, IMAP fetching — ends in [`record_raw`]: the bytes are on disk and
//! recorded before anything parses them. The processor (`inbound`) then files them into cases;
//! agents' replies leave through the `email.send` job (`outbound`).

pub mod check;
pub mod fetch;
pub mod inbound;
pub mod lmtp;
pub mod outbound;

use std::sync::Arc;

use opora_domain::agent::Language;
use opora_domain::case::Case;
use opora_domain::error::Errors;
use opora_domain::event::Actor;
use opora_domain::mail::{MailSource, MailboxInput, MailboxSpec, ServerInput};
use opora_domain::message::Body;
use opora_domain::{MailboxId, RawMailId};
use opora_store::mail::{self, NewRaw};
use opora_store::mail_filing::FilingRules;
use opora_store::{Store, StoreError, mailboxes};
use opora_web::i18n::I18n;
use serde_json::json;
use tokio::sync::Notify;

use crate::config::{Config, MailConfig, MailboxConfig};

/// What the mail workers share: the store, the settings, and a bell rung when mail arrives.
pub struct MailService {
    pub store: Store,
    pub config: MailConfig,
    pub rules: Arc<FilingRules>,
    pub received: Notify,
}

impl MailService {
    pub fn new(store: Store, config: &Config, i18n: Arc<I18n>) -> Arc<Self> {
        Arc::new(Self { store, config: config.mail.clone(), rules: Arc::new(rules(config, i18n)), received: Notify::new() })
    }

    pub fn max_message_bytes(&self) -> usize {
        self.config.max_message_mb << 20
    }

    /// Records a message and wakes the processor.
    pub async fn receive(
        &self,
        mailbox: MailboxId,
        source: MailSource,
        recipients: Vec<String>,
        raw: Vec<u8>,
    ) -> Result<RawMailId, StoreError> {
        let id = record_raw(&self.store, mailbox, source, recipients, raw, None).await?;
        self.received.notify_one();
        Ok(id)
    }
}

/// Where an IMAP message came from, so its folder position moves in the same transaction.
#[derive(Debug, Clone)]
pub struct ImapPosition {
    pub folder: String,
    pub uidvalidity: i64,
    pub uid: i64,
}

/// Stores the raw bytes (content-addressed, synced to disk) and records them as received.
pub async fn record_raw(
    store: &Store,
    mailbox: MailboxId,
    source: MailSource,
    recipients: Vec<String>,
    raw: Vec<u8>,
    imap: Option<ImapPosition>,
) -> Result<RawMailId, StoreError> {
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

/// The mailbox for a message: the one named, else the one owning a recipient, else the default.
pub async fn choose_mailbox(store: &Store, name: Option<&str>, recipients: &[String]) -> Result<MailboxId, StoreError> {
    let (name, recipients) = (name.map(str::to_owned), recipients.to_vec());
    store
        .read(move |conn| {
            if let Some(name) = name {
                return mailboxes::by_name(conn, &name)?.map(|m| m.id).ok_or_else(|| opora_domain::DomainError::NotFound("mailbox").into());
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

fn rules(config: &Config, i18n: Arc<I18n>) -> FilingRules {
    FilingRules {
        sla: config.sla(),
        subject_window_ms: config.mail.subject_window_days * 86_400_000,
        acknowledgements_per_hour: config.mail.acknowledgements_per_hour,
        acknowledgement: Box::new(move |language: Language, case: &Case| {
            let args = [("number", json!(case.number.to_string())), ("subject", json!(case.subject))];
            let borrowed: Vec<(&str, &serde_json::Value)> = args.iter().map(|(k, v)| (*k, v)).collect();
            Body { text: i18n.text(language, "mail-ack-body", &borrowed), html: None }
        }),
    }
}

fn server<'a>(
    host: &'a Option<String>,
    port: Option<i64>,
    security: &'a Option<String>,
    user: &'a Option<String>,
    password: &'a Option<String>,
) -> ServerInput<'a> {
    ServerInput { host: host.as_deref(), port, security: security.as_deref(), user: user.as_deref(), password: password.as_deref() }
}

/// Checks a configured mailbox the way the admin form does.
pub fn config_spec(mailbox: &MailboxConfig) -> Result<MailboxSpec, String> {
    let input = MailboxInput {
        name: &mailbox.name,
        address: &mailbox.address,
        sender_name: &mailbox.sender_name,
        imap: server(&mailbox.imap_host, mailbox.imap_port, &mailbox.imap_security, &mailbox.imap_user, &mailbox.imap_password),
        imap_folder: mailbox.imap_folder.as_deref(),
        imap_archive_folder: mailbox.imap_archive_folder.as_deref(),
        smtp: server(&mailbox.smtp_host, mailbox.smtp_port, &mailbox.smtp_security, &mailbox.smtp_user, &mailbox.smtp_password),
        accept_invalid_certs: mailbox.accept_invalid_certs,
        acknowledge: mailbox.acknowledge.unwrap_or(true),
        plus_addressing: mailbox.plus_addressing,
        active: true,
        is_default: mailbox.default,
    };
    let mut errors = Errors::default();
    let spec = input.parse(&mut errors);
    match spec {
        Some(spec) if errors.is_empty() => Ok(spec),
        _ => Err(errors.0.iter().map(|e| format!("{}: {}", e.field, e.code)).collect::<Vec<_>>().join(", ")),
    }
}

/// Creates or updates the mailboxes the configuration names; others are left alone.
pub async fn sync_config(store: &Store, config: &MailConfig) -> anyhow::Result<()> {
    for mailbox in &config.mailboxes {
        let spec = config_spec(mailbox).map_err(|e| anyhow::anyhow!("mail.mailboxes ({}): {e}", mailbox.name))?;
        store
            .write(move |tx| {
                match mailboxes::by_name(&mut **tx, &spec.name)? {
                    Some(current) => {
                        let spec = MailboxSpec { is_default: spec.is_default || current.is_default, ..spec };
                        let unchanged = spec_of(&current) == spec;
                        if !unchanged {
                            mailboxes::update(tx, current.id, spec, Actor::SYSTEM)?;
                        }
                    }
                    None => {
                        mailboxes::create(tx, spec, Actor::SYSTEM)?;
                    }
                }
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// A stored mailbox as a spec, to compare with the configured one.
pub fn spec_of(mailbox: &opora_domain::mail::Mailbox) -> MailboxSpec {
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
