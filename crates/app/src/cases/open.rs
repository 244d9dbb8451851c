//! Opening a case: by an agent or an integration through the API (with its customer found or
//! created, an optional first message, and idempotent retries), or by a channel when a customer
//! writes in.

use std::collections::BTreeMap;

use opora_domain::agent::Action;
use opora_domain::case::{ActingAgent, Case, CaseKind, Priority};
use opora_domain::channel::ChannelKind;
use opora_domain::compensation::Money;
use opora_domain::event::{Actor, CaseCreated, EventData, OwnerAssigned};
use opora_domain::field::apply_values;
use opora_domain::message::{Body, Direction};
use opora_domain::{AgentId, CaseId, ChannelId, CustomerId, DomainError, FieldError, TeamId, Timestamp};
use opora_store::cases::{self, NewCase};
use opora_store::idempotency::{self, Recorded};
use opora_store::messages::NewAttachment;
use opora_store::{StoreError, fields};
use serde_json::{Map, Value};

use super::Cases;
use crate::cases::deadline::DeadlineCheck;
use crate::customers::{self, CustomerRef};
use crate::{Names, Result, Unit, messages};

/// A case as the API describes it, every field already parsed.
#[derive(Debug, Clone)]
pub struct OpenCase {
    pub subject: String,
    pub customer: CustomerRef,
    pub kind: CaseKind,
    pub priority: Priority,
    pub channel_kind: ChannelKind,
    pub team_id: Option<TeamId>,
    pub owner_id: Option<AgentId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
    pub deadline_at: Option<Timestamp>,
    pub budget: Option<Money>,
    pub first: Option<FirstMessage>,
}

#[derive(Debug, Clone)]
pub struct FirstMessage {
    /// `Inbound` (the customer wrote it), `Outbound` (an agent wrote first) or `Internal`.
    pub direction: Direction,
    pub body: Body,
    pub attachments: Vec<NewAttachment>,
}

/// A retry-safe request: the same key returns the first response.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// A hash of the request body: the same key with another body is refused.
    pub request_hash: String,
}

/// Renders the response body of a created case, inside the transaction, so a retry gets it back.
pub type Render = Box<dyn FnOnce(&Case, &Names) -> String + Send>;

pub enum Opened {
    New {
        id: CaseId,
        body: String,
    },
    /// The key was seen before: the first response, as it was.
    Replayed(Recorded),
}

/// A case a use case opens, its properties decided.
#[derive(Debug, Clone)]
pub(crate) struct NewCaseSpec {
    pub subject: String,
    pub customer_id: CustomerId,
    pub kind: CaseKind,
    pub priority: Priority,
    pub channel_kind: ChannelKind,
    pub channel_id: Option<ChannelId>,
    pub team_id: Option<TeamId>,
    pub owner_id: Option<AgentId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: BTreeMap<String, Value>,
    pub deadline_at: Option<Timestamp>,
    pub budget: Option<Money>,
}

/// Opens a case: its deadline from the SLA policy unless one is given, the events that say so,
/// and the check at its deadline.
pub(crate) fn open(u: &mut Unit<'_, '_>, mut spec: NewCaseSpec, actor: Actor) -> opora_store::Result<Case> {
    if cases::is_our_client(u.conn(), spec.customer_id)? {
        spec.priority = spec.priority.for_our_client();
    }
    let deadline = spec.deadline_at.unwrap_or_else(|| u.config().sla.deadline(spec.priority, u.now()));
    let new = NewCase {
        subject: spec.subject,
        customer_id: spec.customer_id,
        kind: spec.kind,
        priority: spec.priority,
        channel_kind: spec.channel_kind,
        channel_id: spec.channel_id,
        team_id: spec.team_id,
        owner_id: spec.owner_id,
        category: spec.category,
        tags: spec.tags,
        custom_fields: spec.custom_fields,
        deadline_at: Some(deadline),
        budget: spec.budget,
    };
    let case = cases::insert(u.tx(), &new)?;
    let created = CaseCreated {
        number: case.number,
        subject: case.subject.clone(),
        status: case.status,
        priority: case.priority,
        kind: case.kind,
        channel: case.channel_kind,
        team_id: case.team_id,
        owner_id: case.owner_id,
        deadline_at: case.deadline_at,
    };
    u.emit(Some(case.id), Some(case.customer_id), actor, EventData::CaseCreated(created))?;
    if let Some(owner) = case.owner_id {
        let data = OwnerAssigned { number: case.number, owner_id: owner };
        u.emit(Some(case.id), Some(case.customer_id), actor, EventData::CaseOwnerAssigned(data))?;
    }
    u.enqueue(DeadlineCheck::at(case.id, deadline))?;
    Ok(case)
}

