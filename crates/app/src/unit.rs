//! The unit of work of a use case: one transaction, with what the transaction sets off.
//! Recording an event runs the registered listeners right there, so what they write commits or
//! rolls back with the change itself.

use opora_domain::event::{Actor, Event, EventData};
use opora_domain::{CaseId, CustomerId, JobId, Timestamp};
use opora_store::db::Conn;
use opora_store::jobs::NewJob;
use opora_store::webhooks::Webhook;
use opora_store::{Result, Tx, events, jobs};

use crate::{AppConfig, Core};

pub struct Unit<'t, 'c> {
    tx: &'t mut Tx<'c>,
    core: &'t Core,
    /// Active webhooks, read at the first event of the transaction (the webhook listener's memo).
    pub(crate) webhooks: Option<Vec<Webhook>>,
}

impl<'t, 'c> Unit<'t, 'c> {
    pub(crate) fn new(tx: &'t mut Tx<'c>, core: &'t Core) -> Self {
        Self { tx, core, webhooks: None }
    }

    pub fn tx(&mut self) -> &mut Tx<'c> {
        self.tx
    }

    pub fn conn(&mut self) -> &mut dyn Conn {
        self.tx.conn()
    }

    /// Moves the transaction's clock: the demo writes two weeks of history in one go.
    pub(crate) fn set_now(&mut self, at: Timestamp) {
        self.tx.now = at;
    }

    /// The moment of the change: one clock for everything the transaction writes.
    pub fn now(&self) -> Timestamp {
        self.tx.now
    }

    pub fn config(&self) -> &'t AppConfig {
        &self.core.config
    }

    /// The channel drivers, by kind.
    pub(crate) fn drivers(&self) -> &'t crate::channels::Drivers {
        &self.core.drivers
    }

    /// The customer-facing texts (acknowledgements) in each language.
    pub fn texts(&self) -> &'t dyn crate::Texts {
        self.core.texts.as_ref()
    }

    /// Records an event and lets every listener act on it in this transaction.
    pub fn emit(&mut self, case: Option<CaseId>, customer: Option<CustomerId>, actor: Actor, data: EventData) -> Result<Event> {
        let event = events::append(self.tx, case, customer, actor, data)?;
        let core = self.core;
        for listener in core.listeners.iter() {
            listener.on_event(self, &event)?;
        }
        Ok(event)
    }

    /// Enqueues a job in this transaction; `None` when one with the same unique key waits.
    pub fn enqueue(&mut self, job: NewJob) -> Result<Option<JobId>> {
        jobs::enqueue(self.tx, job)
    }
}
