//! `/api/v1/webhooks`: outgoing webhooks signed per the Standard Webhooks specification.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::webhooks::{Delivery, Webhook, WebhookSpec, check_url};
use opora_domain::agent::Action;
use opora_domain::error::Errors;
use opora_domain::event::EventKind;
use opora_domain::validate::text;
use opora_domain::{FieldError, WebhookId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, PathId};

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    /// Event kinds delivered (`case.created`, …) or `*` for all.
    pub events: Vec<String>,
    pub description: String,
    pub active: bool,
    /// Why it was switched off (the receiver answered 410 Gone).
    pub disabled_reason: Option<String>,
    pub created_at: String,
}

impl From<&Webhook> for WebhookView {
    fn from(w: &Webhook) -> Self {
        Self {
            id: w.id.0,
            url: w.url.clone(),
            events: w.events.clone(),
            description: w.description.clone(),
            active: w.active,
            disabled_reason: w.disabled_reason.clone(),
            created_at: w.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: verifies the `webhook-signature` header. Shown once.
    pub secret: String,
}

/// Addresses a webhook must never reach unless the operator allows it: loopback, private,
/// link-local, unique-local and unspecified ones (server-side request forgery).
fn parse(input: &WebhookInput, allow_internal: bool, current: Option<&Webhook>) -> ApiResult<WebhookSpec> {
    let mut errors = Errors::default();
    let url = match (&input.url, current) {
        (Some(url), _) => errors.take(check_url("url", url, allow_internal)),
        (None, Some(current)) => Some(current.url.clone()),
        (None, None) => {
            errors.push(FieldError::required("url"));
            None
        }
    };
    let events = match (&input.events, current) {
        (Some(events), _) => {
            for (i, event) in events.iter().enumerate() {
                let known = event == "*" || EventKind::parse(event).is_some_and(|k| !k.admin_only());
                if !known {
                    errors.push(FieldError::new(format!("events.{i}"), "invalid_value"));
                }
            }
            if events.is_empty() {
                errors.push(FieldError::required("events"));
            }
            events.clone()
        }
        (None, Some(current)) => current.events.clone(),
        (None, None) => vec!["*".to_owned()],
    };
    let description = match (&input.description, current) {
        (Some(d), _) => errors.take(text("description", d, 0, 500)),
        (None, current) => Some(current.map(|c| c.description.clone()).unwrap_or_default()),
    };
    errors.finish()?;
    Ok(WebhookSpec {
        url: url.unwrap_or_default(),
        events,
        description: description.unwrap_or_default(),
        active: input.active.or(current.map(|c| c.active)).unwrap_or(true),
    })
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, body = Vec<WebhookView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<WebhookView>>> {
    caller.require(Action::ManageWebhooks)?;
    let hooks = state.app.webhooks().list().await?;
    Ok(Json(hooks.iter().map(WebhookView::from).collect()))
}

/// Subscribe an endpoint to events. Deliveries carry `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` (HMAC-SHA256, Standard Webhooks); failures are retried with backoff.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = WebhookInput,
    responses((status = 201, body = CreatedWebhook), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<(StatusCode, Json<CreatedWebhook>)> {
    caller.require(Action::ManageWebhooks)?;
    let spec = parse(&input, state.app.webhooks().allow_internal(), None)?;
    let (hook, secret) = state.app.webhooks().create(caller.actor(), spec).await?;
    Ok((StatusCode::CREATED, Json(CreatedWebhook { webhook: WebhookView::from(&hook), secret })))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = WebhookView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<WebhookView>> {
    caller.require(Action::ManageWebhooks)?;
    let hook = state.app.webhooks().get(WebhookId(id)).await?;
    Ok(Json(WebhookView::from(&hook)))
}

/// Change an endpoint; `"active": true` re-enables one that was switched off.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)), request_body = WebhookInput,
    responses((status = 200, body = WebhookView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<WebhookInput>,
) -> ApiResult<Json<WebhookView>> {
    caller.require(Action::ManageWebhooks)?;
    let current = state.app.webhooks().get(WebhookId(id)).await?;
    let spec = parse(&input, state.app.webhooks().allow_internal(), Some(&current))?;
    let hook = state.app.webhooks().update(caller.actor(), WebhookId(id), spec).await?;
    Ok(Json(WebhookView::from(&hook)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::docs::Problem)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    caller.require(Action::ManageWebhooks)?;
    state.app.webhooks().delete(caller.actor(), WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub event_id: i64,
    pub attempt: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: String,
}

impl From<&Delivery> for DeliveryView {
    fn from(d: &Delivery) -> Self {
        Self {
            event_id: d.event_id.0,
            attempt: d.attempt,
            status_code: d.status_code,
            error: d.error.clone(),
            duration_ms: d.duration_ms,
            created_at: d.created_at.to_rfc3339(),
        }
    }
}

/// The delivery log of an endpoint, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path), ("limit" = Option<i64>, Query, minimum = 1, maximum = 500)),
    responses((status = 200, body = Vec<DeliveryView>), (status = 404, body = crate::docs::Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    query: ApiQuery,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    caller.require(Action::ManageWebhooks)?;
    query.only(&["limit"])?;
    let limit = query.limit(50, 500).map_err(|e| ApiError::fields(vec![e]))?;
    let log = state.app.webhooks().deliveries(WebhookId(id), limit).await?;
    Ok(Json(log.iter().map(DeliveryView::from).collect()))
}
