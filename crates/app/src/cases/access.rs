//! The row check of every case use case (`domain::access` holds the rules). A case an agent may
//! not see is "not found" to them, so its existence does not leak; one they may see but not
//! change answers `not_involved`.

use opora_domain::access::{AccessRules, CaseAccess};
use opora_domain::case::{ActingAgent, Case};
use opora_domain::{CaseId, DomainError};
use opora_store::case_list::{self, CaseFilter, OwnerFilter, Sight};
use opora_store::db::Conn;
use opora_store::{StoreError, agents, cases};

use crate::Unit;

/// The list condition for `agent`: `None` when they see every case.
pub(crate) fn sight(conn: &mut dyn Conn, agent: ActingAgent, rules: AccessRules) -> opora_store::Result<Option<Sight>> {
    if agent.access == CaseAccess::All {
        return Ok(None);
    }
    let unsorted = rules.unsorted_visible && case_list::any_unsorted(conn)?;
    Ok(Some(Sight { agent: agent.id, teams: agents::team_ids(conn, agent.id)?, unsorted }))
}

/// Limits `filter` to what `agent` sees, unless it keeps to such cases already (their own, the
/// ones they were pulled into, their teams'): those views then cost what they always did.
pub(crate) fn limit(conn: &mut dyn Conn, agent: ActingAgent, rules: AccessRules, filter: &mut CaseFilter) -> opora_store::Result<()> {
    narrow(sight(conn, agent, rules)?.as_ref(), filter);
    Ok(())
}

/// [`limit`] with the sight already read (the inbox counts nine views with one).
pub(crate) fn narrow(sight: Option<&Sight>, filter: &mut CaseFilter) {
    let Some(sight) = sight else { return };
    let own = filter.owner == Some(OwnerFilter::Agent(sight.agent)) || filter.collaborator == Some(sight.agent);
    let of_my_teams = filter.team.is_some_and(|t| sight.teams.contains(&t))
        || (!filter.teams.is_empty() && filter.teams.iter().all(|t| sight.teams.contains(t)));
    if !own && !of_my_teams {
        filter.sight = Some(sight.clone());
    }
}

/// Whether `agent` sees `case`; reading their teams may fail, which is not "no".
pub(crate) fn sees(conn: &mut dyn Conn, agent: ActingAgent, case: &Case, rules: AccessRules) -> opora_store::Result<bool> {
    if agent.access == CaseAccess::All {
        return Ok(true);
    }
    let teams = agents::team_ids(conn, agent.id)?;
    Ok(case.seen_by(agent, &teams, rules))
}

pub(crate) fn check_seen(conn: &mut dyn Conn, agent: ActingAgent, case: &Case, rules: AccessRules) -> opora_store::Result<()> {
    if sees(conn, agent, case, rules)? { Ok(()) } else { Err(DomainError::NotFound("case").into()) }
}

/// The case when it exists and `agent` sees it; `None` when either is not so.
pub(crate) fn seen_or_none(conn: &mut dyn Conn, agent: ActingAgent, id: CaseId, rules: AccessRules) -> opora_store::Result<Option<Case>> {
    match seen(conn, agent, id, rules) {
        Ok(case) => Ok(Some(case)),
        Err(StoreError::Domain(DomainError::NotFound(_))) => Ok(None),
        Err(other) => Err(other),
    }
}

/// The case, when `agent` may see it.
pub(crate) fn seen(conn: &mut dyn Conn, agent: ActingAgent, id: CaseId, rules: AccessRules) -> opora_store::Result<Case> {
    let case = cases::get(conn, id)?;
    check_seen(conn, agent, &case, rules)?;
    Ok(case)
}

/// The case, when `agent` may see it and change it under the workspace's edit policy.
pub(crate) fn editable(u: &mut Unit<'_, '_>, agent: ActingAgent, id: CaseId) -> opora_store::Result<Case> {
    let rules = u.config().access;
    let case = seen(u.conn(), agent, id, rules)?;
    case.check_editable(agent, rules)?;
    Ok(case)
}
