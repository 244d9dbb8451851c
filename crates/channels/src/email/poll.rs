//! IMAP fetching, one loop per mailbox, so a slow server or a huge message holds up only its
//! own mailbox. Each message is handed to the sink together with the folder's new read position
//! (stored in one transaction), and only then flagged \Seen (or moved to the archive folder): a
//! crash at any point neither loses a message nor stores it twice. Between rounds the loop waits
//! with IDLE (or polls), reconnecting with backoff when the connection drops.

use std::sync::Arc;
use std::time::Duration;

use opora_domain::ChannelId;
use opora_domain::channel::{Channel, PayloadSource};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::Config;
use super::imap::{self, Account, Session};
use super::mailbox::Mailbox;
use crate::driver::{BoxFuture, Poller, RawPayload, Sink};

/// Where a folder was read up to: the poller's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub folder: String,
    pub uidvalidity: i64,
    pub last_uid: i64,
}

pub struct Imap {
    pub config: Config,
}

impl Poller for Imap {
    fn wants(&self, channel: &Channel) -> bool {
        Mailbox::from_channel(channel).is_ok_and(|m| m.settings.imap.is_some())
    }

    fn run(&self, channel: Channel, sink: Arc<dyn Sink>, stop: watch::Receiver<bool>) -> BoxFuture<'static, ()> {
        let config = self.config.clone();
        Box::pin(async move {
            match Mailbox::from_channel(&channel) {
                Ok(mailbox) => fetch_mailbox(config, mailbox, sink, stop).await,
                Err(error) => sink.report(channel.id, Some(error)).await,
            }
        })
    }
}

pub(crate) fn account(config: &Config, mailbox: &Mailbox) -> Option<Account> {
    let server = mailbox.settings.imap.as_ref()?;
    Some(Account {
        host: server.host.clone(),
        port: server.port,
        security: server.security,
        user: server.user.clone().unwrap_or_default(),
        password: server.password.clone().unwrap_or_default(),
        accept_invalid_certs: mailbox.settings.accept_invalid_certs,
        timeout: Duration::from_secs(config.timeout_seconds),
    })
}

