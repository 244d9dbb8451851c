//! Granting compensation within the case's budget: agents stay within it or ask a supervisor,
//! who approves or refuses; supervisors may go over it themselves, and the ledger records that
//! they did.

use opora_domain::CaseId;
use opora_domain::case::ActingAgent;
use opora_domain::compensation::{Compensation, CompensationKind, CompensationStatus, Decision, Money, check_decision, decide_grant};
use opora_domain::event::{Actor, CompensationGranted, CompensationRefused, CompensationRequested, EventData};
use opora_domain::{CompensationId, DomainError};
use opora_store::compensations::{self, NewCompensation};
use opora_store::{cases, names};

use super::Cases;
use crate::{Names, Result, Unit};

/// A grant as an agent asked for it; without an explicit currency it is in the budget's.
#[derive(Debug, Clone)]
pub struct Grant {
    pub kind: CompensationKind,
    pub amount: Money,
    pub currency_given: bool,
    pub note: String,
    /// Over the budget, ask a supervisor instead of being refused.
    pub ask_supervisor: bool,
}

fn granted_event(number: i64, granted: &Compensation) -> EventData {
    EventData::CompensationGranted(CompensationGranted {
        number,
        compensation_id: granted.id,
        kind: granted.kind,
        amount: Money::format_minor(granted.amount.minor),
        currency: granted.amount.currency.clone(),
        note: granted.note.clone(),
        over_budget: granted.over_budget,
    })
}

pub(crate) fn grant(u: &mut Unit<'_, '_>, id: CaseId, actor: ActingAgent, mut grant: Grant) -> opora_store::Result<Compensation> {
    let case = super::access::editable(u, actor, id)?;
    if !grant.currency_given
        && let Some(budget) = &case.budget
    {
        grant.amount.currency = budget.currency.clone();
    }
    let decision = decide_grant(case.budget.as_ref(), case.spent_minor, &grant.amount, actor.role, grant.ask_supervisor)?;
    let (status, over_budget) = match decision {
        Decision::Grant { over_budget } => (CompensationStatus::Granted, over_budget),
        Decision::AskSupervisor => (CompensationStatus::Requested, true),
    };
    let new = NewCompensation {
        case_id: id,
        kind: grant.kind,
        amount: grant.amount,
        note: grant.note,
        granted_by: actor.id,
        over_budget,
        status,
    };
    let saved = compensations::insert(u.tx(), &new)?;
    let data = match status {
        CompensationStatus::Requested => EventData::CompensationRequested(CompensationRequested {
            number: case.number,
            compensation_id: saved.id,
            kind: saved.kind,
            amount: Money::format_minor(saved.amount.minor),
            currency: saved.amount.currency.clone(),
            note: saved.note.clone(),
        }),
        _ => {
            cases::add_spent(u.tx(), id, saved.amount.minor)?;
            granted_event(case.number, &saved)
        }
    };
    u.emit(Some(id), Some(case.customer_id), Actor::agent(actor.id), data)?;
    Ok(saved)
}

/// A supervisor's answer to a request over the budget: approved, it is granted and spent;
/// refused, the agent hears why.
fn decide(u: &mut Unit<'_, '_>, acting: ActingAgent, id: CompensationId, refusal: Option<String>) -> opora_store::Result<Compensation> {
    let request = compensations::get(u.conn(), id)?;
    let rules = u.config().access;
    let case = super::access::seen(u.conn(), acting, request.case_id, rules)?;
    check_decision(request.status, acting.role)?;
    let actor = Actor::agent(acting.id);
    let status = if refusal.is_some() { CompensationStatus::Refused } else { CompensationStatus::Granted };
    // Two supervisors (or one double click) deciding at once: the first decision stands.
    if !compensations::decide(u.tx(), id, status, acting.id)? {
        return Err(DomainError::Conflict("compensation_decided").into());
    }
    match refusal {
        None => {
            cases::add_spent(u.tx(), case.id, request.amount.minor)?;
            let granted = compensations::get(u.conn(), id)?;
            u.emit(Some(case.id), Some(case.customer_id), actor, granted_event(case.number, &granted))?;
        }
        Some(reason) => {
            let data = CompensationRefused { number: case.number, compensation_id: id, reason, requested_by: request.granted_by };
            u.emit(Some(case.id), Some(case.customer_id), actor, EventData::CompensationRefused(data))?;
        }
    }
    compensations::get(u.conn(), id)
}

impl Cases<'_> {
    /// Approves a request over a budget (`None`) or refuses it with a reason.
    pub async fn decide_compensation(
        &self,
        acting: ActingAgent,
        id: CompensationId,
        refusal: Option<String>,
    ) -> Result<(Compensation, Names)> {
        self.0
            .write(move |u| {
                let decided = decide(u, acting, id, refusal)?;
                let names = names::load(u.conn(), &[decided.granted_by], &[], false)?;
                Ok((decided, names))
            })
            .await
    }

    /// Requests over a budget waiting for a supervisor, oldest first, with their cases' numbers.
    pub async fn requested_compensations(&self, acting: ActingAgent) -> Result<(Vec<(Compensation, i64)>, Names)> {
        if !acting.role.may(opora_domain::agent::Action::GrantOverBudget) {
            return Err(DomainError::Forbidden.into());
        }
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let mut waiting = Vec::new();
                for request in compensations::requested(conn, 200)? {
                    // Only requests on cases this supervisor sees.
                    let case = cases::get(conn, request.case_id)?;
                    if super::access::sees(conn, acting, &case, rules)? {
                        waiting.push(request);
                    }
                }
                let ids: Vec<CaseId> = waiting.iter().map(|c| c.case_id).collect();
                let numbers = cases::numbers(conn, &ids)?;
                let agents: Vec<_> = waiting.iter().map(|c| c.granted_by).collect();
                let names = names::load(conn, &agents, &[], false)?;
                Ok((waiting.into_iter().map(|c| (c.clone(), numbers.get(&c.case_id).copied().unwrap_or(0))).collect(), names))
            })
            .await
    }

    /// Grants compensation and adds it to what the case has spent.
    pub async fn grant(&self, actor: ActingAgent, id: CaseId, request: Grant) -> Result<(Compensation, Names)> {
        self.0
            .write(move |u| {
                let granted = grant(u, id, actor, request)?;
                let names = names::load(u.conn(), &[granted.granted_by], &[], false)?;
                Ok((granted, names))
            })
            .await
    }
}
