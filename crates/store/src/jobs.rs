//! The jobs table (outbox): side effects written in the same transaction as the change that
//! caused them, claimed by workers with a lease, retried with backoff, dead-lettered at the end.

use opora_domain::{DomainError, JobId, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::db::{Conn, DbError, Dialect, Row};
use crate::{Result, Tx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: Value,
    pub unique_key: Option<String>,
    pub state: String,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, kind, payload, unique_key, state, run_at, attempts, max_attempts, last_error, created_at";

fn from_row(r: &Row<'_>) -> Result<Job, DbError> {
    let payload: String = r.get(2)?;
    Ok(Job {
        id: r.get(0)?,
        kind: r.get(1)?,
        payload: serde_json::from_str(&payload).map_err(|e| DbError::new(format!("job payload: {e}")))?,
        unique_key: r.get(3)?,
        state: r.get(4)?,
        run_at: r.get(5)?,
        attempts: r.get(6)?,
        max_attempts: r.get(7)?,
        last_error: r.get(8)?,
        created_at: r.get(9)?,
    })
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: &'static str,
    pub payload: Value,
    /// At most one job with this key exists at a time (`webhook:3:event:981`).
    pub unique_key: Option<String>,
    pub run_at: Option<Timestamp>,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: Value) -> Self {
        Self { kind, payload, unique_key: None, run_at: None, max_attempts: 10 }
    }

    pub fn unique(mut self, key: String) -> Self {
        self.unique_key = Some(key);
        self
    }

    pub fn at(mut self, run_at: Timestamp) -> Self {
        self.run_at = Some(run_at);
        self
    }

    pub fn attempts(mut self, max_attempts: i64) -> Self {
        self.max_attempts = max_attempts;
        self
    }
}

/// Enqueues a job in the current transaction. Returns `None` when a job with the same unique
/// key is already waiting.
pub fn enqueue(tx: &mut Tx<'_>, job: NewJob) -> Result<Option<JobId>> {
    let now = tx.now;
    let payload = job.payload.to_string();
    let id = tx.opt(
        "insert into jobs (kind, payload, unique_key, state, run_at, attempts, max_attempts, created_at, updated_at)
         values ($1, $2, $3, 'queued', $4, 0, $5, $6, $6)
         on conflict (unique_key) do nothing returning id",
        &[
            job.kind.into(),
            payload.as_str().into(),
            job.unique_key.as_deref().into(),
            job.run_at.unwrap_or(now).into(),
            job.max_attempts.into(),
            now.into(),
        ],
        |r| r.get::<JobId>(0),
    )?;
    tx.jobs_added |= id.is_some();
    Ok(id)
}

/// Claims up to `limit` due jobs for `lease_ms`. A job whose lease ran out (its worker died) is
/// due again. PostgreSQL skips rows other nodes have locked; SQLite has one writer anyway.
pub fn claim(tx: &mut Tx<'_>, limit: i64, lease_ms: i64) -> Result<Vec<Job>> {
    let lock = match tx.dialect() {
        Dialect::Postgres => "for update skip locked",
        Dialect::Sqlite => "",
    };
    let now = tx.now;
    let sql = format!(
        "update jobs set state = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2
         where id in (select id from jobs
                      where (state = 'queued' and run_at <= $2) or (state = 'running' and locked_until < $2)
                      order by run_at, id limit $3 {lock})
         returning {COLUMNS}"
    );
    let mut jobs = tx.all(&sql, &[now.plus_millis(lease_ms).into(), now.into(), limit.into()], from_row)?;
    jobs.sort_by_key(|j| (j.run_at, j.id));
    Ok(jobs)
}

/// The job succeeded: it leaves the table.
pub fn complete(tx: &mut Tx<'_>, id: JobId) -> Result<()> {
    tx.execute("delete from jobs where id = $1", &[id.into()])?;
    Ok(())
}

/// The job failed: it runs again at `retry_at`, or becomes dead once its attempts are used up.
/// Returns true when it was dead-lettered.
pub fn fail(tx: &mut Tx<'_>, job: &Job, error: &str, retry_at: Timestamp) -> Result<bool> {
    let dead = job.attempts >= job.max_attempts;
    let error: String = error.chars().take(2000).collect();
    let now = tx.now;
    tx.execute(
        "update jobs set state = $2, run_at = $3, last_error = $4, locked_until = null, updated_at = $5 where id = $1",
        &[job.id.into(), (if dead { "dead" } else { "queued" }).into(), retry_at.into(), error.as_str().into(), now.into()],
    )?;
    Ok(dead)
}

/// Exponential backoff with ±20% jitter: base, 4×base, 16×base … capped at `cap_ms`.
pub fn backoff_ms(attempt: i64, base_ms: i64, cap_ms: i64, jitter_seed: u64) -> i64 {
    let exponent = (attempt.max(1) - 1).min(12) as u32;
    let delay = base_ms.saturating_mul(4_i64.saturating_pow(exponent)).min(cap_ms);
    let jitter = (jitter_seed % 41) as i64 - 20; // -20..=20 percent
    (delay + delay * jitter / 100).max(1)
}

pub fn list(conn: &mut dyn Conn, state: &str, limit: i64) -> Result<Vec<Job>> {
    Ok(conn.all(&format!("select {COLUMNS} from jobs where state = $1 order by id limit $2"), &[state.into(), limit.into()], from_row)?)
}

pub fn get(conn: &mut dyn Conn, id: JobId) -> Result<Job> {
    conn.opt(&format!("select {COLUMNS} from jobs where id = $1"), &[id.into()], from_row)?.ok_or(DomainError::NotFound("job").into())
}

/// Sends a dead job back to the queue with fresh attempts.
pub fn retry(tx: &mut Tx<'_>, id: JobId) -> Result<Job> {
    let now = tx.now;
    let changed = tx.execute(
        "update jobs set state = 'queued', attempts = 0, run_at = $2, last_error = null, updated_at = $2 where id = $1 and state = 'dead'",
        &[id.into(), now.into()],
    )?;
    if changed == 0 {
        get(&mut **tx, id)?;
        return Err(DomainError::Conflict("job_not_dead").into());
    }
    tx.jobs_added = true;
    get(&mut **tx, id)
}

/// Jobs per state, for metrics.
pub fn counts(conn: &mut dyn Conn) -> Result<Vec<(String, i64)>> {
    Ok(conn.all("select state, count(*) from jobs group by state order by state", &[], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(super::backoff_ms(1, 1000, 60_000, 20), 1000);
        assert_eq!(super::backoff_ms(2, 1000, 60_000, 20), 4000);
        assert_eq!(super::backoff_ms(9, 1000, 60_000, 20), 60_000);
        assert_eq!(super::backoff_ms(1, 1000, 60_000, 0), 800);
        assert_eq!(super::backoff_ms(1, 1000, 60_000, 40), 1200);
    }
}
