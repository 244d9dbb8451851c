//! `/api/v1/agents` and `/api/v1/teams`: staff, roles and groups.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::staff::{AgentChange, NewAgent};
use opora_domain::access::CaseAccess;
use opora_domain::agent::{Action, Language, Role};
use opora_domain::error::Errors;
use opora_domain::event::Actor;
use opora_domain::validate::{EmailAddress, line};
use opora_domain::{AgentId, FieldError, TeamId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Caller, MIN_PASSWORD_CHARS, generate_password, hash_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, PathId};
use crate::views::{AgentView, TeamView};

/// Every agent, for pickers (owner, collaborator) and the admin list.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", responses((status = 200, body = Vec<AgentView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<AgentView>>> {
    caller.require(Action::ReadCases)?;
    let agents = state.app.staff().agents().await?;
    Ok(Json(agents.iter().map(AgentView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 200, body = AgentView), (status = 404, body = crate::docs::Problem)))]
pub async fn get(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<AgentView>> {
    caller.require(Action::ReadCases)?;
    let agent = state.app.staff().agent(AgentId(id)).await?;
    Ok(Json(AgentView::from(&agent)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    #[schema(required)]
    pub email: Option<String>,
    #[schema(required)]
    pub name: Option<String>,
    /// `viewer`, `agent` (default), `supervisor` or `admin`.
    #[schema(value_type = Option<crate::docs::RoleChoice>)]
    pub role: Option<String>,
    /// `ru` (default) or `en`.
    #[schema(value_type = Option<crate::docs::LanguageChoice>)]
    pub language: Option<String>,
    /// At least 10 characters; generated and returned once when omitted.
    pub password: Option<String>,
    /// Which cases the agent sees: `all` (default) or `teams` (their teams' cases and the ones
    /// they own or were pulled into). Admins always see every case.
    #[schema(value_type = Option<crate::docs::CaseAccessChoice>)]
    pub case_access: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedAgent {
    pub agent: AgentView,
    /// Only when it was generated: shown once, never stored in clear.
    pub password: Option<String>,
}

/// Add an agent (admins only).
#[utoipa::path(post, path = "/api/v1/agents", tag = "agents", request_body = CreateAgent,
    responses((status = 201, body = CreatedAgent), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CreateAgent>,
) -> ApiResult<(StatusCode, Json<CreatedAgent>)> {
    caller.require(Action::ManageAgents)?;
    let mut errors = Errors::default();
    let email = errors.take(EmailAddress::parse("email", input.email.as_deref().unwrap_or("")));
    let name = errors.take(line("name", input.name.as_deref().unwrap_or(""), 1, 200));
    let role = input.role.as_deref().map_or(Some(Role::Agent), |r| errors.take(Role::parse_field("role", r)));
    let language =
        input.language.as_deref().map_or(Some(state.config.default_language), |l| errors.take(Language::parse_field("language", l)));
    let case_access =
        input.case_access.as_deref().map_or(Some(CaseAccess::All), |a| errors.take(CaseAccess::parse_field("case_access", a)));
    if let Some(password) = &input.password
        && password.chars().count() < MIN_PASSWORD_CHARS
    {
        errors.push(FieldError::new("password", "weak_password").with("min", MIN_PASSWORD_CHARS));
    }
    errors.finish()?;
    let (Some(email), Some(name), Some(role), Some(language), Some(case_access)) = (email, name, role, language, case_access) else {
        return Err(ApiError::new("validation_failed"));
    };
    let generated = input.password.is_none();
    let password = match input.password {
        Some(password) => password,
        None => generate_password()?,
    };
    let password_hash = hash_password(password.clone()).await?;
    let actor = caller.actor();
    let new = NewAgent { email: email.into_string(), name, role, language, password_hash: Some(password_hash), case_access };
    let agent = state.app.staff().create_agent(actor, new).await?;
    Ok((StatusCode::CREATED, Json(CreatedAgent { agent: AgentView::from(&agent), password: generated.then_some(password) })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    pub name: Option<String>,
    #[schema(value_type = Option<crate::docs::RoleChoice>)]
    pub role: Option<String>,
    #[schema(value_type = Option<crate::docs::LanguageChoice>)]
    pub language: Option<String>,
    /// A deactivated agent cannot sign in and their tokens stop working.
    pub active: Option<bool>,
    /// `all` or `teams` (see creating an agent).
    #[schema(value_type = Option<crate::docs::CaseAccessChoice>)]
    pub case_access: Option<String>,
}

/// Change an agent (admins only). The last active admin cannot be demoted or deactivated.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "agents", params(("id" = i64, Path)), request_body = UpdateAgent,
    responses((status = 200, body = AgentView), (status = 404, body = crate::docs::Problem), (status = 409, body = crate::docs::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<UpdateAgent>,
) -> ApiResult<Json<AgentView>> {
    caller.require(Action::ManageAgents)?;
    let mut errors = Errors::default();
    let change = AgentChange {
        name: input.name.as_deref().and_then(|n| errors.take(line("name", n, 1, 200))),
        role: input.role.as_deref().and_then(|r| errors.take(Role::parse_field("role", r))),
        language: input.language.as_deref().and_then(|l| errors.take(Language::parse_field("language", l))),
        active: input.active,
        case_access: input.case_access.as_deref().and_then(|a| errors.take(CaseAccess::parse_field("case_access", a))),
        password_hash: None,
        signature: None,
    };
    errors.finish()?;
    let actor = caller.actor();
    let agent = state.app.staff().update_agent(actor, AgentId(id), change).await?;
    state.auth_cache.clear();
    Ok(Json(AgentView::from(&agent)))
}

#[utoipa::path(get, path = "/api/v1/teams", tag = "agents", responses((status = 200, body = Vec<TeamView>)))]
pub async fn list_teams(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Vec<TeamView>>> {
    caller.require(Action::ReadCases)?;
    let teams = state.app.staff().teams().await?;
    Ok(Json(teams.iter().map(TeamView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 200, body = TeamView), (status = 404, body = crate::docs::Problem)))]
pub async fn get_team(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<Json<TeamView>> {
    caller.require(Action::ReadCases)?;
    let team = state.app.staff().team(TeamId(id)).await?;
    Ok(Json(TeamView::from(&team)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    pub name: Option<String>,
    pub member_ids: Option<Vec<i64>>,
}

fn parse_team(input: &TeamInput, creating: bool) -> ApiResult<(Option<String>, Option<Vec<AgentId>>)> {
    let mut errors = Errors::default();
    let name = match (&input.name, creating) {
        (Some(n), _) => errors.take(line("name", n, 1, 100)),
        (None, true) => {
            errors.push(FieldError::required("name"));
            None
        }
        (None, false) => None,
    };
    errors.finish()?;
    Ok((name, input.member_ids.as_ref().map(|m| m.iter().map(|id| AgentId(*id)).collect())))
}

/// Create a team (admins only).
#[utoipa::path(post, path = "/api/v1/teams", tag = "agents", request_body = TeamInput,
    responses((status = 201, body = TeamView), (status = 409, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn create_team(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    caller.require(Action::ManageTeams)?;
    let (name, members) = parse_team(&input, true)?;
    let actor = caller.actor();
    let team = state.app.staff().create_team(actor, name.unwrap_or_default(), members.unwrap_or_default()).await?;
    Ok((StatusCode::CREATED, Json(TeamView::from(&team))))
}

/// Rename a team or set its members (admins only).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "agents", params(("id" = i64, Path)), request_body = TeamInput,
    responses((status = 200, body = TeamView), (status = 404, body = crate::docs::Problem)))]
pub async fn update_team(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    ApiJson(input): ApiJson<TeamInput>,
) -> ApiResult<Json<TeamView>> {
    caller.require(Action::ManageTeams)?;
    let (name, members) = parse_team(&input, false)?;
    let actor = caller.actor();
    let team = state.app.staff().update_team(actor, TeamId(id), name, members).await?;
    Ok(Json(TeamView::from(&team)))
}

/// Delete a team without cases (admins only).
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "agents", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = crate::docs::Problem)))]
pub async fn delete_team(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    caller.require(Action::ManageTeams)?;
    let actor: Actor = caller.actor();
    state.app.staff().delete_team(actor, TeamId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Smooth work beside volume, over the last `days`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SmoothWorkView {
    pub days: i64,
    /// Cases the agent owned and solved.
    pub solved: i64,
    /// Of them, solved with a single reply.
    pub first_contact: i64,
    /// Of them, solved by their deadline.
    pub within_deadline: i64,
    /// Of them, reopened afterwards.
    pub reopened: i64,
    /// Customers' ratings of the agent's cases, and their mean (one decimal).
    pub ratings: i64,
    pub average_rating: Option<f64>,
}

/// How an agent's work went: solved at first contact, within the deadline, not reopened, rated.
#[utoipa::path(get, path = "/api/v1/agents/{id}/smooth-work", tag = "agents", params(("id" = i64, Path), ("days" = Option<i64>, Query, minimum = 1, maximum = 365)),
    responses((status = 200, body = SmoothWorkView), (status = 404, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem)))]
pub async fn smooth_work(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id): PathId,
    query: crate::extract::ApiQuery,
) -> ApiResult<Json<SmoothWorkView>> {
    caller.require(Action::ReadCases)?;
    query.only(&["days"])?;
    let days = query.count("days", 30, 365).map_err(|e| crate::error::ApiError::fields(vec![e]))?;
    state.app.staff().agent(AgentId(id)).await?;
    let work = state.app.staff().smooth_work(AgentId(id), days).await?;
    Ok(Json(smooth_view(days, &work)))
}

pub fn smooth_view(days: i64, work: &opora_app::staff::SmoothWork) -> SmoothWorkView {
    let average = (work.ratings > 0).then(|| (work.rating_sum as f64 * 10.0 / work.ratings as f64).round() / 10.0);
    SmoothWorkView {
        days,
        solved: work.solved,
        first_contact: work.first_contact,
        within_deadline: work.within_deadline,
        reopened: work.reopened,
        ratings: work.ratings,
        average_rating: average,
    }
}
