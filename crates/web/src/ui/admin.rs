//! Administration pages: agents and roles, teams, custom fields, reply templates, API tokens,
//! webhooks. Forms post to the JSON API; the page only lists and offers the forms.

use axum::extract::{Path, State};
use axum::response::Response;
use opora_domain::agent::{Action, Language, Role};
use opora_domain::field::FieldType;
use opora_store::{agents, auth, fields, templates, webhooks};
use serde_json::{Value, json};

use super::{UiAgent, error_page, html, with};
use crate::AppState;
use crate::error::ApiError;

/// Sections and the permission each needs.
const SECTIONS: &[(&str, Action)] = &[
    ("agents", Action::ManageAgents),
    ("teams", Action::ManageTeams),
    ("fields", Action::ManageFields),
    ("templates", Action::TransferAnyCase),
    ("webhooks", Action::ManageWebhooks),
    ("tokens", Action::ReadCases),
];

/// `/admin`: the first section this agent may open (agents see their API tokens).
pub async fn first_section(agent: UiAgent) -> axum::response::Redirect {
    let first = SECTIONS.iter().find(|(_, needed)| agent.caller.role.may(*needed)).map_or("tokens", |(name, _)| *name);
    axum::response::Redirect::to(&format!("/admin/{first}"))
}

pub async fn page(State(state): State<AppState>, agent: UiAgent, Path(section): Path<String>) -> Response {
    let Some((_, needed)) = SECTIONS.iter().find(|(name, _)| *name == section) else {
        return error_page(&state, Some(&agent), ApiError::new("route_not_found"));
    };
    if !agent.caller.role.may(*needed) {
        return error_page(&state, Some(&agent), ApiError::new("forbidden"));
    }
    let me = agent.caller.agent.id;
    let role = agent.caller.role;
    let name = section.clone();
    let loaded = state
        .store
        .read(move |conn| {
            Ok(match name.as_str() {
                "agents" => json!({"agents": agents::list(conn)?.iter().map(|a| json!({"id": a.id, "name": a.name, "email": a.email, "role": a.role, "language": a.language, "active": a.active})).collect::<Vec<_>>()}),
                "teams" => {
                    let everyone = agents::list(conn)?;
                    let teams: Vec<Value> = agents::list_teams(conn)?
                        .iter()
                        .map(|t| json!({"id": t.id, "name": t.name, "members": t.members, "member_names": t.members.iter().filter_map(|m| everyone.iter().find(|a| a.id == *m).map(|a| a.name.clone())).collect::<Vec<_>>()}))
                        .collect();
                    json!({"teams": teams, "agents": everyone.iter().map(|a| json!({"id": a.id, "name": a.name})).collect::<Vec<_>>()})
                }
                "fields" => json!({"fields": fields::list(conn)?}),
                "templates" => json!({"templates": templates::list(conn)?}),
                "webhooks" => json!({"webhooks": webhooks::list(conn)?}),
                _ => {
                    let owner = if role.may(Action::ManageAllTokens) { None } else { Some(me) };
                    json!({"tokens": auth::list_tokens(conn, owner)?})
                }
            })
        })
        .await;
    let data = match loaded {
        Ok(data) => data,
        Err(e) => return error_page(&state, Some(&agent), e.into()),
    };
    let visible: Vec<&str> = SECTIONS.iter().filter(|(_, needed)| agent.caller.role.may(*needed)).map(|(name, _)| *name).collect();
    let title = state.i18n.t(agent.language(), &format!("admin-{section}"));
    let context = with(
        agent.context(title, "admin"),
        json!({"admin_section": section, "sections": visible, "data": data, "roles": Role::ALL, "languages": Language::ALL, "field_types": FieldType::ALL}),
    );
    html(&state, "admin.html", &context)
}
