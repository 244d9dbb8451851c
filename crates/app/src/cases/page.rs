//! What the workspace shows of cases: the inbox views (mine, involved, unassigned, my teams,
//! open, pending, overdue, our clients, solved this week) with their counts, and everything one
//! case page shows, each read in one go.

use opora_domain::agent::{Agent, Team};
use opora_domain::case::Case;
use opora_domain::compensation::Compensation;
use opora_domain::customer::Customer;
use opora_domain::event::Event;
use opora_domain::field::FieldDefinition;
use opora_domain::message::Message;
use opora_domain::status::Status;
use opora_domain::template::fill;
use opora_domain::{AgentId, CaseId, CustomerId, TeamId, Timestamp};
use opora_store::case_list::{self, CaseFilter, OwnerFilter, Sight};
use opora_store::customers::CustomerFilter;
use opora_store::{agents, compensations, customers, events, fields, messages, names, notifications, templates};

use super::{Cases, access, names_for};
use crate::{Names, Result};

/// The inbox views, in the order the workspace lists them.
pub const VIEWS: &[&str] = &["mine", "involved", "unassigned", "team", "open", "pending", "overdue", "our_clients", "solved"];

/// Counts above this show as "999+": a huge backlog costs no more than a small one.
pub const COUNT_CAP: i64 = 1000;

fn active() -> Vec<Status> {
    Status::ALL.iter().copied().filter(|s| s.is_active()).collect()
}

/// The cases an inbox view shows to `agent`, pages of `limit`.
pub fn view_filter(view: &str, agent: &Agent, limit: i64) -> Option<CaseFilter> {
    let mut filter = CaseFilter { statuses: active(), limit, ..Default::default() };
    match view {
        "mine" => filter.owner = Some(OwnerFilter::Agent(agent.id)),
        "involved" => filter.collaborator = Some(agent.id),
        "unassigned" => filter.owner = Some(OwnerFilter::Nobody),
        // An agent in no team sees an empty team view, not everything.
        "team" => filter.teams = if agent.teams.is_empty() { vec![TeamId(-1)] } else { agent.teams.clone() },
        "open" => {}
        "pending" => filter.statuses = vec![Status::PendingCustomer, Status::PendingInternal, Status::OnHold],
        "overdue" => filter.overdue_at = Some(Timestamp::now()),
        "our_clients" => filter.our_clients = true,
        "solved" => {
            filter.statuses = vec![Status::Solved, Status::Closed];
            filter.solved_since = Some(Timestamp::now().plus_minutes(-7 * 24 * 60));
        }
        _ => return None,
    }
    Some(filter)
}

fn view_counts(
    conn: &mut dyn opora_store::db::Conn,
    agent: &Agent,
    sight: Option<&Sight>,
) -> opora_store::Result<Vec<(&'static str, i64)>> {
    let mut counts = Vec::new();
    for view in VIEWS {
        if let Some(mut filter) = view_filter(view, agent, 1) {
            access::narrow(sight, &mut filter);
            counts.push((*view, case_list::count(conn, &filter, COUNT_CAP)?));
        }
    }
    Ok(counts)
}

