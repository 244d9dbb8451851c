//! `/approvals`: grants over a budget that agents asked a supervisor to approve, oldest first,
//! each approved or refused with a reason in place.

use axum::extract::State;
use axum::response::Response;
use opora_domain::agent::Action;
use serde_json::json;

use super::timeline::money;
use super::{UiAgent, error_page, html, with};
use crate::AppState;
use crate::error::ApiError;

pub async fn page(State(state): State<AppState>, agent: UiAgent) -> Response {
    if !agent.caller.role.may(Action::GrantOverBudget) {
        return error_page(&state, Some(&agent), ApiError::new("forbidden"));
    }
    let language = agent.language();
    let (waiting, names) = match state.app.cases().requested_compensations(agent.caller.acting()).await {
        Ok(found) => found,
        Err(e) => return error_page(&state, Some(&agent), e.into()),
    };
    let rows: Vec<_> = waiting
        .iter()
        .map(|(c, number)| {
            json!({"id": c.id, "case_id": c.case_id, "case_number": number, "kind": c.kind, "note": c.note,
                   "amount": money(c.amount.minor, &c.amount.currency, language), "asked_by": names.agent(c.granted_by).name})
        })
        .collect();
    let title = state.i18n.t(language, "approvals-title");
    html(&state, "approvals.html", &with(agent.context(title, "approvals"), json!({"waiting": rows})))
}
