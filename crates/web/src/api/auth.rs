//! Signing in and out with a password (cookie sessions for the UI), and the caller's own profile.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use opora_app::staff::AgentChange;
use opora_domain::FieldError;
use opora_domain::agent::Language;
use opora_domain::error::Errors;
use opora_domain::validate::{EmailAddress, line};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Caller, MIN_PASSWORD_CHARS, SESSION_COOKIE, Via, hash_password, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ClientAddr, network};
use crate::views::AgentView;

/// Brute-force brakes, in memory on each node: per client network, and per client network and
/// account together, so guessing from one place stops while the owner, elsewhere, still gets in
/// (a limit per account alone would let anyone lock anyone out).
pub struct LoginLimits {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<(Option<IpAddr>, String)>,
}

impl LoginLimits {
    pub fn new(per_minute: u32) -> Self {
        let burst = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            by_ip: RateLimiter::keyed(Quota::per_minute(burst)),
            by_account: RateLimiter::keyed(Quota::per_hour(burst.saturating_mul(NonZeroU32::MIN.saturating_add(2)))),
        }
    }

    /// Whether another attempt on `account` from `ip` may be checked now.
    pub fn check(&self, ip: Option<IpAddr>, account: &str) -> bool {
        let network = ip.map(network);
        let ip_ok = network.is_none_or(|ip| self.by_ip.check_key(&ip).is_ok());
        ip_ok && self.by_account.check_key(&(network, account.to_owned())).is_ok()
    }

    pub fn forget_stale(&self) {
        self.by_ip.retain_recent();
        self.by_account.retain_recent();
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    #[schema(required)]
    pub email: Option<String>,
    #[schema(required)]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub agent: AgentView,
    /// Send it as `X-CSRF-Token` on every unsafe request made with the session cookie.
    pub csrf_token: String,
}

fn session_cookie(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&cookie).unwrap_or(HeaderValue::from_static("opora_session=; Path=/; Max-Age=0"))
}

/// Sign in with e-mail and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = SessionView), (status = 401, body = crate::docs::Problem), (status = 429, body = crate::docs::Problem)))]
pub async fn login(State(state): State<AppState>, ClientAddr(peer): ClientAddr, ApiJson(input): ApiJson<Login>) -> ApiResult<Response> {
    let mut errors = Errors::default();
    let email = errors.take(EmailAddress::parse("email", input.email.as_deref().unwrap_or("")));
    if input.password.as_deref().is_none_or(str::is_empty) {
        errors.push(FieldError::required("password"));
    }
    errors.finish()?;
    let email = email.map(EmailAddress::into_string).unwrap_or_default();
    let (agent, csrf, secret) = sign_in(&state, peer.map(|p| p.ip()), email, input.password.unwrap_or_default()).await?;
    let mut response = Json(SessionView { agent: AgentView::from(&agent), csrf_token: csrf }).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, &secret, state.config.session_ttl_ms / 1000));
    Ok(response)
}

