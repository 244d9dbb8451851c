//! Credentials: API tokens and sign-in sessions, stored only as hashes. Passwords are checked
//! by the caller (the web layer hashes them); here they are recorded.

use opora_domain::agent::{Agent, Role};
use opora_domain::event::Actor;
use opora_domain::{AgentId, DomainError, Timestamp, TokenId};
use opora_store::agents::{self, AgentChange};
use opora_store::auth;

pub use opora_store::auth::{Session, TokenInfo, TokenOwner};

use crate::{App, Result};

pub struct Auth<'a>(&'a App);

impl App {
    pub fn auth(&self) -> Auth<'_> {
        Auth(self)
    }
}

impl Auth<'_> {
    /// Who a bearer token belongs to, if it is valid now.
    pub async fn token_owner(&self, secret: String) -> Result<Option<TokenOwner>> {
        self.0.read(move |conn| auth::token_owner(conn, &secret, Timestamp::now())).await
    }

    pub async fn mark_token_used(&self, id: TokenId) -> Result<()> {
        self.0.write(move |u| auth::mark_token_used(u.tx(), id)).await
    }

    /// Creates a token for `agent`; the secret is returned once and never stored.
    pub async fn create_token(
        &self,
        agent: AgentId,
        name: String,
        role: Option<Role>,
        expires_at: Option<Timestamp>,
    ) -> Result<(TokenInfo, String)> {
        self.0.write(move |u| auth::create_token(u.tx(), agent, &name, role, expires_at)).await
    }

    pub async fn tokens(&self, agent: Option<AgentId>) -> Result<Vec<TokenInfo>> {
        self.0.read(move |conn| auth::list_tokens(conn, agent)).await
    }

    /// Revokes a token of `me`, or anyone's when `may_all`; others' tokens are not even seen.
    pub async fn revoke_token(&self, me: AgentId, may_all: bool, id: TokenId) -> Result<()> {
        self.0
            .write(move |u| {
                let token = auth::get_token(u.conn(), id)?;
                if token.agent_id != me && !may_all {
                    return Err(DomainError::NotFound("token").into());
                }
                auth::revoke_token(u.tx(), id)
            })
            .await
    }

    /// The session behind a cookie, if it is valid now.
    pub async fn session(&self, secret: String) -> Result<Option<Session>> {
        self.0.read(move |conn| auth::session(conn, &secret, Timestamp::now())).await
    }

    /// Starts a session; returns the cookie value and the CSRF token.
    pub async fn start_session(&self, agent: AgentId, ttl_ms: i64) -> Result<(String, String)> {
        self.0.write(move |u| auth::create_session(u.tx(), agent, ttl_ms)).await
    }

    pub async fn touch_session(&self, secret: String, ttl_ms: i64) -> Result<()> {
        self.0.write(move |u| auth::touch_session(u.tx(), &secret, ttl_ms)).await
    }

    pub async fn end_session(&self, secret: String) -> Result<()> {
        self.0.write(move |u| auth::delete_session(u.tx(), &secret)).await
    }

    /// Sets a new password hash; every other session of the agent ends.
    /// A new password signs out every other session of the agent's and, when asked, revokes
    /// their API tokens too (a password that leaked may have made some).
    pub async fn set_password(&self, agent: AgentId, hash: String, keep_session: Option<String>, revoke_tokens: bool) -> Result<Agent> {
        self.0
            .write(move |u| {
                let change = AgentChange { password_hash: Some(hash), ..Default::default() };
                let updated = crate::staff::update(u, agent, change, Actor::agent(agent))?;
                auth::delete_other_sessions(u.tx(), agent, keep_session.as_deref())?;
                if revoke_tokens {
                    auth::revoke_tokens_of(u.tx(), agent)?;
                }
                Ok(updated)
            })
            .await
    }

    /// The agent and password hash for a sign-in.
    pub async fn credentials(&self, email: String) -> Result<Option<(Agent, Option<String>)>> {
        self.0.read(move |conn| agents::by_email(conn, &email)).await
    }
}
