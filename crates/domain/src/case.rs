//! Cases: the unit of work. The status machine, ownership (exactly one owner once an agent takes
//! it), collaborators and the rules that decide what a change does.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::access::CaseAccess;
use crate::agent::{Action, Role};
use crate::change::{Changes, note_change};
use crate::channel::ChannelKind;
use crate::compensation::Money;
use crate::error::{DomainError, FieldError};
use crate::ids::{AgentId, CaseId, ChannelId, CustomerId, TeamId};
pub use crate::status::Status;
use crate::string_enum;
use crate::time::Timestamp;

string_enum! {
    pub enum Priority {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
}

string_enum! {
    /// What kind of contact this is; complaints follow the complaint flow and count in the
    /// complaint share.
    pub enum CaseKind {
        Question => "question",
        Problem => "problem",
        Complaint => "complaint",
        /// A customer reporting a failure. Spelled `incident` in the API (a contract since the
        /// case engine); the incident object that groups many such reports is `Incident`.
        IncidentReport => "incident",
        Callback => "callback",
    }
}

impl Priority {
    /// One of "our clients" is never below high: their cases come first and get the tighter
    /// deadline.
    pub fn for_our_client(self) -> Priority {
        self.max(Priority::High)
    }
}

/// Resolution targets per priority, in minutes: a new case's deadline unless one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SlaPolicy {
    pub low_minutes: i64,
    pub normal_minutes: i64,
    pub high_minutes: i64,
    pub urgent_minutes: i64,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self { low_minutes: 72 * 60, normal_minutes: 24 * 60, high_minutes: 8 * 60, urgent_minutes: 4 * 60 }
    }
}

impl SlaPolicy {
    pub fn deadline(&self, priority: Priority, from: Timestamp) -> Timestamp {
        from.plus_minutes(match priority {
            Priority::Low => self.low_minutes,
            Priority::Normal => self.normal_minutes,
            Priority::High => self.high_minutes,
            Priority::Urgent => self.urgent_minutes,
        })
    }
}

/// A case as the domain sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub id: CaseId,
    pub number: i64,
    pub subject: String,
    pub customer_id: CustomerId,
    pub kind: CaseKind,
    pub status: Status,
    pub priority: Priority,
    /// What kind of channel the case came through (`email`, `api`, …).
    pub channel_kind: ChannelKind,
    /// The configured channel replies go out through, when the case has one.
    pub channel_id: Option<ChannelId>,
    pub team_id: Option<TeamId>,
    pub owner_id: Option<AgentId>,
    pub collaborators: Vec<AgentId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: BTreeMap<String, Value>,
    pub deadline_at: Option<Timestamp>,
    pub budget: Option<Money>,
    pub spent_minor: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub first_response_at: Option<Timestamp>,
    pub solved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
}

/// The agent acting, with the role their credentials carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActingAgent {
    pub id: AgentId,
    pub role: Role,
    /// Which cases this agent sees ([`crate::access`]).
    pub access: CaseAccess,
}

impl ActingAgent {
    /// The same agent seeing every case: for showing a case right after they changed it, even
    /// when the change took it out of their sight (a hand-over to another team).
    pub fn after_change(self) -> Self {
        Self { access: CaseAccess::All, ..self }
    }
}

impl Case {
    /// Checks a status change. Returns `None` when nothing changes.
    pub fn status_change(&self, to: Status) -> Result<Option<Status>, DomainError> {
        if to == self.status {
            return Ok(None);
        }
        if !self.status.can_become(to) {
            return Err(DomainError::InvalidStatusTransition { from: self.status, to });
        }
        if to == Status::Solved && self.owner_id.is_none() {
            return Err(DomainError::CaseNeedsOwner);
        }
        Ok(Some(to))
    }

    /// "Take it": the agent becomes the owner of an unowned case. Returns false when they
    /// already own it. Somebody else's case is handed over, never taken.
    pub fn take(&self, agent: ActingAgent) -> Result<bool, DomainError> {
        if !agent.role.may(Action::WorkCases) {
            return Err(DomainError::Forbidden);
        }
        match self.owner_id {
            None => Ok(true),
            Some(owner) if owner == agent.id => Ok(false),
            Some(owner) => Err(DomainError::CaseAlreadyOwned { owner }),
        }
    }

    /// "Hand over": the owner (or a supervisor, or anyone while the case has no owner yet) gives
    /// the case to another agent, with a reason the timeline shows.
    pub fn check_transfer(&self, actor: ActingAgent, to: AgentId, to_role: Role, reason: &str) -> Result<String, DomainError> {
        let may = match self.owner_id {
            Some(owner) => owner == actor.id || actor.role.may(Action::TransferAnyCase),
            None => actor.role.may(Action::WorkCases),
        };
        if !may {
            return Err(DomainError::NotCaseOwner);
        }
        if self.status == Status::Closed {
            return Err(DomainError::CaseClosed);
        }
        let mut errors = Vec::new();
        let reason = crate::validate::text("reason", reason, 1, 1000).map_err(|e| errors.push(e)).ok();
        if self.owner_id == Some(to) {
            errors.push(FieldError::new("agent_id", "already_owner"));
        } else if !to_role.may(Action::WorkCases) {
            errors.push(FieldError::new("agent_id", "agent_cannot_own"));
        }
        match reason {
            Some(reason) if errors.is_empty() => Ok(reason),
            _ => Err(DomainError::Validation(errors)),
        }
    }

