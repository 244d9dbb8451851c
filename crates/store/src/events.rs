//! The event log: reading it back (case timelines, stream resumption) and the in-process bus
//! that carries committed events to live subscribers.

use std::sync::Arc;

use opora_domain::event::{Actor, ActorKind, Event, EventKind};
use opora_domain::{CaseId, EventId};
use tokio::sync::broadcast;

use crate::db::{Conn, DbError, Row, placeholders};

const COLUMNS: &str = "id, kind, case_id, customer_id, actor_kind, actor_id, data, created_at";

pub(crate) fn from_row(r: &Row<'_>) -> Result<Event, DbError> {
    let data: String = r.get(6)?;
    Ok(Event {
        id: r.get(0)?,
        kind: r.parse(1, EventKind::parse)?,
        case_id: r.get(2)?,
        customer_id: r.get(3)?,
        actor: Actor { kind: r.parse(4, ActorKind::parse)?, id: r.get(5)? },
        data: serde_json::from_str(&data).map_err(|e| DbError::new(format!("event data: {e}")))?,
        created_at: r.get(7)?,
    })
}

/// A case's timeline, oldest first.
pub fn for_case(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<Event>, DbError> {
    conn.all(&format!("select {COLUMNS} from events where case_id = $1 order by id"), &[case.into()], from_row)
}

/// Events after `after`, oldest first, at most `limit`: how a stream resumes after a reconnect.
pub fn after(conn: &mut dyn Conn, after: EventId, limit: i64) -> Result<Vec<Event>, DbError> {
    conn.all(&format!("select {COLUMNS} from events where id > $1 order by id limit $2"), &[after.into(), limit.into()], from_row)
}

pub fn by_ids(conn: &mut dyn Conn, ids: &[i64]) -> Result<Vec<Event>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("select {COLUMNS} from events where id in ({}) order by id", placeholders(1, ids.len()));
    let params: Vec<_> = ids.iter().map(|&id| id.into()).collect();
    conn.all(&sql, &params, from_row)
}

pub fn latest_id(conn: &mut dyn Conn) -> Result<EventId, DbError> {
    Ok(EventId(conn.int("select coalesce(max(id), 0) from events", &[])?))
}

/// Fans committed events out to live subscribers (the SSE stream, webhooks). A subscriber that
/// falls behind is told so and re-reads the log from where it stopped.
#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self { sender: broadcast::channel(4096).0 }
    }

    pub fn publish(&self, events: Vec<Event>) {
        for event in events {
            // No subscribers is not an error: nobody is watching.
            let _ = self.sender.send(Arc::new(event));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn subscriber_count(&self) -> usize {
        self.sender.receiver_count()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}
