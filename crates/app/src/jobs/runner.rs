//! The job runner: claims due jobs from the outbox, runs each on the handler of its kind, and
//! records success, a retry with backoff, or the dead letter.

use std::time::Duration;

use opora_domain::Timestamp;
use opora_store::jobs::{self, Job};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::Outcome;
use crate::App;

pub const NAME: &str = "jobs";

/// Works through due jobs until shutdown.
pub async fn run(app: App, mut shutdown: watch::Receiver<bool>) {
    let health = app.health().clone();
    let settings = app.config().workers.clone();
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let (limit, lease) = (settings.concurrency as i64, settings.lease_ms);
        let claimed = app.core.store.write(move |tx| jobs::claim(tx, limit, lease)).await;
        let batch = match claimed {
            Ok(batch) => {
                failures = 0;
                batch
            }
            Err(e) => {
                failures += 1;
                health.backing_off(NAME, &e.to_string());
                tracing::error!(error = %e, "cannot claim jobs; backing off");
                let delay = Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                tokio::select! { _ = tokio::time::sleep(delay) => {}, _ = shutdown.changed() => break }
                continue;
            }
        };
        if batch.is_empty() {
            health.tick(NAME, 0);
            let poll = Duration::from_millis(settings.poll_interval_ms);
            tokio::select! {
                _ = app.core.store.jobs_enqueued() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = shutdown.changed() => break,
            }
            continue;
        }
        let count = batch.len() as u64;
        let mut running = JoinSet::new();
        for job in batch {
            let app = app.clone();
            running.spawn(async move { finish(&app, job).await });
        }
        while running.join_next().await.is_some() {}
        health.tick(NAME, count);
    }
    health.stopped(NAME);
}

async fn finish(app: &App, job: Job) {
    let outcome = match app.core.jobs.handler(&job.kind) {
        Some(handler) => handler.run(app, &job).await,
        None => Outcome::Retry(format!("no handler for job kind {:?}", job.kind)),
    };
    let settings = &app.config().workers;
    let id = job.id;
    let store = &app.core.store;
    let retry = |error: String, wait: i64| {
        app.health().failed(NAME, &format!("{} #{}: {error}", job.kind, job.id));
        tracing::warn!(job = job.id.0, kind = %job.kind, attempt = job.attempts, %error, "job failed");
        (error, Timestamp::now().plus_millis(wait))
    };
    let seed = (Timestamp::now().millis() as u64).wrapping_mul(2_654_435_761) ^ job.id.0 as u64;
    let backoff = jobs::backoff_ms(job.attempts, settings.retry_base_ms, settings.retry_cap_ms, seed);
    let recorded = match outcome {
        Outcome::Done => store.write(move |tx| jobs::complete(tx, id)).await.map(|_| false),
        Outcome::Retry(error) => {
            let (error, at) = retry(error, backoff);
            store.write(move |tx| jobs::fail(tx, &job, &error, at)).await
        }
        Outcome::RetryAfter(error, after) => {
            let (error, at) = retry(error, wait_ms(backoff, after, settings.retry_cap_ms));
            store.write(move |tx| jobs::fail(tx, &job, &error, at)).await
        }
    };
    match recorded {
        Ok(true) => tracing::error!(job = id.0, "job dead-lettered after its last attempt"),
        Ok(false) => {}
        // The lease runs out and the job is claimed again: nothing is lost.
        Err(e) => tracing::error!(job = id.0, error = %e, "could not record a job's outcome"),
    }
}

/// How long a job waits after the other side asked it to (`Retry-After`): at least its own
/// backoff, and never longer than the longest wait we ever make, whatever was asked.
fn wait_ms(backoff_ms: i64, asked: Duration, cap_ms: i64) -> i64 {
    backoff_ms.max(i64::try_from(asked.as_millis()).unwrap_or(i64::MAX).min(cap_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requested_wait_is_honoured_up_to_the_cap() {
        assert_eq!(wait_ms(2_000, Duration::from_secs(30), 3_600_000), 30_000);
        assert_eq!(wait_ms(2_000, Duration::from_millis(10), 3_600_000), 2_000, "never sooner than the backoff");
        assert_eq!(wait_ms(2_000, Duration::from_secs(u64::MAX), 3_600_000), 3_600_000, "a huge Retry-After is capped");
    }
}
