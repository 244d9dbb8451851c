//! IMAP fetching: one task per mailbox, so a slow server or a huge message holds up only its
//! own mailbox. Each message is stored together with the folder's read position in one
//! transaction, and only then flagged \Seen (or moved to the archive folder): a crash at any
//! point neither loses a message nor stores it twice. Between rounds the task waits with IDLE
//! (or polls), reconnecting with backoff when the connection drops.

use std::collections::HashMap;
use std::time::Duration;

use opora_channels::email::imap::{self, Account, Session};
use opora_domain::event::EventKind;
use opora_domain::mail::{MailSource, Mailbox};
use opora_domain::{ChannelId, Timestamp};
use opora_store::{mail, mailboxes};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{ImapPosition, record_raw};
use crate::App;

pub const NAME: &str = "mail.fetch";

struct Fetcher {
    version: Timestamp,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Keeps one fetcher running per active mailbox with an IMAP server, restarting a fetcher when
/// its mailbox's settings change.
pub async fn supervise(app: App, mut shutdown: watch::Receiver<bool>) {
    let health = app.health().clone();
    let mut running: HashMap<ChannelId, Fetcher> = HashMap::new();
    let mut events = app.core.store.bus().subscribe();
    loop {
        match app.core.store.read(mailboxes::list).await {
            Ok(all) => {
                let wanted: Vec<Mailbox> = all.into_iter().filter(|m| m.active && m.imap.is_some()).collect();
                running.retain(|id, fetcher| {
                    let keep = wanted.iter().any(|m| m.id == *id && m.updated_at == fetcher.version);
                    if !keep {
                        let _ = fetcher.stop.send(true);
                    }
                    keep
                });
                for mailbox in wanted {
                    if running.contains_key(&mailbox.id) {
                        continue;
                    }
                    let (stop, stopped) = watch::channel(false);
                    let (id, version) = (mailbox.id, mailbox.updated_at);
                    let task = tokio::spawn(fetch_mailbox(app.clone(), mailbox, stopped));
                    running.insert(id, Fetcher { version, stop, task });
                }
                health.tick(NAME, running.len() as u64);
            }
            Err(e) => health.backing_off(NAME, &e.to_string()),
        }
        tokio::select! {
            event = events.recv() => {
                if event.is_ok_and(|e| e.kind() != EventKind::ChannelChanged) {
                    continue;
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => break,
        }
    }
    for fetcher in running.into_values() {
        let _ = fetcher.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(2), fetcher.task).await;
    }
    health.stopped(NAME);
}

pub(crate) fn account(app: &App, mailbox: &Mailbox) -> Option<Account> {
    let server = mailbox.imap.as_ref()?;
    Some(Account {
        host: server.host.clone(),
        port: server.port,
        security: server.security,
        user: server.user.clone().unwrap_or_default(),
        password: server.password.clone().unwrap_or_default(),
        accept_invalid_certs: mailbox.accept_invalid_certs,
        timeout: Duration::from_secs(app.config().mail.timeout_seconds),
    })
}

async fn record_state(app: &App, mailbox: ChannelId, error: Option<String>) {
    let _ = app.core.store.write(move |tx| mailboxes::record_fetch(tx, mailbox, error.as_deref())).await;
}

/// Fetches one mailbox until told to stop; each failure waits longer (2 s up to 5 min).
async fn fetch_mailbox(app: App, mailbox: Mailbox, mut stop: watch::Receiver<bool>) {
    let Some(account) = account(&app, &mailbox) else { return };
    let mut failures = 0u32;
    loop {
        let round = tokio::select! {
            result = session(&app, &mailbox, &account, &mut failures) => result,
            _ = stop.changed() => return,
        };
        let Err(error) = round else { return };
        failures += 1;
        tracing::warn!(mailbox = %mailbox.name, %error, failures, "IMAP fetching failed; reconnecting");
        record_state(&app, mailbox.id, Some(error)).await;
        // 2 s after a dropped connection, doubling to five minutes while the server stays away.
        let delay = Duration::from_secs(2u64 << (failures - 1).min(8)).min(Duration::from_secs(300));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One connection: fetch what is new, wait for more, repeat. Returns only with an error.
async fn session(app: &App, mailbox: &Mailbox, account: &Account, failures: &mut u32) -> Result<(), String> {
    let limit = account.timeout;
    let mut session = imap::connect(account).await.map_err(|e| e.to_string())?;
    let folder = imap::select(&mut session, &mailbox.imap_folder, limit).await.map_err(|e| e.to_string())?;
    let idle = imap::supports_idle(&mut session, limit).await.map_err(|e| e.to_string())?;
    if let Some(archive) = &mailbox.imap_archive_folder {
        imap::ensure_folder(&mut session, archive, limit).await.map_err(|e| e.to_string())?;
    }
    let mut first_round = true;
    loop {
        fetch_new(app, mailbox, &mut session, folder, first_round).await?;
        first_round = false;
        *failures = 0;
        record_state(app, mailbox.id, None).await;
        if idle {
            let wait = Duration::from_secs(app.config().mail.idle_minutes * 60);
            session = imap::idle(session, wait, limit).await.map_err(|e| e.to_string())?.0;
        } else {
            tokio::time::sleep(Duration::from_secs(app.config().mail.poll_seconds)).await;
        }
    }
}

async fn fetch_new(app: &App, mailbox: &Mailbox, session: &mut Session, folder: imap::Folder, first_round: bool) -> Result<(), String> {
    let store = &app.core.store;
    let limit = Duration::from_secs(app.config().mail.timeout_seconds);
    let (id, name) = (mailbox.id, mailbox.imap_folder.clone());
    let position = store.read(move |conn| mail::imap_position(conn, id)).await.map_err(|e| e.to_string())?;
    let uidvalidity = i64::from(folder.uidvalidity);
    let after = match position {
        Some((stored, validity, last)) if stored == name && validity == uidvalidity => Some(last as u32),
        Some(_) => {
            let folder_name = name.clone();
            store.write(move |tx| mail::reset_imap(tx, id, &folder_name, uidvalidity)).await.map_err(|e| e.to_string())?;
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
    let max = app.config().mail.max_message_bytes;
    for uid in uids {
        let Some(size) = imap::size(session, uid, limit).await.map_err(|e| e.to_string())? else { continue };
        let too_big = size as usize > max;
        // A large message gets time in proportion: 256 KiB/s is a slow but live server.
        let fetch_limit = limit + Duration::from_secs(u64::from(size) / (256 * 1024));
        let Some(raw) = imap::fetch(session, uid, too_big, fetch_limit).await.map_err(|e| e.to_string())? else { continue };
        let position = ImapPosition { folder: name.clone(), uidvalidity, uid: i64::from(uid) };
        let raw_id = record_raw(store, mailbox.id, MailSource::Imap, Vec::new(), raw, Some(position)).await.map_err(|e| e.to_string())?;
        if too_big {
            let reason = format!(
                "{} MiB exceeds the {} MiB limit: only the header was taken; the message stays on the server",
                size >> 20,
                max >> 20
            );
            store.write(move |tx| mail::quarantine(tx, raw_id, &reason)).await.map_err(|e| e.to_string())?;
        }
        app.core.mail.received.notify_one();
        after_commit(mailbox, session, &uid.to_string(), limit).await?;
    }
    if after.is_none() {
        // First visit: what was already read before us is history, not new mail.
        let baseline = i64::from(folder.uid_next.unwrap_or(1).saturating_sub(1));
        store.write(move |tx| mail::advance_imap(tx, id, &name, uidvalidity, baseline)).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What happens on the server to a message once it is stored with us.
async fn after_commit(mailbox: &Mailbox, session: &mut Session, uids: &str, limit: Duration) -> Result<(), String> {
    match &mailbox.imap_archive_folder {
        Some(archive) => imap::archive(session, uids, archive, limit).await,
        None => imap::mark_seen(session, uids, limit).await,
    }
    .map_err(|e| e.to_string())
}
