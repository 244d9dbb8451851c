//! Cases: creation, reading, keyset-paginated lists, and property changes. Ownership,
//! collaborators and compensation live in `case_work`.

use std::collections::{BTreeMap, HashMap};

use opora_domain::agent::Role;
use opora_domain::case::{Case, CaseKind, Channel, Priority, SlaPolicy, Status};
use opora_domain::compensation::Money;
use opora_domain::event::{Actor, EventKind};
use opora_domain::field::apply_values;
use opora_domain::{AgentId, CaseId, CustomerId, DomainError, FieldError, TeamId, Timestamp};
use serde_json::{Map, Value as Json, json};

use crate::db::{Conn, DbError, Dialect, Row, Value, placeholders};
use crate::jobs::{self, NewJob};
use crate::{Result, StoreError, Tx, fields};

pub(crate) const COLUMNS: &str = "id, number, subject, customer_id, kind, status, priority, channel, team_id, owner_id, category, \
     custom_fields, deadline_at, budget_minor, budget_currency, spent_minor, created_at, updated_at, first_response_at, solved_at, closed_at";

pub(crate) fn from_row(r: &Row<'_>) -> Result<Case, DbError> {
    let custom: String = r.get(11)?;
    let budget_minor: Option<i64> = r.get(13)?;
    let budget_currency: Option<String> = r.get(14)?;
    Ok(Case {
        id: r.get(0)?,
        number: r.get(1)?,
        subject: r.get(2)?,
        customer_id: r.get(3)?,
        kind: r.parse(4, CaseKind::parse)?,
        status: r.parse(5, Status::parse)?,
        priority: r.parse(6, Priority::parse)?,
        channel: r.parse(7, Channel::parse)?,
        team_id: r.get(8)?,
        owner_id: r.get(9)?,
        collaborators: Vec::new(),
        category: r.get(10)?,
        tags: Vec::new(),
        custom_fields: serde_json::from_str(&custom).map_err(|e| DbError::new(format!("custom fields: {e}")))?,
        deadline_at: r.get(12)?,
        budget: budget_minor.zip(budget_currency).map(|(minor, currency)| Money { minor, currency }),
        spent_minor: r.get(15)?,
        created_at: r.get(16)?,
        updated_at: r.get(17)?,
        first_response_at: r.get(18)?,
        solved_at: r.get(19)?,
        closed_at: r.get(20)?,
    })
}

/// Fills tags and collaborators for a page of cases with two queries.
pub(crate) fn complete(conn: &mut dyn Conn, mut cases: Vec<Case>) -> Result<Vec<Case>> {
    if cases.is_empty() {
        return Ok(cases);
    }
    let ids: Vec<Value<'_>> = cases.iter().map(|c| c.id.into()).collect();
    let list = placeholders(1, ids.len());
    let mut tags: HashMap<CaseId, Vec<String>> = HashMap::new();
    for (case, tag) in conn.all(&format!("select case_id, tag from case_tags where case_id in ({list}) order by tag"), &ids, |r| {
        Ok((r.get::<CaseId>(0)?, r.get::<String>(1)?))
    })? {
        tags.entry(case).or_default().push(tag);
    }
    let mut collaborators: HashMap<CaseId, Vec<AgentId>> = HashMap::new();
    let sql = format!("select case_id, agent_id from case_collaborators where case_id in ({list}) order by created_at, agent_id");
    for (case, agent) in conn.all(&sql, &ids, |r| Ok((r.get::<CaseId>(0)?, r.get::<AgentId>(1)?)))? {
        collaborators.entry(case).or_default().push(agent);
    }
    for case in &mut cases {
        case.tags = tags.remove(&case.id).unwrap_or_default();
        case.collaborators = collaborators.remove(&case.id).unwrap_or_default();
    }
    Ok(cases)
}

pub fn get(conn: &mut dyn Conn, id: CaseId) -> Result<Case> {
    let case = conn.opt(&format!("select {COLUMNS} from cases where id = $1"), &[id.into()], from_row)?;
    let case = case.ok_or(DomainError::NotFound("case"))?;
    Ok(complete(conn, vec![case])?.remove(0))
}

/// The human numbers of these cases, in one query (lists that only link to cases).
pub fn numbers(conn: &mut dyn Conn, ids: &[CaseId]) -> Result<HashMap<CaseId, i64>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let params: Vec<Value<'_>> = ids.iter().map(|id| (*id).into()).collect();
    let sql = format!("select id, number from cases where id in ({})", placeholders(1, params.len()));
    Ok(conn.all(&sql, &params, |r| Ok((r.get(0)?, r.get(1)?)))?.into_iter().collect())
}

