//! What the agent workspace needs beyond cases: notifications ("concerns me"), presence on a
//! case (collision notices) and reply templates.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::settings::ReplyTemplate;
use opora_app::workspace::NotificationItem;
use opora_domain::agent::Action;
use opora_domain::error::Errors;
use opora_domain::validate::{line, text};
use opora_domain::{CaseId, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, PathId};

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// The event's kind: `case.owner_assigned`, `case.owner_transferred`, `case.collaborator_added`,
    /// `message.added` (a customer wrote), `case.deadline_missed`.
    pub kind: String,
    pub event_id: i64,
    pub case_id: Option<i64>,
    pub case_number: Option<i64>,
    pub case_subject: Option<String>,
    pub read: bool,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Notifications {
    pub unread: i64,
    pub items: Vec<NotificationView>,
}

pub async fn load_notifications(state: &AppState, caller: &Caller, limit: i64) -> ApiResult<Notifications> {
    let (unread, items) = state.app.workspace().notifications(caller.acting(), limit).await?;
    let items = items
        .into_iter()
        .map(|NotificationItem { notification: n, case_number, case_subject }| NotificationView {
            id: n.id,
            kind: n.kind,
            event_id: n.event_id.0,
            case_id: n.case_id.map(|c| c.0),
            case_number,
            case_subject,
            read: n.read,
            created_at: n.created_at.to_rfc3339(),
        })
        .collect();
    Ok(Notifications { unread, items })
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "workspace", params(("limit" = Option<i64>, Query, minimum = 1, maximum = 100)),
    responses((status = 200, body = Notifications)))]
pub async fn list_notifications(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<Notifications>> {
    query.only(&["limit"])?;
    let limit = query.limit(20, 100).map_err(|e| ApiError::fields(vec![e]))?;
    Ok(Json(load_notifications(&state, &caller, limit).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// Notification ids; all of yours when omitted.
    pub ids: Option<Vec<i64>>,
}

/// Mark notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "workspace", request_body = MarkRead, responses((status = 204)))]
pub async fn mark_read(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<MarkRead>) -> ApiResult<StatusCode> {
    let wrong: Vec<FieldError> = input
        .ids
        .iter()
        .flatten()
        .enumerate()
        .filter(|(_, id)| **id < 1)
        .map(|(i, _)| FieldError::new(format!("ids.{i}"), "out_of_range").with("min", 1))
        .collect();
    if !wrong.is_empty() {
        return Err(ApiError::fields(wrong));
    }
    let agent = caller.agent.id;
    state.app.workspace().mark_read(agent, input.ids).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Presence {
    /// Whether you are typing in the composer.
    #[serde(default)]
    pub typing: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ViewerView {
    pub agent_id: i64,
    pub name: String,
    pub typing: bool,
}

/// Report that you have this case open (every few seconds while you do) and learn who else has:
/// the collision notice.
#[utoipa::path(post, path = "/api/v1/cases/{id}/presence", tag = "workspace", params(("id" = i64, Path)), request_body = Presence,
    responses((status = 200, body = Vec<ViewerView>)))]
pub async fn report_presence(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Presence>,
) -> ApiResult<Json<Vec<ViewerView>>> {
    caller.require(Action::ReadCases)?;
    let viewers = state.app.workspace().report_presence(caller.acting(), CaseId(id), input.typing).await?;
    Ok(Json(viewers.into_iter().map(|v| ViewerView { agent_id: v.agent_id.0, name: v.name, typing: v.typing }).collect()))
}

/// You left the case.
#[utoipa::path(delete, path = "/api/v1/cases/{id}/presence", tag = "workspace", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn leave(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    let agent = caller.agent.id;
    state.app.workspace().leave(agent, CaseId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: i64,
    pub name: String,
    /// The text with `{{customer.name}}`, `{{case.number}}`, `{{case.subject}}`, `{{agent.name}}`.
    pub body: String,
    pub position: i64,
}

impl From<ReplyTemplate> for TemplateView {
    fn from(t: ReplyTemplate) -> Self {
        Self { id: t.id, name: t.name, body: t.body, position: t.position }
    }
}

#[utoipa::path(get, path = "/api/v1/reply-templates", tag = "workspace", responses((status = 200, body = Vec<TemplateView>)))]
pub async fn list_templates(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TemplateView>>> {
    caller.require(Action::ReadCases)?;
    let list = state.app.settings().templates().await?;
    Ok(Json(list.into_iter().map(TemplateView::from).collect()))
}

/// The reply templates with their variables filled in for this case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/reply-templates", tag = "workspace", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TemplateView>)))]
pub async fn templates_for_case(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<TemplateView>>> {
    caller.require(Action::ReadCases)?;
    let list = state.app.workspace().templates_for(caller.acting(), CaseId(id), caller.agent.name.clone()).await?;
    let list: Vec<TemplateView> = list.into_iter().map(TemplateView::from).collect();
    Ok(Json(list))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    #[schema(required)]
    pub name: Option<String>,
    #[schema(required)]
    pub body: Option<String>,
    #[serde(default)]
    pub position: i64,
}

fn parse_template(input: &TemplateInput) -> ApiResult<(String, String)> {
    let mut errors = Errors::default();
    let name = errors.take(line("name", input.name.as_deref().unwrap_or(""), 1, 100));
    let body = errors.take(text("body", input.body.as_deref().unwrap_or(""), 1, 20_000));
    errors.finish()?;
    name.zip(body).ok_or_else(|| ApiError::fields(vec![FieldError::required("name")]))
}

/// Add a reply template (supervisors and admins).
#[utoipa::path(post, path = "/api/v1/reply-templates", tag = "workspace", request_body = TemplateInput,
    responses((status = 201, body = TemplateView)))]
pub async fn create_template(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<(StatusCode, Json<TemplateView>)> {
    caller.require(Action::TransferAnyCase)?;
    let (name, body) = parse_template(&input)?;
    let (position, author) = (input.position, caller.agent.id);
    let created = state.app.settings().create_template(author, name, body, position).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

#[utoipa::path(put, path = "/api/v1/reply-templates/{id}", tag = "workspace", params(("id" = i64, Path)), request_body = TemplateInput,
    responses((status = 200, body = TemplateView)))]
pub async fn update_template(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<TemplateInput>,
) -> ApiResult<Json<TemplateView>> {
    caller.require(Action::TransferAnyCase)?;
    let (name, body) = parse_template(&input)?;
    let position = input.position;
    let updated = state.app.settings().update_template(id, name, body, position).await?;
    Ok(Json(updated.into()))
}

#[utoipa::path(delete, path = "/api/v1/reply-templates/{id}", tag = "workspace", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete_template(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    caller.require(Action::TransferAnyCase)?;
    state.app.settings().delete_template(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
