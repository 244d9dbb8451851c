//! The agent's own profile: name, language, e-mail signature, password.

use axum::extract::State;
use axum::response::Response;
use opora_domain::agent::Language;
use serde_json::json;

use super::{UiAgent, html, with};
use crate::AppState;
use crate::auth::MIN_PASSWORD_CHARS;

pub async fn page(State(state): State<AppState>, agent: UiAgent) -> Response {
    let title = state.i18n.t(agent.language(), "profile-title");
    let work = match state.app.staff().smooth_work(agent.caller.agent.id, 30).await {
        Ok(work) => crate::api::agents::smooth_view(30, &work),
        Err(e) => return super::error_page(&state, Some(&agent), e.into()),
    };
    html(
        &state,
        "profile.html",
        &with(
            agent.context(title, "profile"),
            json!({"languages": Language::ALL, "min_password": MIN_PASSWORD_CHARS, "signature": agent.caller.agent.signature, "work": work}),
        ),
    )
}
