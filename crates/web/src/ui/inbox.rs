//! Inbox views: mine, involved, unassigned, my teams, all open, pending, overdue, our clients,
//! recently solved — each with a live count, filters, three orders and keyset pages.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use opora_app::cases::{COUNT_CAP, CaseFilter, CaseSort, InboxPage, OwnerFilter, VIEWS, view_filter};
use opora_domain::case::{Case, Priority, Status};
use opora_domain::channel::ChannelKind;
use opora_domain::validate::tag;
use opora_domain::{AgentId, CaseId, TeamId};
use serde_json::{Value, json};

use super::{UiAgent, error_page, html, with};
use crate::AppState;
use crate::api::{decode_cursor, encode_cursor};
use crate::error::ApiError;
use crate::views::Names;

const PAGE: i64 = 50;

fn apply_query(filter: &mut CaseFilter, query: &HashMap<String, String>) {
    let get = |name: &str| query.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if let Some(status) = get("status").and_then(Status::parse) {
        filter.statuses = vec![status];
    }
    filter.priority = get("priority").and_then(Priority::parse);
    filter.channel = get("channel").and_then(ChannelKind::parse);
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
        "status": case.status, "priority": case.priority, "kind": case.kind, "channel": case.channel_kind,
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
    let Some(mut filter) = view_filter(&view, &agent.caller.agent, PAGE) else {
        return error_page(&state, Some(&agent), ApiError::new("route_not_found"));
    };
    let search = query.get("q").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    if let Some(number) = search.as_deref().and_then(case_number) {
        let found = state.app.cases().by_number(agent.caller.acting(), number).await;
        if let Ok(Some(case)) = found {
            return Redirect::to(&format!("/cases/{}", case.id)).into_response();
        }
    }
    apply_query(&mut filter, &query);
    let partial = query.get("partial").is_some_and(|p| p == "rows");
    let sort = filter.sort;
    let loaded = state.app.cases().inbox(agent.caller.agent.clone(), filter, search, !partial).await;
    let InboxPage { cases, more, names, counts, agents, teams } = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return error_page(&state, Some(&agent), e.into()),
    };
    let names = Names(names);
    let rows: Vec<Value> = cases.iter().map(|c| row(&names, c)).collect();
    let next = if more { cases.last().map(|c| encode_cursor(&[sort.key(c), c.id.0])) } else { None };
    let counts = if partial { Value::Null } else { counts_json(&counts) };
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
            "query": query, "statuses": Status::ALL, "priorities": Priority::ALL, "channels": ChannelKind::ALL,
            "agents": agents.iter().map(|a| json!({"id": a.id, "name": a.name})).collect::<Vec<_>>(),
            "teams": teams.iter().map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>(),
        }),
    );
    html(&state, if partial { "inbox_rows.html" } else { "inbox.html" }, &context)
}

fn counts_json(counts: &[(&str, i64)]) -> Value {
    let shown = counts
        .iter()
        .map(|(view, count)| ((*view).to_owned(), if *count >= COUNT_CAP { json!(format!("{}+", COUNT_CAP - 1)) } else { json!(count) }));
    Value::Object(shown.collect())
}

/// The view counts and unread notifications, for the live refresh of the sidebar and badge.
pub async fn counts(State(state): State<AppState>, agent: UiAgent) -> Response {
    match state.app.cases().view_counts(agent.caller.agent.clone()).await {
        Ok((counts, unread)) => Json(json!({"views": counts_json(&counts), "unread": unread})).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
