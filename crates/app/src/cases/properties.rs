//! Changing a case's properties: every property changed is recorded in one `case.updated`
//! event with its old and new value, a status change also as `case.status_changed`.

use opora_domain::case::{ActingAgent, Case, CaseKind, Priority, Status};
use opora_domain::compensation::Money;
use opora_domain::event::{Actor, CaseUpdated, EventData, StatusChanged};
use opora_domain::field::apply_values;
use opora_domain::{CaseId, DomainError, TeamId, Timestamp};
use opora_store::{StoreError, cases, fields};
use serde_json::{Map, Value};

use super::Cases;
use super::open::{check_team, collect};
use crate::cases::deadline::DeadlineCheck;
use crate::{Result, Unit};

/// A change of case properties, already parsed. `None` leaves a property as it is;
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    pub subject: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub kind: Option<CaseKind>,
    pub team_id: Option<Option<TeamId>>,
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<Map<String, Value>>,
    pub deadline_at: Option<Option<Timestamp>>,
    pub budget: Option<Option<Money>>,
}

impl CaseChange {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.kind.is_none()
            && self.team_id.is_none()
            && self.category.is_none()
            && self.tags.is_none()
            && self.custom_fields.is_none()
            && self.deadline_at.is_none()
            && self.budget.is_none()
    }
}

pub(crate) fn apply(u: &mut Unit<'_, '_>, before: &Case, change: CaseChange) -> opora_store::Result<Case> {
    let mut after = before.clone();
    let mut errors = Vec::new();
    if let Some(status) = change.status {
        match before.status_change(status) {
            Ok(_) => after.status = status,
            Err(DomainError::Validation(found)) => errors.extend(found),
            Err(other) => return Err(other.into()),
        }
    }
    if let Some(team) = change.team_id {
        if let Some(team) = team {
            collect(&mut errors, check_team(u, team))?;
        }
        after.team_id = team;
    }
    if let Some(input) = &change.custom_fields {
        let definitions = fields::list(u.conn())?;
        let values = apply_values(&definitions, &before.custom_fields, input, false).map_err(StoreError::from);
        if let Some(values) = collect(&mut errors, values)? {
            after.custom_fields = values;
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    if let Some(budget) = &change.budget {
        if let Some(budget) = budget
            && let Some(old) = &before.budget
            && old.currency != budget.currency
            && before.spent_minor > 0
        {
            return Err(DomainError::field("compensation_budget.currency", "currency_mismatch").into());
        }
        after.budget = budget.clone();
    }
    after.subject = change.subject.unwrap_or(after.subject);
    after.priority = change.priority.unwrap_or(after.priority);
    after.kind = change.kind.unwrap_or(after.kind);
    after.category = change.category.unwrap_or(after.category);
    after.tags = change.tags.unwrap_or(after.tags);
    after.deadline_at = change.deadline_at.unwrap_or(after.deadline_at);
    Ok(after)
}

/// Writes `after` over `before`, stamping status times, and records what differs: one
/// `case.updated` event (and `case.status_changed` for a new status), and a deadline check when
/// the deadline moved. Changes that touch no property (ownership, first response) are saved
/// without an event of their own.
pub(crate) fn save(u: &mut Unit<'_, '_>, before: &Case, mut after: Case, actor: Actor) -> opora_store::Result<Case> {
    after.stamp_status(before.status, u.now());
    let changes = after.changes_since(before);
    let bookkeeping_changed = (before.owner_id, before.first_response_at, before.solved_at, before.closed_at, before.channel_id)
        != (after.owner_id, after.first_response_at, after.solved_at, after.closed_at, after.channel_id);
    if changes.is_empty() && !bookkeeping_changed {
        return Ok(after);
    }
    cases::save(u.tx(), before, &after)?;
    after.updated_at = u.now();
    if !changes.is_empty() {
        let customer = Some(before.customer_id);
        let status_changed = after.status != before.status;
        u.emit(Some(before.id), customer, actor, EventData::CaseUpdated(CaseUpdated { number: before.number, changes }))?;
        if status_changed {
            let data = StatusChanged { number: before.number, from: before.status, to: after.status };
            u.emit(Some(before.id), customer, actor, EventData::CaseStatusChanged(data))?;
        }
    }
    if let Some(deadline) = after.deadline_at
        && after.deadline_at != before.deadline_at
    {
        u.enqueue(DeadlineCheck::at(before.id, deadline))?;
    }
    Ok(after)
}

impl Cases<'_> {
    /// Changes a case's properties as an agent asked.
    pub async fn change(&self, acting: ActingAgent, id: CaseId, change: CaseChange) -> Result<()> {
        self.0
            .write(move |u| {
                let case = super::access::editable(u, acting, id)?;
                if change.is_empty() {
                    return Ok(());
                }
                let after = apply(u, &case, change)?;
                save(u, &case, after, Actor::agent(acting.id)).map(|_| ())
            })
            .await
    }
}
