//! Staff: agents with their roles, and teams. The last active admin may not be demoted or
//! switched off; a switched-off agent is signed out everywhere.

use std::collections::BTreeMap;

use opora_domain::agent::{Agent, Role, Team};
use opora_domain::event::{Actor, AgentCreated, AgentUpdated, ChangeAction, EventData, TeamChanged};
use opora_domain::{AgentId, DomainError, TeamId};
use opora_store::{agents, auth, cases};
use serde_json::{Value, json};

pub use opora_store::agents::{AgentChange, NewAgent};

use crate::{App, Result, Unit};

pub(crate) fn create(u: &mut Unit<'_, '_>, new: NewAgent, actor: Actor) -> opora_store::Result<Agent> {
    let agent = agents::insert(u.tx(), &new)?;
    let data = AgentCreated { agent_id: agent.id, email: agent.email.clone(), role: agent.role };
    u.emit(None, None, actor, EventData::AgentCreated(data))?;
    Ok(agent)
}

/// What changed of an agent, secrets only as "changed".
fn agent_changes(before: &Agent, after: &Agent, password: bool) -> BTreeMap<String, Value> {
    let mut changed = BTreeMap::new();
    let mut pair = |name: &str, from: Value, to: Value| {
        if from != to {
            changed.insert(name.to_owned(), json!({"from": from, "to": to}));
        }
    };
    pair("name", json!(before.name), json!(after.name));
    pair("role", json!(before.role), json!(after.role));
    pair("language", json!(before.language), json!(after.language));
    pair("active", json!(before.active), json!(after.active));
    pair("case_access", json!(before.case_access), json!(after.case_access));
    if before.signature != after.signature {
        changed.insert("signature".into(), json!("changed"));
    }
    if password {
        changed.insert("password".into(), json!("changed"));
    }
    changed
}

pub(crate) fn update(u: &mut Unit<'_, '_>, id: AgentId, change: AgentChange, actor: Actor) -> opora_store::Result<Agent> {
    let before = agents::get(u.conn(), id)?;
    let demoted = change.role.is_some_and(|r| r != Role::Admin) || change.active == Some(false);
    if before.role == Role::Admin && before.active && demoted && agents::active_admins(u.conn())? <= 1 {
        return Err(DomainError::Conflict("last_admin").into());
    }
    let after = agents::update(u.tx(), id, &change)?;
    if change.active == Some(false) {
        auth::delete_other_sessions(u.tx(), id, None)?;
    }
    let changes = agent_changes(&before, &after, change.password_hash.is_some());
    if !changes.is_empty() {
        u.emit(None, None, actor, EventData::AgentUpdated(AgentUpdated { agent_id: id, changes }))?;
    }
    Ok(after)
}

fn team_event(u: &mut Unit<'_, '_>, team: TeamId, name: Option<String>, action: ChangeAction, actor: Actor) -> opora_store::Result<()> {
    u.emit(None, None, actor, EventData::TeamChanged(TeamChanged { team_id: team, name, action })).map(|_| ())
}

pub use opora_store::cases::SmoothWork;

pub struct Staff<'a>(&'a App);

impl App {
    pub fn staff(&self) -> Staff<'_> {
        Staff(self)
    }
}

impl Staff<'_> {
    pub async fn create_agent(&self, actor: Actor, new: NewAgent) -> Result<Agent> {
        self.0.write(move |u| create(u, new, actor)).await
    }

    pub async fn update_agent(&self, actor: Actor, id: AgentId, change: AgentChange) -> Result<Agent> {
        self.0.write(move |u| update(u, id, change, actor)).await
    }

    pub async fn agent(&self, id: AgentId) -> Result<Agent> {
        self.0.read(move |conn| agents::get(conn, id)).await
    }

    /// The agent with this e-mail and their password hash (signing in).
    pub async fn agent_by_email(&self, email: String) -> Result<Option<(Agent, Option<String>)>> {
        self.0.read(move |conn| agents::by_email(conn, &email)).await
    }

    pub async fn agents(&self) -> Result<Vec<Agent>> {
        self.0.read(agents::list).await
    }

    /// How an agent's work went over the last `days`: solved cases, first-contact resolutions,
    /// in time, reopened, and customers' ratings — smooth work beside volume.
    pub async fn smooth_work(&self, id: AgentId, days: i64) -> Result<SmoothWork> {
        let since = opora_domain::Timestamp::now().plus_minutes(-days * 24 * 60);
        self.0.read(move |conn| opora_store::cases::smooth_work(conn, id, since)).await
    }

    pub async fn agent_count(&self) -> Result<i64> {
        self.0.read(agents::count).await
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        self.0.read(agents::list_teams).await
    }

    pub async fn team(&self, id: TeamId) -> Result<Team> {
        self.0.read(move |conn| agents::get_team(conn, id)).await
    }

    pub async fn create_team(&self, actor: Actor, name: String, members: Vec<AgentId>) -> Result<Team> {
        self.0
            .write(move |u| {
                let team = agents::insert_team(u.tx(), &name, &members)?;
                team_event(u, team.id, Some(name), ChangeAction::Created, actor)?;
                Ok(team)
            })
            .await
    }

    pub async fn update_team(&self, actor: Actor, id: TeamId, name: Option<String>, members: Option<Vec<AgentId>>) -> Result<Team> {
        self.0
            .write(move |u| {
                agents::get_team(u.conn(), id)?;
                let team = agents::update_team(u.tx(), id, name.as_deref(), members.as_deref())?;
                team_event(u, id, None, ChangeAction::Updated, actor)?;
                Ok(team)
            })
            .await
    }

    /// A team still holding cases cannot be deleted: its cases would lose their queue.
    pub async fn delete_team(&self, actor: Actor, id: TeamId) -> Result<()> {
        self.0
            .write(move |u| {
                agents::get_team(u.conn(), id)?;
                if cases::team_has_cases(u.conn(), id)? {
                    return Err(DomainError::Conflict("team_has_cases").into());
                }
                agents::delete_team(u.tx(), id)?;
                team_event(u, id, None, ChangeAction::Deleted, actor)
            })
            .await
    }
}
