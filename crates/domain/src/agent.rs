//! Agents (staff users), their roles and what each role may do.

use serde::Serialize;

use crate::access::CaseAccess;
use crate::ids::{AgentId, TeamId};
use crate::string_enum;
use crate::time::Timestamp;

string_enum! {
    /// Roles, from least to most powerful; the order matters for [`Role::at_least`].
    pub enum Role {
        Viewer => "viewer",
        Agent => "agent",
        Supervisor => "supervisor",
        Admin => "admin",
    }
}

string_enum! {
    /// The languages Opora speaks. Russian first.
    #[derive(Default)]
    pub enum Language {
        #[default]
        Ru => "ru",
        En => "en",
    }
}

/// Everything a role may or may not do, checked on every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadCases,
    WorkCases,
    TransferAnyCase,
    GrantOverBudget,
    WriteCustomers,
    MergeCustomers,
    ManageAgents,
    ManageTeams,
    ManageFields,
    ManageWebhooks,
    ManageChannels,
    ManageAllTokens,
    ViewOperations,
    ManagePlaybooks,
    /// Push orders (the business system's integration token).
    PushOrders,
    /// Send surveys to customers.
    RunSurveys,
}

impl Role {
    pub fn at_least(self, other: Role) -> bool {
        self >= other
    }

    /// The permission matrix.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        let needed = match action {
            ReadCases => Role::Viewer,
            WorkCases | WriteCustomers => Role::Agent,
            TransferAnyCase | GrantOverBudget | MergeCustomers | ViewOperations | ManagePlaybooks | PushOrders | RunSurveys => {
                Role::Supervisor
            }
            ManageAgents | ManageTeams | ManageFields | ManageWebhooks | ManageChannels | ManageAllTokens => Role::Admin,
        };
        self.at_least(needed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub language: Language,
    pub active: bool,
    pub teams: Vec<TeamId>,
    /// Put under the agent's e-mail replies.
    pub signature: Option<String>,
    /// Which cases the agent sees.
    pub case_access: CaseAccess,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Agent {
    /// The agent acting with their full role (a signed-in session).
    pub fn acting(&self) -> crate::case::ActingAgent {
        crate::case::ActingAgent { id: self.id, role: self.role, access: self.case_access.effective(self.role) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub members: Vec<AgentId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.may(Action::ManageAgents));
        assert!(!Role::Supervisor.may(Action::ManageAgents));
        assert!(Role::Supervisor.may(Action::TransferAnyCase));
        assert!(!Role::Agent.may(Action::TransferAnyCase));
        assert!(Role::Agent.may(Action::WorkCases));
        assert!(!Role::Viewer.may(Action::WorkCases));
        assert!(Role::Viewer.may(Action::ReadCases));
    }
}
