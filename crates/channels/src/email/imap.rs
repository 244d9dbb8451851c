//! An IMAP client for fetching a support mailbox: connect (implicit TLS, STARTTLS or plain),
//! select a folder, list new UIDs, fetch one message at a time, flag or move what we stored,
//! and wait with IDLE. Every network step runs under a timeout, so a dead connection is noticed
//! and replaced rather than waited on for ever.

use std::fmt;
use std::time::Duration;

use super::mailbox::Security;
use async_imap::extensions::idle::IdleResponse;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::tls;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImapError(pub String);

impl From<async_imap::error::Error> for ImapError {
    fn from(e: async_imap::error::Error) -> Self {
        ImapError(format!("IMAP: {e}"))
    }
}

impl From<std::io::Error> for ImapError {
    fn from(e: std::io::Error) -> Self {
        ImapError(format!("IMAP connection: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, ImapError>;

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

pub type Session = async_imap::Session<Box<dyn Io>>;
pub use async_imap::types::Flag;

#[derive(Clone)]
pub struct Account {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    pub password: String,
    pub accept_invalid_certs: bool,
    /// Limit for each command (a fetch of a large message gets more, see [`fetch`]).
    pub timeout: Duration,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{} ({})", self.user, self.host, self.port, self.security)
    }
}

async fn within<T>(limit: Duration, what: &str, work: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, work).await.map_err(|_| ImapError(format!("IMAP: {what} took longer than {}s", limit.as_secs())))?
}

/// Connects and logs in.
pub async fn connect(account: &Account) -> Result<Session> {
    within(account.timeout, "connecting", async {
        let tcp = TcpStream::connect((account.host.as_str(), account.port)).await?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> = match account.security {
            Security::Tls => Box::new(tls::wrap(tcp, &account.host, account.accept_invalid_certs).await?),
            Security::Plain => Box::new(tcp),
            Security::Starttls => {
                let mut client = async_imap::Client::new(tcp);
                client.read_response().await?.ok_or_else(|| ImapError("IMAP: no greeting".into()))?;
                client.run_command_and_check_ok("STARTTLS", None).await?;
                Box::new(tls::wrap(client.into_inner(), &account.host, account.accept_invalid_certs).await?)
            }
        };
        let mut client = async_imap::Client::new(stream);
        if account.security != Security::Starttls {
            client.read_response().await?.ok_or_else(|| ImapError("IMAP: no greeting".into()))?;
        }
        client.login(&account.user, &account.password).await.map_err(|(e, _)| ImapError(format!("IMAP login as {}: {e}", account.user)))
    })
    .await
}

/// A selected folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folder {
    pub uidvalidity: u32,
    /// The UID the next message will get, when the server says.
    pub uid_next: Option<u32>,
    pub exists: u32,
}

pub async fn select(session: &mut Session, name: &str, limit: Duration) -> Result<Folder> {
    within(limit, "selecting the folder", async {
        let mailbox = session.select(name).await?;
        let uidvalidity = mailbox.uid_validity.ok_or_else(|| ImapError("IMAP: the server gives no UIDVALIDITY".into()))?;
        Ok(Folder { uidvalidity, uid_next: mailbox.uid_next, exists: mailbox.exists })
    })
    .await
}

/// UIDs of messages after `after`, ascending; on a first visit (`None`), the unseen ones — a
/// mailbox with years of read mail is not imported wholesale.
pub async fn new_uids(session: &mut Session, after: Option<u32>, limit: Duration) -> Result<Vec<u32>> {
    within(limit, "searching", async {
        let found = match after {
            Some(last) => session.uid_search(format!("UID {}:*", last.saturating_add(1))).await?,
            None => session.uid_search("UNSEEN").await?,
        };
        // `n:*` always matches the highest UID, even below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|uid| after.is_none_or(|last| *uid > last)).collect();
        uids.sort_unstable();
        Ok(uids)
    })
    .await
}

/// Which of the messages up to `last` (stored by us) are still unseen: a crash between storing
/// and flagging leaves some.
pub async fn unseen_up_to(session: &mut Session, last: u32, limit: Duration) -> Result<Vec<u32>> {
    within(limit, "searching", async {
        let mut uids: Vec<u32> = session.uid_search(format!("UID 1:{last} UNSEEN")).await?.into_iter().filter(|uid| *uid <= last).collect();
        uids.sort_unstable();
        Ok(uids)
    })
    .await
}

/// An IMAP sequence set for UIDs: `3,7,9`.
pub fn uid_set(uids: &[u32]) -> String {
    uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// The size of a message, or `None` when it is gone.
pub async fn size(session: &mut Session, uid: u32, limit: Duration) -> Result<Option<u32>> {
    within(limit, "reading a message size", async {
        let mut fetches = session.uid_fetch(uid.to_string(), "RFC822.SIZE").await?;
        let mut size = None;
        while let Some(fetch) = fetches.next().await {
            let fetch = fetch?;
            if fetch.uid == Some(uid) {
                size = fetch.size;
            }
        }
        Ok(size)
    })
    .await
}

/// The raw bytes of a message (without setting \Seen), or `None` when it is gone. `headers_only`
/// fetches just the header, for a message too large to take.
pub async fn fetch(session: &mut Session, uid: u32, headers_only: bool, limit: Duration) -> Result<Option<Vec<u8>>> {
    let item = if headers_only { "BODY.PEEK[HEADER]" } else { "BODY.PEEK[]" };
    within(limit, "fetching a message", async {
        let mut fetches = session.uid_fetch(uid.to_string(), item).await?;
        let mut body = None;
        while let Some(fetch) = fetches.next().await {
            let fetch = fetch?;
            if fetch.uid == Some(uid) {
                body = if headers_only { fetch.header().map(<[u8]>::to_vec) } else { fetch.body().map(<[u8]>::to_vec) };
            }
        }
        Ok(body)
    })
    .await
}

/// Marks messages we stored as read: `uids` is an IMAP set (`7`, `1:42`).
pub async fn mark_seen(session: &mut Session, uids: &str, limit: Duration) -> Result<()> {
    within(limit, "flagging", async {
        let mut updates = session.uid_store(uids, "+FLAGS.SILENT (\\Seen)").await?;
        while let Some(update) = updates.next().await {
            update?;
        }
        Ok(())
    })
    .await
}

/// Creates a folder unless it exists (the archive folder an admin named).
pub async fn ensure_folder(session: &mut Session, name: &str, limit: Duration) -> Result<()> {
    within(limit, "creating a folder", async {
        let listed = {
            let mut names = session.list(None, Some(name)).await?;
            let mut found = false;
            while let Some(entry) = names.next().await {
                found |= entry?.name() == name;
            }
            found
        };
        if !listed {
            session.create(name).await?;
        }
        Ok(())
    })
    .await
}

/// Moves messages we stored to an archive folder.
pub async fn archive(session: &mut Session, uids: &str, folder: &str, limit: Duration) -> Result<()> {
    within(limit, "moving", async { Ok(session.uid_mv(uids, folder).await?) }).await
}

pub async fn supports_idle(session: &mut Session, limit: Duration) -> Result<bool> {
    within(limit, "asking for capabilities", async { Ok(session.capabilities().await?.has_str("IDLE")) }).await
}

/// Waits up to `wait` for the server to report a change (IDLE, RFC 2177). Returns the session
/// for the next round and whether something changed.
pub async fn idle(session: Session, wait: Duration, limit: Duration) -> Result<(Session, bool)> {
    let mut handle = session.idle();
    within(limit, "starting IDLE", async { Ok(handle.init().await?) }).await?;
    let (waiting, _stop) = handle.wait_with_timeout(wait);
    let changed = match waiting.await? {
        IdleResponse::NewData(_) => true,
        IdleResponse::Timeout | IdleResponse::ManualInterrupt => false,
    };
    let session = within(limit, "ending IDLE", async { Ok(handle.done().await?) }).await?;
    Ok((session, changed))
}

/// Says goodbye; errors do not matter any more.
pub async fn logout(mut session: Session, limit: Duration) {
    let _ = tokio::time::timeout(limit, session.logout()).await;
}