pub fn by_number(conn: &mut dyn Conn, number: i64) -> Result<Option<Case>> {
    let case = conn.opt(&format!("select {COLUMNS} from cases where number = $1"), &[number.into()], from_row)?;
    match case {
        Some(case) => Ok(Some(complete(conn, vec![case])?.remove(0))),
        None => Ok(None),
    }
}

/// Checks that a referenced agent exists and may own cases; returns their role.
pub(crate) fn agent_role(conn: &mut dyn Conn, field: &str, agent: AgentId) -> Result<Role> {
    let found =
        conn.opt("select role, active from agents where id = $1", &[agent.into()], |r| Ok((r.parse(0, Role::parse)?, r.get::<bool>(1)?)))?;
    match found {
        Some((role, true)) => Ok(role),
        Some((_, false)) => Err(DomainError::field(field, "agent_inactive").into()),
        None => Err(DomainError::field(field, "not_found").into()),
    }
}

fn check_team(conn: &mut dyn Conn, team: TeamId) -> Result<()> {
    match conn.opt("select 1 from teams where id = $1", &[team.into()], |r| r.get::<i64>(0))? {
        Some(_) => Ok(()),
        None => Err(DomainError::field("team_id", "not_found").into()),
    }
}

fn set_tags(tx: &mut Tx<'_>, case: CaseId, tags: &[String]) -> Result<()> {
    tx.execute("delete from case_tags where case_id = $1", &[case.into()])?;
    for tag in tags {
        tx.execute("insert into case_tags (case_id, tag) values ($1, $2) on conflict do nothing", &[case.into(), tag.as_str().into()])?;
    }
    Ok(())
}

/// Schedules the deadline check; a later deadline gets its own check, stale ones find nothing.
fn schedule_deadline(tx: &mut Tx<'_>, case: CaseId, deadline: Timestamp) -> Result<()> {
    jobs::enqueue(
        tx,
        NewJob::new("sla.check", json!({"case_id": case, "deadline_at": deadline.millis()}))
            .unique(format!("sla:{case}:{}", deadline.millis()))
            .at(deadline)
            .attempts(5),
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub subject: String,
    pub customer_id: CustomerId,
    pub kind: CaseKind,
    pub priority: Priority,
    pub channel: Channel,
    pub team_id: Option<TeamId>,
    pub owner_id: Option<AgentId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Json>,
    pub deadline_at: Option<Timestamp>,
    pub budget: Option<Money>,
}

pub fn create(tx: &mut Tx<'_>, new: NewCase, sla: &SlaPolicy, actor: Actor) -> Result<Case> {
    let mut errors = Vec::new();
    let customer = crate::customers::get(&mut **tx, new.customer_id).map_err(|e| match e {
        StoreError::Domain(DomainError::NotFound(_)) => DomainError::field("customer.id", "not_found").into(),
        other => other,
    })?;
    if let Some(team) = new.team_id {
        collect(&mut errors, check_team(&mut **tx, team))?;
    }
    if let Some(owner) = new.owner_id {
        match agent_role(&mut **tx, "owner_id", owner) {
            Ok(role) if !role.may(opora_domain::agent::Action::WorkCases) => {
                errors.push(FieldError::new("owner_id", "agent_cannot_own"));
            }
            other => {
                collect(&mut errors, other.map(|_| ()))?;
            }
        }
    }
    let definitions = fields::list(&mut **tx)?;
    let custom = collect(&mut errors, apply_values(&definitions, &BTreeMap::new(), &new.custom_fields, true).map_err(StoreError::from))?;
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    let now = tx.now;
    let deadline = new.deadline_at.unwrap_or_else(|| sla.deadline(new.priority, now));
    let number = match tx.dialect() {
        Dialect::Sqlite => "(select coalesce(max(number), 1000) + 1 from cases)",
        Dialect::Postgres => "nextval('case_number_seq')",
    };
    let custom = serde_json::to_string(&custom.unwrap_or_default()).map_err(|e| StoreError::Io(e.to_string()))?;
    let sql = format!(
        "insert into cases (number, subject, customer_id, kind, status, priority, channel, team_id, owner_id, category, custom_fields,
                            deadline_at, budget_minor, budget_currency, spent_minor, created_at, updated_at)
         values ({number}, $1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $13) returning id"
    );
    let id = CaseId(tx.int(
        &sql,
        &[
            new.subject.as_str().into(),
            customer.id.into(),
            new.kind.as_str().into(),
            new.priority.as_str().into(),
            new.channel.as_str().into(),
            new.team_id.into(),
            new.owner_id.into(),
            new.category.as_deref().into(),
            custom.as_str().into(),
            deadline.into(),
            new.budget.as_ref().map(|b| b.minor).into(),
            new.budget.as_ref().map(|b| b.currency.as_str()).into(),
            now.into(),
        ],
    )?);
    set_tags(tx, id, &new.tags)?;
    let case = get(&mut **tx, id)?;
    tx.emit(
        EventKind::CaseCreated,
        Some(id),
        Some(case.customer_id),
        actor,
        json!({"number": case.number, "subject": case.subject, "status": case.status, "priority": case.priority,
               "kind": case.kind, "channel": case.channel, "team_id": case.team_id, "owner_id": case.owner_id,
               "deadline_at": case.deadline_at}),
    )?;
    if let Some(owner) = case.owner_id {
        tx.emit(EventKind::CaseOwnerAssigned, Some(id), Some(case.customer_id), actor, json!({"owner_id": owner}))?;
    }
    schedule_deadline(tx, id, deadline)?;
    Ok(case)
}

