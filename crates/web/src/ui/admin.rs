//! Administration pages: agents and roles, teams, custom fields, reply templates, API tokens,
//! webhooks, channels, mailboxes and received mail. Forms post to the JSON API; the page only lists and
//! offers the forms.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use opora_domain::access::CaseAccess;
use opora_domain::agent::{Action, Language, Role};
use opora_domain::channel::{ConversationPolicy, PayloadStatus as RawStatus};
use opora_domain::field::FieldType;
use opora_domain::{CaseId, PayloadId};
use serde_json::{Value, json};

use super::{UiAgent, error_page, html, with};
use crate::AppState;
use crate::api::channels::ChannelView;
use crate::error::ApiError;

/// Sections and the permission each needs.
const SECTIONS: &[(&str, Action)] = &[
    ("agents", Action::ManageAgents),
    ("teams", Action::ManageTeams),
    ("fields", Action::ManageFields),
    ("templates", Action::TransferAnyCase),
    ("webhooks", Action::ManageWebhooks),
    ("channels", Action::ManageChannels),
    ("mailboxes", Action::ManageChannels),
    ("mail", Action::ManageChannels),
    ("tokens", Action::ReadCases),
];

/// `/admin`: the first section this agent may open (agents see their API tokens).
pub async fn first_section(agent: UiAgent) -> axum::response::Redirect {
    let first = SECTIONS.iter().find(|(_, needed)| agent.caller.role.may(*needed)).map_or("tokens", |(name, _)| *name);
    axum::response::Redirect::to(&format!("/admin/{first}"))
}

/// `?status=quarantined&before=ID` on the received-mail list.
#[derive(Debug, Default, serde::Deserialize)]
pub struct MailFilter {
    status: Option<String>,
    before: Option<i64>,
}

const MAIL_PAGE: i64 = 50;

async fn mailboxes_section(state: &AppState) -> opora_app::Result<Value> {
    let all: Vec<Value> = state.app.mail().mailboxes().await?.iter().map(|m| json!(crate::api::mail::MailboxView::from(m))).collect();
    Ok(json!({"mailboxes": all}))
}

/// Received mail, newest first, with the case each went to and what the processor said.
async fn mail_section(state: &AppState, filter: &MailFilter) -> opora_app::Result<Value> {
    let status = filter.status.as_deref().and_then(RawStatus::parse);
    let items = state.app.mail().received(status, filter.before.map(PayloadId), MAIL_PAGE).await?;
    let boxes = state.app.mail().mailboxes().await?;
    let filed: Vec<CaseId> = items.iter().filter_map(|raw| raw.case_id).collect();
    let numbers = state.app.cases().numbers(filed).await?;
    let rows: Vec<Value> = items
        .iter()
        .map(|raw| {
            let mut row = json!(crate::api::mail::RawMailView::from(raw));
            row["mailbox"] = json!(boxes.iter().find(|m| m.id == raw.channel_id).map(|m| m.name.clone()));
            row["case_number"] = json!(raw.case_id.and_then(|id| numbers.get(&id)));
            row
        })
        .collect();
    let next = (items.len() as i64 == MAIL_PAGE).then(|| items.last().map(|r| r.id.0)).flatten();
    let counts: serde_json::Map<String, Value> =
        state.app.mail().received_counts().await?.into_iter().map(|(s, n)| (s.as_str().to_owned(), json!(n))).collect();
    Ok(json!({"mail": rows, "next_before": next, "status": status.map(RawStatus::as_str), "counts": counts, "statuses": RawStatus::ALL}))
}

async fn section_data(state: &AppState, name: &str, agent: &UiAgent, filter: &MailFilter) -> opora_app::Result<Value> {
    let app = &state.app;
    Ok(match name {
        "agents" => {
            json!({"agents": app.staff().agents().await?.iter().map(|a| json!({"id": a.id, "name": a.name, "email": a.email, "role": a.role, "language": a.language, "active": a.active})).collect::<Vec<_>>()})
        }
        "teams" => {
            let everyone = app.staff().agents().await?;
            let teams: Vec<Value> = app
                .staff()
                .teams()
                .await?
                .iter()
                .map(|t| json!({"id": t.id, "name": t.name, "members": t.members, "member_names": t.members.iter().filter_map(|m| everyone.iter().find(|a| a.id == *m).map(|a| a.name.clone())).collect::<Vec<_>>()}))
                .collect();
            json!({"teams": teams, "agents": everyone.iter().map(|a| json!({"id": a.id, "name": a.name})).collect::<Vec<_>>()})
        }
        "fields" => json!({"fields": app.settings().fields().await?}),
        "templates" => json!({"templates": app.settings().templates().await?}),
        "webhooks" => json!({"webhooks": app.webhooks().list().await?}),
        "channels" => {
            let all = app.channels().list().await?;
            json!({"channels": all.iter().map(|c| ChannelView::new(c, &state.config.public_url)).collect::<Vec<_>>()})
        }
        "mailboxes" => mailboxes_section(state).await?,
        "mail" => mail_section(state, filter).await?,
        _ => {
            let owner = if agent.caller.role.may(Action::ManageAllTokens) { None } else { Some(agent.caller.agent.id) };
            json!({"tokens": app.auth().tokens(owner).await?})
        }
    })
}

pub async fn page(
    State(state): State<AppState>,
    agent: UiAgent,
    Path(section): Path<String>,
    Query(filter): Query<MailFilter>,
) -> Response {
    let Some((_, needed)) = SECTIONS.iter().find(|(name, _)| *name == section) else {
        return error_page(&state, Some(&agent), ApiError::new("route_not_found"));
    };
    if !agent.caller.role.may(*needed) {
        return error_page(&state, Some(&agent), ApiError::new("forbidden"));
    }
    let loaded = section_data(&state, &section, &agent, &filter).await;
    let data = match loaded {
        Ok(data) => data,
        Err(e) => return error_page(&state, Some(&agent), e.into()),
    };
    let visible: Vec<&str> = SECTIONS.iter().filter(|(_, needed)| agent.caller.role.may(*needed)).map(|(name, _)| *name).collect();
    let title = state.i18n.t(agent.language(), &format!("admin-{section}"));
    let context = with(
        agent.context(title, "admin"),
        json!({"admin_section": section, "sections": visible, "data": data, "roles": Role::ALL, "case_accesses": CaseAccess::ALL, "languages": Language::ALL, "field_types": FieldType::ALL,
               "conversation_policies": ConversationPolicy::ALL}),
    );
    html(&state, "admin.html", &context)
}
