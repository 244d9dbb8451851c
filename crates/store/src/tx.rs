//! A write transaction as store code sees it: the connection, the time of the change, and the
//! events and jobs the change produced (written in the same transaction, announced after commit).

use std::ops::{Deref, DerefMut};

use opora_domain::event::{Actor, Event, EventKind};
use opora_domain::{CaseId, CustomerId, EventId, Timestamp};
use serde_json::Value;

use crate::StoreError;
use crate::db::Conn;

pub struct Tx<'c> {
    conn: &'c mut dyn Conn,
    pub now: Timestamp,
    pub(crate) events: Vec<Event>,
    pub(crate) jobs_added: bool,
    /// Active webhooks, looked up once per transaction that emits events.
    webhooks: Option<Vec<crate::webhooks::Webhook>>,
}

impl<'c> Tx<'c> {
    pub(crate) fn new(conn: &'c mut dyn Conn) -> Self {
        Self { conn, now: Timestamp::now(), events: Vec::new(), jobs_added: false, webhooks: None }
    }

    /// Records an event. It becomes visible to the live stream only once the transaction commits.
    pub fn emit(
        &mut self,
        kind: EventKind,
        case_id: Option<CaseId>,
        customer_id: Option<CustomerId>,
        actor: Actor,
        data: Value,
    ) -> Result<EventId, StoreError> {
        let text = data.to_string();
        let id = self.conn.int(
            "insert into events (kind, case_id, customer_id, actor_kind, actor_id, data, created_at) values ($1, $2, $3, $4, $5, $6, $7) returning id",
            &[kind.as_str().into(), case_id.into(), customer_id.into(), actor.kind.as_str().into(), actor.id.into(), text.as_str().into(), self.now.into()],
        )?;
        let event = Event { id: EventId(id), kind, case_id, customer_id, actor, data, created_at: self.now };
        if self.webhooks.is_none() {
            self.webhooks = Some(crate::webhooks::active(&mut *self.conn)?);
        }
        let hooks = self.webhooks.take().unwrap_or_default();
        let enqueued = crate::webhooks::enqueue_for(self, &hooks, &event);
        self.webhooks = Some(hooks);
        enqueued?;
        crate::notifications::for_event(self, &event)?;
        self.events.push(event);
        Ok(EventId(id))
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

impl<'c> Deref for Tx<'c> {
    type Target = dyn Conn + 'c;
    fn deref(&self) -> &Self::Target {
        self.conn
    }
}

impl DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.conn
    }
}