/// Keeps validation errors together so one response lists them all; other errors stop at once.
fn collect<T>(errors: &mut Vec<FieldError>, result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::Domain(DomainError::Validation(found))) => {
            errors.extend(found);
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

/// A change of case properties, already parsed. `None` leaves a property as it is;
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct CaseChange {
    pub subject: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub kind: Option<CaseKind>,
    pub team_id: Option<Option<TeamId>>,
    pub category: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub custom_fields: Option<Map<String, Json>>,
    pub deadline_at: Option<Option<Timestamp>>,
    pub budget: Option<Option<Money>>,
}

impl CaseChange {
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.kind.is_none()
            && self.team_id.is_none()
            && self.category.is_none()
            && self.tags.is_none()
            && self.custom_fields.is_none()
            && self.deadline_at.is_none()
            && self.budget.is_none()
    }
}

/// Applies a change: every property changed is recorded in one `case.updated` event (with its
/// old and new value), a status change also as `case.status_changed`.
pub fn update(tx: &mut Tx<'_>, id: CaseId, change: CaseChange, actor: Actor) -> Result<Case> {
    let before = get(&mut **tx, id)?;
    let mut after = before.clone();
    let mut errors = Vec::new();
    if let Some(status) = change.status {
        match before.status_change(status) {
            Ok(_) => after.status = status,
            Err(DomainError::Validation(found)) => errors.extend(found),
            Err(other) => return Err(other.into()),
        }
    }
    if let Some(team) = change.team_id {
        if let Some(team) = team {
            collect(&mut errors, check_team(&mut **tx, team))?;
        }
        after.team_id = team;
    }
    if let Some(input) = &change.custom_fields {
        let definitions = fields::list(&mut **tx)?;
        if let Some(values) =
            collect(&mut errors, apply_values(&definitions, &before.custom_fields, input, false).map_err(StoreError::from))?
        {
            after.custom_fields = values;
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors).into());
    }
    if let Some(budget) = &change.budget {
        if let Some(budget) = budget
            && let Some(old) = &before.budget
            && old.currency != budget.currency
            && before.spent_minor > 0
        {
            return Err(DomainError::field("compensation_budget.currency", "currency_mismatch").into());
        }
        after.budget = budget.clone();
    }
    after.subject = change.subject.unwrap_or(after.subject);
    after.priority = change.priority.unwrap_or(after.priority);
    after.kind = change.kind.unwrap_or(after.kind);
    after.category = change.category.unwrap_or(after.category);
    after.tags = change.tags.unwrap_or(after.tags);
    after.deadline_at = change.deadline_at.unwrap_or(after.deadline_at);
    save(tx, &before, after, actor)
}

