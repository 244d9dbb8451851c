//! Who sees which cases and who may change them. Per agent: every case, or only their teams'
//! cases (plus the ones they own or were pulled into). Per workspace: whether a case someone else
//! owns may be changed by any agent (small teams, the default) or only by the people on it and
//! supervisors.

use crate::agent::{Action, Role};
use crate::case::{ActingAgent, Case};
use crate::error::DomainError;
use crate::ids::TeamId;
use crate::string_enum;

string_enum! {
    /// Which cases an agent sees.
    #[derive(Default)]
    pub enum CaseAccess {
        /// Every case (the default).
        #[default]
        All => "all",
        /// Their teams' cases, and cases they own or were pulled into.
        Teams => "teams",
    }
}

string_enum! {
    /// Who may change a case owned by someone else.
    #[derive(Default)]
    pub enum EditPolicy {
        /// Every agent who sees it (today's behaviour, right for a small team).
        #[default]
        Anyone => "anyone",
        /// Its owner, its collaborators, supervisors and admins.
        Involved => "involved",
    }
}

/// The workspace's access rules, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessRules {
    pub edit: EditPolicy,
    /// Whether agents limited to their teams also see cases given to no team yet (the shared
    /// intake queue). Without it, such agents see new cases only once someone routes them.
    pub unsorted_visible: bool,
}

impl Default for AccessRules {
    fn default() -> Self {
        Self { edit: EditPolicy::Anyone, unsorted_visible: true }
    }
}

impl CaseAccess {
    /// The access a request carries: admins see everything whatever their setting, since they
    /// could change it anyway.
    pub fn effective(self, role: Role) -> CaseAccess {
        if role == Role::Admin { CaseAccess::All } else { self }
    }
}

impl Case {
    fn involves(&self, agent: ActingAgent) -> bool {
        self.owner_id == Some(agent.id) || self.collaborators.contains(&agent.id)
    }

    /// Whether `agent`, a member of `teams`, sees this case.
    pub fn seen_by(&self, agent: ActingAgent, teams: &[TeamId], rules: AccessRules) -> bool {
        match agent.access {
            CaseAccess::All => true,
            CaseAccess::Teams => {
                self.involves(agent)
                    || match self.team_id {
                        Some(team) => teams.contains(&team),
                        None => rules.unsorted_visible,
                    }
            }
        }
    }

    /// Whether `agent` may change this case under the workspace's edit policy (its status,
    /// properties, people, messages and compensation). A case nobody owns yet is open to every
    /// agent who sees it, so the queue can be sorted.
    pub fn check_editable(&self, agent: ActingAgent, rules: AccessRules) -> Result<(), DomainError> {
        self.check_writable(agent)?;
        let free = match rules.edit {
            EditPolicy::Anyone => true,
            EditPolicy::Involved => self.owner_id.is_none() || self.involves(agent) || agent.role.may(Action::TransferAnyCase),
        };
        if free { Ok(()) } else { Err(DomainError::NotInvolved) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::tests::sample;
    use crate::ids::AgentId;

    fn agent(id: i64, role: Role, access: CaseAccess) -> ActingAgent {
        ActingAgent { id: AgentId(id), role, access }
    }

    #[test]
    fn team_access_sees_own_teams_and_own_cases() {
        let rules = AccessRules::default();
        let limited = agent(1, Role::Agent, CaseAccess::Teams);
        let mut case = sample();
        case.team_id = Some(TeamId(7));
        assert!(!case.seen_by(limited, &[TeamId(8)], rules));
        assert!(case.seen_by(limited, &[TeamId(8), TeamId(7)], rules));
        assert!(case.seen_by(agent(1, Role::Agent, CaseAccess::All), &[], rules));
        case.collaborators.push(limited.id);
        assert!(case.seen_by(limited, &[], rules), "pulled in");
        case.collaborators.clear();
        case.owner_id = Some(limited.id);
        assert!(case.seen_by(limited, &[], rules), "owner");
        case.owner_id = None;
        case.team_id = None;
        assert!(case.seen_by(limited, &[], rules), "unsorted queue");
        assert!(!case.seen_by(limited, &[], AccessRules { unsorted_visible: false, ..rules }));
        assert_eq!(CaseAccess::Teams.effective(Role::Admin), CaseAccess::All);
        assert_eq!(CaseAccess::Teams.effective(Role::Supervisor), CaseAccess::Teams);
    }

    #[test]
    fn involved_policy_keeps_owned_cases_to_their_people() {
        let strict = AccessRules { edit: EditPolicy::Involved, unsorted_visible: true };
        let (owner, other) = (agent(1, Role::Agent, CaseAccess::All), agent(2, Role::Agent, CaseAccess::All));
        let mut case = sample();
        assert_eq!(case.check_editable(other, strict), Ok(()), "nobody owns it yet");
        case.owner_id = Some(owner.id);
        assert_eq!(case.check_editable(other, AccessRules::default()), Ok(()));
        assert_eq!(case.check_editable(other, strict), Err(DomainError::NotInvolved));
        assert_eq!(case.check_editable(owner, strict), Ok(()));
        assert_eq!(case.check_editable(agent(3, Role::Supervisor, CaseAccess::All), strict), Ok(()));
        case.collaborators.push(other.id);
        assert_eq!(case.check_editable(other, strict), Ok(()));
        assert_eq!(case.check_editable(agent(4, Role::Viewer, CaseAccess::All), strict), Err(DomainError::Forbidden));
    }
}