/// Fetches one mailbox until told to stop; each failure waits longer (2 s up to 5 min).
async fn fetch_mailbox(config: Config, mailbox: Mailbox, sink: Arc<dyn Sink>, mut stop: watch::Receiver<bool>) {
    let Some(account) = account(&config, &mailbox) else { return };
    let mut failures = 0u32;
    loop {
        let round = tokio::select! {
            result = session(&config, &mailbox, &account, sink.as_ref(), &mut failures) => result,
            _ = stop.changed() => return,
        };
        let Err(error) = round else { return };
        failures += 1;
        tracing::warn!(mailbox = %mailbox.name, %error, failures, "IMAP fetching failed; reconnecting");
        sink.report(mailbox.id, Some(error)).await;
        // 2 s after a dropped connection, doubling to five minutes while the server stays away.
        let delay = Duration::from_secs(2u64 << (failures - 1).min(8)).min(Duration::from_secs(300));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection: fetch what is new, wait for more, repeat. Returns only with an error.
async fn session(config: &Config, mailbox: &Mailbox, account: &Account, sink: &dyn Sink, failures: &mut u32) -> Result<(), String> {
    let limit = account.timeout;
    let mut session = imap::connect(account).await.map_err(|e| e.to_string())?;
    let folder = imap::select(&mut session, &mailbox.settings.imap_folder, limit).await.map_err(|e| e.to_string())?;
    let idle = imap::supports_idle(&mut session, limit).await.map_err(|e| e.to_string())?;
    if let Some(archive) = &mailbox.settings.imap_archive_folder {
        imap::ensure_folder(&mut session, archive, limit).await.map_err(|e| e.to_string())?;
    }
    let mut first_round = true;
    loop {
        fetch_new(config, mailbox, sink, &mut session, folder, first_round).await?;
        first_round = false;
        *failures = 0;
        sink.report(mailbox.id, None).await;
        if idle {
            let wait = Duration::from_secs(config.idle_minutes * 60);
            session = imap::idle(session, wait, limit).await.map_err(|e| e.to_string())?.0;
        } else {
            tokio::time::sleep(Duration::from_secs(config.poll_seconds)).await;
        }
    }
}

fn position(id: ChannelId, stored: Option<serde_json::Value>) -> Option<Position> {
    let stored = stored?;
    match serde_json::from_value(stored) {
        Ok(position) => Some(position),
        Err(e) => {
            // A position we cannot read starts the folder afresh, as a new UIDVALIDITY would.
            tracing::warn!(channel = id.0, error = %e, "unreadable IMAP position");
            None
        }
    }
}

async fn fetch_new(
    config: &Config,
    mailbox: &Mailbox,
    sink: &dyn Sink,
    session: &mut Session,
    folder: imap::Folder,
    first_round: bool,
) -> Result<(), String> {
    let limit = Duration::from_secs(config.timeout_seconds);
    let name = mailbox.settings.imap_folder.clone();
    let uidvalidity = i64::from(folder.uidvalidity);
    let after = match position(mailbox.id, sink.cursor(mailbox.id).await?) {
        Some(stored) if stored.folder == name && stored.uidvalidity == uidvalidity => Some(stored.last_uid as u32),
        Some(_) => {
            let fresh = Position { folder: name.clone(), uidvalidity, last_uid: 0 };
            sink.set_cursor(mailbox.id, serde_json::to_value(&fresh).unwrap_or_default()).await?;
            Some(0)
        }
        None => None,
    };
    if first_round && let Some(last) = after.filter(|last| *last > 0) {
        let leftovers = imap::unseen_up_to(session, last, limit).await.map_err(|e| e.to_string())?;
        if !leftovers.is_empty() {
            after_commit(mailbox, session, &imap::uid_set(&leftovers), limit).await?;
        }
    }
    let uids = imap::new_uids(session, after, limit).await.map_err(|e| e.to_string())?;
    let max = config.max_message_bytes;
    let mut last = after.map_or(0, i64::from);
    for uid in uids {
        let Some(size) = imap::size(session, uid, limit).await.map_err(|e| e.to_string())? else { continue };
        let too_big = size as usize > max;
        // A large message gets time in proportion: 256 KiB/s is a slow but live server.
        let fetch_limit = limit + Duration::from_secs(u64::from(size) / (256 * 1024));
        let Some(raw) = imap::fetch(session, uid, too_big, fetch_limit).await.map_err(|e| e.to_string())? else { continue };
        // Never back: a position only moves forward.
        last = last.max(i64::from(uid));
        let cursor = Position { folder: name.clone(), uidvalidity, last_uid: last };
        let payload = RawPayload { sha256: String::new(), bytes: raw, source: PayloadSource::Imap, recipients: Vec::new() };
        let stored = sink.receive(mailbox.id, payload, serde_json::to_value(&cursor).ok()).await?;
        if too_big {
            let reason = format!(
                "{} MiB exceeds the {} MiB limit: only the header was taken; the message stays on the server",
                size >> 20,
                max >> 20
            );
            sink.quarantine(stored, reason).await?;
        }
        after_commit(mailbox, session, &uid.to_string(), limit).await?;
    }
    if after.is_none() {
        // First visit: what was already read before us is history, not new mail.
        let baseline = i64::from(folder.uid_next.unwrap_or(1).saturating_sub(1));
        let cursor = Position { folder: name, uidvalidity, last_uid: baseline.max(last) };
        sink.set_cursor(mailbox.id, serde_json::to_value(&cursor).unwrap_or_default()).await?;
    }
    Ok(())
}

/// What happens on the server to a message once it is stored with us.
async fn after_commit(mailbox: &Mailbox, session: &mut Session, uids: &str, limit: Duration) -> Result<(), String> {
    match &mailbox.settings.imap_archive_folder {
        Some(archive) => imap::archive(session, uids, archive, limit).await,
        None => imap::mark_seen(session, uids, limit).await,
    }
    .map_err(|e| e.to_string())
}
