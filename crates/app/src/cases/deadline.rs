//! The check at a case's deadline: if the case is still being worked and the deadline has not
//! moved, the miss is recorded (and reaches the owner as a notification).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use opora_domain::event::{Actor, DeadlineMissed, EventData};
use opora_domain::{CaseId, DomainError, Timestamp};
use opora_store::jobs::{Job, NewJob};
use opora_store::{StoreError, cases};
use serde::{Deserialize, Serialize};

use crate::jobs::{JobHandler, JobPayload, Outcome, handler};
use crate::{App, Unit};

/// The check at a case's deadline (`sla.check`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadlineCheck {
    pub case_id: CaseId,
    /// Milliseconds: the deadline this check was scheduled for (a moved deadline has its own).
    pub deadline_at: i64,
}

impl JobPayload for DeadlineCheck {
    const KIND: &'static str = "sla.check";
}

impl DeadlineCheck {
    pub fn at(case_id: CaseId, deadline: Timestamp) -> NewJob {
        DeadlineCheck { case_id, deadline_at: deadline.millis() }
            .job()
            .unique(format!("sla:{case_id}:{}", deadline.millis()))
            .at(deadline)
            .attempts(5)
    }
}

pub(crate) fn job() -> Arc<dyn JobHandler> {
    fn run_check<'a>(app: &'a App, check: DeadlineCheck, _: &'a Job) -> BoxFuture<'a, Outcome> {
        Box::pin(run(app, check))
    }
    handler(run_check)
}

async fn run(app: &App, check: DeadlineCheck) -> Outcome {
    let (case, deadline) = (check.case_id, Timestamp(check.deadline_at));
    match app.write(move |u| check_deadline(u, case, deadline)).await {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

fn check_deadline(u: &mut Unit<'_, '_>, id: CaseId, deadline: Timestamp) -> opora_store::Result<bool> {
    let case = match cases::get(u.conn(), id) {
        Ok(case) => case,
        Err(StoreError::Domain(DomainError::NotFound(_))) => return Ok(false),
        Err(other) => return Err(other),
    };
    let missed = case.status.is_active() && case.deadline_at == Some(deadline) && u.now() >= deadline;
    if missed {
        let data = DeadlineMissed { number: case.number, deadline_at: deadline, owner_id: case.owner_id, priority: case.priority };
        u.emit(Some(id), Some(case.customer_id), Actor::SYSTEM, EventData::CaseDeadlineMissed(data))?;
    }
    Ok(missed)
}
