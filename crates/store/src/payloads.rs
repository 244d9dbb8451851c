//! Inbound payloads as rows: every message any channel received, recorded with its raw bytes
//! (in the blob store) before anything reads it, and what became of it. Also the hourly count
//! of acknowledgements per sender.

use opora_domain::channel::{ChannelKind, PayloadSource, PayloadStatus};
use opora_domain::{CaseId, ChannelId, DomainError, MessageId, PayloadId, Timestamp};
use serde::Serialize;

use crate::db::{Conn, DbError, Row, Value};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payload {
    pub id: PayloadId,
    pub channel_id: ChannelId,
    pub source: PayloadSource,
    pub recipients: Vec<String>,
    pub size: i64,
    pub sha256: String,
    pub status: PayloadStatus,
    pub error: Option<String>,
    pub attempts: i64,
    /// The key it was filed under (an e-mail's Message-ID).
    pub external_id: Option<String>,
    pub case_id: Option<CaseId>,
    pub message_row: Option<MessageId>,
    pub received_at: Timestamp,
    pub processed_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, channel_id, source, recipients, size, sha256, status, error, attempts, external_id, case_id, message_row, received_at, processed_at";

fn from_row(r: &Row<'_>) -> Result<Payload, DbError> {
    let recipients: String = r.get(3)?;
    Ok(Payload {
        id: r.get(0)?,
        channel_id: r.get(1)?,
        source: r.parse(2, PayloadSource::parse)?,
        recipients: recipients.lines().map(str::to_owned).collect(),
        size: r.get(4)?,
        sha256: r.get(5)?,
        status: r.parse(6, PayloadStatus::parse)?,
        error: r.get(7)?,
        attempts: r.get(8)?,
        external_id: r.get(9)?,
        case_id: r.get(10)?,
        message_row: r.get(11)?,
        received_at: r.get(12)?,
        processed_at: r.get(13)?,
    })
}

/// A received payload whose bytes are already in the blob store.
#[derive(Debug, Clone)]
pub struct NewPayload {
    pub channel_id: ChannelId,
    pub source: PayloadSource,
    pub recipients: Vec<String>,
    pub size: i64,
    pub sha256: String,
}

/// Records a received payload; it waits as `received` until the intake processes it.
pub fn record(tx: &mut Tx<'_>, new: &NewPayload) -> Result<PayloadId> {
    let now = tx.now;
    let recipients = new.recipients.join("\n");
    Ok(PayloadId(tx.int(
        "insert into inbound_payloads (channel_id, source, recipients, size, sha256, status, received_at) values ($1, $2, $3, $4, $5, $6, $7) returning id",
        &[
            new.channel_id.into(),
            new.source.as_str().into(),
            recipients.as_str().into(),
            new.size.into(),
            new.sha256.as_str().into(),
            PayloadStatus::Received.as_str().into(),
            now.into(),
        ],
    )?))
}

/// A payload, locked until the transaction ends (PostgreSQL): two nodes or workers filing the
/// same payload take turns, and the second finds it filed.
pub fn get_for_update(tx: &mut Tx<'_>, id: PayloadId) -> Result<Payload> {
    let lock = match tx.dialect() {
        crate::db::Dialect::Postgres => " for update",
        crate::db::Dialect::Sqlite => "",
    };
    tx.opt(&format!("select {COLUMNS} from inbound_payloads where id = $1{lock}"), &[id.into()], from_row)?
        .ok_or_else(|| DomainError::NotFound("payload").into())
}

pub fn get(conn: &mut dyn Conn, id: PayloadId) -> Result<Payload> {
    conn.opt(&format!("select {COLUMNS} from inbound_payloads where id = $1"), &[id.into()], from_row)?
        .ok_or_else(|| DomainError::NotFound("payload").into())
}

/// Received payloads due for processing, oldest first.
pub fn waiting(conn: &mut dyn Conn, now: Timestamp, limit: i64) -> Result<Vec<Payload>> {
    Ok(conn.all(
        &format!(
            "select {COLUMNS} from inbound_payloads where status = 'received' and (retry_at is null or retry_at <= $1) order by id limit $2"
        ),
        &[now.into(), limit.into()],
        from_row,
    )?)
}

/// Whether anything still waits for processing (for tests and benchmarks).
pub fn waiting_count(conn: &mut dyn Conn) -> Result<i64> {
    Ok(conn.int("select count(*) from inbound_payloads where status = 'received'", &[])?)
}

/// Recent payloads of one kind of channel, newest first, optionally in one state; `before`
/// pages back.
pub fn list(
    conn: &mut dyn Conn,
    kind: ChannelKind,
    status: Option<PayloadStatus>,
    before: Option<PayloadId>,
    limit: i64,
) -> Result<Vec<Payload>> {
    let mut sql =
        format!("select {COLUMNS} from inbound_payloads where id < $1 and channel_id in (select id from channels where kind = $2)");
    let mut params: Vec<Value<'_>> = vec![before.map_or(i64::MAX, |b| b.0).into(), kind.as_str().into()];
    if let Some(status) = status {
        sql.push_str(" and status = $3");
        params.push(status.as_str().into());
    }
    sql.push_str(&format!(" order by id desc limit ${}", params.len() + 1));
    params.push(limit.into());
    Ok(conn.all(&sql, &params, from_row)?)
}

/// Payloads of one kind of channel per state.
pub fn counts(conn: &mut dyn Conn, kind: ChannelKind) -> Result<Vec<(PayloadStatus, i64)>> {
    Ok(conn.all(
        "select status, count(*) from inbound_payloads where channel_id in (select id from channels where kind = $1) group by status order by status",
        &[kind.as_str().into()],
        |r| Ok((r.parse(0, PayloadStatus::parse)?, r.get(1)?)),
    )?)
}

/// Sets the outcome of processing a message.
pub fn finish(
    tx: &mut Tx<'_>,
    id: PayloadId,
    status: PayloadStatus,
    error: Option<&str>,
    key: Option<&str>,
    case: Option<CaseId>,
    message: Option<MessageId>,
) -> Result<()> {
    let now = tx.now;
    let error: Option<String> = error.map(|e| e.chars().take(2000).collect());
    tx.execute(
        "update inbound_payloads set status = $2, error = $3, external_id = coalesce($4, external_id), case_id = $5, message_row = $6,
                processed_at = $7, retry_at = null where id = $1",
        &[id.into(), status.as_str().into(), error.as_deref().into(), key.into(), case.into(), message.into(), now.into()],
    )?;
    Ok(())
}

/// A payload that cannot be filed (unreadable, no usable content): kept with its bytes for an
/// admin to look at and process again.
pub fn quarantine(tx: &mut Tx<'_>, id: PayloadId, error: &str) -> Result<()> {
    finish(tx, id, PayloadStatus::Quarantined, Some(error), None, None, None)
}

/// A transient failure (the database was busy, a blob could not be read): tried again later.
pub fn postpone(tx: &mut Tx<'_>, id: PayloadId, error: &str, retry_at: Timestamp) -> Result<i64> {
    let error: String = error.chars().take(2000).collect();
    tx.execute(
        "update inbound_payloads set attempts = attempts + 1, error = $2, retry_at = $3 where id = $1 and status = 'received'",
        &[id.into(), error.as_str().into(), retry_at.into()],
    )?;
    Ok(get(&mut **tx, id)?.attempts)
}

/// Sends a quarantined or ignored payload through processing again (after a fix or by an
/// admin's decision).
pub fn reprocess(tx: &mut Tx<'_>, id: PayloadId) -> Result<Payload> {
    let raw = get(&mut **tx, id)?;
    if !matches!(raw.status, PayloadStatus::Quarantined | PayloadStatus::Ignored) {
        return Err(DomainError::Conflict("mail_not_quarantined").into());
    }
    tx.execute(
        "update inbound_payloads set status = 'received', error = null, attempts = 0, retry_at = null, processed_at = null where id = $1",
        &[id.into()],
    )?;
    get(&mut **tx, id)
}

/// When a sender's (`kind:value`) current hour of acknowledgements started and how many it got.
pub fn acknowledgement_window(conn: &mut dyn Conn, identity: &str) -> Result<Option<(i64, i64)>> {
    Ok(conn
        .opt("select window_start, sent from acknowledgements where identity = $1", &[identity.into()], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

pub fn record_acknowledgement(tx: &mut Tx<'_>, identity: &str, window_start: i64, sent: i64) -> Result<()> {
    tx.execute(
        "insert into acknowledgements (identity, window_start, sent) values ($1, $2, $3)
         on conflict (identity) do update set window_start = excluded.window_start, sent = excluded.sent",
        &[identity.into(), window_start.into(), sent.into()],
    )?;
    Ok(())
}
