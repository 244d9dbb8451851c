//! Operations: whether the database answers, what the outbox holds, dead jobs sent back, and
//! the figures `/metrics` shows.

use opora_domain::JobId;
use opora_domain::status::Status;
use opora_store::{cases, jobs};

pub use opora_store::jobs::Job;

use crate::{App, Result};

pub struct System<'a>(&'a App);

impl App {
    pub fn system(&self) -> System<'_> {
        System(self)
    }
}

impl System<'_> {
    /// A cheap round trip to the database, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        Ok(self.0.core.store.ping().await?)
    }

    /// Cases per status and jobs per state.
    pub async fn counts(&self) -> Result<(Vec<(Status, i64)>, Vec<(String, i64)>)> {
        self.0.read(|conn| Ok((cases::count_by_status(conn)?, jobs::counts(conn)?))).await
    }

    /// Live event streams connected to this node.
    pub fn subscribers(&self) -> usize {
        self.0.core.store.bus().subscriber_count()
    }

    pub async fn jobs(&self, state: String, limit: i64) -> Result<Vec<Job>> {
        self.0.read(move |conn| jobs::list(conn, &state, limit)).await
    }

    /// Sends a dead job back to the queue with fresh attempts.
    pub async fn retry_job(&self, id: JobId) -> Result<Job> {
        self.0.write(move |u| jobs::retry(u.tx(), id)).await
    }
}
