//! Events: everything that happened, written in the same transaction as the change. The case
//! timeline, the live stream, webhooks and analytics all read them.

use serde::Serialize;
use serde_json::Value;

use crate::ids::{AgentId, CaseId, CustomerId, EventId};
use crate::string_enum;
use crate::time::Timestamp;

string_enum! {
    pub enum EventKind {
        CaseCreated => "case.created",
        CaseUpdated => "case.updated",
        CaseStatusChanged => "case.status_changed",
        CaseOwnerAssigned => "case.owner_assigned",
        CaseOwnerTransferred => "case.owner_transferred",
        CaseCollaboratorAdded => "case.collaborator_added",
        CaseCollaboratorRemoved => "case.collaborator_removed",
        CaseDeadlineMissed => "case.deadline_missed",
        MessageAdded => "message.added",
        MessageDeliveryChanged => "message.delivery_changed",
        CompensationGranted => "compensation.granted",
        CustomerCreated => "customer.created",
        CustomerUpdated => "customer.updated",
        CustomerMerged => "customer.merged",
        CustomerIdentityAdded => "customer.identity_added",
        CustomerIdentityRemoved => "customer.identity_removed",
        AgentCreated => "agent.created",
        AgentUpdated => "agent.updated",
        TeamChanged => "team.changed",
        CustomFieldChanged => "custom_field.changed",
        WebhookChanged => "webhook.changed",
        MailboxChanged => "mailbox.changed",
        CaseParticipantAdded => "case.participant_added",
        CaseFollowUp => "case.follow_up",
    }
}

impl EventKind {
    /// Staff administration is shown to admins only; everything about cases and customers is
    /// visible to every agent.
    pub fn admin_only(self) -> bool {
        matches!(self, EventKind::AgentCreated | EventKind::AgentUpdated | EventKind::WebhookChanged | EventKind::MailboxChanged)
    }
}

string_enum! {
    pub enum ActorKind {
        Agent => "agent",
        Customer => "customer",
        System => "system",
    }
}

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<i64>,
}

impl Actor {
    pub const SYSTEM: Actor = Actor { kind: ActorKind::System, id: None };

    pub fn agent(id: AgentId) -> Self {
        Self { kind: ActorKind::Agent, id: Some(id.0) }
    }

    pub fn customer(id: CustomerId) -> Self {
        Self { kind: ActorKind::Customer, id: Some(id.0) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub id: EventId,
    pub kind: EventKind,
    pub case_id: Option<CaseId>,
    pub customer_id: Option<CustomerId>,
    pub actor: Actor,
    pub data: Value,
    pub created_at: Timestamp,
}
