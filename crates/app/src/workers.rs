//! The background workers, started beside the HTTP server: each has a name, stops on the
//! shutdown signal, backs off after errors and reports to `/healthz`.

use std::time::Duration;

use opora_channels::email::lmtp::Listener;
use opora_store::db::Dialect;
use opora_store::{auth, idempotency};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::App;

const HOUSEKEEPING: &str = "housekeeping";
/// Idempotency keys are kept a day: long enough for any client's retries.
const IDEMPOTENCY_RETENTION_MS: i64 = 24 * 3600 * 1000;

impl App {
    /// Starts every worker; the LMTP listener too when one was bound.
    pub fn spawn_workers(&self, lmtp: Option<Listener>, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let health = self.health();
        for name in [crate::jobs::NAME, HOUSEKEEPING, crate::intake::process::NAME, crate::intake::pollers::NAME] {
            health.started(name);
        }
        let mut handles = vec![
            tokio::spawn(crate::jobs::run(self.clone(), shutdown.clone())),
            tokio::spawn(housekeeping(self.clone(), shutdown.clone())),
            tokio::spawn(crate::intake::process::run(self.clone(), shutdown.clone())),
            tokio::spawn(crate::intake::pollers::supervise(self.clone(), shutdown.clone())),
        ];
        if let Some(listener) = lmtp {
            handles.push(tokio::spawn(crate::channels::lmtp::serve(self.clone(), listener, shutdown.clone())));
        }
        handles
    }
}

/// Every ten minutes: forget expired sessions and old idempotency keys.
async fn housekeeping(app: App, mut shutdown: watch::Receiver<bool>) {
    let health = app.health().clone();
    loop {
        let result = app
            .core
            .store
            .write(|tx| {
                let sessions = auth::purge_expired_sessions(tx)?;
                let keys = idempotency::purge(tx, IDEMPOTENCY_RETENTION_MS)?;
                if tx.dialect() == Dialect::Sqlite {
                    // Refreshes the planner's statistics where they drifted; cheap when they did not.
                    tx.batch("pragma optimize")?;
                }
                Ok(sessions + keys)
            })
            .await;
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
