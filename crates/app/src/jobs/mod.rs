//! Jobs: side effects written to the outbox in the transaction that caused them, run later by
//! the handler registered for their kind, retried with backoff, dead-lettered at the end.
//!
//! A job kind is a payload type ([`JobPayload`]) and a handler ([`JobHandler`]); both are
//! registered here, in [`Jobs::standard`]. The runner looks the handler up by kind.

mod runner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use opora_domain::{CaseId, EventId, MessageId, Timestamp, WebhookId};
use opora_store::jobs::{Job, NewJob};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::App;
pub use runner::{NAME, run};

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Try again with the usual backoff.
    Retry(String),
    /// Try again no sooner than this (the provider said how long to wait).
    RetryAfter(String, Duration),
}

/// The typed payload of a job kind.
pub trait JobPayload: Serialize + DeserializeOwned {
    const KIND: &'static str;

    /// A job carrying this payload.
    fn job(&self) -> NewJob {
        NewJob::new(Self::KIND, serde_json::to_value(self).unwrap_or_default())
    }

    fn from_job(job: &Job) -> Result<Self, String> {
        serde_json::from_value(job.payload.clone()).map_err(|e| format!("malformed {} payload: {e}", Self::KIND))
    }
}

/// Runs the jobs of one kind.
pub trait JobHandler: Send + Sync {
    fn kind(&self) -> &'static str;
    fn run<'a>(&'a self, app: &'a App, job: &'a Job) -> BoxFuture<'a, Outcome>;
}

/// The check at a case's deadline (`sla.check`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DeadlineCheck {
    pub case_id: CaseId,
    /// Milliseconds: the deadline this check was scheduled for (a moved deadline has its own).
    pub deadline_at: i64,
}

impl JobPayload for DeadlineCheck {
    const KIND: &'static str = "sla.check";
}

impl DeadlineCheck {
    pub fn at(case_id: CaseId, deadline: Timestamp) -> NewJob {
        DeadlineCheck { case_id, deadline_at: deadline.millis() }
            .job()
            .unique(format!("sla:{case_id}:{}", deadline.millis()))
            .at(deadline)
            .attempts(5)
    }
}

/// One event to one webhook endpoint (`webhook.deliver`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct WebhookDelivery {
    pub webhook_id: WebhookId,
    pub event_id: EventId,
}

impl JobPayload for WebhookDelivery {
    const KIND: &'static str = "webhook.deliver";
}

/// An outbound message to send through its case's channel (`message.send`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MessageSend {
    pub message_id: MessageId,
}

impl JobPayload for MessageSend {
    const KIND: &'static str = "message.send";
}

impl MessageSend {
    pub fn of(message_id: MessageId) -> NewJob {
        MessageSend { message_id }.job().unique(format!("message:{message_id}")).attempts(8)
    }
}

/// A handler for payload `P` made of an async function over the app.
struct Handler<P, F> {
    run: F,
    _payload: std::marker::PhantomData<fn() -> P>,
}

impl<P, F> JobHandler for Handler<P, F>
where
    P: JobPayload + Send + 'static,
    F: for<'a> Fn(&'a App, P, &'a Job) -> BoxFuture<'a, Outcome> + Send + Sync,
{
    fn kind(&self) -> &'static str {
        P::KIND
    }

    fn run<'a>(&'a self, app: &'a App, job: &'a Job) -> BoxFuture<'a, Outcome> {
        match P::from_job(job) {
            Ok(payload) => (self.run)(app, payload, job),
            // A payload that cannot be read never will be: it is recorded and retried until dead.
            Err(error) => Box::pin(async move { Outcome::Retry(error) }),
        }
    }
}

fn handler<P, F>(run: F) -> Arc<dyn JobHandler>
where
    P: JobPayload + Send + 'static,
    F: for<'a> Fn(&'a App, P, &'a Job) -> BoxFuture<'a, Outcome> + Send + Sync + 'static,
{
    Arc::new(Handler { run, _payload: std::marker::PhantomData })
}

fn check_deadline<'a>(app: &'a App, check: DeadlineCheck, _: &'a Job) -> BoxFuture<'a, Outcome> {
    Box::pin(crate::cases::deadline::run(app, check))
}

fn deliver_webhook<'a>(app: &'a App, delivery: WebhookDelivery, job: &'a Job) -> BoxFuture<'a, Outcome> {
    Box::pin(crate::webhooks::deliver(app, delivery, job.attempts))
}

fn send_message<'a>(app: &'a App, send: MessageSend, job: &'a Job) -> BoxFuture<'a, Outcome> {
    Box::pin(crate::outbound::send(app, send, job.attempts, job.max_attempts))
}

/// The job handlers, by kind.
pub struct Jobs {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    pub(crate) webhook_client: Result<opora_channels::webhook::Client, String>,
}

impl Jobs {
    /// Every job kind Opora runs.
    pub fn standard(webhook_client: Result<opora_channels::webhook::Client, String>) -> Self {
        let mut jobs = Jobs { handlers: HashMap::new(), webhook_client };
        jobs.register(handler(check_deadline));
        jobs.register(handler(deliver_webhook));
        jobs.register(handler(send_message));
        jobs
    }

    pub fn register(&mut self, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(handler.kind(), handler);
    }

    pub fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}
