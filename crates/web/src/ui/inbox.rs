//! Inbox views: mine, involved, unassigned, my teams, all open, pending, overdue, our clients,
//! recently solved — each with a live count, filters, three orders and keyset pages.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use opora_domain::case::{Case, Channel, Priority, Status};
use opora_domain::validate::tag;
use opora_domain::{AgentId, CaseId, TeamId, Timestamp};
use opora_store::case_list::{self, CaseFilter, CaseSort, OwnerFilter};
use opora_store::{agents, cases, customers};
use serde_json::{Value, json};

use super::{UiAgent, error_page, html, with};
use crate::AppState;
use crate::api::{decode_cursor, encode_cursor};
use crate::error::ApiError;
use crate::views::Names;

pub const VIEWS: &[&str] = &["mine", "involved", "unassigned", "team", "open", "pending", "overdue", "our_clients", "solved"];
const PAGE: i64 = 50;
/// Counts stop here: "999+" costs a thousand index steps, an exact count of a backlog millions.
const COUNT_CAP: i64 = 1000;

fn active() -> Vec<Status> {
    Status::ALL.iter().copied().filter(|s| s.is_active()).collect()
}

/// The filter behind a view, for this agent.
pub fn view_filter(view: &str, agent: &opora_domain::agent::Agent) -> Option<CaseFilter> {
    let mut filter = CaseFilter { statuses: active(), limit: PAGE, ..Default::default() };
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

/// Narrows a view by the filters in the query string; unknown values are ignored, since they
/// come from our own form.
fn apply_query(filter: &mut CaseFilter, query: &HashMap<String, String>) {
    let get = |name: &str| query.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if let Some(status) = get("status").and_then(Status::parse) {
        filter.statuses = vec![status];
    }
    filter.priority = get("priority").and_then(Priority::parse);
    filter.channel = get("channel").and_then(Channel::parse);
    filter.tag = get("tag").and_then(|t| tag("tag", t).ok());
    if let Some(team) = get("team").and_then(|t| t.parse().ok()) {
        filter.team = Some(TeamId(team));
    }
    match get("owner") {
        Some("none") => filter.owner = Some(OwnerFilter::Nobody),
        Some(id) => {
            if let Ok(id) = id.parse() {
                filter.owner = Some(OwnerFilter::Agent(AgentId(id)));
            }
        }
        None => {}
    }
    filter.sort = get("sort").and_then(CaseSort::parse).unwrap_or_default();
    filter.after = get("cursor").and_then(|c| decode_cursor(c, 2).ok()).map(|p| (p[0], CaseId(p[1])));
}

pub fn row(names: &Names, case: &Case) -> Value {
    let view = names.case(case);
    json!({
        "id": case.id, "number": case.number, "subject": case.subject, "customer": view.customer.name,
        "status": case.status, "priority": case.priority, "kind": case.kind, "channel": case.channel,
        "owner": view.owner.map(|o| o.name), "team": view.team.map(|t| t.name), "tags": case.tags,
        "deadline_at": view.deadline_at, "overdue": view.overdue, "updated_at": view.updated_at,
    })
}

/// `#1042` or `1042`: the case number someone typed into search.
fn case_number(query: &str) -> Option<i64> {
    query.trim().trim_start_matches('#').parse().ok()
}

pub async fn page(
    State(state): State<AppState>,
    agent: UiAgent,
    Path(view): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(mut filter) = view_filter(&view, &agent.caller.agent) else {
        return error_page(&state, Some(&agent), ApiError::new("route_not_found"));
    };
    let search = query.get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if let Some(number) = search.as_deref().and_then(case_number) {
        let found = state.store.read(move |conn| cases::by_number(conn, number)).await;
        if let Ok(Some(case)) = found {
            return Redirect::to(&format!("/cases/{}", case.id)).into_response();
        }
    }
    apply_query(&mut filter, &query);
    let partial = query.get("partial").is_some_and(|p| p == "rows");
    let me = agent.caller.agent.clone();
    let loaded = state
        .store
        .read(move |conn| {
            let mut probe = filter.clone();
            probe.limit = PAGE + 1;
            let mut found = match &search {
                // Without a number, search finds the cases of customers whose name, company or
                // address matches.
                Some(text) => {
                    let matches =
                        customers::list(conn, &customers::CustomerFilter { query: Some(text.clone()), limit: 50, ..Default::default() })?;
                    let mut all = Vec::new();
                    for customer in matches {
                        all.extend(case_list::list(conn, &CaseFilter { customer: Some(customer.id), ..probe.clone() })?);
                    }
                    all.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
                    all
                }
                None => case_list::list(conn, &probe)?,
            };
            let more = search.is_none() && found.len() as i64 > PAGE;
            found.truncate(PAGE as usize);
            let names = Names::for_cases(conn, &found)?;
            let rows: Vec<Value> = found.iter().map(|c| row(&names, c)).collect();
            let next = if more { found.last().map(|c| encode_cursor(&[filter.sort.key(c), c.id.0])) } else { None };
            let counts = if partial { Value::Null } else { view_counts(conn, &me)? };
            let (agents, teams) = if partial { (vec![], vec![]) } else { (agents::list(conn)?, agents::list_teams(conn)?) };
            Ok((rows, next, counts, agents, teams))
        })
        .await;
    let (rows, next, counts, agents, teams) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return error_page(&state, Some(&agent), e.into()),
    };
    let params: Vec<(String, String)> =
        query.iter().filter(|(k, _)| !matches!(k.as_str(), "cursor" | "partial")).map(|(k, v)| (k.clone(), v.clone())).collect();
    let next_url = next.map(|cursor| {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            pairs.append_pair(k, v);
        }
        pairs.append_pair("cursor", &cursor);
        format!("/inbox/{view}?{}", pairs.finish())
    });
    let title = state.i18n.t(agent.language(), &format!("view-{view}"));
    let context = with(
        agent.context(title, "inbox"),
        json!({
            "view": view, "views": VIEWS, "counts": counts, "rows": rows, "next_url": next_url, "first_page": !query.contains_key("cursor"),
            "query": query, "statuses": Status::ALL, "priorities": Priority::ALL, "channels": Channel::ALL,
            "agents": agents.iter().map(|a| json!({"id": a.id, "name": a.name})).collect::<Vec<_>>(),
            "teams": teams.iter().map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>(),
        }),
    );
    html(&state, if partial { "inbox_rows.html" } else { "inbox.html" }, &context)
}

fn view_counts(conn: &mut dyn opora_store::db::Conn, agent: &opora_domain::agent::Agent) -> opora_store::Result<Value> {
    let mut counts = serde_json::Map::new();
    for view in VIEWS {
        if let Some(filter) = view_filter(view, agent) {
            let count = case_list::count(conn, &filter, COUNT_CAP)?;
            counts.insert((*view).to_owned(), if count >= COUNT_CAP { json!(format!("{}+", COUNT_CAP - 1)) } else { json!(count) });
        }
    }
    Ok(Value::Object(counts))
}

/// The view counts and unread notifications, for the live refresh of the sidebar and badge.
pub async fn counts(State(state): State<AppState>, agent: UiAgent) -> Response {
    let me = agent.caller.agent.clone();
    let result = state
        .store
        .read(move |conn| Ok(json!({"views": view_counts(conn, &me)?, "unread": opora_store::notifications::unread_count(conn, me.id)?})))
        .await;
    match result {
        Ok(counts) => Json(counts).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
