//! Cases as rows: reading them (with tags and collaborators), inserting a new one, saving a
//! changed one, collaborators, and the few queries the use cases ask about cases. Lists with
//! filters live in `case_list`.

use std::collections::HashMap;

use opora_domain::agent::Role;
use opora_domain::case::{Case, CaseKind, Priority, Status};
use opora_domain::channel::ChannelKind;
use opora_domain::compensation::Money;
use opora_domain::{AgentId, CaseId, CustomerId, DomainError, TeamId, Timestamp};

use crate::db::{Conn, DbError, Dialect, Row, Value, placeholders};
use crate::{Result, StoreError, Tx};

pub(crate) const COLUMNS: &str = "id, number, subject, customer_id, kind, status, priority, channel_kind, team_id, owner_id, category, \
     custom_fields, deadline_at, budget_minor, budget_currency, spent_minor, created_at, updated_at, first_response_at, solved_at, closed_at, \
     channel_id";

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
        channel_kind: r.parse(7, ChannelKind::parse)?,
        channel_id: r.get(21)?,
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

/// The role of an agent referenced by a change, and whether they are active; `None` when there
/// is no such agent.
pub fn agent_role(conn: &mut dyn Conn, agent: AgentId) -> Result<Option<(Role, bool)>> {
    Ok(conn.opt("select role, active from agents where id = $1", &[agent.into()], |r| Ok((r.parse(0, Role::parse)?, r.get::<bool>(1)?)))?)
}

pub fn team_exists(conn: &mut dyn Conn, team: TeamId) -> Result<bool> {
    Ok(conn.opt("select 1 from teams where id = $1", &[team.into()], |r| r.get::<i64>(0))?.is_some())
}

fn set_tags(tx: &mut Tx<'_>, case: CaseId, tags: &[String]) -> Result<()> {
    tx.execute("delete from case_tags where case_id = $1", &[case.into()])?;
    for tag in tags {
        tx.execute("insert into case_tags (case_id, tag) values ($1, $2) on conflict do nothing", &[case.into(), tag.as_str().into()])?;
    }
    Ok(())
}

/// A case to insert, every property decided.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub subject: String,
    pub customer_id: CustomerId,
    pub kind: CaseKind,
    pub priority: Priority,
    pub channel_kind: ChannelKind,
    pub channel_id: Option<opora_domain::ChannelId>,
    pub team_id: Option<TeamId>,
    pub owner_id: Option<AgentId>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub custom_fields: std::collections::BTreeMap<String, serde_json::Value>,
    pub deadline_at: Option<Timestamp>,
    pub budget: Option<Money>,
}

/// Inserts a case with the next number; it starts `new`.
pub fn insert(tx: &mut Tx<'_>, new: &NewCase) -> Result<Case> {
    let now = tx.now;
    let number = match tx.dialect() {
        Dialect::Sqlite => "(select coalesce(max(number), 1000) + 1 from cases)",
        Dialect::Postgres => "nextval('case_number_seq')",
    };
    let custom = serde_json::to_string(&new.custom_fields).map_err(|e| StoreError::Io(e.to_string()))?;
    let sql = format!(
        "insert into cases (number, subject, customer_id, kind, status, priority, channel_kind, channel_id, team_id, owner_id, category, custom_fields,
                            deadline_at, budget_minor, budget_currency, spent_minor, created_at, updated_at)
         values ({number}, $1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $14) returning id"
    );
    let id = CaseId(tx.int(
        &sql,
        &[
            new.subject.as_str().into(),
            new.customer_id.into(),
            new.kind.as_str().into(),
            new.priority.as_str().into(),
            new.channel_kind.as_str().into(),
            new.channel_id.into(),
            new.team_id.into(),
            new.owner_id.into(),
            new.category.as_deref().into(),
            custom.as_str().into(),
            new.deadline_at.into(),
            new.budget.as_ref().map(|b| b.minor).into(),
            new.budget.as_ref().map(|b| b.currency.as_str()).into(),
            now.into(),
        ],
    )?);
    set_tags(tx, id, &new.tags)?;
    get(&mut **tx, id)
}

