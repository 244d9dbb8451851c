//! Ownership and collaboration on a case: take it, hand it over with a reason, pull specialists
//! in, grant compensation; who replies are copied to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::cases;
use opora_domain::agent::Action;
use opora_domain::compensation::CompensationKind;
use opora_domain::error::Errors;
use opora_domain::validate::text;
use opora_domain::{AgentId, CaseId, CompensationId, CustomerId, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::cases::load_view;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{ApiJson, PathId, PathIds};
use crate::input::MoneyInput;
use crate::views::{CaseView, CompensationView, Names};

/// Take the case: an unowned case becomes yours.
///
/// A case owned by someone else answers 409 `case_already_owned` with its `owner_id`: ask the
/// owner to hand it over, or leave a note.
#[utoipa::path(post, path = "/api/v1/cases/{id}/take", tag = "ownership", params(("id" = i64, Path)),
    responses((status = 200, body = CaseView), (status = 409, body = crate::docs::Problem)))]
pub async fn take(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<CaseView>> {
    caller.require(Action::WorkCases)?;
    let acting = caller.acting();
    state.app.cases().take(acting, CaseId(id)).await?;
    Ok(Json(load_view(&state, caller.acting().after_change(), CaseId(id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The new owner.
    #[schema(required)]
    pub agent_id: Option<i64>,
    /// Why: shown in the timeline and to the new owner.
    #[schema(required)]
    pub reason: Option<String>,
}

/// Hand the case over to another agent, with a reason.
///
/// Only the owner or a supervisor may hand a case over (403 `not_case_owner` otherwise).
#[utoipa::path(post, path = "/api/v1/cases/{id}/transfer", tag = "ownership", params(("id" = i64, Path)), request_body = Transfer,
    responses((status = 200, body = CaseView), (status = 403, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Transfer>,
) -> ApiResult<Json<CaseView>> {
    caller.require(Action::WorkCases)?;
    let mut errors = Errors::default();
    if input.agent_id.is_none() {
        errors.push(FieldError::required("agent_id"));
    }
    if input.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        errors.push(FieldError::required("reason"));
    }
    errors.finish()?;
    let (to, reason) = (AgentId(input.agent_id.unwrap_or_default()), input.reason.unwrap_or_default());
    let acting = caller.acting();
    state.app.cases().transfer(acting, CaseId(id), to, reason).await?;
    Ok(Json(load_view(&state, caller.acting().after_change(), CaseId(id)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collaborator {
    #[schema(required)]
    pub agent_id: Option<i64>,
}

/// Pull a specialist into the case; they see it under "involved" and can add notes.
#[utoipa::path(post, path = "/api/v1/cases/{id}/collaborators", tag = "ownership", params(("id" = i64, Path)), request_body = Collaborator,
    responses((status = 200, body = CaseView), (status = 422, body = crate::docs::Problem)))]
pub async fn add_collaborator(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Collaborator>,
) -> ApiResult<Json<CaseView>> {
    caller.require(Action::WorkCases)?;
    let agent = AgentId(input.agent_id.ok_or_else(|| crate::error::ApiError::fields(vec![FieldError::required("agent_id")]))?);
    let acting = caller.acting();
    state.app.cases().pull_in(acting, CaseId(id), agent).await?;
    Ok(Json(load_view(&state, caller.acting().after_change(), CaseId(id)).await?))
}

/// Release a collaborator.
#[utoipa::path(delete, path = "/api/v1/cases/{id}/collaborators/{agent_id}", tag = "ownership",
    params(("id" = i64, Path), ("agent_id" = i64, Path)), responses((status = 200, body = CaseView), (status = 404, body = crate::docs::Problem)))]
pub async fn remove_collaborator(State(state): State<AppState>, caller: Caller, PathIds(id, agent): PathIds) -> ApiResult<Json<CaseView>> {
    caller.require(Action::WorkCases)?;
    let acting = caller.acting();
    state.app.cases().release(acting, CaseId(id), AgentId(agent)).await?;
    Ok(Json(load_view(&state, caller.acting().after_change(), CaseId(id)).await?))
}

/// Someone in a case's conversation besides its customer: replies are copied to them.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantView {
    pub customer: crate::views::CustomerView,
    /// `sender` (wrote in) or `cc` (was copied).
    pub role: String,
}

/// Who replies on the case are copied to.
#[utoipa::path(get, path = "/api/v1/cases/{id}/participants", tag = "messages", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ParticipantView>), (status = 404, body = crate::docs::Problem)))]
pub async fn participants(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<ParticipantView>>> {
    caller.require(Action::ReadCases)?;
    let people = state.app.cases().participants(caller.acting(), CaseId(id)).await?;
    Ok(Json(people.iter().map(|(customer, role)| ParticipantView { customer: customer.into(), role: role.clone() }).collect()))
}

/// Take someone out of the conversation: replies are no longer copied to them, and a message
/// of theirs naming the case opens a linked case of its own.
#[utoipa::path(delete, path = "/api/v1/cases/{id}/participants/{customer_id}", tag = "messages",
    params(("id" = i64, Path), ("customer_id" = i64, Path)), responses((status = 204), (status = 404, body = crate::docs::Problem)))]
pub async fn remove_participant(State(state): State<AppState>, caller: Caller, PathIds(id, customer): PathIds) -> ApiResult<StatusCode> {
    caller.require(Action::WorkCases)?;
    state.app.cases().remove_participant(caller.acting(), CaseId(id), CustomerId(customer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `discount`, `credit`, `refund`, `free_service` or `gift`.
    #[schema(required, value_type = crate::docs::CompensationChoice)]
    pub kind: Option<String>,
    #[schema(required, value_type = String, example = "500.00")]
    pub amount: Option<serde_json::Value>,
    pub currency: Option<String>,
    /// What was promised, in words the customer would recognise.
    #[schema(required)]
    pub note: Option<String>,
    /// Over the budget, ask a supervisor to approve it (201 with `status` `requested`) instead of
    /// being refused.
    pub request_approval: Option<bool>,
}

/// Grant compensation. Agents stay within the case's budget (409
/// `compensation_over_budget`) or ask a supervisor with `request_approval`; supervisors may
/// exceed it, which the ledger records.
#[utoipa::path(post, path = "/api/v1/cases/{id}/compensations", tag = "compensation", params(("id" = i64, Path)), request_body = Grant,
    responses((status = 201, body = CompensationView), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn grant(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Grant>,
) -> ApiResult<(StatusCode, Json<CompensationView>)> {
    caller.require(Action::WorkCases)?;
    let mut errors = Errors::default();
    let kind = match &input.kind {
        Some(k) => errors.take(CompensationKind::parse_field("kind", k)),
        None => {
            errors.push(FieldError::required("kind"));
            None
        }
    };
    let money = MoneyInput { amount: input.amount.clone(), currency: input.currency.clone() }.parse(
        "compensation",
        &state.config.currency,
        &mut errors,
    );
    let note = errors.take(text("note", input.note.as_deref().unwrap_or(""), 1, 2000));
    errors.finish()?;
    let (Some(kind), Some(amount), Some(note)) = (kind, money, note) else {
        return Err(crate::error::ApiError::new("validation_failed"));
    };
    let ask_supervisor = input.request_approval.unwrap_or(false);
    let grant = cases::Grant { kind, amount, currency_given: input.currency.is_some(), note, ask_supervisor };
    let (compensation, names) = state.app.cases().grant(caller.acting(), CaseId(id), grant).await?;
    Ok((StatusCode::CREATED, Json(Names(names).compensation(&compensation))))
}

#[utoipa::path(get, path = "/api/v1/cases/{id}/compensations", tag = "compensation", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CompensationView>), (status = 404, body = crate::docs::Problem)))]
pub async fn compensations(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<Vec<CompensationView>>> {
    caller.require(Action::ReadCases)?;
    let (ledger, names) = state.app.cases().compensations(caller.acting(), CaseId(id)).await?;
    let names = Names(names);
    Ok(Json(ledger.iter().map(|c| names.compensation(c)).collect()))
}

/// A request over a budget waiting for a supervisor, with its case's number.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestedView {
    #[serde(flatten)]
    pub compensation: CompensationView,
    pub case_number: i64,
}

/// Grants over a budget waiting for a supervisor's decision, oldest first (supervisors).
#[utoipa::path(get, path = "/api/v1/compensations/requested", tag = "compensation", responses((status = 200, body = Vec<RequestedView>)))]
pub async fn requested(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<RequestedView>>> {
    caller.require(Action::GrantOverBudget)?;
    let (waiting, names) = state.app.cases().requested_compensations(caller.acting()).await?;
    let names = Names(names);
    Ok(Json(waiting.iter().map(|(c, number)| RequestedView { compensation: names.compensation(c), case_number: *number }).collect()))
}

/// Approve a grant over the budget: it is given and counts as spent.
#[utoipa::path(post, path = "/api/v1/compensations/{id}/approve", tag = "compensation", params(("id" = i64, Path)),
    responses((status = 200, body = CompensationView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem)))]
pub async fn approve(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<CompensationView>> {
    caller.require(Action::GrantOverBudget)?;
    let (decided, names) = state.app.cases().decide_compensation(caller.acting(), CompensationId(id), None).await?;
    Ok(Json(Names(names).compensation(&decided)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// Why: the agent who asked reads it.
    #[schema(required)]
    pub reason: Option<String>,
}

/// Refuse a grant over the budget, with a reason for the agent who asked.
#[utoipa::path(post, path = "/api/v1/compensations/{id}/refuse", tag = "compensation", params(("id" = i64, Path)), request_body = Refusal,
    responses((status = 200, body = CompensationView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem),
    (status = 422, body = crate::docs::Problem)))]
pub async fn refuse(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<Refusal>,
) -> ApiResult<Json<CompensationView>> {
    caller.require(Action::GrantOverBudget)?;
    let reason = text("reason", input.reason.as_deref().unwrap_or(""), 1, 1000).map_err(|e| crate::error::ApiError::fields(vec![e]))?;
    let (decided, names) = state.app.cases().decide_compensation(caller.acting(), CompensationId(id), Some(reason)).await?;
    Ok(Json(Names(names).compensation(&decided)))
}
