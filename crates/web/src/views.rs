//! What the API returns: wire types with their OpenAPI schemas, built from domain values plus
//! the names a client needs (owner, customer, team) resolved in one pass per page.

use std::collections::BTreeMap;

use opora_domain::agent::{Agent, Team};
use opora_domain::case::Case;
use opora_domain::compensation::{Compensation, Money};
use opora_domain::customer::Customer;
use opora_domain::event::{ActorKind, Event};
use opora_domain::message::Message;
use opora_domain::{AgentId, CustomerId, TeamId, Timestamp};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A list page. `next_cursor` is null on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentRef {
    pub id: i64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MoneyView {
    /// Decimal amount with two digits, e.g. `"1500.00"`.
    pub amount: String,
    /// ISO 4217 code, e.g. `RUB`.
    pub currency: String,
}

impl From<&Money> for MoneyView {
    fn from(m: &Money) -> Self {
        Self { amount: Money::format_minor(m.minor), currency: m.currency.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: i64,
    /// The human number, shown as `#1042`.
    pub number: i64,
    pub subject: String,
    /// `new`, `open`, `pending_customer`, `pending_internal`, `on_hold`, `solved` or `closed`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    /// `question`, `problem`, `complaint`, `incident` or `callback`.
    pub kind: String,
    pub channel: String,
    pub customer: NamedRef,
    /// The one agent responsible for the case; null until someone takes it.
    pub owner: Option<AgentRef>,
    pub team: Option<NamedRef>,
    pub collaborators: Vec<AgentRef>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub custom_fields: BTreeMap<String, Value>,
    pub deadline_at: Option<String>,
    pub overdue: bool,
    pub compensation_budget: Option<MoneyView>,
    /// What was granted so far, in the budget's currency (e.g. `"1000.00"`).
    pub compensation_spent: String,
    pub created_at: String,
    pub updated_at: String,
    pub first_response_at: Option<String>,
    pub solved_at: Option<String>,
    pub closed_at: Option<String>,
    /// The external id of the order the case belongs to (a problem case opened by a rating, the
    /// case an order's notifications went out on).
    pub order: Option<String>,
    /// The name of the playbook the case is worked by.
    pub playbook: Option<String>,
}

fn time(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.to_rfc3339())
}

/// The names behind the ids of a set of records, read by the use-case layer in one pass; the
/// views below are built from them.
pub struct Names(pub opora_app::Names);

impl From<opora_app::Names> for Names {
    fn from(names: opora_app::Names) -> Self {
        Names(names)
    }
}

impl Names {
    pub fn agent(&self, id: AgentId) -> AgentRef {
        let agent = self.0.agent(id);
        AgentRef { id: id.0, name: agent.name, email: agent.email }
    }

    pub fn customer(&self, id: CustomerId) -> NamedRef {
        NamedRef { id: id.0, name: self.0.customer(id) }
    }

    fn team(&self, id: TeamId) -> NamedRef {
        NamedRef { id: id.0, name: self.0.team(id) }
    }

    pub fn case(&self, case: &Case) -> CaseView {
        CaseView {
            id: case.id.0,
            number: case.number,
            subject: case.subject.clone(),
            status: case.status.as_str().into(),
            priority: case.priority.as_str().into(),
            kind: case.kind.as_str().into(),
            channel: case.channel_kind.as_str().into(),
            customer: self.customer(case.customer_id),
            owner: case.owner_id.map(|o| self.agent(o)),
            team: case.team_id.map(|t| self.team(t)),
            collaborators: case.collaborators.iter().map(|a| self.agent(*a)).collect(),
            category: case.category.clone(),
            tags: case.tags.clone(),
            custom_fields: case.custom_fields.clone(),
            deadline_at: time(case.deadline_at),
            overdue: case.status.is_active() && case.deadline_at.is_some_and(|d| d < Timestamp::now()),
            compensation_budget: case.budget.as_ref().map(MoneyView::from),
            compensation_spent: Money::format_minor(case.spent_minor),
            created_at: case.created_at.to_rfc3339(),
            updated_at: case.updated_at.to_rfc3339(),
            first_response_at: time(case.first_response_at),
            solved_at: time(case.solved_at),
            closed_at: time(case.closed_at),
            order: self.0.order_of(case.id),
            playbook: self.0.playbook_of(case.id),
        }
    }

    pub fn message(&self, message: &Message) -> MessageView {
        let author = match (message.author_agent_id, message.author_customer_id) {
            (Some(agent), _) => Some(Author { kind: "agent".into(), id: agent.0, name: self.agent(agent).name }),
            (None, Some(customer)) => Some(Author { kind: "customer".into(), id: customer.0, name: self.customer(customer).name }),
            _ => None,
        };
        MessageView {
            id: message.id.0,
            case_id: message.case_id.0,
            direction: message.direction.as_str().into(),
            channel: message.channel_kind.as_str().into(),
            author,
            subject: message.subject.clone(),
            body_text: message.body_text.clone(),
            body_html: message.body_html.clone(),
            attachments: message
                .attachments
                .iter()
                .map(|a| AttachmentView {
                    id: a.id.0,
                    filename: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: a.size,
                    url: format!("/api/v1/attachments/{}", a.id),
                })
                .collect(),
            delivery_status: message.delivery_status.as_str().into(),
            delivery_error: message.delivery_error.clone(),
            external_id: message.external_id.clone(),
            created_at: message.created_at.to_rfc3339(),
            sender_doubt: message.sender_doubt.clone(),
            edit_of: message.edit_of.map(|m| m.0),
        }
    }

    pub fn event(&self, event: &Event) -> EventView {
        let name = match (event.actor.kind, event.actor.id) {
            (ActorKind::Agent, Some(id)) => Some(self.agent(AgentId(id)).name),
            (ActorKind::Customer, Some(id)) => Some(self.customer(CustomerId(id)).name),
            _ => None,
        };
        EventView {
            id: event.id.0,
            kind: event.kind().as_str().into(),
            case_id: event.case_id.map(|c| c.0),
            customer_id: event.customer_id.map(|c| c.0),
            actor: ActorView { kind: event.actor.kind.as_str().into(), id: event.actor.id, name },
            data: event.data.payload(),
            created_at: event.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Author {
    /// `agent` or `customer`.
    pub kind: String,
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Where to download it (authorised like the case).
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: i64,
    pub case_id: i64,
    /// `inbound` (from the customer), `outbound` (a reply), `internal` (a note) or `system`.
    pub direction: String,
    pub channel: String,
    pub author: Option<Author>,
    pub subject: Option<String>,
    pub body_text: String,
    /// Sanitised HTML, when the message had HTML. Images from other sites keep their http(s)
    /// address; the workspace loads them only when an agent asks.
    pub body_html: Option<String>,
    pub attachments: Vec<AttachmentView>,
    /// `pending`, `sent`, `failed` or `not_applicable`.
    pub delivery_status: String,
    /// Why delivery failed: the mail server's words, or `mailbox_without_smtp`.
    pub delivery_error: Option<String>,
    /// The channel's own id for the message: the e-mail Message-ID (without angle brackets).
    pub external_id: Option<String>,
    pub created_at: String,
    /// A received message whose sender the receiving mail server could not verify: its checks
    /// that failed (`spf=fail, dmarc=fail`). The From address may be forged.
    pub sender_doubt: Option<String>,
    /// A customer's edit of an earlier message of theirs (a messenger lets them change what
    /// they sent): that message's id. Both texts stay on the case.
    pub edit_of: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    /// `agent`, `customer` or `system`.
    pub kind: String,
    pub id: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventView {
    pub id: i64,
    /// For example `case.created`, `case.status_changed`, `message.added`.
    pub kind: String,
    pub case_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub actor: ActorView,
    #[schema(value_type = Object)]
    pub data: Value,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    pub id: i64,
    /// `email`, `phone`, `telegram`, `whatsapp`, `vk` or `web`.
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub id: i64,
    pub name: String,
    pub company: Option<String>,
    pub language: Option<String>,
    /// On the "our clients" priority list.
    pub our_client: bool,
    pub note: Option<String>,
    pub identities: Vec<IdentityView>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Customer> for CustomerView {
    fn from(c: &Customer) -> Self {
        Self {
            id: c.id.0,
            name: c.name.clone(),
            company: c.company.clone(),
            language: c.language.map(|l| l.as_str().into()),
            our_client: c.our_client,
            note: c.note.clone(),
            identities: c
                .identities
                .iter()
                .map(|i| IdentityView { id: i.id.0, kind: i.kind.as_str().into(), value: i.value.clone() })
                .collect(),
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `viewer`, `agent`, `supervisor` or `admin`.
    pub role: String,
    /// `ru` or `en`.
    pub language: String,
    pub active: bool,
    pub team_ids: Vec<i64>,
    /// Which cases the agent sees: `all`, or `teams` (their teams' cases and the ones they own
    /// or were pulled into).
    pub case_access: String,
    /// Put under the agent's e-mail replies.
    pub signature: Option<String>,
    pub created_at: String,
}

impl From<&Agent> for AgentView {
    fn from(a: &Agent) -> Self {
        Self {
            id: a.id.0,
            email: a.email.clone(),
            name: a.name.clone(),
            role: a.role.as_str().into(),
            language: a.language.as_str().into(),
            active: a.active,
            team_ids: a.teams.iter().map(|t| t.0).collect(),
            case_access: a.case_access.as_str().into(),
            signature: a.signature.clone(),
            created_at: a.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub member_ids: Vec<i64>,
}

impl From<&Team> for TeamView {
    fn from(t: &Team) -> Self {
        Self { id: t.id.0, name: t.name.clone(), member_ids: t.members.iter().map(|m| m.0).collect() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompensationView {
    pub id: i64,
    pub case_id: i64,
    /// `discount`, `credit`, `refund`, `free_service` or `gift`.
    pub kind: String,
    pub amount: String,
    pub currency: String,
    pub note: String,
    /// Who granted it, or asked for it.
    pub granted_by: AgentRef,
    /// Beyond the case's budget (granted by a supervisor, or asked of one).
    pub over_budget: bool,
    /// `granted`, `requested` (waiting for a supervisor) or `refused`.
    pub status: String,
    pub created_at: String,
}

impl Names {
    pub fn compensation(&self, c: &Compensation) -> CompensationView {
        CompensationView {
            id: c.id.0,
            case_id: c.case_id.0,
            kind: c.kind.as_str().into(),
            amount: Money::format_minor(c.amount.minor),
            currency: c.amount.currency.clone(),
            note: c.note.clone(),
            granted_by: self.agent(c.granted_by),
            over_budget: c.over_budget,
            status: c.status.as_str().into(),
            created_at: c.created_at.to_rfc3339(),
        }
    }
}