    /// Pulling a specialist in. Returns false when they are already involved.
    pub fn check_collaborator(&self, agent: AgentId, agent_role: Role) -> Result<bool, DomainError> {
        if self.owner_id == Some(agent) {
            return Err(DomainError::field("agent_id", "already_owner"));
        }
        if !agent_role.may(Action::WorkCases) {
            return Err(DomainError::field("agent_id", "agent_cannot_collaborate"));
        }
        Ok(!self.collaborators.contains(&agent))
    }

    /// Stamps the moments a status change marks: solved and closed times; reopening a solved
    /// case clears its solve time.
    pub fn stamp_status(&mut self, before: Status, now: Timestamp) {
        if self.status == before {
            return;
        }
        match self.status {
            Status::Solved => self.solved_at = Some(now),
            Status::Closed => self.closed_at = Some(now),
            Status::Open if before == Status::Solved => self.solved_at = None,
            _ => {}
        }
    }

    /// The properties that differ from `before`, as the `case.updated` event records them.
    pub fn changes_since(&self, before: &Case) -> Changes {
        let mut changes = Changes::new();
        note_change(&mut changes, "subject", &before.subject, &self.subject);
        note_change(&mut changes, "status", before.status, self.status);
        note_change(&mut changes, "priority", before.priority, self.priority);
        note_change(&mut changes, "kind", before.kind, self.kind);
        note_change(&mut changes, "team_id", before.team_id, self.team_id);
        note_change(&mut changes, "category", &before.category, &self.category);
        note_change(&mut changes, "tags", &before.tags, &self.tags);
        note_change(&mut changes, "custom_fields", &before.custom_fields, &self.custom_fields);
        note_change(&mut changes, "deadline_at", before.deadline_at, self.deadline_at);
        note_change(&mut changes, "compensation_budget", &before.budget, &self.budget);
        changes
    }

    /// Whether the acting agent may change this case's properties and write in it.
    pub fn check_writable(&self, agent: ActingAgent) -> Result<(), DomainError> {
        if !agent.role.may(Action::WorkCases) {
            return Err(DomainError::Forbidden);
        }
        if self.status == Status::Closed {
            return Err(DomainError::CaseClosed);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Case {
        Case {
            id: CaseId(1),
            number: 1001,
            subject: "Не приехал курьер".into(),
            customer_id: CustomerId(7),
            kind: CaseKind::Problem,
            status: Status::New,
            priority: Priority::Normal,
            channel_kind: ChannelKind::Api,
            channel_id: None,
            team_id: None,
            owner_id: None,
            collaborators: vec![],
            category: None,
            tags: vec![],
            custom_fields: BTreeMap::new(),
            deadline_at: None,
            budget: None,
            spent_minor: 0,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            first_response_at: None,
            solved_at: None,
            closed_at: None,
        }
    }

    const AGENT: ActingAgent = ActingAgent { id: AgentId(1), role: Role::Agent, access: CaseAccess::All };
    const OTHER: ActingAgent = ActingAgent { id: AgentId(2), role: Role::Agent, access: CaseAccess::All };
    const SUPERVISOR: ActingAgent = ActingAgent { id: AgentId(3), role: Role::Supervisor, access: CaseAccess::All };

    #[test]
    fn solving_needs_an_owner() {
        let mut case = sample();
        case.status = Status::Open;
        assert_eq!(case.status_change(Status::Solved), Err(DomainError::CaseNeedsOwner));
        case.owner_id = Some(AgentId(1));
        assert_eq!(case.status_change(Status::Solved), Ok(Some(Status::Solved)));
        assert_eq!(case.status_change(Status::Open), Ok(None));
        assert_eq!(
            case.status_change(Status::Closed),
            Err(DomainError::InvalidStatusTransition { from: Status::Open, to: Status::Closed })
        );
    }

    #[test]
    fn only_an_unowned_case_can_be_taken() {
        let mut case = sample();
        assert_eq!(case.take(AGENT), Ok(true));
        case.owner_id = Some(AGENT.id);
        assert_eq!(case.take(AGENT), Ok(false));
        assert_eq!(case.take(OTHER), Err(DomainError::CaseAlreadyOwned { owner: AGENT.id }));
        assert_eq!(case.take(ActingAgent { id: AgentId(9), role: Role::Viewer, access: CaseAccess::All }), Err(DomainError::Forbidden));
    }

    #[test]
    fn handover_needs_the_owner_and_a_reason() {
        let mut case = sample();
        case.owner_id = Some(AGENT.id);
        assert_eq!(case.check_transfer(OTHER, AgentId(5), Role::Agent, "отпуск"), Err(DomainError::NotCaseOwner));
        assert_eq!(case.check_transfer(AGENT, AgentId(5), Role::Agent, " отпуск "), Ok("отпуск".into()));
        assert_eq!(case.check_transfer(SUPERVISOR, AgentId(5), Role::Agent, "balance"), Ok("balance".into()));
        let Err(DomainError::Validation(errors)) = case.check_transfer(AGENT, AgentId(5), Role::Viewer, "") else {
            panic!("expected validation errors");
        };
        let codes: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(codes, [("reason", "required"), ("agent_id", "agent_cannot_own")]);
    }

    #[test]
    fn collaborators_are_not_owners() {
        let mut case = sample();
        case.owner_id = Some(AGENT.id);
        assert!(case.check_collaborator(AGENT.id, Role::Agent).is_err());
        assert_eq!(case.check_collaborator(OTHER.id, Role::Agent), Ok(true));
        case.collaborators.push(OTHER.id);
        assert_eq!(case.check_collaborator(OTHER.id, Role::Agent), Ok(false));
    }
}
