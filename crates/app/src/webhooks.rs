//! Outgoing webhooks: endpoints subscribed to event kinds, signed per Standard Webhooks. The
//! listener in `listeners::webhooks` enqueues a delivery per matching event; [`deliver`] runs
//! one attempt of it.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use opora_domain::event::{Actor, ChangeAction, EventData, WebhookChanged};
use opora_domain::{EventId, WebhookId};
use opora_store::events;
use opora_store::jobs::Job;
use opora_store::webhooks;
use serde_json::json;

pub use opora_channels::webhook::check_url;

use crate::jobs::{JobHandler, JobPayload, Outcome, handler};
use crate::{App, Error, Result, Unit};

pub use opora_store::webhooks::{Delivery, Webhook, WebhookSpec};

fn changed(u: &mut Unit<'_, '_>, id: WebhookId, action: ChangeAction, url: Option<String>, actor: Actor) -> opora_store::Result<()> {
    u.emit(None, None, actor, EventData::WebhookChanged(WebhookChanged { webhook_id: id, action, url })).map(|_| ())
}

pub struct Webhooks<'a>(&'a App);

impl App {
    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks(self)
    }
}

impl Webhooks<'_> {
    /// Whether endpoints may be on loopback and private networks (checked when one is saved).
    pub fn allow_internal(&self) -> bool {
        self.0.config().webhooks_allow_internal
    }

    pub async fn list(&self) -> Result<Vec<Webhook>> {
        self.0.read(webhooks::list).await
    }

    pub async fn get(&self, id: WebhookId) -> Result<Webhook> {
        self.0.read(move |conn| webhooks::get(conn, id)).await
    }

    /// Adds an endpoint with a new signing secret, returned this once.
    pub async fn create(&self, actor: Actor, spec: WebhookSpec) -> Result<(Webhook, String)> {
        let secret = opora_channels::webhook::new_secret().map_err(Error::internal)?;
        let stored = secret.clone();
        let hook = self
            .0
            .write(move |u| {
                let hook = webhooks::insert(u.tx(), &spec, &stored)?;
                changed(u, hook.id, ChangeAction::Created, Some(spec.url.clone()), actor)?;
                Ok(hook)
            })
            .await?;
        Ok((hook, secret))
    }

    pub async fn update(&self, actor: Actor, id: WebhookId, spec: WebhookSpec) -> Result<Webhook> {
        self.0
            .write(move |u| {
                webhooks::get(u.conn(), id)?;
                let hook = webhooks::update(u.tx(), id, &spec)?;
                changed(u, id, ChangeAction::Updated, None, actor)?;
                Ok(hook)
            })
            .await
    }

    pub async fn delete(&self, actor: Actor, id: WebhookId) -> Result<()> {
        self.0
            .write(move |u| {
                webhooks::get(u.conn(), id)?;
                webhooks::delete(u.tx(), id)?;
                changed(u, id, ChangeAction::Deleted, None, actor)
            })
            .await
    }

    pub async fn deliveries(&self, id: WebhookId, limit: i64) -> Result<Vec<Delivery>> {
        self.0.read(move |conn| webhooks::deliveries(conn, id, limit)).await
    }
}

/// One event to one webhook endpoint (`webhook.deliver`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WebhookDelivery {
    pub webhook_id: WebhookId,
    pub event_id: EventId,
}

impl JobPayload for WebhookDelivery {
    const KIND: &'static str = "webhook.deliver";
}

pub(crate) fn job() -> Arc<dyn JobHandler> {
    fn run_delivery<'a>(app: &'a App, delivery: WebhookDelivery, job: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(deliver(app, delivery, job.attempts))
    }
    handler(run_delivery)
}

/// One delivery attempt of one event to one endpoint: 2xx is done, 410 switches the endpoint
/// off, anything else is tried again.
async fn deliver(app: &App, delivery: WebhookDelivery, attempt: i64) -> Outcome {
    let (hook_id, event_id) = (delivery.webhook_id, delivery.event_id);
    let found = app
        .read(move |conn| {
            let hook = webhooks::get(conn, hook_id)?;
            let found = events::by_ids(conn, &[event_id.0])?;
            let body = match found.first() {
                Some(event) => {
                    let names = crate::events::actor_names(conn, std::slice::from_ref(event))?;
                    let view = crate::events::wire(event, &names);
                    Some(json!({"type": event.kind().as_str(), "timestamp": event.created_at.to_rfc3339(), "data": view}).to_string())
                }
                None => None,
            };
            Ok((hook, body))
        })
        .await;
    let (hook, body) = match found {
        Ok((hook, Some(body))) if hook.active => (hook, body),
        // Deleted or switched off endpoints, and events that no longer exist, have nothing to send.
        Ok(_) | Err(Error::Domain(_)) => return Outcome::Done,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let client = match app.core.jobs.webhook_client.get() {
        Ok(client) => client,
        Err(reason) => return Outcome::Retry(reason),
    };
    let allow_internal = app.config().webhooks_allow_internal;
    let sent =
        opora_channels::webhook::post(client, &hook.url, &hook.secret, &format!("evt_{}", event_id.0), body.as_bytes(), allow_internal)
            .await;
    let outcome = if sent.succeeded() || sent.gone() { Outcome::Done } else { Outcome::Retry(sent.describe()) };
    let (status, error, duration_ms, gone) = (sent.status, sent.error.clone(), sent.duration_ms, sent.gone());
    let logged = app
        .write(move |u| {
            webhooks::record_delivery(u.tx(), hook.id, event_id, attempt, status, error.as_deref(), duration_ms)?;
            if gone {
                webhooks::disable(u.tx(), hook.id, "the receiver answered 410 Gone")?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = logged {
        tracing::warn!(error = %e, "could not record a webhook delivery");
    }
    outcome
}
