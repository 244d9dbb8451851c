//! `/api/v1/playbooks` and a case's playbook: the checklist its owner works through, the reply
//! to start from, the compensation allowed, how it ended.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::care::playbooks::CasePlaybook;
use opora_domain::agent::Action;
use opora_domain::case::CaseKind;
use opora_domain::compensation::CompensationKind;
use opora_domain::error::Errors;
use opora_domain::playbook::{Outcome, Playbook, PlaybookSpec};
use opora_domain::validate::{key, line, text};
use opora_domain::{CaseId, DomainError, FieldError, PlaybookId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, PathId, PathIds};
use crate::input::MoneyInput;
use crate::views::MoneyView;

#[derive(Debug, Serialize, ToSchema)]
pub struct PlaybookView {
    pub id: i64,
    pub name: String,
    /// Case kinds it applies to; empty: any.
    pub kinds: Vec<String>,
    /// Rating reasons that call for it.
    pub reasons: Vec<String>,
    pub categories: Vec<String>,
    pub checklist: Vec<String>,
    pub reply: String,
    pub compensation_kind: Option<String>,
    /// The most an owner may grant without a supervisor.
    pub compensation_limit: Option<MoneyView>,
    pub deadline_minutes: i64,
    pub active: bool,
}

impl From<&Playbook> for PlaybookView {
    fn from(p: &Playbook) -> Self {
        let spec = &p.spec;
        Self {
            id: p.id.0,
            name: spec.name.clone(),
            kinds: spec.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            reasons: spec.reasons.clone(),
            categories: spec.categories.clone(),
            checklist: spec.checklist.clone(),
            reply: spec.reply.clone(),
            compensation_kind: spec.compensation_kind.map(|k| k.as_str().to_owned()),
            compensation_limit: spec.compensation_limit.as_ref().map(MoneyView::from),
            deadline_minutes: spec.deadline_minutes,
            active: spec.active,
        }
    }
}