/// Writes `after` over `before` and records what differs.
pub(crate) fn save(tx: &mut Tx<'_>, before: &Case, mut after: Case, actor: Actor) -> Result<Case> {
    let now = tx.now;
    if after.status != before.status {
        match after.status {
            Status::Solved => after.solved_at = Some(now),
            Status::Closed => after.closed_at = Some(now),
            Status::Open if before.status == Status::Solved => after.solved_at = None,
            _ => {}
        }
    }
    let changes = differences(before, &after);
    let bookkeeping_changed = (before.owner_id, before.first_response_at, before.solved_at, before.closed_at)
        != (after.owner_id, after.first_response_at, after.solved_at, after.closed_at);
    if changes.is_empty() && !bookkeeping_changed {
        return Ok(after);
    }
    let custom = serde_json::to_string(&after.custom_fields).map_err(|e| StoreError::Io(e.to_string()))?;
    tx.execute(
        "update cases set subject = $2, status = $3, priority = $4, kind = $5, team_id = $6, owner_id = $7, category = $8,
         custom_fields = $9, deadline_at = $10, budget_minor = $11, budget_currency = $12, updated_at = $13,
         first_response_at = $14, solved_at = $15, closed_at = $16 where id = $1",
        &[
            before.id.into(),
            after.subject.as_str().into(),
            after.status.as_str().into(),
            after.priority.as_str().into(),
            after.kind.as_str().into(),
            after.team_id.into(),
            after.owner_id.into(),
            after.category.as_deref().into(),
            custom.as_str().into(),
            after.deadline_at.into(),
            after.budget.as_ref().map(|b| b.minor).into(),
            after.budget.as_ref().map(|b| b.currency.as_str()).into(),
            now.into(),
            after.first_response_at.into(),
            after.solved_at.into(),
            after.closed_at.into(),
        ],
    )?;
    after.updated_at = now;
    if after.tags != before.tags {
        set_tags(tx, before.id, &after.tags)?;
    }
    if !changes.is_empty() {
        let customer = Some(before.customer_id);
        tx.emit(EventKind::CaseUpdated, Some(before.id), customer, actor, json!({"number": before.number, "changes": changes}))?;
        if after.status != before.status {
            tx.emit(
                EventKind::CaseStatusChanged,
                Some(before.id),
                customer,
                actor,
                json!({"number": before.number, "from": before.status, "to": after.status}),
            )?;
        }
    }
    if let Some(deadline) = after.deadline_at
        && after.deadline_at != before.deadline_at
    {
        schedule_deadline(tx, before.id, deadline)?;
    }
    Ok(after)
}

fn differences(before: &Case, after: &Case) -> Map<String, Json> {
    let pairs = [
        ("subject", json!(before.subject), json!(after.subject)),
        ("status", json!(before.status), json!(after.status)),
        ("priority", json!(before.priority), json!(after.priority)),
        ("kind", json!(before.kind), json!(after.kind)),
        ("team_id", json!(before.team_id), json!(after.team_id)),
        ("category", json!(before.category), json!(after.category)),
        ("tags", json!(before.tags), json!(after.tags)),
        ("custom_fields", json!(before.custom_fields), json!(after.custom_fields)),
        ("deadline_at", json!(before.deadline_at), json!(after.deadline_at)),
        ("compensation_budget", json!(before.budget), json!(after.budget)),
    ];
    pairs
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| (field.to_owned(), json!({"from": from, "to": to})))
        .collect()
}

/// The deadline check scheduled at a case's deadline: if the case is still being worked and the
/// deadline has not moved, the miss is recorded (and reaches the owner through the event).
pub fn check_deadline(tx: &mut Tx<'_>, id: CaseId, deadline: Timestamp) -> Result<bool> {
    let case = match get(&mut **tx, id) {
        Ok(case) => case,
        Err(StoreError::Domain(DomainError::NotFound(_))) => return Ok(false),
        Err(other) => return Err(other),
    };
    let missed = case.status.is_active() && case.deadline_at == Some(deadline) && tx.now >= deadline;
    if missed {
        tx.emit(
            EventKind::CaseDeadlineMissed,
            Some(id),
            Some(case.customer_id),
            Actor::SYSTEM,
            json!({"number": case.number, "deadline_at": deadline, "owner_id": case.owner_id, "priority": case.priority}),
        )?;
    }
    Ok(missed)
}

/// Counts per status, for dashboards and metrics.
pub fn count_by_status(conn: &mut dyn Conn) -> Result<Vec<(Status, i64)>> {
    Ok(conn.all("select status, count(*) from cases group by status", &[], |r| Ok((r.parse(0, Status::parse)?, r.get(1)?)))?)
}