/// One page of an inbox view.
pub struct InboxPage {
    pub cases: Vec<Case>,
    pub more: bool,
    pub names: Names,
    /// Per view, counted up to [`COUNT_CAP`]; empty when only rows were asked for.
    pub counts: Vec<(&'static str, i64)>,
    pub agents: Vec<Agent>,
    pub teams: Vec<Team>,
}

/// Everything a case page shows.
pub struct CasePage {
    pub case: Case,
    pub customer: Customer,
    pub messages: Vec<Message>,
    pub events: Vec<Event>,
    pub ledger: Vec<Compensation>,
    /// The customer's other cases, newest first.
    pub others: Vec<Case>,
    pub agents: Vec<Agent>,
    pub teams: Vec<Team>,
    pub fields: Vec<FieldDefinition>,
    /// People in the conversation besides the customer, with how they came in.
    pub participants: Vec<(Customer, String)>,
    /// Reply templates filled in for this case and agent: id, name, body.
    pub templates: Vec<(i64, String, String)>,
    pub names: Names,
}

impl Cases<'_> {
    /// A page of `filter`; with `search`, the cases of customers whose name, company or address
    /// matches instead (one page, newest first). `full` adds the view counts and the people and
    /// teams the filters offer.
    pub async fn inbox(&self, me: Agent, mut filter: CaseFilter, search: Option<String>, full: bool) -> Result<InboxPage> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let sight = access::sight(conn, me.acting(), rules)?;
                access::narrow(sight.as_ref(), &mut filter);
                let limit = filter.limit;
                let mut probe = filter;
                probe.limit = limit + 1;
                let mut found = match &search {
                    Some(text) => {
                        let matches =
                            customers::list(conn, &CustomerFilter { query: Some(text.clone()), limit: 50, ..Default::default() })?;
                        let mut all = Vec::new();
                        for customer in matches {
                            all.extend(case_list::list(conn, &CaseFilter { customer: Some(customer.id), ..probe.clone() })?);
                        }
                        all.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
                        all
                    }
                    None => case_list::list(conn, &probe)?,
                };
                let more = search.is_none() && found.len() as i64 > limit;
                found.truncate(limit as usize);
                let names = names_for(conn, &found)?;
                let (counts, agents, teams) = if full {
                    (view_counts(conn, &me, sight.as_ref())?, agents::list(conn)?, agents::list_teams(conn)?)
                } else {
                    Default::default()
                };
                Ok(InboxPage { cases: found, more, names, counts, agents, teams })
            })
            .await
    }

    /// The view counts and the agent's unread notifications, for the live sidebar.
    pub async fn view_counts(&self, me: Agent) -> Result<(Vec<(&'static str, i64)>, i64)> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let sight = access::sight(conn, me.acting(), rules)?;
                Ok((view_counts(conn, &me, sight.as_ref())?, notifications::unread_count(conn, me.id)?))
            })
            .await
    }

    /// Everything the case page shows to `me`.
    pub async fn page(&self, id: CaseId, me: Agent) -> Result<CasePage> {
        let rules = self.0.config().access;
        self.0
            .read(move |conn| {
                let sight = access::sight(conn, me.acting(), rules)?;
                let case = access::seen(conn, me.acting(), id, rules)?;
                let customer = customers::get(conn, case.customer_id)?;
                let messages = messages::for_case(conn, id)?;
                let events = events::for_case(conn, id)?;
                let ledger = compensations::for_case(conn, id)?;
                let others = case_list::of_customer(conn, customer.id, id, sight.as_ref(), 5)?;
                let everyone = agents::list(conn)?;
                let teams = agents::list_teams(conn)?;
                let fields = fields::list(conn)?;
                let participants = super::conversation::people(conn, id)?;
                let ids: Vec<CustomerId> = participants.iter().map(|(customer, _)| customer.id).collect();
                let mut referenced: Vec<AgentId> = messages.iter().filter_map(|m| m.author_agent_id).collect();
                referenced.extend(everyone.iter().map(|a| a.id));
                let mut people = vec![case.customer_id];
                people.extend(messages.iter().filter_map(|m| m.author_customer_id));
                people.extend(ids);
                // Whoever the timeline names (someone who joined, or was taken out, since).
                people.extend(events.iter().filter_map(|e| e.customer_id));
                let names = names::load(conn, &referenced, &people, true)?;
                let values = [
                    ("customer.name", customer.name.clone()),
                    ("case.number", case.number.to_string()),
                    ("case.subject", case.subject.clone()),
                    ("agent.name", me.name.clone()),
                ];
                let templates = templates::list(conn)?.into_iter().map(|t| (t.id, t.name, fill(&t.body, &values))).collect();
                Ok(CasePage {
                    case,
                    customer,
                    messages,
                    events,
                    ledger,
                    others,
                    agents: everyone,
                    teams,
                    fields,
                    participants,
                    templates,
                    names,
                })
            })
            .await
    }
}