/// Writes `after` over the row of `before` (same case), touching `updated_at`; tags only when
/// they changed.
pub fn save(tx: &mut Tx<'_>, before: &Case, after: &Case) -> Result<()> {
    let now = tx.now;
    let custom = serde_json::to_string(&after.custom_fields).map_err(|e| StoreError::Io(e.to_string()))?;
    tx.execute(
        "update cases set subject = $2, status = $3, priority = $4, kind = $5, team_id = $6, owner_id = $7, category = $8,
         custom_fields = $9, deadline_at = $10, budget_minor = $11, budget_currency = $12, updated_at = $13,
         first_response_at = $14, solved_at = $15, closed_at = $16, channel_id = $17 where id = $1",
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
            after.channel_id.into(),
        ],
    )?;
    if after.tags != before.tags {
        set_tags(tx, before.id, &after.tags)?;
    }
    Ok(())
}

/// Marks activity on a case without changing it (a note, a collaborator).
pub fn touch(tx: &mut Tx<'_>, id: CaseId) -> Result<()> {
    let now = tx.now;
    tx.execute("update cases set updated_at = $2 where id = $1", &[id.into(), now.into()])?;
    Ok(())
}

pub fn add_collaborator(tx: &mut Tx<'_>, case: CaseId, agent: AgentId, added_by: AgentId) -> Result<()> {
    let now = tx.now;
    tx.execute(
        "insert into case_collaborators (case_id, agent_id, added_by, created_at) values ($1, $2, $3, $4)",
        &[case.into(), agent.into(), added_by.into(), now.into()],
    )?;
    Ok(())
}

pub fn remove_collaborator(tx: &mut Tx<'_>, case: CaseId, agent: AgentId) -> Result<()> {
    tx.execute("delete from case_collaborators where case_id = $1 and agent_id = $2", &[case.into(), agent.into()])?;
    Ok(())
}