/// Keeps validation errors together so one response lists them all; other errors stop at once.
pub(crate) fn collect<T>(errors: &mut Vec<FieldError>, result: opora_store::Result<T>) -> opora_store::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::Domain(DomainError::Validation(found))) => {
            errors.extend(found);
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

/// A team named by a change must exist.
pub(crate) fn check_team(u: &mut Unit<'_, '_>, team: TeamId) -> opora_store::Result<()> {
    if cases::team_exists(u.conn(), team)? { Ok(()) } else { Err(DomainError::field("team_id", "not_found").into()) }
}

/// The role of an agent a change names, who must exist and be active.
pub(crate) fn agent_role(u: &mut Unit<'_, '_>, field: &str, agent: AgentId) -> opora_store::Result<opora_domain::agent::Role> {
    match cases::agent_role(u.conn(), agent)? {
        Some((role, true)) => Ok(role),
        Some((_, false)) => Err(DomainError::field(field, "agent_inactive").into()),
        None => Err(DomainError::field(field, "not_found").into()),
    }
}

/// Checks what an API caller asked for and opens the case with its first message.
fn open_requested(u: &mut Unit<'_, '_>, input: OpenCase, acting: ActingAgent) -> opora_store::Result<Case> {
    let actor = Actor::agent(acting.id);
    let mut errors = Vec::new();
    if let CustomerRef::Id(id) = &input.customer {
        opora_store::customers::get(u.conn(), *id).map_err(|e| match e {
            StoreError::Domain(DomainError::NotFound(_)) => DomainError::field("customer.id", "not_found").into(),
            other => other,
        })?;
    }
    if let Some(team) = input.team_id {
        collect(&mut errors, check_team(u, team))?;
    }
    if let Some(owner) = input.owner_id {
        match agent_role(u, "owner_id", owner) {
            Ok(role) if !role.may(Action::WorkCases) => errors.push(FieldError::new("owner_id", "agent_cannot_own")),
            other => {
                collect(&mut errors, other.map(|_| ()))?;
            }
        }
    }
    let definitions = fields::list(u.conn())?;
    let custom = apply_values(&definitions, &BTreeMap::new(), &input.custom_fields, true);
    let custom = collect(&mut errors, custom.map_err(StoreError::from))?;
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let (customer_id, _) = customers::identify(u, input.customer, None, actor)?;
    let spec = NewCaseSpec {
        subject: input.subject,
        customer_id,
        kind: input.kind,
        priority: input.priority,
        channel_kind: input.channel_kind,
        channel_id: None,
        team_id: input.team_id,
        owner_id: input.owner_id,
        category: input.category,
        tags: input.tags,
        custom_fields: custom.unwrap_or_default(),
        deadline_at: input.deadline_at,
        budget: input.budget,
    };
    let case = open(u, spec, actor)?;
    // The first message is part of opening the case: whoever opens it writes it, whatever
    // team or owner they gave the case.
    if let Some(first) = input.first {
        match first.direction {
            Direction::Outbound => {
                messages::reply_on(u, case.clone(), acting, first.body, first.attachments, Default::default())?;
            }
            Direction::Internal => {
                messages::note_on(u, case.clone(), acting, first.body, first.attachments)?;
            }
            _ => {
                let subject = Some(case.subject.clone());
                messages::relay_inbound(u, case.id, first.body, first.attachments, subject)?;
            }
        }
    }
    cases::get(u.conn(), case.id)
}

impl Cases<'_> {
    /// Opens a case as an API caller asks; with an idempotency key a retry gets the first
    /// response back (`render` makes it), and the same key with another body is a conflict.
    pub async fn open(&self, acting: ActingAgent, input: OpenCase, idempotency: Option<Idempotency>, render: Render) -> Result<Opened> {
        self.0
            .write(move |u| {
                if let Some(key) = &idempotency
                    && let Some(recorded) = idempotency::recall(u.tx(), acting.id, &key.key, &key.request_hash)?
                {
                    return Ok(Opened::Replayed(recorded));
                }
                let case = open_requested(u, input, acting)?;
                let names = super::names_for(u.conn(), std::slice::from_ref(&case))?;
                let body = render(&case, &names);
                if let Some(key) = &idempotency {
                    let recorded = Recorded { status: 201, body: body.clone() };
                    idempotency::remember(u.tx(), acting.id, &key.key, &key.request_hash, &recorded)?;
                }
                Ok(Opened::New { id: case.id, body })
            })
            .await
    }
}
