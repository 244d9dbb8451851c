//! Granting compensation within the case's budget: agents stay within it, supervisors may go
//! over it and the ledger records that they did.

use opora_domain::CaseId;
use opora_domain::case::ActingAgent;
use opora_domain::compensation::{Compensation, CompensationKind, Money, check_grant};
use opora_domain::event::{Actor, CompensationGranted, EventData};
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
}

pub(crate) fn grant(u: &mut Unit<'_, '_>, id: CaseId, actor: ActingAgent, mut grant: Grant) -> opora_store::Result<Compensation> {
    let case = super::access::editable(u, actor, id)?;
    if !grant.currency_given
        && let Some(budget) = &case.budget
    {
        grant.amount.currency = budget.currency.clone();
    }
    let over_budget = check_grant(case.budget.as_ref(), case.spent_minor, &grant.amount, actor.role)?;
    let new = NewCompensation { case_id: id, kind: grant.kind, amount: grant.amount, note: grant.note, granted_by: actor.id, over_budget };
    let granted = compensations::insert(u.tx(), &new)?;
    cases::add_spent(u.tx(), id, granted.amount.minor)?;
    let data = CompensationGranted {
        number: case.number,
        compensation_id: granted.id,
        kind: granted.kind,
        amount: Money::format_minor(granted.amount.minor),
        currency: granted.amount.currency.clone(),
        note: granted.note.clone(),
        over_budget,
    };
    u.emit(Some(id), Some(case.customer_id), Actor::agent(actor.id), EventData::CompensationGranted(data))?;
    Ok(granted)
}

impl Cases<'_> {
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