/// The people in a case's conversation besides its customer, with how each came in.
pub fn participants(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<(CustomerId, String)>> {
    Ok(conn.all(
        "select customer_id, role from case_participants where case_id = $1 order by created_at, customer_id",
        &[case.into()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Adds a person to a case's conversation; false when they were in it already.
pub fn add_participant(tx: &mut Tx<'_>, case: CaseId, customer: CustomerId, role: &str) -> Result<bool> {
    let now = tx.now;
    let added = tx.execute(
        "insert into case_participants (case_id, customer_id, role, created_at) values ($1, $2, $3, $4) on conflict do nothing",
        &[case.into(), customer.into(), role.into(), now.into()],
    )?;
    Ok(added > 0)
}

/// Takes a person out of a case's conversation; false when they were not in it.
pub fn remove_participant(tx: &mut Tx<'_>, case: CaseId, customer: CustomerId) -> Result<bool> {
    let removed = tx.execute("delete from case_participants where case_id = $1 and customer_id = $2", &[case.into(), customer.into()])?;
    Ok(removed > 0)
}

/// The agents working a case: its owner and its collaborators.
pub fn workers(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<AgentId>> {
    Ok(conn.all(
        "select owner_id from cases where id = $1 and owner_id is not null
         union select agent_id from case_collaborators where case_id = $1",
        &[case.into()],
        |r| r.get::<AgentId>(0),
    )?)
}

/// Adds a grant to what the case has spent.
pub fn add_spent(tx: &mut Tx<'_>, id: CaseId, minor: i64) -> Result<()> {
    let now = tx.now;
    tx.execute("update cases set spent_minor = spent_minor + $2, updated_at = $3 where id = $1", &[id.into(), minor.into(), now.into()])?;
    Ok(())
}

/// A customer's cases active since `since`, most recent first (threading by subject).
pub fn recent_of_customer(conn: &mut dyn Conn, customer: CustomerId, since: Timestamp, limit: i64) -> Result<Vec<Case>> {
    Ok(conn.all(
        &format!("select {COLUMNS} from cases where customer_id = $1 and updated_at >= $2 order by updated_at desc limit $3"),
        &[customer.into(), since.into(), limit.into()],
        from_row,
    )?)
}

/// Whether a customer has any case (a customer with history is merged, not deleted).
pub fn customer_has_cases(conn: &mut dyn Conn, customer: CustomerId) -> Result<bool> {
    Ok(conn.opt("select 1 from cases where customer_id = $1 limit 1", &[customer.into()], |r| r.get::<i64>(0))?.is_some())
}

/// Counts per status, for dashboards and metrics.
pub fn count_by_status(conn: &mut dyn Conn) -> Result<Vec<(Status, i64)>> {
    Ok(conn.all("select status, count(*) from cases group by status", &[], |r| Ok((r.parse(0, Status::parse)?, r.get(1)?)))?)
}

/// Links two cases both ways (a message from outside one's conversation named the other).
pub fn link(tx: &mut Tx<'_>, a: CaseId, b: CaseId, reason: &str) -> Result<()> {
    let now = tx.now;
    for (case, linked) in [(a, b), (b, a)] {
        tx.execute(
            "insert into case_links (case_id, linked_id, reason, created_at) values ($1, $2, $3, $4) on conflict do nothing",
            &[case.into(), linked.into(), reason.into(), now.into()],
        )?;
    }
    Ok(())
}

/// The cases linked to a case, with why.
pub fn links(conn: &mut dyn Conn, case: CaseId) -> Result<Vec<(CaseId, String)>> {
    Ok(conn.all("select linked_id, reason from case_links where case_id = $1 order by created_at", &[case.into()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?)
}

/// Whether a team still holds cases (it cannot be deleted then).
pub fn team_has_cases(conn: &mut dyn Conn, team: TeamId) -> Result<bool> {
    Ok(conn.opt("select 1 from cases where team_id = $1 limit 1", &[team.into()], |r| r.get::<i64>(0))?.is_some())
}

/// How many complaints a customer made since `since` (the "our clients" rule).
pub fn complaints_since(conn: &mut dyn Conn, customer: CustomerId, since: Timestamp) -> Result<i64> {
    Ok(conn.int(
        "select count(*) from cases where customer_id = $1 and kind = 'complaint' and created_at >= $2",
        &[customer.into(), since.into()],
    )?)
}

/// Whether a customer is on the "our clients" list.
pub fn is_our_client(conn: &mut dyn Conn, customer: CustomerId) -> Result<bool> {
    Ok(conn.opt("select our_client from customers where id = $1", &[customer.into()], |r| r.get::<bool>(0))?.unwrap_or(false))
}

/// How an agent's solved cases went since `since`: how many, how many with a single reply, in
/// time, reopened afterwards; and the customers' ratings of them.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct SmoothWork {
    pub solved: i64,
    pub first_contact: i64,
    pub within_deadline: i64,
    pub reopened: i64,
    pub ratings: i64,
    pub rating_sum: i64,
}

pub fn smooth_work(conn: &mut dyn Conn, agent: AgentId, since: Timestamp) -> Result<SmoothWork> {
    // A case counts as reopened when its history has a status change away from solved; the event
    // payload is JSON text on both engines.
    let sql = "select count(*),
            coalesce(sum(case when (select count(*) from messages m where m.case_id = c.id and m.direction = 'outbound' and m.author_agent_id is not null) = 1 then 1 else 0 end), 0),
            coalesce(sum(case when c.deadline_at is not null and c.solved_at <= c.deadline_at then 1 else 0 end), 0),
            coalesce(sum(case when exists (select 1 from events e where e.case_id = c.id and e.kind = 'case.status_changed'
                                            and e.data like '%\"from\":\"solved\"%') then 1 else 0 end), 0)
         from cases c where c.owner_id = $1 and c.solved_at is not null and c.solved_at >= $2";
    let (solved, first_contact, within_deadline, reopened): (i64, i64, i64, i64) =
        conn.one(sql, &[agent.into(), since.into()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let (ratings, rating_sum): (i64, i64) = conn.one(
        "select count(*), cast(coalesce(sum(score), 0) as bigint) from ratings where agent_id = $1 and score is not null and answered_at >= $2",
        &[agent.into(), since.into()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(SmoothWork { solved, first_contact, within_deadline, reopened, ratings, rating_sum })
}
