//! Jobs: side effects written to the outbox in the transaction that caused them, run later by
//! the handler registered for their kind, retried with backoff, dead-lettered at the end.
//!
//! A job kind is a payload type ([`JobPayload`]) and a handler ([`JobHandler`]), both beside the
//! use case they serve (`cases::deadline`, `webhooks`, `outbound`); `App::new` registers each.
//! The runner looks the handler up by kind.

mod runner;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
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

pub(crate) fn handler<P, F>(run: F) -> Arc<dyn JobHandler>
where
    P: JobPayload + Send + 'static,
    F: for<'a> Fn(&'a App, P, &'a Job) -> BoxFuture<'a, Outcome> + Send + Sync + 'static,
{
    Arc::new(Handler { run, _payload: std::marker::PhantomData })
}

/// The job handlers, by kind.
pub struct Jobs {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    pub(crate) webhook_client: opora_channels::webhook::LazyClient,
}

impl Jobs {
    /// No handlers yet: `App::new` registers every kind.
    pub fn new(webhook_client: opora_channels::webhook::LazyClient) -> Self {
        Jobs { handlers: HashMap::new(), webhook_client }
    }

    pub fn register(&mut self, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(handler.kind(), handler);
    }

    pub fn handler(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}
