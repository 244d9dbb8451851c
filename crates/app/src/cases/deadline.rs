//! The check at a case's deadline: if the case is still being worked and the deadline has not
//! moved, the miss is recorded (and reaches the owner as a notification).

use opora_domain::event::{Actor, DeadlineMissed, EventData};
use opora_domain::{CaseId, DomainError, Timestamp};
use opora_store::{StoreError, cases};

use crate::jobs::{DeadlineCheck, Outcome};
use crate::{App, Unit};

pub(crate) async fn run(app: &App, check: DeadlineCheck) -> Outcome {
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
