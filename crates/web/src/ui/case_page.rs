//! One case: the thread, the composer, ownership actions, properties editable in place, the
//! customer panel and the compensation ledger. `/cases/{id}/live` re-renders the changing
//! parts for live updates.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use opora_app::care::playbooks::CasePlaybook;
use opora_app::cases::CasePage;
use opora_domain::CaseId;
use opora_domain::agent::{Action, Language};
use opora_domain::case::{CaseKind, Priority, Status};
use opora_domain::compensation::{CompensationKind, Money};
use opora_domain::customer::Customer;
use opora_domain::playbook::Outcome;
use serde_json::{Value, json};

use super::timeline::{money, thread};
use super::{UiAgent, error_page, html, with};
use crate::AppState;
use crate::error::ApiError;
use crate::views::Names;

fn customer_view(customer: &Customer) -> Value {
    json!({"id": customer.id, "name": customer.name, "company": customer.company, "our_client": customer.our_client, "note": customer.note,
           "language": customer.language,
           "identities": customer.identities.iter().map(|i| json!({"id": i.id, "kind": i.kind, "value": i.value})).collect::<Vec<_>>()})
}

/// Everything the page shows, read in one go, as the templates want it.
async fn load(state: &AppState, agent: &UiAgent, id: CaseId) -> Result<Value, ApiError> {
    let (language, me, role) = (agent.language(), agent.caller.agent.clone(), agent.caller.role);
    let page = state.app.cases().page(id, me.clone()).await?;
    let (window, approved) = state.app.messages().window(agent.caller.acting(), id).await?;
    let reply_channels = state.app.messages().reply_channels(agent.caller.acting(), id).await?;
    let playbook = state.app.playbooks().of_case(agent.caller.acting(), id).await?;
    let playbooks = state.app.playbooks().list().await?;
    let may_merge = role.may(Action::MergeCustomers);
    let CasePage {
        case,
        customer,
        messages,
        events,
        ledger,
        others,
        agents: everyone,
        teams,
        fields: definitions,
        participants,
        templates,
        names,
    } = page;
    let names = Names(names);
    let view = names.case(&case);
    let owner = case.owner_id;
    let may_work = role.may(Action::WorkCases) && case.status != Status::Closed;
    let currency = case.budget.as_ref().map_or_else(String::new, |b| b.currency.clone());
    let ledger: Vec<Value> = ledger
        .iter()
        .map(|c| {
            json!({"id": c.id, "status": c.status, "kind": c.kind, "amount": money(c.amount.minor, &c.amount.currency, language), "note": c.note,
                        "granted_by": names.agent(c.granted_by).name, "over_budget": c.over_budget, "created_at": c.created_at})
        })
        .collect();
    let custom: Vec<Value> = definitions
        .iter()
        .map(|d| json!({"key": d.key, "label": d.label(language), "type": d.field_type, "required": d.required,
                        "options": d.options.iter().map(|o| json!({"value": o.value, "label": if language == Language::Ru { &o.label_ru } else { &o.label_en }})).collect::<Vec<_>>(),
                        "value": case.custom_fields.get(&d.key)}))
        .collect();
    Ok(json!({
        "case": view,
        "budget_left": case.budget.as_ref().map(|b| money(b.minor - case.spent_minor, &b.currency, language)),
        "budget_amount": case.budget.as_ref().map(|b| Money::format_minor(b.minor)),
        "budget_currency": currency,
        "spent": case.budget.as_ref().map(|b| money(case.spent_minor, &b.currency, language)),
        "ledger": ledger,
        "custom": custom,
        "customer": customer_view(&customer),
        "participants": participants
            .iter()
            .map(|(c, role)| {
                let addresses: Vec<&str> = c.identities.iter().map(|i| i.value.as_str()).collect();
                json!({"id": c.id, "name": c.name, "addresses": addresses, "role": role})
            })
            .collect::<Vec<_>>(),
        "others": others.iter().map(|c| json!({"id": c.id, "number": c.number, "subject": c.subject, "status": c.status})).collect::<Vec<_>>(),
        "thread": thread(&state.i18n, language, &names, &messages, &events),
        "agents": everyone.iter().filter(|a| a.active && a.role.may(Action::WorkCases)).map(|a| json!({"id": a.id, "name": a.name})).collect::<Vec<_>>(),
        "teams": teams.iter().map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>(),
        "statuses": Status::ALL.iter().filter(|s| case.status == **s || case.status.can_become(**s)).collect::<Vec<_>>(),
        "priorities": Priority::ALL,
        "kinds": CaseKind::ALL,
        "compensation_kinds": CompensationKind::ALL,
        "is_owner": owner == Some(me.id),
        "can_take": may_work && owner.is_none(),
        "can_transfer": may_work && (owner.is_none() || owner == Some(me.id) || role.may(Action::TransferAnyCase)),
        "can_work": may_work,
        "templates": templates.iter().map(|(id, name, body)| json!({"id": id, "name": name, "body": body})).collect::<Vec<_>>(),
        "can_merge": may_merge,
        "similar": if may_merge { state.app.duplicates().similar(customer.id).await?.iter().map(customer_view).collect::<Vec<_>>() } else { Vec::new() },
        "reply_channels": reply_channels.iter().map(|c| json!({"id": c.id, "kind": c.kind, "name": c.name})).collect::<Vec<_>>(),
        "playbook": playbook.as_ref().map(|p| playbook_view(p, language)),
        "playbooks": playbooks.iter().filter(|p| p.spec.active).map(|p| json!({"id": p.id, "name": p.spec.name})).collect::<Vec<_>>(),
        "outcomes": Outcome::ALL,
        "known_stages": opora_domain::order::KNOWN_STAGES,
        "orders": state.app.orders().of_customer(customer.id).await?.iter().take(5).map(|o| json!({
            "external_id": o.external_id, "stage": o.stage, "description": o.description, "case_id": o.case_id,
        })).collect::<Vec<_>>(),
        "ratings": state.app.ratings().of_customer(customer.id).await?.iter().map(|r| json!({
            "score": r.score, "comment": r.comment, "reasons": r.reasons,
        })).collect::<Vec<_>>(),
        "window": {"applies": window.applies, "open": window.open, "closes_at": window.closes_at.map(|t| t.to_rfc3339()), "templates": approved},
    }))
}

