//! The names behind ids: agents, customers and teams that a page of records refers to, read in
//! one pass so a list of fifty cases costs three queries, not a hundred and fifty.

use std::collections::HashMap;

use opora_domain::{AgentId, CaseId, CustomerId, TeamId};

use crate::Result;
use crate::db::{Conn, placeholders};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentName {
    pub id: AgentId,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Default)]
pub struct Names {
    agents: HashMap<AgentId, AgentName>,
    customers: HashMap<CustomerId, String>,
    teams: HashMap<TeamId, String>,
    /// Per case: its order's external id and its playbook's name.
    care: HashMap<CaseId, crate::playbooks::CareLabels>,
}

impl Names {
    /// An agent's name and e-mail; an agent unknown here (deleted) has empty ones.
    pub fn agent(&self, id: AgentId) -> AgentName {
        self.agents.get(&id).cloned().unwrap_or(AgentName { id, name: String::new(), email: String::new() })
    }

    pub fn customer(&self, id: CustomerId) -> String {
        self.customers.get(&id).cloned().unwrap_or_default()
    }

    pub fn team(&self, id: TeamId) -> String {
        self.teams.get(&id).cloned().unwrap_or_default()
    }

    /// The external id of the order a case belongs to.
    pub fn order_of(&self, case: CaseId) -> Option<String> {
        self.care.get(&case).and_then(|(order, _)| order.clone())
    }

    /// The name of the playbook a case is worked by.
    pub fn playbook_of(&self, case: CaseId) -> Option<String> {
        self.care.get(&case).and_then(|(_, playbook)| playbook.clone())
    }

    /// Adds the orders and playbooks of these cases.
    pub fn load_care(&mut self, conn: &mut dyn Conn, cases: &[CaseId]) -> Result<()> {
        self.care.extend(crate::playbooks::labels(conn, cases)?);
        Ok(())
    }
}

/// Reads the names of these agents and customers, and of every team when `with_teams`.
pub fn load(conn: &mut dyn Conn, agents: &[AgentId], customers: &[CustomerId], with_teams: bool) -> Result<Names> {
    let mut names = Names::default();
    let mut agents = agents.to_vec();
    agents.sort();
    agents.dedup();
    if !agents.is_empty() {
        let params: Vec<_> = agents.iter().map(|a| (*a).into()).collect();
        let sql = format!("select id, name, email from agents where id in ({})", placeholders(1, params.len()));
        for agent in conn.all(&sql, &params, |r| Ok(AgentName { id: r.get(0)?, name: r.get(1)?, email: r.get(2)? }))? {
            names.agents.insert(agent.id, agent);
        }
    }
    let mut customers = customers.to_vec();
    customers.sort();
    customers.dedup();
    if !customers.is_empty() {
        let params: Vec<_> = customers.iter().map(|c| (*c).into()).collect();
        let sql = format!("select id, name from customers where id in ({})", placeholders(1, params.len()));
        for (id, name) in conn.all(&sql, &params, |r| Ok((r.get::<CustomerId>(0)?, r.get::<String>(1)?)))? {
            names.customers.insert(id, name);
        }
    }
    if with_teams {
        for (id, name) in conn.all("select id, name from teams", &[], |r| Ok((r.get::<TeamId>(0)?, r.get::<String>(1)?)))? {
            names.teams.insert(id, name);
        }
    }
    Ok(names)
}
