//! Events: everything that happened, written in the same transaction as the change. The case
//! timeline, the live stream, webhooks, notifications and analytics all read them.
//!
//! Each kind has a typed payload ([`EventData`]). On the wire (API, stream, webhooks) an event is
//! its kind (`case.created`) and its payload as a JSON object; that shape is a contract, so a
//! payload struct only ever gains fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::Role;
use crate::case::{CaseKind, Priority};
pub use crate::change::{Change, Changes, note_change};
use crate::channel::ChannelKind;
use crate::compensation::CompensationKind;
use crate::customer::IdentityKind;
use crate::ids::{
    AgentId, CaseId, ChannelId, CompensationId, CustomerId, EventId, ExtraId, IdentityId, MessageId, OrderId, PerformerId, PlaybookId,
    RatingId, TeamId, WebhookId,
};
use crate::message::{DeliveryStatus, Direction};
use crate::status::Status;
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
        ChannelChanged => "channel.changed",
        CaseParticipantAdded => "case.participant_added",
        CaseParticipantRemoved => "case.participant_removed",
        CaseFollowUp => "case.follow_up",
        CaseLinked => "case.linked",
        ChannelBroken => "channel.broken",
        CallRinging => "call.ringing",
        OrderStageChanged => "order.stage_changed",
        RatingReceived => "rating.received",
        CasePlaybookAttached => "case.playbook_attached",
        CasePlaybookStep => "case.playbook_step",
        CompensationRequested => "compensation.requested",
        CompensationRefused => "compensation.refused",
        OrderExtra => "order.extra",
        OrderDelayed => "order.delayed",
    }
}

