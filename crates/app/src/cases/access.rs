//! The row check of every case use case (`domain::access` holds the rules). A case an agent may
//! not see is "not found" to them, so its existence does not leak; one they may see but not
//! change answers `not_involved`.

use opora_domain::access::{AccessRules, CaseAccess};
use opora_domain::case::{ActingAgent, Case};
use opora_domain::{CaseId, DomainError};
use opora_store::case_list::Sight;
use opora_store::db::Conn;
use opora_store::{agents, cases};

use crate::Unit;

/// The list condition for `agent`: `None` when they see every case.
pub(crate) fn sight(agent: ActingAgent, rules: AccessRules) -> Option<Sight> {
    (agent.access == CaseAccess::Teams).then_some(Sight { agent: agent.id, unsorted: rules.unsorted_visible })
}

pub(crate) fn check_seen(conn: &mut dyn Conn, agent: ActingAgent, case: &Case, rules: AccessRules) -> opora_store::Result<()> {
    if agent.access == CaseAccess::All {
        return Ok(());
    }
    let teams = agents::team_ids(conn, agent.id)?;
    if case.seen_by(agent, &teams, rules) { Ok(()) } else { Err(DomainError::NotFound("case").into()) }
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
