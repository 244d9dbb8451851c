//! Notifications as rows: an event that concerns an agent personally, and whether they have read
//! it. Who an event concerns is decided above the store.

use opora_domain::event::Event;
use opora_domain::{AgentId, CaseId, EventId, Timestamp};
use serde::Serialize;

use crate::db::{Conn, placeholders};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub event_id: EventId,
    pub case_id: Option<CaseId>,
    pub kind: String,
    pub read: bool,
    pub created_at: Timestamp,
}

/// Records that `event` concerns `agent`.
pub fn insert(tx: &mut Tx<'_>, agent: AgentId, event: &Event) -> Result<()> {
    tx.execute(
        "insert into notifications (agent_id, event_id, case_id, kind, created_at) values ($1, $2, $3, $4, $5)",
        &[agent.into(), event.id.into(), event.case_id.into(), event.kind().as_str().into(), event.created_at.into()],
    )?;
    Ok(())
}

pub fn recent(conn: &mut dyn Conn, agent: AgentId, limit: i64) -> Result<Vec<Notification>> {
    Ok(conn.all(
        "select id, event_id, case_id, kind, read_at, created_at from notifications where agent_id = $1 order by id desc limit $2",
        &[agent.into(), limit.into()],
        |r| {
            Ok(Notification {
                id: r.get(0)?,
                event_id: r.get(1)?,
                case_id: r.get(2)?,
                kind: r.get(3)?,
                read: r.get::<Option<i64>>(4)?.is_some(),
                created_at: r.get(5)?,
            })
        },
    )?)
}

pub fn unread_count(conn: &mut dyn Conn, agent: AgentId) -> Result<i64> {
    Ok(conn.int("select count(*) from notifications where agent_id = $1 and read_at is null", &[agent.into()])?)
}

/// Marks the given notifications (or all of them) read.
pub fn mark_read(tx: &mut Tx<'_>, agent: AgentId, ids: Option<&[i64]>) -> Result<u64> {
    let now = tx.now;
    Ok(match ids {
        None => tx.execute("update notifications set read_at = $2 where agent_id = $1 and read_at is null", &[agent.into(), now.into()])?,
        Some([]) => 0,
        Some(ids) => {
            let mut params = vec![agent.into(), now.into()];
            params.extend(ids.iter().map(|id| crate::db::Value::Int(*id)));
            let sql = format!(
                "update notifications set read_at = $2 where agent_id = $1 and read_at is null and id in ({})",
                placeholders(3, ids.len())
            );
            tx.execute(&sql, &params)?
        }
    })
}

/// Opening a case reads what concerned you about it.
pub fn mark_case_read(tx: &mut Tx<'_>, agent: AgentId, case: CaseId) -> Result<u64> {
    let now = tx.now;
    Ok(tx.execute(
        "update notifications set read_at = $3 where agent_id = $1 and case_id = $2 and read_at is null",
        &[agent.into(), case.into(), now.into()],
    )?)
}
