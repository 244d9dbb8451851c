//! API tokens and login sessions. Only SHA-256 hashes of the secrets are stored: a stolen
//! database does not let anyone in.

use base64::Engine;
use opora_domain::agent::{Agent, Role};
use opora_domain::{AgentId, DomainError, Timestamp, TokenId};
use serde::Serialize;

use crate::agents;
use crate::blobs::Blobs;
use crate::db::{Conn, DbError, Row};
use crate::{Result, Tx};

/// A random secret: 32 bytes, URL-safe base64.
pub fn random_secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| crate::StoreError::Io(format!("no randomness: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(secret: &str) -> String {
    Blobs::hash(secret.as_bytes())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub id: TokenId,
    pub agent_id: AgentId,
    pub name: String,
    /// The first characters, to recognise a token in a list.
    pub prefix: String,
    /// A token may carry less power than its agent: `viewer` for a dashboard.
    pub role: Option<Role>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

const TOKEN_COLUMNS: &str = "id, agent_id, name, prefix, role, created_at, last_used_at, expires_at";

fn token_from_row(r: &Row<'_>) -> Result<TokenInfo, DbError> {
    let role: Option<String> = r.get(4)?;
    Ok(TokenInfo {
        id: r.get(0)?,
        agent_id: r.get(1)?,
        name: r.get(2)?,
        prefix: r.get(3)?,
        role: role.as_deref().and_then(Role::parse),
        created_at: r.get(5)?,
        last_used_at: r.get(6)?,
        expires_at: r.get(7)?,
    })
}

/// Creates a token; the plain secret is returned once and never stored.
pub fn create_token(
    tx: &mut Tx<'_>,
    agent: AgentId,
    name: &str,
    role: Option<Role>,
    expires_at: Option<Timestamp>,
) -> Result<(TokenInfo, String)> {
    agents::get(&mut **tx, agent)?;
    let secret = format!("opora_{}", random_secret()?);
    let prefix: String = secret.chars().take(12).collect();
    let now = tx.now;
    let id = tx.int(
        "insert into api_tokens (agent_id, name, token_hash, prefix, role, created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7) returning id",
        &[agent.into(), name.into(), hash(&secret).as_str().into(), prefix.as_str().into(), role.map(Role::as_str).into(), now.into(), expires_at.into()],
    )?;
    let info = tx.one(&format!("select {TOKEN_COLUMNS} from api_tokens where id = $1"), &[id.into()], token_from_row)?;
    Ok((info, secret))
}

pub fn list_tokens(conn: &mut dyn Conn, agent: Option<AgentId>) -> Result<Vec<TokenInfo>> {
    let base = format!("select {TOKEN_COLUMNS} from api_tokens where revoked_at is null");
    Ok(match agent {
        Some(agent) => conn.all(&format!("{base} and agent_id = $1 order by id"), &[agent.into()], token_from_row)?,
        None => conn.all(&format!("{base} order by id"), &[], token_from_row)?,
    })
}

pub fn get_token(conn: &mut dyn Conn, id: TokenId) -> Result<TokenInfo> {
    conn.opt(&format!("select {TOKEN_COLUMNS} from api_tokens where id = $1 and revoked_at is null"), &[id.into()], token_from_row)?
        .ok_or_else(|| DomainError::NotFound("token").into())
}

/// Revokes every live token of an agent; returns how many.
pub fn revoke_tokens_of(tx: &mut Tx<'_>, agent: AgentId) -> Result<u64> {
    let now = tx.now;
    Ok(tx.execute("update api_tokens set revoked_at = $2 where agent_id = $1 and revoked_at is null", &[agent.into(), now.into()])?)
}

pub fn revoke_token(tx: &mut Tx<'_>, id: TokenId) -> Result<()> {
    let now = tx.now;
    if tx.execute("update api_tokens set revoked_at = $2 where id = $1 and revoked_at is null", &[id.into(), now.into()])? == 0 {
        return Err(DomainError::NotFound("token").into());
    }
    Ok(())
}

/// Who a bearer token belongs to, if it is valid: the active agent, the role the token grants
/// (never above the agent's own) and when it was last marked as used.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub agent: Agent,
    pub role: Role,
    /// The token was made with a role cap (for a dashboard, an integration), whatever the
    /// agent's role is now.
    pub capped: bool,
    pub token_id: TokenId,
    pub last_used_at: Option<Timestamp>,
}

pub fn token_owner(conn: &mut dyn Conn, secret: &str, now: Timestamp) -> Result<Option<TokenOwner>> {
    let found = conn.opt(
        "select id, agent_id, role, last_used_at from api_tokens
         where token_hash = $1 and revoked_at is null and (expires_at is null or expires_at > $2)",
        &[hash(secret).as_str().into(), now.into()],
        |r| Ok((r.get::<TokenId>(0)?, r.get::<AgentId>(1)?, r.get::<Option<String>>(2)?, r.get::<Option<Timestamp>>(3)?)),
    )?;
    let Some((token_id, agent_id, cap, last_used_at)) = found else {
        return Ok(None);
    };
    let agent = agents::get(conn, agent_id)?;
    if !agent.active {
        return Ok(None);
    }
    let role = cap.as_deref().and_then(Role::parse).map_or(agent.role, |cap| cap.min(agent.role));
    Ok(Some(TokenOwner { agent, role, capped: cap.is_some(), token_id, last_used_at }))
}

pub fn mark_token_used(tx: &mut Tx<'_>, id: TokenId) -> Result<()> {
    let now = tx.now;
    tx.execute("update api_tokens set last_used_at = $2 where id = $1", &[id.into(), now.into()])?;
    Ok(())
}

// Sessions

#[derive(Debug, Clone)]
pub struct Session {
    pub agent: Agent,
    pub csrf_token: String,
    pub expires_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// Starts a session; returns the cookie value (stored only as a hash) and the CSRF token.
pub fn create_session(tx: &mut Tx<'_>, agent: AgentId, ttl_ms: i64) -> Result<(String, String)> {
    let secret = random_secret()?;
    let csrf = random_secret()?;
    let now = tx.now;
    tx.execute(
        "insert into sessions (id_hash, agent_id, csrf_token, created_at, expires_at, last_seen_at) values ($1, $2, $3, $4, $5, $4)",
        &[hash(&secret).as_str().into(), agent.into(), csrf.as_str().into(), now.into(), now.plus_millis(ttl_ms).into()],
    )?;
    Ok((secret, csrf))
}

pub fn session(conn: &mut dyn Conn, secret: &str, now: Timestamp) -> Result<Option<Session>> {
    let found = conn.opt(
        "select agent_id, csrf_token, expires_at, last_seen_at from sessions where id_hash = $1 and expires_at > $2",
        &[hash(secret).as_str().into(), now.into()],
        |r| Ok((r.get::<AgentId>(0)?, r.get::<String>(1)?, r.get::<Timestamp>(2)?, r.get::<Timestamp>(3)?)),
    )?;
    let Some((agent_id, csrf_token, expires_at, last_seen_at)) = found else {
        return Ok(None);
    };
    let agent = agents::get(conn, agent_id)?;
    Ok(agent.active.then_some(Session { agent, csrf_token, expires_at, last_seen_at }))
}

/// Sliding expiry: an active session lives `ttl_ms` past its last use.
pub fn touch_session(tx: &mut Tx<'_>, secret: &str, ttl_ms: i64) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "update sessions set last_seen_at = $2, expires_at = $3 where id_hash = $1",
        &[hash(secret).as_str().into(), now.into(), now.plus_millis(ttl_ms).into()],
    )?;
    Ok(())
}

pub fn delete_session(tx: &mut Tx<'_>, secret: &str) -> Result<()> {
    tx.execute("delete from sessions where id_hash = $1", &[hash(secret).as_str().into()])?;
    Ok(())
}

/// Ends every session of an agent except, optionally, the current one (after a password change).
pub fn delete_other_sessions(tx: &mut Tx<'_>, agent: AgentId, keep: Option<&str>) -> Result<()> {
    let keep = keep.map(hash).unwrap_or_default();
    tx.execute("delete from sessions where agent_id = $1 and id_hash <> $2", &[agent.into(), keep.as_str().into()])?;
    Ok(())
}

pub fn purge_expired_sessions(tx: &mut Tx<'_>) -> Result<u64> {
    let now = tx.now;
    Ok(tx.execute("delete from sessions where expires_at <= $1", &[now.into()])?)
}

/// Whether an agent who works cases was active in the workspace since `since` (the website
/// widget says "we are offline" otherwise).
pub fn agents_online(conn: &mut dyn Conn, since: Timestamp, now: Timestamp) -> Result<bool> {
    let sql = "select count(*) from sessions s join agents a on a.id = s.agent_id
               where a.active = $1 and a.role <> 'viewer' and s.last_seen_at >= $2 and s.expires_at > $3";
    Ok(conn.int(sql, &[true.into(), since.into(), now.into()])? > 0)
}