/// A case's playbook as the side panel shows it: the steps with their state, the limit, the
/// reply to start from.
fn playbook_view(worked: &CasePlaybook, language: Language) -> Value {
    let spec = &worked.playbook.spec;
    let steps: Vec<Value> = spec
        .checklist
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"number": i + 1, "text": text, "done": worked.steps_done.contains(&i)}))
        .collect();
    json!({
        "id": worked.playbook.id, "name": spec.name, "steps": steps, "reply": spec.reply,
        "done": worked.steps_done.len(), "total": spec.checklist.len(),
        "limit": spec.compensation_limit.as_ref().map(|m| money(m.minor, &m.currency, language)),
        "compensation_kind": spec.compensation_kind, "outcome": worked.outcome,
    })
}

/// `?images=show`: this page loads the images customers' mail links from other sites.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ImagesQuery {
    images: Option<String>,
}

impl ImagesQuery {
    fn shown(&self) -> bool {
        self.images.as_deref() == Some("show")
    }
}

pub async fn page(State(state): State<AppState>, agent: UiAgent, Path(id): Path<String>, Query(images): Query<ImagesQuery>) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0).map(CaseId) else {
        return error_page(&state, Some(&agent), ApiError::new("case_not_found"));
    };
    let data = match load(&state, &agent, id).await {
        Ok(data) => data,
        Err(error) => return error_page(&state, Some(&agent), error),
    };
    let title = format!("#{} {}", data["case"]["number"], data["case"]["subject"].as_str().unwrap_or(""));
    let extra = json!({"remote_images_shown": images.shown()});
    let mut response = html(&state, "case.html", &with(with(agent.context(title, "case"), data), extra));
    if images.shown() {
        super::allow_remote_images(&mut response);
    }
    response
}

/// The parts of the page that change, re-rendered for live updates.
pub async fn live(State(state): State<AppState>, agent: UiAgent, Path(id): Path<String>, Query(images): Query<ImagesQuery>) -> Response {
    let Some(id) = id.parse::<i64>().ok().map(CaseId) else { return ApiError::new("case_not_found").into_response() };
    let data = match load(&state, &agent, id).await {
        Ok(data) => data,
        Err(error) => return error.into_response(),
    };
    let context = with(with(agent.context(String::new(), "case"), data), json!({"remote_images_shown": images.shown()}));
    let mut parts = serde_json::Map::new();
    for part in ["case_head", "case_thread", "case_side"] {
        match state.templates.render(&format!("{part}.html"), &context) {
            Ok(body) => parts.insert(part.to_owned(), json!(body)),
            Err(error) => return error.into_response(),
        };
    }
    Json(Value::Object(parts)).into_response()
}
