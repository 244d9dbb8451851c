//! `/api/v1/channels`: the configured connections of every kind (mailboxes, integrations),
//! their settings as each driver describes them, a connection check, and the endpoint
//! providers push to (`/api/v1/channels/{id}/inbound`, signed, no session).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use opora_app::channels::{ChannelChange, ChannelView as Found, NewChannel};
use opora_domain::agent::Action;
use opora_domain::channel::{ChannelKind, PayloadStatus};
use opora_domain::error::Errors;
use opora_domain::{ChannelId, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr, PathId};

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: i64,
    /// What kind of connection it is, and so which driver serves it.
    #[schema(value_type = crate::docs::ChannelChoice)]
    pub kind: String,
    pub name: String,
    /// The driver's settings, secrets shown only as whether they are set.
    #[schema(value_type = Object)]
    pub settings: Value,
    pub active: bool,
    /// Takes what arrives for no other channel of its kind.
    pub is_default: bool,
    /// `ok`, `failing` (the last round failed) or `broken` (an admin must act).
    #[schema(value_type = crate::docs::ChannelStateChoice)]
    pub state: String,
    pub error: Option<String>,
    pub checked_at: Option<String>,
    /// The full address the provider pushes to (from `public_url`), for kinds that take pushed
    /// requests.
    pub inbound_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl ChannelView {
    /// `public_url` is where this instance is reached from outside, for the inbound address.
    pub fn new(found: &Found, public_url: &str) -> Self {
        let c = &found.channel;
        Self {
            id: c.id.0,
            kind: c.kind.as_str().into(),
            name: c.name.clone(),
            settings: found.settings.clone(),
            active: c.active,
            is_default: c.is_default,
            state: c.state.as_str().into(),
            error: c.error.clone(),
            checked_at: c.checked_at.map(|t| t.to_rfc3339()),
            inbound_url: match c.kind {
                ChannelKind::Api => Some(format!("{}/api/v1/channels/{}/inbound", public_url.trim_end_matches('/'), c.id)),
                // Where the site loads the chat from.
                ChannelKind::Widget => Some(format!("{}/widget.js", public_url.trim_end_matches('/'))),
                kind if super::hooks::HOOK_KINDS.contains(&kind) => {
                    Some(format!("{}/hooks/{kind}/{}", public_url.trim_end_matches('/'), c.id))
                }
                _ => None,
            },
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedChannel {
    #[serde(flatten)]
    pub channel: ChannelView,
    /// The signing secret of an API channel (`whsec_…`): shown this once, never again.
    pub secret: Option<String>,
}

/// A channel to add, or what to change (absent fields stay).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    /// `email` or `api`; only when adding.
    #[schema(value_type = Option<crate::docs::ChannelChoice>)]
    pub kind: Option<String>,
    pub name: Option<String>,
    /// What the kind's driver takes. `api`: `url` (where replies are posted), `conversation_policy`
    /// (`ongoing` or `new_after_solved`), `acknowledge`. `email`: the mailbox form's fields
    /// (`address`, `imap_host`, `smtp_password` …).
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    pub active: Option<bool>,
    pub is_default: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", responses((status = 200, body = Vec<ChannelView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<ChannelView>>> {
    caller.require(Action::ManageChannels)?;
    let all = state.app.channels().list().await?;
    Ok(Json(all.iter().map(|c| ChannelView::new(c, &state.config.public_url)).collect()))
}

/// Add a channel. An `api` channel gets a signing secret, returned this once.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", request_body = ChannelInput,
    responses((status = 201, body = CreatedChannel), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ChannelInput>,
) -> ApiResult<(StatusCode, Json<CreatedChannel>)> {
    caller.require(Action::ManageChannels)?;
    let mut errors = Errors::default();
    let kind = match &input.kind {
        Some(kind) => errors.take(ChannelKind::parse_field("kind", kind)),
        None => {
            errors.push(FieldError::required("kind"));
            None
        }
    };
    if input.name.is_none() {
        errors.push(FieldError::required("name"));
    }
    errors.finish()?;
    let new = NewChannel {
        kind: kind.ok_or_else(|| ApiError::new("validation_failed"))?,
        name: input.name.unwrap_or_default(),
        settings: input.settings.unwrap_or_else(|| Value::Object(Default::default())),
        active: input.active.unwrap_or(true),
        is_default: input.is_default.unwrap_or(false),
    };
    let (found, revealed) = state.app.channels().create(caller.actor(), new).await?;
    let secret = revealed.and_then(|r| r["secret"].as_str().map(str::to_owned));
    Ok((StatusCode::CREATED, Json(CreatedChannel { channel: ChannelView::new(&found, &state.config.public_url), secret })))
}

#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels", params(("id" = i64, Path)),
    responses((status = 200, body = ChannelView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<ChannelView>> {
    caller.require(Action::ManageChannels)?;
    Ok(Json(ChannelView::new(&state.app.channels().get(ChannelId(id)).await?, &state.config.public_url)))
}

/// Change a channel; settings are merged over the current ones (secrets not sent stay).
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels", params(("id" = i64, Path)), request_body = ChannelInput,
    responses((status = 200, body = ChannelView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<ChannelInput>,
) -> ApiResult<Json<ChannelView>> {
    caller.require(Action::ManageChannels)?;
    if input.kind.is_some() {
        return Err(ApiError::field("kind", "immutable"));
    }
    let change = ChannelChange { name: input.name, settings: input.settings, active: input.active, is_default: input.is_default };
    let found = state.app.channels().update(caller.actor(), ChannelId(id), change).await?;
    Ok(Json(ChannelView::new(&found, &state.config.public_url)))
}

/// Remove a channel nothing refers to (otherwise switch it off with `"active": false`).
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "channels", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem)))]
pub async fn delete(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    caller.require(Action::ManageChannels)?;
    state.app.channels().delete(caller.actor(), ChannelId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One step of a connection check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStepView {
    /// `imap`, `smtp`, `webhook` …
    pub name: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// Try the channel's connection now, as receiving and sending would.
#[utoipa::path(post, path = "/api/v1/channels/{id}/check", tag = "channels", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CheckStepView>), (status = 404, body = crate::docs::Problem)))]
pub async fn check(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<CheckStepView>>> {
    caller.require(Action::ManageChannels)?;
    let steps = state.app.channels().check(ChannelId(id)).await?;
    Ok(Json(steps.into_iter().map(|s| CheckStepView { name: s.name.into(), ok: s.ok, error: s.error }).collect()))
}

/// What became of a pushed message.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundView {
    /// The stored payload (it can be downloaded and processed again by an admin).
    pub payload_id: i64,
    /// `processed` (filed), `duplicate` (seen before), `ignored` (e.g. a report on a message we
    /// did not send), `received` (stored; filed shortly) or `quarantined` (stored; an admin
    /// looks at it).
    #[schema(value_type = crate::docs::RawStatusChoice)]
    pub status: String,
    pub case_id: Option<i64>,
    pub case_number: Option<i64>,
    pub message_id: Option<i64>,
}

/// A provider pushes a message or a delivery report into a channel.
///
/// Signed per Standard Webhooks with the channel's secret (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature` over the raw body); nothing is stored unless the signature holds and the
/// body is in the channel's format. API channels take
/// `{"type": "message.created", "data": {"id", "conversation", "customer": {"id", "name", "email", "phone"}, "subject", "text", "html", "attachments", "in_reply_to"}}`
/// and `{"type": "message.status", "data": {"message_id", "status": "delivered|read|failed", "error"}}`.
#[utoipa::path(post, path = "/api/v1/channels/{id}/inbound", tag = "channels", params(("id" = i64, Path)),
    request_body(content = Object, description = "The provider's payload, as signed"),
    responses((status = 201, body = InboundView, description = "Filed into a case"), (status = 200, body = InboundView, description = "Seen before, or nothing to file"),
              (status = 202, body = InboundView, description = "Stored; filed shortly, or kept for an admin"), (status = 400, body = crate::docs::Problem),
              (status = 401, body = crate::docs::Problem), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem),
              (status = 429, body = crate::docs::Problem)),
    security(()))]
pub async fn inbound(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let accepted = super::hooks::push(&state, peer, ChannelId(id), None, &headers, body).await?;
    let status = match accepted.status {
        PayloadStatus::Processed => StatusCode::CREATED,
        // Stored, but not filed yet (postponed) or waiting for an admin (quarantined).
        PayloadStatus::Received | PayloadStatus::Quarantined => StatusCode::ACCEPTED,
        _ => StatusCode::OK,
    };
    let view = InboundView {
        payload_id: accepted.payload.0,
        status: accepted.status.as_str().into(),
        case_id: accepted.case.map(|c| c.0),
        case_number: accepted.case_number,
        message_id: accepted.message.map(|m| m.0),
    };
    Ok((status, Json(view)).into_response())
}
