//! Notifications: the events that concern an agent personally — a case assigned or handed to
//! them, being pulled into a case, the customer answering on a case they own or help with, a
//! missed deadline on their case, a reply of theirs that could not be delivered. Written with the event, in the same transaction.

use opora_domain::event::{ActorKind, Event, EventKind};
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

fn agent_in(data: &serde_json::Value, key: &str) -> Option<AgentId> {
    data[key].as_i64().map(AgentId)
}

/// Who an event concerns, never counting the one who caused it.
fn recipients(tx: &mut Tx<'_>, event: &Event) -> Result<Vec<AgentId>> {
    let mut agents = match event.kind {
        EventKind::CaseOwnerAssigned => agent_in(&event.data, "owner_id").into_iter().collect(),
        EventKind::CaseOwnerTransferred => agent_in(&event.data, "to").into_iter().collect(),
        EventKind::CaseCollaboratorAdded => agent_in(&event.data, "agent_id").into_iter().collect(),
        EventKind::CaseDeadlineMissed => agent_in(&event.data, "owner_id").into_iter().collect(),
        // A reply that did not reach the customer: its author and the case's owner must know.
        EventKind::MessageDeliveryChanged if event.data["status"] == "failed" => match event.case_id {
            Some(case) => tx.all(
                "select owner_id from cases where id = $1 and owner_id is not null
                 union select author_agent_id from messages where id = $2 and author_agent_id is not null",
                &[case.into(), event.data["message_id"].as_i64().unwrap_or(0).into()],
                |r| r.get::<AgentId>(0),
            )?,
            None => Vec::new(),
        },
        EventKind::MessageAdded if event.data["direction"] == "inbound" => match event.case_id {
            Some(case) => tx.all(
                "select owner_id from cases where id = $1 and owner_id is not null
                 union select agent_id from case_collaborators where case_id = $1",
                &[case.into()],
                |r| r.get::<AgentId>(0),
            )?,
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    if event.actor.kind == ActorKind::Agent {
        agents.retain(|a| Some(a.0) != event.actor.id);
    }
    agents.sort();
    agents.dedup();
    Ok(agents)
}

pub(crate) fn for_event(tx: &mut Tx<'_>, event: &Event) -> Result<()> {
    for agent in recipients(tx, event)? {
        tx.execute(
            "insert into notifications (agent_id, event_id, case_id, kind, created_at) values ($1, $2, $3, $4, $5)",
            &[agent.into(), event.id.into(), event.case_id.into(), event.kind.as_str().into(), event.created_at.into()],
        )?;
    }
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
