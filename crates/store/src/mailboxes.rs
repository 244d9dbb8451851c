//! Mailboxes: the support addresses, their IMAP and SMTP servers, and which one takes mail that
//! names no mailbox (the default).

use opora_domain::mail::{Mailbox, MailboxSpec, Security, Server};
use opora_domain::{ChannelId, DomainError};

use crate::db::{Conn, DbError, Row, Value};
use crate::{Result, Tx};

const COLUMNS: &str = "id, name, address, sender_name, imap_host, imap_port, imap_security, imap_user, imap_password, imap_folder, \
     imap_archive_folder, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password, accept_invalid_certs, acknowledge, \
     plus_addressing, active, is_default, fetch_error, fetched_at, created_at, updated_at";

fn server(r: &Row<'_>, first: usize) -> Result<Option<Server>, DbError> {
    let Some(host) = r.get::<Option<String>>(first)? else { return Ok(None) };
    let port: i64 = r.get::<Option<i64>>(first + 1)?.unwrap_or(0);
    Ok(Some(Server {
        host,
        port: u16::try_from(port).unwrap_or(0),
        security: r.parse(first + 2, Security::parse)?,
        user: r.get(first + 3)?,
        password: r.get(first + 4)?,
    }))
}

fn from_row(r: &Row<'_>) -> Result<Mailbox, DbError> {
    Ok(Mailbox {
        id: r.get(0)?,
        name: r.get(1)?,
        address: r.get(2)?,
        sender_name: r.get(3)?,
        imap: server(r, 4)?,
        imap_folder: r.get(9)?,
        imap_archive_folder: r.get(10)?,
        smtp: server(r, 11)?,
        accept_invalid_certs: r.get(16)?,
        acknowledge: r.get(17)?,
        plus_addressing: r.get(18)?,
        active: r.get(19)?,
        is_default: r.get(20)?,
        fetch_error: r.get(21)?,
        fetched_at: r.get(22)?,
        created_at: r.get(23)?,
        updated_at: r.get(24)?,
    })
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<Mailbox>> {
    Ok(conn.all(&format!("select {COLUMNS} from mailboxes order by id"), &[], from_row)?)
}

pub fn get(conn: &mut dyn Conn, id: ChannelId) -> Result<Mailbox> {
    conn.opt(&format!("select {COLUMNS} from mailboxes where id = $1"), &[id.into()], from_row)?
        .ok_or_else(|| DomainError::NotFound("mailbox").into())
}

pub fn by_name(conn: &mut dyn Conn, name: &str) -> Result<Option<Mailbox>> {
    Ok(conn.opt(&format!("select {COLUMNS} from mailboxes where name = $1"), &[name.into()], from_row)?)
}

/// The mailbox that takes mail when none is named; a fresh installation has one.
pub fn default(conn: &mut dyn Conn) -> Result<Mailbox> {
    let sql = format!("select {COLUMNS} from mailboxes where is_default = $1");
    conn.opt(&sql, &[true.into()], from_row)?.ok_or_else(|| DomainError::NotFound("mailbox").into())
}

/// The mailbox an address belongs to (plus tags ignored), if any.
pub fn for_address(conn: &mut dyn Conn, address: &str) -> Result<Option<Mailbox>> {
    Ok(list(conn)?.into_iter().find(|m| m.owns(address)))
}

fn server_values(server: Option<&Server>) -> [Value<'_>; 5] {
    match server {
        Some(s) => [
            s.host.as_str().into(),
            i64::from(s.port).into(),
            s.security.as_str().into(),
            s.user.as_deref().into(),
            s.password.as_deref().into(),
        ],
        None => [Value::Null, Value::Null, Security::Tls.as_str().into(), Value::Null, Value::Null],
    }
}

fn values<'a>(spec: &'a MailboxSpec) -> Vec<Value<'a>> {
    let mut values: Vec<Value<'a>> = vec![spec.name.as_str().into(), spec.address.as_str().into(), spec.sender_name.as_str().into()];
    values.extend(server_values(spec.imap.as_ref()));
    values.push(spec.imap_folder.as_str().into());
    values.push(spec.imap_archive_folder.as_deref().into());
    values.extend(server_values(spec.smtp.as_ref()));
    values.extend::<[Value<'a>; 5]>([
        spec.accept_invalid_certs.into(),
        spec.acknowledge.into(),
        spec.plus_addressing.into(),
        spec.active.into(),
        spec.is_default.into(),
    ]);
    values
}