/// Checks the password and starts a session: the agent, the CSRF token and the cookie secret.
pub async fn sign_in(
    state: &AppState,
    ip: Option<IpAddr>,
    email: String,
    password: String,
) -> ApiResult<(opora_domain::agent::Agent, String, String)> {
    if !state.login_limits.check(ip, &email) {
        return Err(ApiError::new("rate_limited"));
    }
    let lookup = email.clone();
    let found = state.app.auth().credentials(lookup).await?;
    let (agent, hash) = match found {
        Some((agent, hash)) if agent.active => (Some(agent), hash),
        _ => (None, None),
    };
    if !verify_password(hash, password).await {
        return Err(ApiError::new("invalid_credentials"));
    }
    let agent = agent.ok_or_else(|| ApiError::new("invalid_credentials"))?;
    let (id, ttl) = (agent.id, state.config.session_ttl_ms);
    let (secret, csrf) = state.app.auth().start_session(id, ttl).await?;
    Ok((agent, csrf, secret))
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> ApiResult<Response> {
    if let Via::Session { secret, .. } = caller.via {
        state.app.auth().end_session(secret).await?;
        state.auth_cache.clear();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", 0));
    Ok(response)
}

/// The signed-in agent.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = AgentView), (status = 401, body = crate::docs::Problem)))]
pub async fn me(caller: Caller) -> Json<AgentView> {
    let mut view = AgentView::from(&caller.agent);
    view.role = caller.role.as_str().into();
    Json(view)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    pub name: Option<String>,
    /// `ru` or `en`: the language of the UI and of errors.
    #[schema(value_type = Option<crate::docs::LanguageChoice>)]
    pub language: Option<String>,
    /// Put under your e-mail replies; `null` or `""` removes it.
    #[serde(default, deserialize_with = "super::nullable")]
    #[schema(value_type = Option<String>)]
    pub signature: Option<Option<String>>,
}

/// Change your own name, language or e-mail signature.
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth", request_body = UpdateMe, responses((status = 200, body = AgentView), (status = 422, body = crate::docs::Problem)))]
pub async fn update_me(State(state): State<AppState>, caller: Caller, ApiJson(input): ApiJson<UpdateMe>) -> ApiResult<Json<AgentView>> {
    caller.require_unscoped()?;
    let mut errors = Errors::default();
    let change = AgentChange {
        name: input.name.as_deref().and_then(|n| errors.take(line("name", n, 1, 200))),
        language: input.language.as_deref().and_then(|l| errors.take(Language::parse_field("language", l))),
        signature: match &input.signature {
            Some(Some(text)) => {
                errors.take(opora_domain::validate::text("signature", text, 0, 2000)).map(|t| Some(t).filter(|t| !t.is_empty()))
            }
            Some(None) => Some(None),
            None => None,
        },
        ..Default::default()
    };
    errors.finish()?;
    let (id, actor) = (caller.agent.id, caller.actor());
    let agent = state.app.staff().update_agent(actor, id, change).await?;
    state.auth_cache.clear();
    Ok(Json(AgentView::from(&agent)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(required)]
    pub current_password: Option<String>,
    #[schema(required)]
    pub new_password: Option<String>,
    /// Also revoke every API token of yours (a password that leaked may have made some).
    #[serde(default)]
    pub revoke_tokens: bool,
}

/// Change your password; every other session of yours is signed out, and your API tokens are
/// revoked when you ask. Attempts are limited like signing in.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth", request_body = ChangePassword,
    responses((status = 204), (status = 403, body = crate::docs::Problem), (status = 422, body = crate::docs::Problem), (status = 429, body = crate::docs::Problem)))]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    caller: Caller,
    ApiJson(input): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    caller.require_unscoped()?;
    // Without a brake, the current-password check is a guessing oracle for whoever holds a token.
    if !state.login_limits.check(peer.map(|p| p.ip()), &format!("#{}", caller.agent.id)) {
        return Err(ApiError::new("rate_limited"));
    }
    let new_password = input.new_password.unwrap_or_default();
    if new_password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::fields(vec![FieldError::new("new_password", "weak_password").with("min", MIN_PASSWORD_CHARS)]));
    }
    let email = caller.agent.email.clone();
    let found = state.app.auth().credentials(email).await?;
    let hash = found.and_then(|(_, hash)| hash);
    if !verify_password(hash, input.current_password.unwrap_or_default()).await {
        return Err(ApiError::fields(vec![FieldError::new("current_password", "wrong_password")]));
    }
    let new_hash = hash_password(new_password).await?;
    let keep = match &caller.via {
        Via::Session { secret, .. } => Some(secret.clone()),
        Via::Token(_) => None,
    };
    state.app.auth().set_password(caller.agent.id, new_hash, keep, input.revoke_tokens).await?;
    state.auth_cache.clear();
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guessing_from_one_place_does_not_lock_the_owner_out() {
        let limits = LoginLimits::new(3);
        let attacker: IpAddr = "203.0.113.7".parse().expect("an address");
        let owner: IpAddr = "198.51.100.20".parse().expect("an address");
        let tries: Vec<bool> = (0..12).map(|_| limits.check(Some(attacker), "olga@example.ru")).collect();
        assert!(tries.iter().filter(|ok| **ok).count() <= 3, "the attacker is slowed: {tries:?}");
        assert!(limits.check(Some(owner), "olga@example.ru"), "the owner, elsewhere, still gets in");
        let neighbour: IpAddr = "2001:db8:5:6::1".parse().expect("an address");
        let same_subscriber: IpAddr = "2001:db8:5:6::ffff".parse().expect("an address");
        let counted: Vec<bool> = (0..3).map(|_| limits.check(Some(neighbour), "anna@example.ru")).collect();
        assert!(counted.iter().all(|ok| *ok));
        assert!(!limits.check(Some(same_subscriber), "anna@example.ru"), "one IPv6 /64 is one client");
    }
}
