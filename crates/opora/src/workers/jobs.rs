//! The job runner: claims due jobs from the outbox, runs each by kind, and records success,
//! a retry with backoff, or the dead letter.

use std::sync::Arc;
use std::time::Duration;

use opora_domain::{CaseId, EventId, MessageId, Timestamp, WebhookId};
use opora_store::jobs::{self, Job};
use opora_store::{Store, cases, mail, webhooks};
use opora_web::health::Health;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;

pub const NAME: &str = "jobs";

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Retry(String),
}

pub struct Runner {
    store: Store,
    health: Arc<Health>,
    config: crate::config::WorkerConfig,
    http: reqwest::Client,
    allow_internal: bool,
    mail: crate::mail::outbound::Sender,
    mail_timeout: Duration,
}

impl Runner {
    pub fn new(store: Store, health: Arc<Health>, config: &Config) -> Result<Self, String> {
        let http = super::webhooks::client(Duration::from_millis(config.webhooks.timeout_ms), config.webhooks.allow_internal)?;
        Ok(Self {
            store,
            health,
            config: config.workers.clone(),
            http,
            allow_internal: config.webhooks.allow_internal,
            mail: Default::default(),
            mail_timeout: Duration::from_secs(config.mail.timeout_seconds),
        })
    }

    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut failures = 0u32;
        loop {
            if *shutdown.borrow() {
                break;
            }
            let (limit, lease) = (self.config.concurrency as i64, self.config.lease_ms);
            let claimed = self.store.write(move |tx| jobs::claim(tx, limit, lease)).await;
            let batch = match claimed {
                Ok(batch) => {
                    failures = 0;
                    batch
                }
                Err(e) => {
                    failures += 1;
                    self.health.backing_off(NAME, &e.to_string());
                    tracing::error!(error = %e, "cannot claim jobs; backing off");
                    let delay = Duration::from_millis(200 * 2u64.pow(failures.min(6)));
                    tokio::select! { _ = tokio::time::sleep(delay) => {}, _ = shutdown.changed() => break }
                    continue;
                }
            };
            if batch.is_empty() {
                self.health.tick(NAME, 0);
                let poll = Duration::from_millis(self.config.poll_interval_ms);
                tokio::select! {
                    _ = self.store.jobs_enqueued() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => break,
                }
                continue;
            }
            let count = batch.len() as u64;
            let mut running = JoinSet::new();
            for job in batch {
                let runner = Arc::clone(&self);
                running.spawn(async move { runner.finish(job).await });
            }
            while running.join_next().await.is_some() {}
            self.health.tick(NAME, count);
        }
        self.health.stopped(NAME);
    }

    async fn finish(&self, job: Job) {
        let outcome = self.execute(&job).await;
        let (base, cap) = (self.config.retry_base_ms, self.config.retry_cap_ms);
        let id = job.id;
        let recorded = match outcome {
            Outcome::Done => self.store.write(move |tx| jobs::complete(tx, id)).await.map(|_| false),
            Outcome::Retry(error) => {
                self.health.failed(NAME, &format!("{} #{}: {error}", job.kind, job.id));
                tracing::warn!(job = job.id.0, kind = %job.kind, attempt = job.attempts, %error, "job failed");
                let seed = (Timestamp::now().millis() as u64).wrapping_mul(2_654_435_761) ^ job.id.0 as u64;
                let retry_at = Timestamp::now().plus_millis(jobs::backoff_ms(job.attempts, base, cap, seed));
                self.store.write(move |tx| jobs::fail(tx, &job, &error, retry_at)).await
            }
        };
        match recorded {
            Ok(true) => tracing::error!(job = id.0, "job dead-lettered after its last attempt"),
            Ok(false) => {}
            // The lease runs out and the job is claimed again: nothing is lost.
            Err(e) => tracing::error!(job = id.0, error = %e, "could not record a job's outcome"),
        }
    }

    async fn execute(&self, job: &Job) -> Outcome {
        let int = |key: &str| job.payload[key].as_i64();
        match job.kind.as_str() {
            "sla.check" => {
                let (Some(case), Some(deadline)) = (int("case_id"), int("deadline_at")) else {
                    return Outcome::Retry("malformed payload".into());
                };
                match self.store.write(move |tx| cases::check_deadline(tx, CaseId(case), Timestamp(deadline))).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => Outcome::Retry(e.to_string()),
                }
            }
            webhooks::DELIVER => {
                let (Some(hook), Some(event)) = (int("webhook_id"), int("event_id")) else {
                    return Outcome::Retry("malformed payload".into());
                };
                super::webhooks::deliver(&self.store, &self.http, self.allow_internal, WebhookId(hook), EventId(event), job.attempts).await
            }
            mail::SEND => {
                let Some(message) = int("message_id") else {
                    return Outcome::Retry("malformed payload".into());
                };
                self.mail.send(&self.store, MessageId(message), job.attempts, job.max_attempts, self.mail_timeout).await
            }
            other => Outcome::Retry(format!("no handler for job kind {other:?}")),
        }
    }
}