fn name_taken(e: DbError) -> crate::StoreError {
    if e.unique_violation { DomainError::field("name", "already_exists").into() } else { e.into() }
}

/// Only one mailbox is the default: making one the default takes it from the others.
fn take_default(tx: &mut Tx<'_>, spec: &MailboxSpec, except: Option<ChannelId>) -> Result<()> {
    if spec.is_default {
        tx.execute(
            "update mailboxes set is_default = $1 where is_default = $2 and id <> $3",
            &[false.into(), true.into(), except.unwrap_or(ChannelId(0)).into()],
        )?;
    }
    Ok(())
}

pub fn create(tx: &mut Tx<'_>, spec: MailboxSpec) -> Result<Mailbox> {
    take_default(tx, &spec, None)?;
    let now = tx.now;
    let mut params = values(&spec);
    params.push(now.into());
    let id = ChannelId(
        tx.int(
            "insert into mailboxes (name, address, sender_name, imap_host, imap_port, imap_security, imap_user, imap_password, imap_folder,
                                    imap_archive_folder, smtp_host, smtp_port, smtp_security, smtp_user, smtp_password, accept_invalid_certs,
                                    acknowledge, plus_addressing, active, is_default, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21) returning id",
            &params,
        )
        .map_err(name_taken)?,
    );
    get(&mut **tx, id)
}

pub fn update(tx: &mut Tx<'_>, id: ChannelId, spec: MailboxSpec) -> Result<Mailbox> {
    let before = get(&mut **tx, id)?;
    if before.is_default && !spec.is_default {
        return Err(DomainError::field("is_default", "default_mailbox_required").into());
    }
    take_default(tx, &spec, Some(id))?;
    let now = tx.now;
    let mut params = values(&spec);
    params.push(now.into());
    params.push(id.into());
    // A mailbox pointed at another server or folder starts reading it afresh.
    if before.imap != spec.imap || before.imap_folder != spec.imap_folder {
        tx.execute("delete from imap_state where mailbox_id = $1", &[id.into()])?;
    }
    tx.execute(
        "update mailboxes set name = $1, address = $2, sender_name = $3, imap_host = $4, imap_port = $5, imap_security = $6, imap_user = $7,
                imap_password = $8, imap_folder = $9, imap_archive_folder = $10, smtp_host = $11, smtp_port = $12, smtp_security = $13,
                smtp_user = $14, smtp_password = $15, accept_invalid_certs = $16, acknowledge = $17, plus_addressing = $18, active = $19,
                is_default = $20, fetch_error = null, updated_at = $21
         where id = $22",
        &params,
    )
    .map_err(name_taken)?;
    get(&mut **tx, id)
}

/// Removes a mailbox no mail refers to; one with history can only be switched off.
pub fn delete(tx: &mut Tx<'_>, id: ChannelId) -> Result<()> {
    let mailbox = get(&mut **tx, id)?;
    if mailbox.is_default {
        return Err(DomainError::Conflict("default_mailbox_required").into());
    }
    let used = tx.int(
        "select (select count(*) from raw_mails where mailbox_id = $1) + (select count(*) from cases where mailbox_id = $1)",
        &[id.into()],
    )?;
    if used > 0 {
        return Err(DomainError::Conflict("mailbox_in_use").into());
    }
    tx.execute("delete from mailboxes where id = $1", &[id.into()])?;
    Ok(())
}

/// What the fetcher last saw: `None` after a successful round, the error otherwise.
pub fn record_fetch(tx: &mut Tx<'_>, id: ChannelId, error: Option<&str>) -> Result<()> {
    let now = tx.now;
    let error: Option<String> = error.map(|e| e.chars().take(1000).collect());
    tx.execute("update mailboxes set fetch_error = $2, fetched_at = $3 where id = $1", &[id.into(), error.as_deref().into(), now.into()])?;
    Ok(())
}
