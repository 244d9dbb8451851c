//! Working a case: taking it, handing it over with a reason, pulling specialists in, and granting
//! compensation within the budget.

use opora_domain::case::{ActingAgent, Case};
use opora_domain::compensation::{Compensation, CompensationKind, Money, check_grant};
use opora_domain::event::{Actor, EventKind};
use opora_domain::{AgentId, CaseId, CompensationId, DomainError};
use serde_json::json;

use crate::cases::{self, agent_role};
use crate::db::{Conn, DbError, Row};
use crate::{Result, Tx};

/// "Take it": an unowned case becomes the agent's.
pub fn take(tx: &mut Tx<'_>, id: CaseId, agent: ActingAgent) -> Result<Case> {
    let case = cases::get(&mut **tx, id)?;
    case.check_writable(agent)?;
    if !case.take(agent)? {
        return Ok(case);
    }
    assign(tx, &case, agent.id, Actor::agent(agent.id))
}

/// Makes `owner` the owner of an unowned case (taking it, or an agent's first reply).
pub(crate) fn assign(tx: &mut Tx<'_>, case: &Case, owner: AgentId, actor: Actor) -> Result<Case> {
    let mut after = case.clone();
    after.owner_id = Some(owner);
    if after.status == opora_domain::case::Status::New {
        after.status = opora_domain::case::Status::Open;
    }
    tx.execute("delete from case_collaborators where case_id = $1 and agent_id = $2", &[case.id.into(), owner.into()])?;
    after.collaborators.retain(|a| *a != owner);
    let after = cases::save(tx, case, after, actor)?;
    tx.emit(EventKind::CaseOwnerAssigned, Some(case.id), Some(case.customer_id), actor, json!({"number": case.number, "owner_id": owner}))?;
    Ok(after)
}

/// "Hand over": the owner gives the case to another agent, with a reason.
pub fn transfer(tx: &mut Tx<'_>, id: CaseId, actor: ActingAgent, to: AgentId, reason: &str) -> Result<Case> {
    let case = cases::get(&mut **tx, id)?;
    let to_role = agent_role(&mut **tx, "agent_id", to)?;
    let reason = case.check_transfer(actor, to, to_role, reason)?;
    tx.execute("delete from case_collaborators where case_id = $1 and agent_id = $2", &[id.into(), to.into()])?;
    let mut after = case.clone();
    after.owner_id = Some(to);
    after.collaborators.retain(|a| *a != to);
    let after = cases::save(tx, &case, after, Actor::agent(actor.id))?;
    tx.emit(
        EventKind::CaseOwnerTransferred,
        Some(id),
        Some(case.customer_id),
        Actor::agent(actor.id),
        json!({"number": case.number, "from": case.owner_id, "to": to, "reason": reason}),
    )?;
    Ok(after)
}

/// "Pull in": a specialist joins without taking the case over.
pub fn add_collaborator(tx: &mut Tx<'_>, id: CaseId, actor: ActingAgent, agent: AgentId) -> Result<Case> {
    let case = cases::get(&mut **tx, id)?;
    case.check_writable(actor)?;
    let role = agent_role(&mut **tx, "agent_id", agent)?;
    if case.check_collaborator(agent, role)? {
        let now = tx.now;
        tx.execute(
            "insert into case_collaborators (case_id, agent_id, added_by, created_at) values ($1, $2, $3, $4)",
            &[id.into(), agent.into(), actor.id.into(), now.into()],
        )?;
        touch(tx, id)?;
        tx.emit(
            EventKind::CaseCollaboratorAdded,
            Some(id),
            Some(case.customer_id),
            Actor::agent(actor.id),
            json!({"number": case.number, "agent_id": agent}),
        )?;
    }
    cases::get(&mut **tx, id)
}

pub fn remove_collaborator(tx: &mut Tx<'_>, id: CaseId, actor: ActingAgent, agent: AgentId) -> Result<Case> {
    let case = cases::get(&mut **tx, id)?;
    case.check_writable(actor)?;
    if !case.collaborators.contains(&agent) {
        return Err(DomainError::NotFound("agent").into());
    }
    tx.execute("delete from case_collaborators where case_id = $1 and agent_id = $2", &[id.into(), agent.into()])?;
    touch(tx, id)?;
    tx.emit(
        EventKind::CaseCollaboratorRemoved,
        Some(id),
        Some(case.customer_id),
        Actor::agent(actor.id),
        json!({"number": case.number, "agent_id": agent}),
    )?;
    cases::get(&mut **tx, id)
}

pub(crate) fn touch(tx: &mut Tx<'_>, id: CaseId) -> Result<()> {
    let now = tx.now;
    tx.execute("update cases set updated_at = $2 where id = $1", &[id.into(), now.into()])?;
    Ok(())
}

const COMPENSATION_COLUMNS: &str = "id, case_id, kind, amount_minor, currency, note, granted_by, over_budget, created_at";

fn compensation_from_row(r: &Row<'_>) -> Result<Compensation, DbError> {
    Ok(Compensation {
        id: r.get(0)?,
        case_id: r.get(1)?,
        kind: r.parse(2, CompensationKind::parse)?,
        amount: Money { minor: r.get(3)?, currency: r.get(4)? },
        note: r.get(5)?,
        granted_by: r.get(6)?,
        over_budget: r.get(7)?,
        created_at: r.get(8)?,
    })
}

/// Grants compensation and adds it to what the case has spent.
pub fn grant(tx: &mut Tx<'_>, id: CaseId, actor: ActingAgent, kind: CompensationKind, amount: Money, note: &str) -> Result<Compensation> {
    let case = cases::get(&mut **tx, id)?;
    case.check_writable(actor)?;
    let over_budget = check_grant(case.budget.as_ref(), case.spent_minor, &amount, actor.role)?;
    let now = tx.now;
    let comp = CompensationId(tx.int(
        "insert into compensations (case_id, kind, amount_minor, currency, note, granted_by, over_budget, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
        &[
            id.into(),
            kind.as_str().into(),
            amount.minor.into(),
            amount.currency.as_str().into(),
            note.into(),
            actor.id.into(),
            over_budget.into(),
            now.into(),
        ],
    )?);
    tx.execute(
        "update cases set spent_minor = spent_minor + $2, updated_at = $3 where id = $1",
        &[id.into(), amount.minor.into(), now.into()],
    )?;
    tx.emit(
        EventKind::CompensationGranted,
        Some(id),
        Some(case.customer_id),
        Actor::agent(actor.id),
        json!({"number": case.number, "compensation_id": comp, "kind": kind, "amount": Money::format_minor(amount.minor),
               "currency": amount.currency, "note": note, "over_budget": over_budget}),
    )?;
    Ok(tx.one(&format!("select {COMPENSATION_COLUMNS} from compensations where id = $1"), &[comp.into()], compensation_from_row)?)
}

pub fn compensations(conn: &mut dyn Conn, id: CaseId) -> Result<Vec<Compensation>> {
    cases::get(conn, id)?;
    Ok(conn.all(
        &format!("select {COMPENSATION_COLUMNS} from compensations where case_id = $1 order by id"),
        &[id.into()],
        compensation_from_row,
    )?)
}