impl EventKind {
    /// Staff administration is shown to admins only; everything about cases and customers is
    /// visible to every agent.
    pub fn admin_only(self) -> bool {
        matches!(
            self,
            EventKind::AgentCreated
                | EventKind::AgentUpdated
                | EventKind::WebhookChanged
                | EventKind::ChannelChanged
                | EventKind::ChannelBroken
        )
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

    pub fn agent_id(&self) -> Option<AgentId> {
        (self.kind == ActorKind::Agent).then_some(self.id.map(AgentId)).flatten()
    }
}

string_enum! {
    /// What happened to a configured thing (a team, a field, a webhook, a channel).
    pub enum ChangeAction {
        Created => "created",
        Updated => "updated",
        Deleted => "deleted",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseCreated {
    pub number: i64,
    pub subject: String,
    pub status: Status,
    pub priority: Priority,
    pub kind: CaseKind,
    pub channel: ChannelKind,
    pub team_id: Option<TeamId>,
    pub owner_id: Option<AgentId>,
    pub deadline_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseUpdated {
    pub number: i64,
    pub changes: Changes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChanged {
    pub number: i64,
    pub from: Status,
    pub to: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerAssigned {
    /// Missing in events written before the use-case layer recorded it on case creation.
    #[serde(default)]
    pub number: i64,
    pub owner_id: AgentId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerTransferred {
    pub number: i64,
    pub from: Option<AgentId>,
    pub to: AgentId,
    pub reason: String,
}

/// A collaborator pulled in or let go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collaborator {
    pub number: i64,
    pub agent_id: AgentId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlineMissed {
    pub number: i64,
    pub deadline_at: Timestamp,
    pub owner_id: Option<AgentId>,
    pub priority: Priority,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageAdded {
    pub number: i64,
    pub message_id: MessageId,
    pub direction: Direction,
    pub channel: ChannelKind,
    pub preview: String,
    pub attachments: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryChanged {
    pub number: i64,
    pub message_id: MessageId,
    pub status: DeliveryStatus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensationGranted {
    pub number: i64,
    pub compensation_id: CompensationId,
    pub kind: CompensationKind,
    /// Decimal with two digits, `"1500.00"`.
    pub amount: String,
    pub currency: String,
    pub note: String,
    pub over_budget: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerCreated {
    pub customer_id: CustomerId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerUpdated {
    pub customer_id: CustomerId,
    pub changes: Changes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerMerged {
    pub customer_id: CustomerId,
    pub source_id: CustomerId,
    pub source_name: String,
}

/// An identity added to or removed from a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityChanged {
    pub customer_id: CustomerId,
    pub identity_id: IdentityId,
    pub kind: IdentityKind,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentCreated {
    pub agent_id: AgentId,
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentUpdated {
    pub agent_id: AgentId,
    /// `{"from", "to"}` per property; secrets (password, signature) only say `"changed"`.
    pub changes: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamChanged {
    pub team_id: TeamId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: ChangeAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldChanged {
    pub key: String,
    pub action: ChangeAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookChanged {
    pub webhook_id: WebhookId,
    pub action: ChangeAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelChanged {
    pub channel_id: ChannelId,
    pub kind: ChannelKind,
    pub action: ChangeAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A customer's call is ringing at the team: the workspace shows who calls and their open
/// cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRinging {
    pub number: String,
    pub name: String,
    /// The customer's active cases, newest first: (id, number, subject).
    #[serde(default)]
    pub open_cases: Vec<(CaseId, i64, String)>,
}

/// An agent asked a supervisor to approve a grant over the case's budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensationRequested {
    pub number: i64,
    pub compensation_id: CompensationId,
    pub kind: CompensationKind,
    /// Decimal with two digits, `"1500.00"`.
    pub amount: String,
    pub currency: String,
    pub note: String,
}

/// A supervisor refused a requested grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensationRefused {
    pub number: i64,
    pub compensation_id: CompensationId,
    pub reason: String,
    /// Who asked: they hear of the refusal.
    pub requested_by: AgentId,
}

/// An order reached a stage (a new order its first one). `from` is absent for a new order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderStageChanged {
    pub order_id: OrderId,
    pub external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_at: Option<Timestamp>,
}

/// An extra service was offered to the customer (`proposed`), or they answered (`confirmed`,
/// `declined`): the business system subscribes to this to do it or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderExtra {
    pub order_id: OrderId,
    pub external_id: String,
    pub extra_id: ExtraId,
    pub description: String,
    /// Decimal with two digits, `"500.00"`.
    pub amount: String,
    pub currency: String,
    pub status: String,
}

/// The customer was told their order is late, short or faulty, and a case was opened for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDelayed {
    pub order_id: OrderId,
    pub external_id: String,
    /// `delay`, `shortage`, `defect` or `eta_passed`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_at: Option<Timestamp>,
    pub case_id: CaseId,
}

/// A customer rated an order or a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingReceived {
    pub rating_id: RatingId,
    pub score: u8,
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performer_id: Option<PerformerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The problem case a low score opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_case_id: Option<CaseId>,
}

/// A playbook was put on a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookAttached {
    pub number: i64,
    pub playbook_id: PlaybookId,
    pub name: String,
}

/// A step of a case's checklist was ticked or unticked, or the playbook ended with an outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaybookStep {
    pub number: i64,
    pub playbook_id: PlaybookId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    pub done: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// A provider refused the channel itself (a revoked token): it waits for an admin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelBroken {
    pub channel_id: ChannelId,
    pub kind: ChannelKind,
    pub name: String,
    pub reason: String,
}

string_enum! {
    /// How a customer other than the case's own came into its conversation.
    pub enum ParticipantRole {
        /// Wrote into the conversation.
        Sender => "sender",
        /// Was copied (e-mail Cc, or addressed beside us).
        Cc => "cc",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantAdded {
    pub customer_id: CustomerId,
    pub role: ParticipantRole,
}

/// An agent took someone out of the conversation: replies no longer go to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParticipantRemoved {
    pub customer_id: CustomerId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    pub previous_number: i64,
    pub previous_id: CaseId,
}

string_enum! {
    /// Why two cases were linked.
    pub enum LinkReason {
        /// A message named a case (its number, a reply address, a thread) but its sender is
        /// neither that case's customer nor in its conversation: an agent decides.
        NamedByStranger => "named_by_stranger",
    }
}

/// Two cases linked: recorded on both, each naming the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseLinked {
    pub number: i64,
    pub linked_id: CaseId,
    pub linked_number: i64,
    pub reason: LinkReason,
}

/// What an event says, by kind. Serialised as `{"kind": …, "data": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data")]
pub enum EventData {
    #[serde(rename = "case.created")]
    CaseCreated(CaseCreated),
    #[serde(rename = "case.updated")]
    CaseUpdated(CaseUpdated),
    #[serde(rename = "case.status_changed")]
    CaseStatusChanged(StatusChanged),
    #[serde(rename = "case.owner_assigned")]
    CaseOwnerAssigned(OwnerAssigned),
    #[serde(rename = "case.owner_transferred")]
    CaseOwnerTransferred(OwnerTransferred),
    #[serde(rename = "case.collaborator_added")]
    CaseCollaboratorAdded(Collaborator),
    #[serde(rename = "case.collaborator_removed")]
    CaseCollaboratorRemoved(Collaborator),
    #[serde(rename = "case.deadline_missed")]
    CaseDeadlineMissed(DeadlineMissed),
    #[serde(rename = "message.added")]
    MessageAdded(MessageAdded),
    #[serde(rename = "message.delivery_changed")]
    MessageDeliveryChanged(DeliveryChanged),
    #[serde(rename = "compensation.granted")]
    CompensationGranted(CompensationGranted),
    #[serde(rename = "customer.created")]
    CustomerCreated(CustomerCreated),
    #[serde(rename = "customer.updated")]
    CustomerUpdated(CustomerUpdated),
    #[serde(rename = "customer.merged")]
    CustomerMerged(CustomerMerged),
    #[serde(rename = "customer.identity_added")]
    CustomerIdentityAdded(IdentityChanged),
    #[serde(rename = "customer.identity_removed")]
    CustomerIdentityRemoved(IdentityChanged),
    #[serde(rename = "agent.created")]
    AgentCreated(AgentCreated),
    #[serde(rename = "agent.updated")]
    AgentUpdated(AgentUpdated),
    #[serde(rename = "team.changed")]
    TeamChanged(TeamChanged),
    #[serde(rename = "custom_field.changed")]
    CustomFieldChanged(CustomFieldChanged),
    #[serde(rename = "webhook.changed")]
    WebhookChanged(WebhookChanged),
    #[serde(rename = "channel.changed")]
    ChannelChanged(ChannelChanged),
    #[serde(rename = "case.participant_added")]
    CaseParticipantAdded(ParticipantAdded),
    #[serde(rename = "case.participant_removed")]
    CaseParticipantRemoved(ParticipantRemoved),
    #[serde(rename = "case.follow_up")]
    CaseFollowUp(FollowUp),
    #[serde(rename = "case.linked")]
    CaseLinked(CaseLinked),
    #[serde(rename = "channel.broken")]
    ChannelBroken(ChannelBroken),
    #[serde(rename = "call.ringing")]
    CallRinging(CallRinging),
    #[serde(rename = "order.stage_changed")]
    OrderStageChanged(OrderStageChanged),
    #[serde(rename = "rating.received")]
    RatingReceived(RatingReceived),
    #[serde(rename = "case.playbook_attached")]
    CasePlaybookAttached(PlaybookAttached),
    #[serde(rename = "case.playbook_step")]
    CasePlaybookStep(PlaybookStep),
    #[serde(rename = "compensation.requested")]
    CompensationRequested(CompensationRequested),
    #[serde(rename = "compensation.refused")]
    CompensationRefused(CompensationRefused),
    #[serde(rename = "order.extra")]
    OrderExtra(OrderExtra),
    #[serde(rename = "order.delayed")]
    OrderDelayed(OrderDelayed),
    /// A stored payload of a known kind that no longer reads as its type (written by hand, by
    /// an older release or an import): kept and shown as it is, never a failed timeline.
    #[serde(skip)]
    Stored { kind: EventKind, data: Value },
}

impl EventData {
    pub fn kind(&self) -> EventKind {
        use EventData as D;
        use EventKind as K;
        match self {
            D::CaseCreated(_) => K::CaseCreated,
            D::CaseUpdated(_) => K::CaseUpdated,
            D::CaseStatusChanged(_) => K::CaseStatusChanged,
            D::CaseOwnerAssigned(_) => K::CaseOwnerAssigned,
            D::CaseOwnerTransferred(_) => K::CaseOwnerTransferred,
            D::CaseCollaboratorAdded(_) => K::CaseCollaboratorAdded,
            D::CaseCollaboratorRemoved(_) => K::CaseCollaboratorRemoved,
            D::CaseDeadlineMissed(_) => K::CaseDeadlineMissed,
            D::MessageAdded(_) => K::MessageAdded,
            D::MessageDeliveryChanged(_) => K::MessageDeliveryChanged,
            D::CompensationGranted(_) => K::CompensationGranted,
            D::CustomerCreated(_) => K::CustomerCreated,
            D::CustomerUpdated(_) => K::CustomerUpdated,
            D::CustomerMerged(_) => K::CustomerMerged,
            D::CustomerIdentityAdded(_) => K::CustomerIdentityAdded,
            D::CustomerIdentityRemoved(_) => K::CustomerIdentityRemoved,
            D::AgentCreated(_) => K::AgentCreated,
            D::AgentUpdated(_) => K::AgentUpdated,
            D::TeamChanged(_) => K::TeamChanged,
            D::CustomFieldChanged(_) => K::CustomFieldChanged,
            D::WebhookChanged(_) => K::WebhookChanged,
            D::ChannelChanged(_) => K::ChannelChanged,
            D::CaseParticipantAdded(_) => K::CaseParticipantAdded,
            D::CaseParticipantRemoved(_) => K::CaseParticipantRemoved,
            D::CaseFollowUp(_) => K::CaseFollowUp,
            D::CaseLinked(_) => K::CaseLinked,
            D::ChannelBroken(_) => K::ChannelBroken,
            D::CallRinging(_) => K::CallRinging,
            D::OrderStageChanged(_) => K::OrderStageChanged,
            D::RatingReceived(_) => K::RatingReceived,
            D::CasePlaybookAttached(_) => K::CasePlaybookAttached,
            D::CasePlaybookStep(_) => K::CasePlaybookStep,
            D::CompensationRequested(_) => K::CompensationRequested,
            D::CompensationRefused(_) => K::CompensationRefused,
            D::OrderExtra(_) => K::OrderExtra,
            D::OrderDelayed(_) => K::OrderDelayed,
            D::Stored { kind, .. } => *kind,
        }
    }

    /// The payload alone, as the wire and the `events.data` column carry it.
    pub fn payload(&self) -> Value {
        if let EventData::Stored { data, .. } = self {
            return data.clone();
        }
        match serde_json::to_value(self) {
            Ok(Value::Object(mut tagged)) => tagged.remove("data").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// Reads a stored event back from its kind and payload. Only a kind this release does not
    /// know is an error; a payload that does not fit its kind is kept as [`EventData::Stored`].
    pub fn from_parts(kind: &str, payload: Value) -> Result<Self, String> {
        let known = EventKind::parse(kind).ok_or_else(|| format!("unknown event kind {kind:?}"))?;
        let mut tagged = serde_json::Map::new();
        tagged.insert("kind".into(), Value::String(kind.to_owned()));
        tagged.insert("data".into(), payload.clone());
        Ok(serde_json::from_value(Value::Object(tagged)).unwrap_or(EventData::Stored { kind: known, data: payload }))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: EventId,
    pub case_id: Option<CaseId>,
    pub customer_id: Option<CustomerId>,
    pub actor: Actor,
    pub data: EventData,
    pub created_at: Timestamp,
}

impl Event {
    pub fn kind(&self) -> EventKind {
        self.data.kind()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn payloads_keep_their_wire_shape() {
        let data = EventData::TeamChanged(TeamChanged { team_id: TeamId(4), name: None, action: ChangeAction::Deleted });
        assert_eq!(data.kind(), EventKind::TeamChanged);
        assert_eq!(data.payload(), json!({"team_id": 4, "action": "deleted"}));
        let back = EventData::from_parts("team.changed", data.payload()).expect("reads back");
        assert_eq!(back, data);
    }

    #[test]
    fn every_kind_names_its_payload() {
        // The kind strings of the enum and of the serde tags must agree: a stored event is read
        // back through the tag, a subscription is matched through the kind.
        let samples = [
            EventData::CaseOwnerAssigned(OwnerAssigned { number: 1, owner_id: AgentId(2) }),
            EventData::CaseLinked(CaseLinked { number: 1, linked_id: CaseId(2), linked_number: 2, reason: LinkReason::NamedByStranger }),
            EventData::ChannelChanged(ChannelChanged {
                channel_id: ChannelId(1),
                kind: ChannelKind::Api,
                action: ChangeAction::Created,
                name: None,
            }),
            EventData::ChannelBroken(ChannelBroken {
                channel_id: ChannelId(1),
                kind: ChannelKind::Telegram,
                name: "Бот".into(),
                reason: "Unauthorized".into(),
            }),
        ];
        for data in samples {
            let tagged = serde_json::to_value(&data).expect("serialises");
            assert_eq!(tagged["kind"], data.kind().as_str());
        }
        let old = EventData::from_parts("case.owner_assigned", json!({"owner_id": 3})).expect("older shape reads");
        assert_eq!(old, EventData::CaseOwnerAssigned(OwnerAssigned { number: 0, owner_id: AgentId(3) }));
    }

    #[test]
    fn a_payload_that_no_longer_fits_is_kept_as_it_is() {
        let odd = json!({"number": "not a number"});
        let read = EventData::from_parts("case.created", odd.clone()).expect("a known kind reads");
        assert_eq!((read.kind(), read.payload()), (EventKind::CaseCreated, odd));
        assert!(EventData::from_parts("case.teleported", json!({})).is_err(), "an unknown kind is refused");
    }
}
