//! Reply templates (macros) as rows: prepared answers with variables such as
//! `{{customer.name}}`; filling them in is the domain's `template::fill`.

use opora_domain::{AgentId, DomainError, Timestamp};
use serde::Serialize;

use crate::db::{Conn, DbError, Row};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyTemplate {
    pub id: i64,
    pub name: String,
    pub body: String,
    pub position: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, name, body, position, created_at, updated_at";

fn from_row(r: &Row<'_>) -> Result<ReplyTemplate, DbError> {
    Ok(ReplyTemplate { id: r.get(0)?, name: r.get(1)?, body: r.get(2)?, position: r.get(3)?, created_at: r.get(4)?, updated_at: r.get(5)? })
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<ReplyTemplate>> {
    Ok(conn.all(&format!("select {COLUMNS} from reply_templates order by position, name, id"), &[], from_row)?)
}

pub fn get(conn: &mut dyn Conn, id: i64) -> Result<ReplyTemplate> {
    conn.opt(&format!("select {COLUMNS} from reply_templates where id = $1"), &[id.into()], from_row)?
        .ok_or_else(|| DomainError::NotFound("reply_template").into())
}

pub fn create(tx: &mut Tx<'_>, name: &str, body: &str, position: i64, author: AgentId) -> Result<ReplyTemplate> {
    let now = tx.now;
    let id = tx.int(
        "insert into reply_templates (name, body, position, created_by, created_at, updated_at) values ($1, $2, $3, $4, $5, $5) returning id",
        &[name.into(), body.into(), position.into(), author.into(), now.into()],
    )?;
    get(&mut **tx, id)
}

pub fn update(tx: &mut Tx<'_>, id: i64, name: &str, body: &str, position: i64) -> Result<ReplyTemplate> {
    get(&mut **tx, id)?;
    let now = tx.now;
    tx.execute(
        "update reply_templates set name = $2, body = $3, position = $4, updated_at = $5 where id = $1",
        &[id.into(), name.into(), body.into(), position.into(), now.into()],
    )?;
    get(&mut **tx, id)
}

pub fn delete(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    get(&mut **tx, id)?;
    tx.execute("delete from reply_templates where id = $1", &[id.into()])?;
    Ok(())
}
