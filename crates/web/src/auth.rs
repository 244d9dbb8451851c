//! Who is calling: a bearer token (API clients) or a session cookie (the UI), resolved to an
//! active agent and the role this request carries. Unsafe methods on a cookie session need the
//! session's CSRF token. Lookups are cached for a few seconds; revocations clear the cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use opora_app::auth;
use opora_domain::agent::{Action, Agent, Role};
use opora_domain::case::ActingAgent;
use opora_domain::event::Actor;
use opora_domain::{Timestamp, TokenId};

use crate::AppState;
use crate::error::{ApiError, ApiResult, LanguageHint};

pub const SESSION_COOKIE: &str = "opora_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
const CACHE_TTL: Duration = Duration::from_secs(5);
/// `last_used_at` and sliding session expiry are written at most this often per credential.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Token(TokenId),
    Session { secret: String, csrf: String },
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub agent: Agent,
    pub role: Role,
    pub via: Via,
    /// Acting through a token made with a role cap.
    pub capped: bool,
}

impl Caller {
    pub fn require(&self, action: Action) -> ApiResult<()> {
        if self.role.may(action) { Ok(()) } else { Err(ApiError::new("forbidden")) }
    }

    /// Whether the caller acts through a token with a role cap (one made for a dashboard), even
    /// when the agent's role has since come down to the cap.
    pub fn scoped(&self) -> bool {
        self.capped || self.role < self.agent.role
    }

    /// What only the agent in full may do: change their profile, password and other tokens.
    pub fn require_unscoped(&self) -> ApiResult<()> {
        if self.scoped() { Err(ApiError::new("forbidden")) } else { Ok(()) }
    }

    pub fn acting(&self) -> ActingAgent {
        ActingAgent { id: self.agent.id, role: self.role, access: self.agent.case_access.effective(self.role) }
    }

    pub fn actor(&self) -> Actor {
        Actor::agent(self.agent.id)
    }
}

#[derive(Clone)]
enum Cached {
    Token(Option<auth::TokenOwner>),
    Session(Option<auth::Session>),
}

/// A short-lived cache of credential lookups, so a busy API client does not cost a database
/// read per request.
#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (Instant, Cached)>>,
}

impl AuthCache {
    fn get(&self, key: &str) -> Option<Cached> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(at, _)| at.elapsed() < CACHE_TTL).map(|(_, v)| v.clone())
    }

    fn put(&self, key: String, value: Cached) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
            }
            entries.insert(key, (Instant::now(), value));
        }
    }

    /// Forget everything: an agent, token or session changed.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

fn bearer(parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::new("unauthenticated"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(Some(token.trim().to_owned())),
        _ => Err(ApiError::new("unauthenticated")),
    }
}

pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = if let Some(token) = bearer(parts)? {
            from_token(state, token).await?
        } else if let Some(secret) = session_cookie(parts) {
            let caller = from_session(state, secret).await?;
            if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                check_csrf(parts, &caller)?;
            }
            caller
        } else {
            return Err(ApiError::new("unauthenticated"));
        };
        if let Some(hint) = parts.extensions.get::<LanguageHint>() {
            let _ = hint.0.set(caller.agent.language);
        }
        Ok(caller)
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// No credentials at all is `None`; credentials that do not check out are still an error.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        if parts.headers.contains_key(header::AUTHORIZATION) || session_cookie(parts).is_some() {
            <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state).await.map(Some)
        } else {
            Ok(None)
        }
    }
}

fn check_csrf(parts: &Parts, caller: &Caller) -> ApiResult<()> {
    let Via::Session { csrf, .. } = &caller.via else {
        return Ok(());
    };
    let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if constant_time_eq(sent.as_bytes(), csrf.as_bytes()) { Ok(()) } else { Err(ApiError::new("csrf_failed")) }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn from_token(state: &AppState, token: String) -> ApiResult<Caller> {
    let key = format!("t:{token}");
    let owner = match state.auth_cache.get(&key) {
        Some(Cached::Token(owner)) => owner,
        _ => {
            let secret = token.clone();
            let owner = state.app.auth().token_owner(secret).await?;
            state.auth_cache.put(key, Cached::Token(owner.clone()));
            owner
        }
    };
    let owner = owner.ok_or_else(|| ApiError::new("unauthenticated"))?;
    let now = Timestamp::now();
    if owner.last_used_at.is_none_or(|at| now.millis() - at.millis() > TOUCH_EVERY_MS) {
        let (app, id) = (state.app.clone(), owner.token_id);
        state.auth_cache.put(format!("t:{token}"), Cached::Token(Some(auth::TokenOwner { last_used_at: Some(now), ..owner.clone() })));
        tokio::spawn(async move {
            if let Err(e) = app.auth().mark_token_used(id).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        });
    }
    Ok(Caller { agent: owner.agent, role: owner.role, via: Via::Token(owner.token_id), capped: owner.capped })
}

pub(crate) async fn from_session(state: &AppState, secret: String) -> ApiResult<Caller> {
    let key = format!("s:{secret}");
    let session = match state.auth_cache.get(&key) {
        Some(Cached::Session(session)) => session,
        _ => {
            let lookup = secret.clone();
            let session = state.app.auth().session(lookup).await?;
            state.auth_cache.put(key.clone(), Cached::Session(session.clone()));
            session
        }
    };
    let session = session.filter(|s| s.expires_at > Timestamp::now()).ok_or_else(|| ApiError::new("unauthenticated"))?;
    let now = Timestamp::now();
    if now.millis() - session.last_seen_at.millis() > TOUCH_EVERY_MS {
        let ttl = state.config.session_ttl_ms;
        state
            .auth_cache
            .put(key, Cached::Session(Some(auth::Session { last_seen_at: now, expires_at: now.plus_millis(ttl), ..session.clone() })));
        let (app, touch) = (state.app.clone(), secret.clone());
        tokio::spawn(async move {
            if let Err(e) = app.auth().touch_session(touch, ttl).await {
                tracing::warn!(error = %e, "could not extend a session");
            }
        });
    }
    Ok(Caller { role: session.agent.role, agent: session.agent, via: Via::Session { secret, csrf: session.csrf_token }, capped: false })
}

/// Argon2id with the OWASP baseline parameters (19 MiB, 2 passes), off the async threads.
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Checks a password. Without a stored hash a dummy hash is checked anyway, so that the answer
/// takes as long for an unknown e-mail as for a wrong password.
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG0a6IVbHl2ms";
    let known = hash.is_some();
    let hash = hash.unwrap_or_else(|| DUMMY.to_owned());
    tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok())
        .await
        .unwrap_or(false)
        && known
}

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Generates a password that is easy to read out: groups of letters and digits without
/// look-alikes.
pub fn generate_password() -> Result<String, ApiError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(e.to_string()))?;
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

/// The SHA-256 of `bytes` in lower-case hex (request fingerprints, asset versions).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_are_long_and_grouped() {
        let password = super::generate_password().expect("random");
        assert_eq!(password.len(), 19);
        assert_eq!(password.matches('-').count(), 3);
        assert!(password.chars().all(|c| c == '-' || c.is_ascii_alphanumeric()));
    }
}
