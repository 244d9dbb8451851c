//! The event log as callers read it: a case's timeline, the feed integrations poll, the live
//! stream, and the wire form of an event that the API and webhooks share.

use std::sync::Arc;

use opora_domain::case::ActingAgent;
use opora_domain::event::{ActorKind, Event};
use opora_domain::{AgentId, CaseId, CustomerId, EventId};
use opora_store::{case_list, events, names};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{App, Names, Result};

/// The names behind the actors of these events.
pub fn actor_names(conn: &mut dyn opora_store::db::Conn, events: &[Event]) -> opora_store::Result<Names> {
    let agents: Vec<AgentId> = events.iter().filter_map(|e| e.actor.agent_id()).collect();
    let customers: Vec<CustomerId> =
        events.iter().filter(|e| e.actor.kind == ActorKind::Customer).filter_map(|e| e.actor.id.map(CustomerId)).collect();
    names::load(conn, &agents, &customers, false)
}

/// An event as the API, the stream and webhooks show it.
pub fn wire(event: &Event, names: &Names) -> Value {
    let name = match (event.actor.kind, event.actor.id) {
        (ActorKind::Agent, Some(id)) => Some(names.agent(AgentId(id)).name),
        (ActorKind::Customer, Some(id)) => Some(names.customer(CustomerId(id))),
        _ => None,
    };
    json!({
        "id": event.id,
        "kind": event.kind().as_str(),
        "case_id": event.case_id,
        "customer_id": event.customer_id,
        "actor": {"kind": event.actor.kind.as_str(), "id": event.actor.id, "name": name},
        "data": event.data.payload(),
        "created_at": event.created_at.to_rfc3339(),
    })
}

pub struct Events<'a>(&'a App);

impl App {
    pub fn events(&self) -> Events<'_> {
        Events(self)
    }
}

impl Events<'_> {
    /// A case's timeline, oldest first.
    pub async fn of_case(&self, reader: ActingAgent, case: CaseId) -> Result<(Vec<Event>, Names)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                crate::cases::access::seen(conn, reader, case, rules)?;
                let found = events::for_case(conn, case)?;
                let names = actor_names(conn, &found)?;
                Ok((found, names))
            })
            .await
    }

    /// Events after `after`, oldest first, at most `limit`.
    pub async fn after(&self, after: EventId, limit: i64) -> Result<Vec<Event>> {
        self.0.read(move |conn| events::after(conn, after, limit)).await
    }

    /// Of `found`, the events `reader` may see (those of cases they do not see are left out),
    /// with the names of their actors.
    pub async fn shown(&self, reader: ActingAgent, mut found: Vec<Event>) -> Result<(Vec<Event>, Names)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                if let Some(sight) = crate::cases::access::sight(conn, reader, rules)? {
                    let mut ids: Vec<CaseId> = found.iter().filter_map(|e| e.case_id).collect();
                    ids.sort();
                    ids.dedup();
                    let seen = case_list::seen_ids(conn, &ids, &sight)?;
                    found.retain(|e| e.case_id.is_none_or(|id| seen.contains(&id)));
                }
                let names = actor_names(conn, &found)?;
                Ok((found, names))
            })
            .await
    }

    pub async fn latest_id(&self) -> Result<EventId> {
        self.0.read(events::latest_id).await
    }

    /// Committed events as they happen, on this node and (PostgreSQL) every other.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.0.core.store.bus().subscribe()
    }
}
