//! Idempotency keys: a client retrying a request with the same `Idempotency-Key` gets the first
//! response again instead of a second case; the same key with a different body is a conflict.

use opora_domain::{AgentId, DomainError};

use crate::{Result, Tx};

/// A stored response: HTTP status and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub status: u16,
    pub body: String,
}

/// Looks the key up inside the write transaction that would perform the request, so two
/// concurrent retries cannot both perform it.
pub fn recall(tx: &mut Tx<'_>, agent: AgentId, key: &str, request_hash: &str) -> Result<Option<Recorded>> {
    let found = tx.opt(
        "select request_hash, status, response from idempotency_keys where agent_id = $1 and key = $2",
        &[agent.into(), key.into()],
        |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
    )?;
    match found {
        None => Ok(None),
        Some((hash, status, body)) if hash == request_hash => Ok(Some(Recorded { status: status as u16, body })),
        Some(_) => Err(DomainError::Conflict("idempotency_key_reused").into()),
    }
}

pub fn remember(tx: &mut Tx<'_>, agent: AgentId, key: &str, request_hash: &str, recorded: &Recorded) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "insert into idempotency_keys (agent_id, key, request_hash, status, response, created_at) values ($1, $2, $3, $4, $5, $6)",
        &[agent.into(), key.into(), request_hash.into(), i64::from(recorded.status).into(), recorded.body.as_str().into(), now.into()],
    )?;
    Ok(())
}

/// Keys older than the retention window are forgotten.
pub fn purge(tx: &mut Tx<'_>, older_than_ms: i64) -> Result<u64> {
    let cutoff = tx.now.plus_millis(-older_than_ms);
    Ok(tx.execute("delete from idempotency_keys where created_at < $1", &[cutoff.into()])?)
}
