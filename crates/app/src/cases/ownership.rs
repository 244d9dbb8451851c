//! Working a case: taking it, handing it over with a reason, pulling specialists in and
//! letting them go. One owner carries the case; the domain decides who may do what.

use opora_domain::case::{ActingAgent, Case, Status};
use opora_domain::event::{Actor, Collaborator, EventData, OwnerAssigned, OwnerTransferred};
use opora_domain::{AgentId, CaseId, DomainError};
use opora_store::cases;

use super::Cases;
use super::access::{editable, seen};
use super::open::agent_role;
use super::properties::save;
use crate::{Result, Unit};

/// Makes `owner` the owner of an unowned case (taking it, or an agent's first reply).
pub(crate) fn assign(u: &mut Unit<'_, '_>, case: &Case, owner: AgentId, actor: Actor) -> opora_store::Result<Case> {
    let mut after = case.clone();
    after.owner_id = Some(owner);
    if after.status == Status::New {
        after.status = Status::Open;
    }
    cases::remove_collaborator(u.tx(), case.id, owner)?;
    after.collaborators.retain(|a| *a != owner);
    let after = save(u, case, after, actor)?;
    let data = OwnerAssigned { number: case.number, owner_id: owner };
    u.emit(Some(case.id), Some(case.customer_id), actor, EventData::CaseOwnerAssigned(data))?;
    Ok(after)
}

pub(crate) fn take(u: &mut Unit<'_, '_>, id: CaseId, agent: ActingAgent) -> opora_store::Result<()> {
    let rules = u.config().access;
    let case = seen(u.conn(), agent, id, rules)?;
    case.check_writable(agent)?;
    if case.take(agent)? {
        assign(u, &case, agent.id, Actor::agent(agent.id))?;
    }
    Ok(())
}

pub(crate) fn transfer(u: &mut Unit<'_, '_>, id: CaseId, actor: ActingAgent, to: AgentId, reason: &str) -> opora_store::Result<()> {
    let rules = u.config().access;
    let case = seen(u.conn(), actor, id, rules)?;
    let to_role = agent_role(u, "agent_id", to)?;
    let reason = case.check_transfer(actor, to, to_role, reason)?;
    cases::remove_collaborator(u.tx(), id, to)?;
    let mut after = case.clone();
    after.owner_id = Some(to);
    after.collaborators.retain(|a| *a != to);
    save(u, &case, after, Actor::agent(actor.id))?;
    let data = OwnerTransferred { number: case.number, from: case.owner_id, to, reason };
    u.emit(Some(id), Some(case.customer_id), Actor::agent(actor.id), EventData::CaseOwnerTransferred(data))?;
    Ok(())
}

pub(crate) fn pull_in(u: &mut Unit<'_, '_>, id: CaseId, actor: ActingAgent, agent: AgentId) -> opora_store::Result<()> {
    let case = editable(u, actor, id)?;
    let role = agent_role(u, "agent_id", agent)?;
    if case.check_collaborator(agent, role)? {
        cases::add_collaborator(u.tx(), id, agent, actor.id)?;
        cases::touch(u.tx(), id)?;
        let data = Collaborator { number: case.number, agent_id: agent };
        u.emit(Some(id), Some(case.customer_id), Actor::agent(actor.id), EventData::CaseCollaboratorAdded(data))?;
    }
    Ok(())
}

fn release(u: &mut Unit<'_, '_>, id: CaseId, actor: ActingAgent, agent: AgentId) -> opora_store::Result<()> {
    let case = editable(u, actor, id)?;
    if !case.collaborators.contains(&agent) {
        return Err(DomainError::NotFound("agent").into());
    }
    cases::remove_collaborator(u.tx(), id, agent)?;
    cases::touch(u.tx(), id)?;
    let data = Collaborator { number: case.number, agent_id: agent };
    u.emit(Some(id), Some(case.customer_id), Actor::agent(actor.id), EventData::CaseCollaboratorRemoved(data))?;
    Ok(())
}

impl Cases<'_> {
    /// "Take it": an unowned case becomes the agent's.
    pub async fn take(&self, agent: ActingAgent, id: CaseId) -> Result<()> {
        self.0.write(move |u| take(u, id, agent)).await
    }

    /// "Hand over": the owner gives the case to another agent, with a reason.
    pub async fn transfer(&self, actor: ActingAgent, id: CaseId, to: AgentId, reason: String) -> Result<()> {
        self.0.write(move |u| transfer(u, id, actor, to, &reason)).await
    }

    /// "Pull in": a specialist joins without taking the case over.
    pub async fn pull_in(&self, actor: ActingAgent, id: CaseId, agent: AgentId) -> Result<()> {
        self.0.write(move |u| pull_in(u, id, actor, agent)).await
    }

    /// A collaborator is let go.
    pub async fn release(&self, actor: ActingAgent, id: CaseId, agent: AgentId) -> Result<()> {
        self.0.write(move |u| release(u, id, actor, agent)).await
    }
}
