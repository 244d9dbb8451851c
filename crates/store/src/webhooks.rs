//! Outgoing webhooks as rows: the endpoints, their subscriptions, and the log of deliveries.

use opora_domain::event::EventKind;
use opora_domain::{DomainError, EventId, Timestamp, WebhookId};
use serde::Serialize;

use crate::db::{Conn, DbError, Row};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub id: WebhookId,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    /// Event kinds delivered, or `*` for all.
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Webhook {
    pub fn wants(&self, kind: EventKind) -> bool {
        self.active && !kind.admin_only() && self.events.iter().any(|e| e == "*" || e == kind.as_str())
    }
}

const COLUMNS: &str = "id, url, secret, events, description, active, disabled_reason, created_at, updated_at";

fn from_row(r: &Row<'_>) -> Result<Webhook, DbError> {
    let events: String = r.get(3)?;
    Ok(Webhook {
        id: r.get(0)?,
        url: r.get(1)?,
        secret: r.get(2)?,
        events: events.split(',').filter(|e| !e.is_empty()).map(str::to_owned).collect(),
        description: r.get(4)?,
        active: r.get(5)?,
        disabled_reason: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

/// Webhooks `condition` selects, their secrets opened.
fn select(conn: &mut dyn Conn, condition: &str, params: &[crate::db::Value<'_>]) -> Result<Vec<Webhook>> {
    let sealer = conn.sealer();
    let rows = conn.all(&format!("select {COLUMNS} from webhooks {condition} order by id"), params, from_row)?;
    rows.into_iter()
        .map(|mut webhook| {
            match sealer.open(&webhook.secret) {
                Ok(secret) => webhook.secret = secret,
                // Its key is not configured: nothing is sent unsigned; it stays off until remade.
                Err(e) => {
                    webhook.secret = String::new();
                    webhook.active = false;
                    webhook.disabled_reason = Some(e.to_string());
                }
            }
            Ok(webhook)
        })
        .collect()
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<Webhook>> {
    select(conn, "", &[])
}

pub fn get(conn: &mut dyn Conn, id: WebhookId) -> Result<Webhook> {
    select(conn, "where id = $1", &[id.into()])?.pop().ok_or_else(|| DomainError::NotFound("webhook").into())
}

/// The active endpoints.
pub fn active(conn: &mut dyn Conn) -> Result<Vec<Webhook>> {
    select(conn, "where active = $1", &[true.into()])
}

#[derive(Debug, Clone)]
pub struct WebhookSpec {
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
}

pub fn insert(tx: &mut Tx<'_>, spec: &WebhookSpec, secret: &str) -> Result<Webhook> {
    let now = tx.now;
    let secret = tx.sealer().seal(secret)?;
    let secret = secret.as_str();
    let id = WebhookId(tx.int(
        "insert into webhooks (url, secret, events, description, active, created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $6) returning id",
        &[spec.url.as_str().into(), secret.into(), spec.events.join(",").as_str().into(), spec.description.as_str().into(), spec.active.into(), now.into()],
    )?);
    get(&mut **tx, id)
}

pub fn update(tx: &mut Tx<'_>, id: WebhookId, spec: &WebhookSpec) -> Result<Webhook> {
    get(&mut **tx, id)?;
    let now = tx.now;
    tx.execute(
        "update webhooks set url = $2, events = $3, description = $4, active = $5, disabled_reason = case when $5 then null else disabled_reason end, updated_at = $6 where id = $1",
        &[id.into(), spec.url.as_str().into(), spec.events.join(",").as_str().into(), spec.description.as_str().into(), spec.active.into(), now.into()],
    )?;
    get(&mut **tx, id)
}

pub fn delete(tx: &mut Tx<'_>, id: WebhookId) -> Result<()> {
    get(&mut **tx, id)?;
    tx.execute("delete from webhook_deliveries where webhook_id = $1", &[id.into()])?;
    tx.execute("delete from webhooks where id = $1", &[id.into()])?;
    Ok(())
}

/// The receiver said the endpoint is gone (410): stop sending.
pub fn disable(tx: &mut Tx<'_>, id: WebhookId, reason: &str) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "update webhooks set active = $2, disabled_reason = $3, updated_at = $4 where id = $1",
        &[id.into(), false.into(), reason.into(), now.into()],
    )?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event_id: EventId,
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: Timestamp,
}

pub fn record_delivery(
    tx: &mut Tx<'_>,
    hook: WebhookId,
    event: EventId,
    attempt: i64,
    status: Option<u16>,
    error: Option<&str>,
    duration_ms: i64,
) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "insert into webhook_deliveries (webhook_id, event_id, attempt, status_code, error, duration_ms, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        &[hook.into(), event.into(), attempt.into(), status.map(i64::from).into(), error.into(), duration_ms.into(), now.into()],
    )?;
    Ok(())
}

pub fn deliveries(conn: &mut dyn Conn, hook: WebhookId, limit: i64) -> Result<Vec<Delivery>> {
    get(conn, hook)?;
    Ok(conn.all(
        "select id, event_id, attempt, status_code, error, duration_ms, created_at from webhook_deliveries where webhook_id = $1 order by id desc limit $2",
        &[hook.into(), limit.into()],
        |r| Ok(Delivery { id: r.get(0)?, event_id: r.get(1)?, attempt: r.get(2)?, status_code: r.get(3)?, error: r.get(4)?, duration_ms: r.get(5)?, created_at: r.get(6)? }),
    )?)
}
