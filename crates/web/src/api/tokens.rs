//! `/api/v1/tokens`: API tokens for integrations, each scoped to an agent and at most their role.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use opora_app::auth::TokenInfo;
use opora_domain::agent::{Action, Role};
use opora_domain::error::Errors;
use opora_domain::validate::line;
use opora_domain::{AgentId, FieldError, TokenId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::api::cases::parse_time;
use crate::auth::{Caller, Via};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, PathId};

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub agent_id: i64,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    /// The role the token carries when less than its agent's.
    pub role: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
}

impl From<&TokenInfo> for TokenView {
    fn from(t: &TokenInfo) -> Self {
        Self {
            id: t.id.0,
            agent_id: t.agent_id.0,
            name: t.name.clone(),
            prefix: t.prefix.clone(),
            role: t.role.map(|r| r.as_str().into()),
            created_at: t.created_at.to_rfc3339(),
            last_used_at: t.last_used_at.map(|t| t.to_rfc3339()),
            expires_at: t.expires_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// Your tokens; admins may pass `agent` to see another agent's, or `agent=all`.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(("agent" = Option<String>, Query)), responses((status = 200, body = Vec<TokenView>)))]
pub async fn list(State(state): State<AppState>, caller: Caller, query: ApiQuery) -> ApiResult<Json<Vec<TokenView>>> {
    query.only(&["agent"])?;
    let agent = match query.text("agent") {
        None => Some(caller.agent.id),
        Some(other) => {
            caller.require(Action::ManageAllTokens)?;
            if other == "all" { None } else { Some(AgentId(other.parse().map_err(|_| ApiError::field("agent", "invalid_value"))?)) }
        }
    };
    let tokens = state.app.auth().tokens(agent).await?;
    Ok(Json(tokens.iter().map(TokenView::from).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// What it is for: "1C integration", "Grafana".
    #[schema(required)]
    pub name: Option<String>,
    /// A lower role than the agent's, e.g. `viewer` for a dashboard.
    #[schema(value_type = Option<crate::docs::RoleChoice>)]
    pub role: Option<String>,
    pub expires_at: Option<String>,
    /// Admins may create a token for another agent.
    pub agent_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenView,
    /// The secret: shown once. Send it as `Authorization: Bearer …`.
    pub token: String,
}

/// Create an API token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = crate::docs::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let mut errors = Errors::default();
    let name = errors.take(line("name", input.name.as_deref().unwrap_or(""), 1, 100));
    let role = input.role.as_deref().and_then(|r| errors.take(Role::parse_field("role", r)));
    if role.is_some_and(|r| r > caller.role) {
        errors.push(FieldError::new("role", "role_too_high"));
    }
    // A scoped token makes tokens of at most its own scope, never its agent's full role.
    let role = role.or(caller.scoped().then_some(caller.role));
    let expires_at = input.expires_at.as_deref().and_then(|e| parse_time("expires_at", e, &mut errors));
    errors.finish()?;
    let agent = match input.agent_id {
        Some(id) if id != caller.agent.id.0 => {
            caller.require(Action::ManageAllTokens)?;
            AgentId(id)
        }
        _ => caller.agent.id,
    };
    let name = name.unwrap_or_default();
    let (info, token) = state.app.auth().create_token(agent, name, role, expires_at).await.map_err(|e| match ApiError::from(e) {
        error if error.code == "agent_not_found" => ApiError::field("agent_id", "not_found"),
        error => error,
    })?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info: TokenView::from(&info), token })))
}

/// Revoke a token: it stops working at once on this node, within seconds on others.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::docs::Problem)))]
pub async fn revoke(State(state): State<AppState>, caller: Caller, PathId(id): PathId) -> ApiResult<StatusCode> {
    // A scoped token may end itself, not its agent's other tokens.
    if caller.scoped() && caller.via != Via::Token(TokenId(id)) {
        return Err(ApiError::new("forbidden"));
    }
    let may_all = caller.role.may(Action::ManageAllTokens);
    state.app.auth().revoke_token(caller.agent.id, may_all, TokenId(id)).await?;
    state.auth_cache.clear();
    Ok(StatusCode::NO_CONTENT)
}
