//! `/survey/{token}`: a survey's closed questions as a customer answers them, once, in their
//! language; no script, the same small layout as the other public pages.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opora_app::care::surveys::{Answered, SurveyPage};
use opora_domain::DomainError;
use opora_domain::agent::Language;
use serde_json::{Value, json};

use super::error_page;
use super::public::{LangQuery, chosen, not_found, over_limit, page};
use crate::AppState;
use crate::extract::ClientAddr;

const TEMPLATE: &str = "survey.html";

/// The questions, with what was chosen and which are still unanswered when the form came back.
fn form(found: &SurveyPage, token: &str, language: Language, chosen: &[Option<usize>], error: bool) -> Value {
    let questions: Vec<Value> = found
        .questions
        .iter()
        .enumerate()
        .map(|(index, question)| {
            let picked = chosen.get(index).copied().flatten().filter(|o| *o < question.options.len());
            json!({
                "text": question.text.get(language),
                "options": question.options.iter().map(|o| o.get(language)).collect::<Vec<_>>(),
                "chosen": picked,
                "missing": error && picked.is_none(),
            })
        })
        .collect();
    json!({"state": "form", "token": token, "title": found.title, "questions": questions, "error": error})
}

async fn found(state: &AppState, token: &str) -> Result<Option<SurveyPage>, Response> {
    state.app.surveys().page(token.to_owned()).await.map_err(|e| error_page(state, None, e.into()))
}

pub async fn survey_page(State(state): State<AppState>, Path(token): Path<String>, Query(query): Query<LangQuery>) -> Response {
    let found = match found(&state, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&state, &query, TEMPLATE),
        Err(response) => return response,
    };
    let language = chosen(&query, found.language);
    if found.answered {
        return page(&state, TEMPLATE, language, StatusCode::OK, json!({"state": "already"}));
    }
    page(&state, TEMPLATE, language, StatusCode::OK, form(&found, &token, language, &[], false))
}

/// Takes `q0`, `q1`… (the chosen option of each question); a question left out sends the form
/// back with the answers kept; a second answer changes nothing.
pub async fn survey_submit(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
    body: Bytes,
) -> Response {
    if let Some(turned_away) = over_limit(&state, peer, &query) {
        return turned_away;
    }
    let found = match found(&state, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&state, &query, TEMPLATE),
        Err(response) => return response,
    };
    let language = chosen(&query, found.language);
    let mut answers: Vec<Option<usize>> = vec![None; found.questions.len()];
    for (name, value) in form_urlencoded::parse(&body) {
        let question = name.strip_prefix('q').and_then(|q| q.parse::<usize>().ok());
        if let Some(slot) = question.and_then(|q| answers.get_mut(q)) {
            *slot = value.parse().ok();
        }
    }
    // The answers are checked once, by the survey itself; what it refuses comes back marked.
    match state.app.surveys().answer(token.clone(), answers.clone()).await {
        Ok(Answered::Recorded) => page(&state, TEMPLATE, language, StatusCode::OK, json!({"state": "thanks"})),
        Ok(Answered::AlreadyAnswered) => page(&state, TEMPLATE, language, StatusCode::OK, json!({"state": "already"})),
        Err(opora_app::Error::Domain(DomainError::Validation(_))) => {
            page(&state, TEMPLATE, language, StatusCode::UNPROCESSABLE_ENTITY, form(&found, &token, language, &answers, true))
        }
        Err(e) => error_page(&state, None, e.into()),
    }
}
