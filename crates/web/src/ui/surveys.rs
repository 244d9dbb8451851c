//! `/surveys`: the surveys sent and their results as bars; supervisors send a new one (one
//! question here; the API takes up to ten).

use axum::extract::State;
use axum::response::Response;
use opora_domain::agent::Action;
use serde_json::{Value, json};

use super::{UiAgent, error_page, html, with};
use crate::AppState;

pub async fn page(State(state): State<AppState>, agent: UiAgent) -> Response {
    let language = agent.language();
    let listed = match state.app.surveys().list().await {
        Ok(listed) => listed,
        Err(e) => return error_page(&state, Some(&agent), e.into()),
    };
    let mut surveys: Vec<Value> = Vec::with_capacity(listed.len());
    for survey in listed.iter().take(20) {
        let results = match state.app.surveys().results(survey.id).await {
            Ok(results) => results,
            Err(e) => return error_page(&state, Some(&agent), e.into()),
        };
        let questions: Vec<Value> = results
            .survey
            .spec
            .questions
            .iter()
            .zip(&results.counts)
            .map(|(question, counts)| {
                let total: i64 = counts.iter().sum();
                let options: Vec<Value> = question
                    .options
                    .iter()
                    .zip(counts)
                    .map(|(option, count)| {
                        let share = if total > 0 { (count * 100 + total / 2) / total } else { 0 };
                        json!({"label": option.get(language), "count": count, "share": share})
                    })
                    .collect();
                json!({"text": question.text.get(language), "options": options})
            })
            .collect();
        surveys.push(json!({
            "id": survey.id, "title": survey.spec.title, "status": survey.status.as_str(), "invited": survey.invited,
            "answered": survey.answered, "audience": serde_json::to_value(&survey.spec.audience).unwrap_or_default(),
            "created_at": survey.created_at, "questions": questions,
        }));
    }
    let may_send = agent.caller.role.may(Action::RunSurveys);
    let title = state.i18n.t(language, "surveys-title");
    html(&state, "surveys.html", &with(agent.context(title, "surveys"), json!({"surveys": surveys, "may_send": may_send})))
}
