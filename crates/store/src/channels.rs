//! Channels as rows: the configured connections, their settings (JSON their driver reads), the
//! state they reported, and the cursor a poller keeps between rounds.

use opora_domain::channel::{Channel, ChannelKind, ChannelState};
use opora_domain::{ChannelId, DomainError};
use serde_json::Value;

use crate::db::{Conn, DbError, Row};
use crate::{Result, StoreError, Tx};

const COLUMNS: &str = "id, kind, name, settings, active, is_default, state, error, checked_at, created_at, updated_at";

/// A row, its settings still as stored (sealed).
fn from_row(r: &Row<'_>) -> Result<(Channel, String), DbError> {
    let channel = Channel {
        id: r.get(0)?,
        kind: r.parse(1, ChannelKind::parse)?,
        name: r.get(2)?,
        settings: Value::Null,
        active: r.get(4)?,
        is_default: r.get(5)?,
        state: r.parse(6, ChannelState::parse)?,
        error: r.get(7)?,
        checked_at: r.get(8)?,
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    };
    Ok((channel, r.get(3)?))
}

/// Channels `where` selects, their settings opened.
fn select(conn: &mut dyn Conn, condition: &str, params: &[crate::db::Value<'_>]) -> Result<Vec<Channel>> {
    let sealer = conn.sealer();
    let rows = conn.all(&format!("select {COLUMNS} from channels {condition} order by id"), params, from_row)?;
    let open = |(mut channel, stored): (Channel, String)| {
        match sealer.open(&stored) {
            Ok(settings) => {
                channel.settings = serde_json::from_str(&settings).map_err(|e| DbError::new(format!("channel settings: {e}")))?;
            }
            // Its key is not configured (a backup restored without it): the channel stays off and
            // says why until an admin enters its settings again; the others work on.
            Err(e) => {
                channel.active = false;
                channel.state = ChannelState::Broken;
                channel.error = Some(e.to_string());
            }
        }
        Ok(channel)
    };
    rows.into_iter().map(open).collect()
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<Channel>> {
    select(conn, "", &[])
}

pub fn of_kind(conn: &mut dyn Conn, kind: ChannelKind) -> Result<Vec<Channel>> {
    select(conn, "where kind = $1", &[kind.as_str().into()])
}

pub fn get(conn: &mut dyn Conn, id: ChannelId) -> Result<Channel> {
    select(conn, "where id = $1", &[id.into()])?.pop().ok_or_else(|| DomainError::NotFound("channel").into())
}

pub fn by_name(conn: &mut dyn Conn, name: &str) -> Result<Option<Channel>> {
    Ok(select(conn, "where name = $1", &[name.into()])?.pop())
}

/// The channel of a kind that takes what names no other (the default mailbox).
pub fn default_of(conn: &mut dyn Conn, kind: ChannelKind) -> Result<Option<Channel>> {
    Ok(select(conn, "where kind = $1 and is_default = $2", &[kind.as_str().into(), true.into()])?.pop())
}

/// A channel to insert or write over one, every property decided.
#[derive(Debug, Clone)]
pub struct ChannelSpec {
    pub kind: ChannelKind,
    pub name: String,
    pub settings: Value,
    pub active: bool,
    pub is_default: bool,
}

fn name_taken(e: DbError) -> StoreError {
    if e.unique_violation { DomainError::field("name", "already_exists").into() } else { e.into() }
}

/// Only one channel of a kind is the default: making one the default takes it from the others.
fn take_default(tx: &mut Tx<'_>, spec: &ChannelSpec, except: Option<ChannelId>) -> Result<()> {
    if spec.is_default {
        tx.execute(
            "update channels set is_default = $1 where kind = $2 and is_default = $3 and id <> $4",
            &[false.into(), spec.kind.as_str().into(), true.into(), except.unwrap_or(ChannelId(0)).into()],
        )?;
    }
    Ok(())
}

pub fn insert(tx: &mut Tx<'_>, spec: &ChannelSpec) -> Result<Channel> {
    take_default(tx, spec, None)?;
    let now = tx.now;
    let settings = tx.sealer().seal(&spec.settings.to_string())?;
    let id = tx
        .int(
            "insert into channels (kind, name, settings, active, is_default, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $6) returning id",
            &[spec.kind.as_str().into(), spec.name.as_str().into(), settings.as_str().into(), spec.active.into(), spec.is_default.into(), now.into()],
        )
        .map_err(name_taken)?;
    get(&mut **tx, ChannelId(id))
}

/// Writes a channel's name, settings and flags. A changed channel is working afresh, and one
/// pointed elsewhere (other settings) forgets where its poller stopped.
pub fn update(tx: &mut Tx<'_>, id: ChannelId, spec: &ChannelSpec) -> Result<Channel> {
    take_default(tx, spec, Some(id))?;
    let now = tx.now;
    // Settings are compared opened: sealing the same ones twice never gives the same text.
    let pointed_elsewhere = get(&mut **tx, id)?.settings != spec.settings;
    let settings = tx.sealer().seal(&spec.settings.to_string())?;
    tx.execute(
        "update channels set name = $2, cursor = case when $7 then null else cursor end, settings = $3, active = $4,
                is_default = $5, state = 'ok', error = null, updated_at = $6 where id = $1",
        &[
            id.into(),
            spec.name.as_str().into(),
            settings.as_str().into(),
            spec.active.into(),
            spec.is_default.into(),
            now.into(),
            pointed_elsewhere.into(),
        ],
    )
    .map_err(name_taken)?;
    get(&mut **tx, id)
}

/// Whether anything refers to the channel (received payloads, cases): it can then only be
/// switched off, not removed.
/// Whether anything refers to the channel: what it received, cases it carries, messages that went
/// through it (a reply on a case of no channel leaves by the default one).
pub fn in_use(conn: &mut dyn Conn, id: ChannelId) -> Result<bool> {
    let used = conn.int(
        "select (select count(*) from (select 1 from inbound_payloads where channel_id = $1 limit 1) p)
              + (select count(*) from (select 1 from cases where channel_id = $1 limit 1) c)
              + (select count(*) from (select 1 from messages where channel_id = $1 limit 1) m)",
        &[id.into()],
    )?;
    Ok(used > 0)
}

pub fn delete(tx: &mut Tx<'_>, id: ChannelId) -> Result<()> {
    tx.execute("delete from channels where id = $1", &[id.into()])?;
    Ok(())
}

/// How the channel last fared: `ok` clears the error.
pub fn record_state(tx: &mut Tx<'_>, id: ChannelId, state: ChannelState, error: Option<&str>) -> Result<()> {
    let now = tx.now;
    let error: Option<String> = error.map(|e| e.chars().take(1000).collect());
    tx.execute(
        "update channels set state = $2, error = $3, checked_at = $4 where id = $1",
        &[id.into(), state.as_str().into(), error.as_deref().into(), now.into()],
    )?;
    Ok(())
}

/// Where the channel's poller stopped.
pub fn cursor(conn: &mut dyn Conn, id: ChannelId) -> Result<Option<Value>> {
    let text: Option<String> = conn.opt("select cursor from channels where id = $1", &[id.into()], |r| r.get(0))?.flatten();
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub fn set_cursor(tx: &mut Tx<'_>, id: ChannelId, cursor: &Value) -> Result<()> {
    tx.execute("update channels set cursor = $2 where id = $1", &[id.into(), cursor.to_string().as_str().into()])?;
    Ok(())
}
