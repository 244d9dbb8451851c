//! Mail records: every inbound message's raw bytes recorded before anything reads them, the
//! Message-IDs that thread replies, where each IMAP folder was read up to, and outbound mail
//! queued for sending. Filing a parsed message into a case is in `mail_filing`.

use opora_domain::mail::{MailSource, RawStatus};
use opora_domain::{CaseId, ChannelId, DomainError, MessageId, PayloadId, Timestamp};
use serde::Serialize;

use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawMail {
    pub id: PayloadId,
    pub mailbox_id: ChannelId,
    pub source: MailSource,
    pub recipients: Vec<String>,
    pub size: i64,
    pub sha256: String,
    pub status: RawStatus,
    pub error: Option<String>,
    pub attempts: i64,
    pub message_id: Option<String>,
    pub case_id: Option<CaseId>,
    pub message_row: Option<MessageId>,
    pub received_at: Timestamp,
    pub processed_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, mailbox_id, source, recipients, size, sha256, status, error, attempts, message_id, case_id, message_row, received_at, processed_at";

fn from_row(r: &Row<'_>) -> Result<RawMail, DbError> {
    let recipients: String = r.get(3)?;
    Ok(RawMail {
        id: r.get(0)?,
        mailbox_id: r.get(1)?,
        source: r.parse(2, MailSource::parse)?,
        recipients: recipients.lines().map(str::to_owned).collect(),
        size: r.get(4)?,
        sha256: r.get(5)?,
        status: r.parse(6, RawStatus::parse)?,
        error: r.get(7)?,
        attempts: r.get(8)?,
        message_id: r.get(9)?,
        case_id: r.get(10)?,
        message_row: r.get(11)?,
        received_at: r.get(12)?,
        processed_at: r.get(13)?,
    })
}

/// A received message whose bytes are already in the blob store.
#[derive(Debug, Clone)]
pub struct NewRaw {
    pub mailbox_id: ChannelId,
    pub source: MailSource,
    pub recipients: Vec<String>,
    pub size: i64,
    pub sha256: String,
}

/// Records a received message; it waits as `received` until the mail processor files it.
pub fn record(tx: &mut Tx<'_>, new: &NewRaw) -> Result<PayloadId> {
    let now = tx.now;
    let recipients = new.recipients.join("\n");
    Ok(PayloadId(tx.int(
        "insert into raw_mails (mailbox_id, source, recipients, size, sha256, status, received_at) values ($1, $2, $3, $4, $5, $6, $7) returning id",
        &[
            new.mailbox_id.into(),
            new.source.as_str().into(),
            recipients.as_str().into(),
            new.size.into(),
            new.sha256.as_str().into(),
            RawStatus::Received.as_str().into(),
            now.into(),
        ],
    )?))
}

pub fn get(conn: &mut dyn Conn, id: PayloadId) -> Result<RawMail> {
    conn.opt(&format!("select {COLUMNS} from raw_mails where id = $1"), &[id.into()], from_row)?
        .ok_or_else(|| DomainError::NotFound("mail").into())
}

/// Received messages due for processing, oldest first.
pub fn waiting(conn: &mut dyn Conn, now: Timestamp, limit: i64) -> Result<Vec<RawMail>> {
    Ok(conn.all(
        &format!("select {COLUMNS} from raw_mails where status = 'received' and (retry_at is null or retry_at <= $1) order by id limit $2"),
        &[now.into(), limit.into()],
        from_row,
    )?)
}

/// Whether anything still waits for processing (for tests and benchmarks).
pub fn waiting_count(conn: &mut dyn Conn) -> Result<i64> {
    Ok(conn.int("select count(*) from raw_mails where status = 'received'", &[])?)
}

/// Recent messages, newest first, optionally in one state; `before` pages back.
pub fn list(conn: &mut dyn Conn, status: Option<RawStatus>, before: Option<PayloadId>, limit: i64) -> Result<Vec<RawMail>> {
    let mut sql = format!("select {COLUMNS} from raw_mails where id < $1");
    let mut params: Vec<Value<'_>> = vec![before.map_or(i64::MAX, |b| b.0).into()];
    if let Some(status) = status {
        sql.push_str(" and status = $2");
        params.push(status.as_str().into());
    }
    sql.push_str(&format!(" order by id desc limit ${}", params.len() + 1));
    params.push(limit.into());
    Ok(conn.all(&sql, &params, from_row)?)
}

pub fn counts(conn: &mut dyn Conn) -> Result<Vec<(RawStatus, i64)>> {
    Ok(conn.all("select status, count(*) from raw_mails group by status order by status", &[], |r| {
        Ok((r.parse(0, RawStatus::parse)?, r.get(1)?))
    })?)
}

/// Sets the outcome of processing a message.
pub fn finish(
    tx: &mut Tx<'_>,
    id: PayloadId,
    status: RawStatus,
    error: Option<&str>,
    message_id: Option<&str>,
    case: Option<CaseId>,
    message: Option<MessageId>,
) -> Result<()> {
    let now = tx.now;
    let error: Option<String> = error.map(|e| e.chars().take(2000).collect());
    tx.execute(
        "update raw_mails set status = $2, error = $3, message_id = coalesce($4, message_id), case_id = $5, message_row = $6, processed_at = $7,
                retry_at = null where id = $1",
        &[id.into(), status.as_str().into(), error.as_deref().into(), message_id.into(), case.into(), message.into(), now.into()],
    )?;
    Ok(())
}

/// A message that cannot be filed (unreadable, no usable content): kept with its bytes for an
/// admin to look at and process again.
pub fn quarantine(tx: &mut Tx<'_>, id: PayloadId, error: &str) -> Result<()> {
    finish(tx, id, RawStatus::Quarantined, Some(error), None, None, None)
}

/// A transient failure (the database was busy, a blob could not be read): tried again later.
pub fn postpone(tx: &mut Tx<'_>, id: PayloadId, error: &str, retry_at: Timestamp) -> Result<i64> {
    let error: String = error.chars().take(2000).collect();
    tx.execute(
        "update raw_mails set attempts = attempts + 1, error = $2, retry_at = $3 where id = $1 and status = 'received'",
        &[id.into(), error.as_str().into(), retry_at.into()],
    )?;
    Ok(get(&mut **tx, id)?.attempts)
}

/// Sends a quarantined or ignored message through processing again (after a fix or by an
/// admin's decision).
pub fn reprocess(tx: &mut Tx<'_>, id: PayloadId) -> Result<RawMail> {
    let raw = get(&mut **tx, id)?;
    if !matches!(raw.status, RawStatus::Quarantined | RawStatus::Ignored) {
        return Err(DomainError::Conflict("mail_not_quarantined").into());
    }
    tx.execute(
        "update raw_mails set status = 'received', error = null, attempts = 0, retry_at = null, processed_at = null where id = $1",
        &[id.into()],
    )?;
    get(&mut **tx, id)
}

/// Where an IMAP folder was read up to: folder, UIDVALIDITY, last UID stored.
pub fn imap_position(conn: &mut dyn Conn, mailbox: ChannelId) -> Result<Option<(String, i64, i64)>> {
    Ok(conn.opt("select folder, uidvalidity, last_uid from imap_state where mailbox_id = $1", &[mailbox.into()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?)
}

/// Moves the folder's read position forward (never back), in the transaction that records the
/// message at `uid`.
pub fn advance_imap(tx: &mut Tx<'_>, mailbox: ChannelId, folder: &str, uidvalidity: i64, uid: i64) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "insert into imap_state (mailbox_id, folder, uidvalidity, last_uid, updated_at) values ($1, $2, $3, $4, $5)
         on conflict (mailbox_id) do update set
             last_uid = case when excluded.last_uid > imap_state.last_uid then excluded.last_uid else imap_state.last_uid end,
             updated_at = excluded.updated_at",
        &[mailbox.into(), folder.into(), uidvalidity.into(), uid.into(), now.into()],
    )?;
    Ok(())
}

/// Starts a folder afresh: another folder, or the server renumbered it (a new UIDVALIDITY).
/// Messages read again are recognised by their Message-ID and not filed twice.
pub fn reset_imap(tx: &mut Tx<'_>, mailbox: ChannelId, folder: &str, uidvalidity: i64) -> Result<()> {
    tx.execute("delete from imap_state where mailbox_id = $1", &[mailbox.into()])?;
    advance_imap(tx, mailbox, folder, uidvalidity, 0)
}

/// How a Message-ID is known to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Inbound,
    Outbound,
    /// Named in the References of a message we filed, not seen itself (yet).
    Reference,
}

impl IdKind {
    fn as_str(self) -> &'static str {
        match self {
            IdKind::Inbound => "inbound",
            IdKind::Outbound => "outbound",
            IdKind::Reference => "reference",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "inbound" => Some(IdKind::Inbound),
            "outbound" => Some(IdKind::Outbound),
            "reference" => Some(IdKind::Reference),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownId {
    pub message_id: String,
    pub case_id: CaseId,
    pub message_row: Option<MessageId>,
    pub kind: IdKind,
}

/// The stored Message-IDs among `ids`.
pub fn known_ids(conn: &mut dyn Conn, ids: &[&str]) -> Result<Vec<KnownId>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let params: Vec<Value<'_>> = ids.iter().map(|id| (*id).into()).collect();
    let sql = format!("select message_id, case_id, message_row, kind from mail_ids where message_id in ({})", placeholders(1, ids.len()));
    Ok(conn.all(&sql, &params, |r| {
        Ok(KnownId { message_id: r.get(0)?, case_id: r.get(1)?, message_row: r.get(2)?, kind: r.parse(3, IdKind::parse)? })
    })?)
}

/// Records a Message-ID of a message we received or sent; a `reference` row for the same ID
/// (its reply came first) becomes the real one.
pub fn remember_id(tx: &mut Tx<'_>, message_id: &str, case: CaseId, message: Option<MessageId>, kind: IdKind) -> Result<()> {
    let now = tx.now;
    let sql = match kind {
        IdKind::Reference => {
            "insert into mail_ids (message_id, case_id, message_row, kind, created_at) values ($1, $2, $3, $4, $5) on conflict (message_id) do nothing"
        }
        _ => {
            "insert into mail_ids (message_id, case_id, message_row, kind, created_at) values ($1, $2, $3, $4, $5)
             on conflict (message_id) do update set case_id = excluded.case_id, message_row = excluded.message_row, kind = excluded.kind"
        }
    };
    tx.execute(sql, &[message_id.into(), case.into(), message.into(), kind.as_str().into(), now.into()])?;
    Ok(())
}

/// The Message-IDs of a case's conversation, oldest first (for `References`).
pub fn thread_ids(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<(String, IdKind)>> {
    Ok(conn.all(
        "select message_id, kind from mail_ids where case_id = $1 and kind <> 'reference' order by created_at, message_row",
        &[case.into()],
        |r| Ok((r.get(0)?, r.parse(1, IdKind::parse)?)),
    )?)
}

/// The mailbox a case's mail goes through: the one it came in by, else the default.
pub fn case_mailbox(conn: &mut dyn Conn, case: CaseId) -> Result<opora_domain::mail::Mailbox> {
    let id: Option<ChannelId> = conn.opt("select mailbox_id from cases where id = $1", &[case.into()], |r| r.get(0))?.flatten();
    match id {
        Some(id) => crate::mailboxes::get(conn, id),
        None => crate::mailboxes::default(conn),
    }
}

/// When an address's current hour of acknowledgements started and how many it got.
pub fn acknowledgement_window(conn: &mut dyn Conn, address: &str) -> Result<Option<(i64, i64)>> {
    Ok(conn.opt("select window_start, sent from mail_acknowledgements where address = $1", &[address.into()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?)
}

pub fn record_acknowledgement(tx: &mut Tx<'_>, address: &str, window_start: i64, sent: i64) -> Result<()> {
    tx.execute(
        "insert into mail_acknowledgements (address, window_start, sent) values ($1, $2, $3)
         on conflict (address) do update set window_start = excluded.window_start, sent = excluded.sent",
        &[address.into(), window_start.into(), sent.into()],
    )?;
    Ok(())
}
