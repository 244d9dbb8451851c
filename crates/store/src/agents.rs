//! Agents and teams as rows.

use std::collections::HashMap;

use opora_domain::access::CaseAccess;
use opora_domain::agent::{Agent, Language, Role, Team};
use opora_domain::{AgentId, DomainError, TeamId};

use crate::db::{Conn, DbError, Row, Value, placeholders};
use crate::{Result, Tx};

const COLUMNS: &str = "id, email, name, role, language, active, created_at, updated_at, signature, case_access";

fn from_row(r: &Row<'_>) -> Result<Agent, DbError> {
    Ok(Agent {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: r.parse(3, Role::parse)?,
        language: r.parse(4, Language::parse)?,
        active: r.get(5)?,
        teams: Vec::new(),
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        signature: r.get(8)?,
        case_access: r.parse(9, CaseAccess::parse)?,
    })
}

fn with_teams(conn: &mut dyn Conn, mut agents: Vec<Agent>) -> Result<Vec<Agent>> {
    if agents.is_empty() {
        return Ok(agents);
    }
    let ids: Vec<_> = agents.iter().map(|a| a.id.into()).collect();
    let sql = format!("select agent_id, team_id from team_members where agent_id in ({}) order by team_id", placeholders(1, ids.len()));
    let pairs: Vec<(AgentId, TeamId)> = conn.all(&sql, &ids, |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut by_agent: HashMap<AgentId, Vec<TeamId>> = HashMap::new();
    for (agent, team) in pairs {
        by_agent.entry(agent).or_default().push(team);
    }
    for agent in &mut agents {
        agent.teams = by_agent.remove(&agent.id).unwrap_or_default();
    }
    Ok(agents)
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub language: Language,
    pub password_hash: Option<String>,
    pub case_access: CaseAccess,
}

pub fn insert(tx: &mut Tx<'_>, new: &NewAgent) -> Result<Agent> {
    let now = tx.now;
    let id = tx
        .int(
            "insert into agents (email, name, role, language, password_hash, active, created_at, updated_at, case_access)
             values ($1, $2, $3, $4, $5, $6, $7, $7, $8) returning id",
            &[
                new.email.as_str().into(),
                new.name.as_str().into(),
                new.role.as_str().into(),
                new.language.as_str().into(),
                new.password_hash.as_deref().into(),
                true.into(),
                now.into(),
                new.case_access.as_str().into(),
            ],
        )
        .map_err(|e| if e.unique_violation { DomainError::Conflict("agent_email_taken").into() } else { crate::StoreError::from(e) })?;
    get(&mut **tx, AgentId(id))
}

pub fn get(conn: &mut dyn Conn, id: AgentId) -> Result<Agent> {
    let agent = conn.opt(&format!("select {COLUMNS} from agents where id = $1"), &[id.into()], from_row)?;
    let agent = agent.ok_or(DomainError::NotFound("agent"))?;
    Ok(with_teams(conn, vec![agent])?.remove(0))
}

/// The agent with this e-mail and their password hash, for login.
pub fn by_email(conn: &mut dyn Conn, email: &str) -> Result<Option<(Agent, Option<String>)>> {
    Ok(conn.opt(&format!("select {COLUMNS}, password_hash from agents where email = $1"), &[email.into()], |r| {
        Ok((from_row(r)?, r.get(10)?))
    })?)
}

pub fn list(conn: &mut dyn Conn) -> Result<Vec<Agent>> {
    let agents = conn.all(&format!("select {COLUMNS} from agents order by name, id"), &[], from_row)?;
    with_teams(conn, agents)
}

pub fn count(conn: &mut dyn Conn) -> Result<i64> {
    Ok(conn.int("select count(*) from agents", &[])?)
}

#[derive(Debug, Clone, Default)]
pub struct AgentChange {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub language: Option<Language>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub case_access: Option<CaseAccess>,
    /// `Some(None)` removes it.
    pub signature: Option<Option<String>>,
}

/// Writes the properties a change sets; the rest stay.
pub fn update(tx: &mut Tx<'_>, id: AgentId, change: &AgentChange) -> Result<Agent> {
    let now = tx.now;
    tx.execute(
        "update agents set name = coalesce($2, name), role = coalesce($3, role), language = coalesce($4, language),
         active = coalesce($5, active), password_hash = coalesce($6, password_hash), updated_at = $7,
         case_access = coalesce($8, case_access) where id = $1",
        &[
            id.into(),
            change.name.as_deref().into(),
            change.role.map(Role::as_str).into(),
            change.language.map(Language::as_str).into(),
            change.active.into(),
            change.password_hash.as_deref().into(),
            now.into(),
            change.case_access.map(CaseAccess::as_str).into(),
        ],
    )?;
    if let Some(signature) = &change.signature {
        tx.execute("update agents set signature = $2 where id = $1", &[id.into(), signature.as_deref().into()])?;
    }
    get(&mut **tx, id)
}

/// The teams an agent belongs to.
pub fn team_ids(conn: &mut dyn Conn, agent: AgentId) -> Result<Vec<TeamId>> {
    Ok(conn.all("select team_id from team_members where agent_id = $1", &[agent.into()], |r| r.get(0))?)
}

/// Active admins: the last one may not be demoted or switched off.
pub fn active_admins(conn: &mut dyn Conn) -> Result<i64> {
    Ok(conn.int("select count(*) from agents where role = 'admin' and active = $1", &[true.into()])?)
}

/// The ids of active admins: who hears that a channel broke.
pub fn active_admin_ids(conn: &mut dyn Conn) -> Result<Vec<AgentId>> {
    Ok(conn.all("select id from agents where role = 'admin' and active = $1 order by id", &[true.into()], |r| r.get(0))?)
}

/// Active supervisors and admins: who decides requests over a budget.
pub fn active_supervisor_ids(conn: &mut dyn Conn) -> Result<Vec<AgentId>> {
    Ok(conn.all("select id from agents where role in ('supervisor', 'admin') and active = $1 order by id", &[true.into()], |r| r.get(0))?)
}

// Teams

const TEAM_COLUMNS: &str = "id, name, created_at, updated_at";

fn team_from_row(r: &Row<'_>) -> Result<Team, DbError> {
    Ok(Team { id: r.get(0)?, name: r.get(1)?, members: Vec::new(), created_at: r.get(2)?, updated_at: r.get(3)? })
}

fn with_members(conn: &mut dyn Conn, mut teams: Vec<Team>) -> Result<Vec<Team>> {
    let pairs: Vec<(TeamId, AgentId)> =
        conn.all("select team_id, agent_id from team_members order by agent_id", &[], |r| Ok((r.get(0)?, r.get(1)?)))?;
    for team in &mut teams {
        team.members = pairs.iter().filter(|(t, _)| *t == team.id).map(|(_, a)| *a).collect();
    }
    Ok(teams)
}

pub fn list_teams(conn: &mut dyn Conn) -> Result<Vec<Team>> {
    let teams = conn.all(&format!("select {TEAM_COLUMNS} from teams order by name"), &[], team_from_row)?;
    with_members(conn, teams)
}

pub fn get_team(conn: &mut dyn Conn, id: TeamId) -> Result<Team> {
    let team = conn.opt(&format!("select {TEAM_COLUMNS} from teams where id = $1"), &[id.into()], team_from_row)?;
    let team = team.ok_or(DomainError::NotFound("team"))?;
    Ok(with_members(conn, vec![team])?.remove(0))
}

fn set_members(tx: &mut Tx<'_>, team: TeamId, members: &[AgentId]) -> Result<()> {
    tx.execute("delete from team_members where team_id = $1", &[team.into()])?;
    for (index, agent) in members.iter().enumerate() {
        let exists = tx.opt("select 1 from agents where id = $1", &[(*agent).into()], |r| r.get::<i64>(0))?;
        if exists.is_none() {
            return Err(DomainError::field(format!("members.{index}"), "not_found").into());
        }
        tx.execute("insert into team_members (team_id, agent_id) values ($1, $2) on conflict do nothing", &[team.into(), (*agent).into()])?;
    }
    Ok(())
}

pub fn insert_team(tx: &mut Tx<'_>, name: &str, members: &[AgentId]) -> Result<Team> {
    let now = tx.now;
    let id = tx
        .int(
            "insert into teams (name, name_key, created_at, updated_at) values ($1, $2, $3, $3) returning id",
            &[name.into(), name.to_lowercase().as_str().into(), now.into()],
        )
        .map_err(|e| if e.unique_violation { DomainError::Conflict("team_name_taken").into() } else { crate::StoreError::from(e) })?;
    set_members(tx, TeamId(id), members)?;
    get_team(&mut **tx, TeamId(id))
}

pub fn update_team(tx: &mut Tx<'_>, id: TeamId, name: Option<&str>, members: Option<&[AgentId]>) -> Result<Team> {
    get_team(&mut **tx, id)?;
    let now = tx.now;
    if let Some(name) = name {
        tx.execute(
            "update teams set name = $2, name_key = $3, updated_at = $4 where id = $1",
            &[id.into(), name.into(), name.to_lowercase().as_str().into(), now.into()],
        )
        .map_err(
            |e| {
                if e.unique_violation { DomainError::Conflict("team_name_taken").into() } else { crate::StoreError::from(e) }
            },
        )?;
    }
    if let Some(members) = members {
        set_members(tx, id, members)?;
    }
    get_team(&mut **tx, id)
}

pub fn delete_team(tx: &mut Tx<'_>, id: TeamId) -> Result<()> {
    tx.execute("delete from team_members where team_id = $1", &[id.into()])?;
    tx.execute("delete from teams where id = $1", &[id.into()])?;
    Ok(())
}

/// The active member of a team who owns the fewest of the given (active) statuses' cases: who a
/// case opened by the system goes to. `None` for an empty team.
pub fn least_busy_member(conn: &mut dyn Conn, team: TeamId, statuses: &[&str]) -> Result<Option<AgentId>> {
    let mut params: Vec<Value<'_>> = vec![team.into(), true.into()];
    params.extend(statuses.iter().map(|s| Value::Text(s)));
    let list = placeholders(3, statuses.len());
    let sql = format!(
        "select m.agent_id from team_members m join agents a on a.id = m.agent_id where m.team_id = $1 and a.active = $2
         and a.role <> 'viewer'
         order by (select count(*) from cases c where c.owner_id = m.agent_id and c.status in ({list})), m.agent_id limit 1"
    );
    Ok(conn.opt(&sql, &params, |r| r.get(0))?)
}
