//! What the background workers report about themselves, shown by `/healthz` and `/metrics`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use opora_domain::Timestamp;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    /// `running`, `backing_off` (after an error) or `stopped`.
    pub state: &'static str,
    pub last_tick_at: Timestamp,
    pub last_error: Option<String>,
    pub processed: u64,
    pub failed: u64,
}

#[derive(Default)]
pub struct Health {
    workers: Mutex<BTreeMap<&'static str, WorkerStatus>>,
}

impl Health {
    fn update(&self, name: &'static str, change: impl FnOnce(&mut WorkerStatus)) {
        if let Ok(mut workers) = self.workers.lock() {
            let status = workers.entry(name).or_insert(WorkerStatus {
                state: "running",
                last_tick_at: Timestamp::now(),
                last_error: None,
                processed: 0,
                failed: 0,
            });
            change(status);
        }
    }

    /// A worker was spawned: it shows as running from that moment, not only after its first
    /// round (which on a busy database may take longer than the first health probe).
    pub fn started(&self, name: &'static str) {
        self.tick(name, 0);
    }

    /// A worker finished a round of work without error.
    pub fn tick(&self, name: &'static str, processed: u64) {
        self.update(name, |s| {
            s.state = "running";
            s.last_tick_at = Timestamp::now();
            s.processed += processed;
        });
    }

    /// A unit of work failed (and will be retried); the worker itself is fine.
    pub fn failed(&self, name: &'static str, error: &str) {
        self.update(name, |s| {
            s.failed += 1;
            s.last_error = Some(error.chars().take(500).collect());
        });
    }

    /// The worker's loop hit an error and is waiting before it tries again.
    pub fn backing_off(&self, name: &'static str, error: &str) {
        self.update(name, |s| {
            s.state = "backing_off";
            s.last_tick_at = Timestamp::now();
            s.last_error = Some(error.chars().take(500).collect());
        });
    }

    pub fn stopped(&self, name: &'static str) {
        self.update(name, |s| s.state = "stopped");
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, WorkerStatus> {
        self.workers.lock().map(|w| w.clone()).unwrap_or_default()
    }
}
