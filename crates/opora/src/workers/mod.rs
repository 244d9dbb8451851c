//! Background workers started beside the HTTP server: each has a name, stops on the shutdown
//! signal, backs off after errors and reports to `/healthz`.

pub mod jobs;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use opora_store::{Store, auth, idempotency};
use opora_web::AppState;
use opora_web::health::Health;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use opora_channels::email::lmtp::Listener;

use crate::config::Config;
use crate::mail::MailService;

pub fn spawn_all(
    state: &AppState,
    health: Arc<Health>,
    config: &Config,
    mail: Arc<MailService>,
    lmtp: Option<Listener>,
    shutdown: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let runner = Arc::new(jobs::Runner::new(state.store.clone(), health.clone(), config)?);
    for name in [jobs::NAME, HOUSEKEEPING, crate::mail::inbound::NAME, crate::mail::fetch::NAME] {
        health.started(name);
    }
    let mut handles = vec![tokio::spawn(runner.run(shutdown.clone()))];
    handles.push(tokio::spawn(housekeeping(state.clone(), health.clone(), shutdown.clone())));
    handles.push(tokio::spawn(crate::mail::inbound::run(mail.clone(), health.clone(), shutdown.clone())));
    handles.push(tokio::spawn(crate::mail::fetch::supervise(mail.clone(), health, shutdown.clone())));
    if let Some(listener) = lmtp {
        handles.push(tokio::spawn(crate::mail::lmtp::serve(mail, listener, shutdown.clone())));
    }
    Ok(handles)
}

const HOUSEKEEPING: &str = "housekeeping";
/// Idempotency keys are kept a day: long enough for any client's retries.
const IDEMPOTENCY_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Every ten minutes: forget expired sessions, old idempotency keys and stale rate-limit entries.
async fn housekeeping(state: AppState, health: Arc<Health>, mut shutdown: watch::Receiver<bool>) {
    let store: Store = state.store.clone();
    loop {
        let result = store
            .write(|tx| {
                let sessions = auth::purge_expired_sessions(tx)?;
                let keys = idempotency::purge(tx, IDEMPOTENCY_RETENTION_MS)?;
                if tx.dialect() == opora_store::db::Dialect::Sqlite {
                    // Refreshes the planner's statistics where they drifted; cheap when they did not.
                    tx.batch("pragma optimize")?;
                }
                Ok(sessions + keys)
            })
            .await;
        state.login_limits.forget_stale();
        match result {
            Ok(removed) => health.tick(HOUSEKEEPING, removed),
            Err(e) => health.backing_off(HOUSEKEEPING, &e.to_string()),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = shutdown.changed() => break,
        }
    }
    health.stopped(HOUSEKEEPING);
}