/// Every playbook, switched off ones too.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "playbooks", responses((status = 200, body = Vec<PlaybookView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<PlaybookView>>> {
    caller.require(Action::ReadCases)?;
    Ok(Json(state.app.playbooks().list().await?.iter().map(PlaybookView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookInput {
    #[schema(required)]
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<crate::docs::KindChoice>>)]
    pub kinds: Option<Vec<String>>,
    /// Rating reasons (keys: lower-case letters, digits, `_`).
    #[schema(max_items = 30, value_type = Option<Vec<crate::docs::KeyText>>)]
    pub reasons: Option<Vec<String>>,
    #[schema(max_items = 30, value_type = Option<Vec<crate::docs::KeyText>>)]
    pub categories: Option<Vec<String>>,
    /// The steps, in order (1–30).
    #[schema(required, min_items = 1, max_items = 30, value_type = Vec<crate::docs::ChecklistStep>)]
    pub checklist: Option<Vec<String>>,
    pub reply: Option<String>,
    #[schema(value_type = Option<crate::docs::CompensationChoice>)]
    pub compensation_kind: Option<String>,
    pub compensation_limit: Option<MoneyInput>,
    /// Minutes from opening to the deadline (default 240; at most 90 days).
    #[schema(minimum = 1, maximum = 129_600)]
    pub deadline_minutes: Option<i64>,
    pub active: Option<bool>,
}

fn keys(field: &str, values: &[String], errors: &mut Errors) -> Vec<String> {
    values.iter().enumerate().filter_map(|(i, v)| errors.take(key(&format!("{field}.{i}"), v))).collect()
}

/// Add a playbook (supervisors and admins).
#[utoipa::path(post, path = "/api/v1/playbooks", tag = "playbooks", request_body = PlaybookInput,
    responses((status = 201, body = PlaybookView), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<PlaybookInput>,
) -> ApiResult<(StatusCode, Json<PlaybookView>)> {
    caller.require(Action::ManagePlaybooks)?;
    let mut errors = Errors::default();
    let name = errors.take(line("name", input.name.as_deref().unwrap_or(""), 1, 200)).unwrap_or_default();
    let kinds = input.kinds.unwrap_or_default();
    let kinds: Vec<CaseKind> =
        kinds.iter().enumerate().filter_map(|(i, k)| errors.take(CaseKind::parse_field(&format!("kinds.{i}"), k))).collect();
    let checklist = input.checklist.unwrap_or_default();
    if checklist.is_empty() || checklist.len() > 30 {
        errors.push(FieldError::new("checklist", "out_of_range").with("min", 1).with("max", 30));
    }
    let checklist: Vec<String> =
        checklist.iter().enumerate().filter_map(|(i, s)| errors.take(line(&format!("checklist.{i}"), s, 1, 300))).collect();
    let spec = PlaybookSpec {
        name,
        kinds,
        reasons: keys("reasons", &input.reasons.unwrap_or_default(), &mut errors),
        categories: keys("categories", &input.categories.unwrap_or_default(), &mut errors),
        checklist,
        reply: input.reply.as_deref().and_then(|r| errors.take(text("reply", r, 0, 5000))).unwrap_or_default(),
        compensation_kind: input
            .compensation_kind
            .as_deref()
            .and_then(|k| errors.take(CompensationKind::parse_field("compensation_kind", k))),
        compensation_limit: input
            .compensation_limit
            .as_ref()
            .and_then(|m| m.parse("compensation_limit", &state.config.currency, &mut errors)),
        deadline_minutes: input.deadline_minutes.unwrap_or(240),
        active: input.active.unwrap_or(true),
    };
    errors.finish()?;
    let created = state.app.playbooks().create(spec).await?;
    Ok((StatusCode::CREATED, Json(PlaybookView::from(&created))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    /// The step's number, from 1: the `{step}` of its address.
    pub number: usize,
    pub text: String,
    pub done: bool,
}

/// A case's playbook and how far its owner got.
#[derive(Debug, Serialize, ToSchema)]
pub struct CasePlaybookView {
    pub playbook: PlaybookView,
    pub steps: Vec<StepView>,
    /// `resolved`, `compensated`, `unreachable` or `rejected`; null while it is worked.
    pub outcome: Option<String>,
}

impl From<&CasePlaybook> for CasePlaybookView {
    fn from(c: &CasePlaybook) -> Self {
        let steps = c.playbook.spec.checklist.iter().enumerate();
        Self {
            playbook: PlaybookView::from(&c.playbook),
            steps: steps
                .map(|(index, text)| StepView { number: index + 1, text: text.clone(), done: c.steps_done.contains(&index) })
                .collect(),
            outcome: c.outcome.map(|o| o.as_str().to_owned()),
        }
    }
}

/// The playbook a case is worked by (404 `playbook_not_found` when it has none).
#[utoipa::path(get, path = "/api/v1/cases/{id}/playbook", tag = "playbooks", params(("id" = i64, Path)),
    responses((status = 200, body = CasePlaybookView), (status = 404, body = crate::docs::Problem)))]
pub async fn of_case(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<CasePlaybookView>> {
    caller.require(Action::ReadCases)?;
    let found = state.app.playbooks().of_case(caller.acting(), CaseId(id)).await?;
    let found = found.ok_or(opora_app::Error::Domain(DomainError::NotFound("playbook")))?;
    Ok(Json(CasePlaybookView::from(&found)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachInput {
    #[schema(required)]
    pub playbook_id: Option<i64>,
}

/// Work the case by a playbook; its checklist starts afresh.
#[utoipa::path(post, path = "/api/v1/cases/{id}/playbook", tag = "playbooks", params(("id" = i64, Path)), request_body = AttachInput,
    responses((status = 200, body = CasePlaybookView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn attach(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<AttachInput>,
) -> ApiResult<Json<CasePlaybookView>> {
    caller.require(Action::WorkCases)?;
    let playbook = input.playbook_id.ok_or_else(|| crate::error::ApiError::fields(vec![FieldError::required("playbook_id")]))?;
    let attached = state.app.playbooks().attach(caller.acting(), CaseId(id), PlaybookId(playbook)).await?;
    Ok(Json(CasePlaybookView::from(&attached)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepInput {
    /// Whether the step is done; true when omitted.
    pub done: Option<bool>,
}

/// Tick (or untick) a step of the case's checklist, by its number (from 1).
#[utoipa::path(post, path = "/api/v1/cases/{id}/playbook/steps/{step}", tag = "playbooks", params(("id" = i64, Path), ("step" = i64, Path, minimum = 1)),
    request_body = StepInput, responses((status = 200, body = CasePlaybookView), (status = 404, body = crate::docs::Problem),
    (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn step(
    State(state): State<AppState>,
    caller: Caller,
    PathIds(id, step): PathIds,
    ApiJson(input): ApiJson<StepInput>,
) -> ApiResult<Json<CasePlaybookView>> {
    caller.require(Action::WorkCases)?;
    let step = usize::try_from(step - 1).map_err(|_| crate::error::ApiError::fields(vec![FieldError::new("step", "out_of_range")]))?;
    let done = input.done.unwrap_or(true);
    let updated = state.app.playbooks().step(caller.acting(), CaseId(id), step, done).await?;
    Ok(Json(CasePlaybookView::from(&updated)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// `resolved`, `compensated`, `unreachable` or `rejected`.
    #[schema(required, value_type = crate::docs::OutcomeChoice)]
    pub outcome: Option<String>,
}

/// Record how the case worked by its playbook ended.
#[utoipa::path(post, path = "/api/v1/cases/{id}/playbook/outcome", tag = "playbooks", params(("id" = i64, Path)), request_body = OutcomeInput,
    responses((status = 200, body = CasePlaybookView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem),
    (status = 422, body = crate::docs::Problem)))]
pub async fn finish(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> ApiResult<Json<CasePlaybookView>> {
    caller.require(Action::WorkCases)?;
    let outcome = match input.outcome.as_deref() {
        Some(text) => Outcome::parse_field("outcome", text).map_err(|e| crate::error::ApiError::fields(vec![e]))?,
        None => return Err(crate::error::ApiError::fields(vec![FieldError::required("outcome")])),
    };
    let updated = state.app.playbooks().finish(caller.acting(), CaseId(id), outcome).await?;
    Ok(Json(CasePlaybookView::from(&updated)))
}
