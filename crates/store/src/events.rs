//! The event log: appending to it inside a write, reading it back (case timelines, stream
//! resumption), and the in-process bus that carries committed events to live subscribers.

use std::sync::Arc;

use opora_domain::event::{Actor, ActorKind, Event, EventData};
use opora_domain::{CaseId, CustomerId, EventId};
use tokio::sync::broadcast;

use crate::db::{Conn, DbError, Row, placeholders};
use crate::{Result, Tx};

const COLUMNS: &str = "id, kind, case_id, customer_id, actor_kind, actor_id, data, created_at";

pub(crate) fn from_row(r: &Row<'_>) -> Result<Event, DbError> {
    let kind: String = r.get(1)?;
    let data: String = r.get(6)?;
    let payload = serde_json::from_str(&data).map_err(|e| DbError::new(format!("event data: {e}")))?;
    Ok(Event {
        id: r.get(0)?,
        data: EventData::from_parts(&kind, payload).map_err(|e| DbError::new(format!("event {kind}: {e}")))?,
        case_id: r.get(2)?,
        customer_id: r.get(3)?,
        actor: Actor { kind: r.parse(4, ActorKind::parse)?, id: r.get(5)? },
        created_at: r.get(7)?,
    })
}

/// Appends an event. It reaches the live stream only once the transaction commits.
pub fn append(tx: &mut Tx<'_>, case_id: Option<CaseId>, customer_id: Option<CustomerId>, actor: Actor, data: EventData) -> Result<Event> {
    let (kind, payload) = (data.kind(), data.payload().to_string());
    let now = tx.now;
    let id = tx.int(
        "insert into events (kind, case_id, customer_id, actor_kind, actor_id, data, created_at) values ($1, $2, $3, $4, $5, $6, $7) returning id",
        &[kind.as_str().into(), case_id.into(), customer_id.into(), actor.kind.as_str().into(), actor.id.into(), payload.as_str().into(), now.into()],
    )?;
    let event = Event { id: EventId(id), case_id, customer_id, actor, data, created_at: now };
    tx.events.push(event.clone());
    Ok(event)
}

/// A case's timeline, oldest first.
pub fn for_case(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<Event>> {
    Ok(conn.all(&format!("select {COLUMNS} from events where case_id = $1 order by id"), &[case.into()], from_row)?)
}

/// Events after `after`, oldest first, at most `limit`: how a stream resumes after a reconnect.
pub fn after(conn: &mut dyn Conn, after: EventId, limit: i64) -> Result<Vec<Event>> {
    Ok(conn.all(&format!("select {COLUMNS} from events where id > $1 order by id limit $2"), &[after.into(), limit.into()], from_row)?)
}

pub fn by_ids(conn: &mut dyn Conn, ids: &[i64]) -> Result<Vec<Event>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("select {COLUMNS} from events where id in ({}) order by id", placeholders(1, ids.len()));
    let params: Vec<_> = ids.iter().map(|&id| id.into()).collect();
    Ok(conn.all(&sql, &params, from_row)?)
}

pub fn latest_id(conn: &mut dyn Conn) -> Result<EventId> {
    Ok(EventId(conn.int("select coalesce(max(id), 0) from events", &[])?))
}

/// Fans committed events out to live subscribers (the SSE stream, pollers watching their
/// settings). A subscriber that falls behind is told so and re-reads the log from where it
/// stopped.
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
