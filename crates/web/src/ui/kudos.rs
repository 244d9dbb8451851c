//! `/kudos`: the team's wall of thanks — customers' 4s and 5s with a comment, for the agent or
//! the performer they thank — and how many customers answer a rating request at all.

use axum::extract::State;
use axum::response::Response;
use opora_domain::Timestamp;
use serde_json::json;

use super::{UiAgent, error_page, html, with};
use crate::AppState;

pub async fn page(State(state): State<AppState>, agent: UiAgent) -> Response {
    let since = Timestamp::now().plus_minutes(-30 * 24 * 60);
    let found = match (state.app.ratings().kudos(60).await, state.app.ratings().response(since).await) {
        (Ok(kudos), Ok(response)) => (kudos, response),
        (Err(e), _) | (_, Err(e)) => return error_page(&state, Some(&agent), e.into()),
    };
    let (kudos, (asked, answered)) = found;
    let rate = (asked > 0).then(|| (answered * 100 + asked / 2) / asked);
    let title = state.i18n.t(agent.language(), "kudos-title");
    html(
        &state,
        "kudos.html",
        &with(agent.context(title, "kudos"), json!({"kudos": kudos, "rate": rate, "asked": asked, "answered": answered})),
    )
}
