//! The pages a customer opens from a message, without signing in: `/rate/{token}` (a 1–5
//! rating with reasons and a comment, answered once) and `/track/{token}` (an order's stages).
//! The token in the address is the only key; the pages are small, need no script and speak the
//! customer's language unless `?lang=` asks for the other.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opora_app::care::ratings::{Answer, Answered};
use opora_app::care::when::{customer_stamp, customer_time};
use opora_domain::Timestamp;
use opora_domain::agent::Language;
use opora_domain::rating::parse_score;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{assets, error_page, html};
use crate::AppState;

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

fn chosen(query: &LangQuery, customer: Language) -> Language {
    query.lang.as_deref().and_then(Language::parse).unwrap_or(customer)
}

fn page(state: &AppState, template: &str, language: Language, status: StatusCode, extra: Value) -> Response {
    let other = if language == Language::Ru { Language::En } else { Language::Ru };
    let mut context = json!({"lang": language.as_str(), "other_lang": other.as_str(), "asset_version": assets::version()});
    if let (Some(context), Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    let mut response = html(state, template, &context);
    *response.status_mut() = status;
    response
}

fn not_found(state: &AppState, query: &LangQuery, template: &str) -> Response {
    let language = chosen(query, state.config.default_language);
    page(state, template, language, StatusCode::NOT_FOUND, json!({"state": "missing"}))
}

/// The rating form, or the thanks when it was answered.
pub async fn rate_page(State(state): State<AppState>, Path(token): Path<String>, Query(query): Query<LangQuery>) -> Response {
    let found = match state.app.ratings().page(token.clone()).await {
        Ok(found) => found,
        Err(e) => return error_page(&state, None, e.into()),
    };
    let Some(found) = found else { return not_found(&state, &query, "rate.html") };
    let language = chosen(&query, found.language);
    let status = if found.rating.score.is_some() { "already" } else { "form" };
    let context = json!({
        "state": status, "token": token, "order": found.order, "performer": found.performer, "agent": found.agent,
        "case_number": found.case_number, "reasons": found.reasons, "chosen": Vec::<String>::new(), "comment": "",
    });
    page(&state, "rate.html", language, StatusCode::OK, context)
}

/// Takes the form: a score 1–5, ticked reasons, a comment, the favourite box. A bad score shows
/// the form again with the error; a second answer changes nothing.
pub async fn rate_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
    body: Bytes,
) -> Response {
    let found = match state.app.ratings().page(token.clone()).await {
        Ok(found) => found,
        Err(e) => return error_page(&state, None, e.into()),
    };
    let Some(found) = found else { return not_found(&state, &query, "rate.html") };
    let language = chosen(&query, found.language);
    let (mut score, mut reasons, mut comment, mut favourite) = (String::new(), Vec::new(), String::new(), false);
    for (name, value) in form_urlencoded::parse(&body) {
        match name.as_ref() {
            "score" => score = value.into_owned(),
            "reasons" if reasons.len() < 20 => reasons.push(value.into_owned()),
            "comment" => comment = value.chars().take(opora_domain::rating::COMMENT_MAX).collect(),
            "favourite" => favourite = value == "1",
            _ => {}
        }
    }
    let again = |error: &str, score: Option<u8>, reasons: &[String], comment: &str| {
        let context = json!({
            "state": "form", "token": token, "order": found.order, "performer": found.performer, "agent": found.agent,
            "case_number": found.case_number, "reasons": found.reasons, "chosen": reasons, "comment": comment, "error": error, "score": score,
        });
        page(&state, "rate.html", language, StatusCode::UNPROCESSABLE_ENTITY, context)
    };
    if found.rating.score.is_some() {
        return page(&state, "rate.html", language, StatusCode::OK, json!({"state": "already"}));
    }
    let Ok(score) = parse_score(&score) else { return again("rate-error-score", None, &reasons, &comment) };
    if reasons.iter().any(|r| !found.reasons.contains(r)) {
        return again("rate-error-reasons", Some(score), &[], &comment);
    }
    let answer = Answer { score, reasons, comment, favourite };
    match state.app.ratings().answer(token, answer).await {
        Ok(Answered::Recorded { .. }) => {
            let low = opora_domain::rating::is_low(score);
            page(&state, "rate.html", language, StatusCode::OK, json!({"state": "thanks", "low": low}))
        }
        Ok(Answered::AlreadyAnswered) => page(&state, "rate.html", language, StatusCode::OK, json!({"state": "already"})),
        Err(e) => error_page(&state, None, e.into()),
    }
}

/// An order's page: its stages, when each was reached, what comes next.
pub async fn track_page(State(state): State<AppState>, Path(token): Path<String>, Query(query): Query<LangQuery>) -> Response {
    let order = match state.app.orders().track(token).await {
        Ok(Some(order)) => order,
        Ok(None) => return not_found(&state, &query, "track.html"),
        Err(e) => return error_page(&state, None, e.into()),
    };
    let care = &state.app.config().care;
    let customer = state.app.customers().get(order.customer_id).await.ok().and_then(|c| c.language);
    let language = chosen(&query, customer.unwrap_or(care.language));
    let order_type = care.order_types.get(&order.order_type).cloned().unwrap_or_default();
    let known = ["created", "accepted", "in_progress", "on_the_way", "completed", "cancelled"];
    let mut names: Vec<String> = order_type.stages.clone();
    if order.stage == opora_domain::order::CANCELLED {
        // A cancelled order shows what it reached, then the cancellation.
        names.retain(|s| order.stages.iter().any(|r| &r.stage == s));
        names.push(order.stage.clone());
    }
    let stages: Vec<Value> = names
        .iter()
        .map(|name| {
            let reached = order.stages.iter().find(|r| &r.stage == name);
            json!({
                "stage": name, "known": known.contains(&name.as_str()), "current": *name == order.stage,
                "at": reached.map(|r| customer_stamp(r.at, care.utc_offset_minutes, language)),
                "iso": reached.map(|r| r.at.to_rfc3339()),
            })
        })
        .collect();
    let eta = order
        .eta_at
        .filter(|_| !order_type.is_final(&order.stage))
        .map(|eta| customer_time(eta, Timestamp::now(), care.utc_offset_minutes, language));
    let view = json!({
        "external_id": order.external_id, "description": order.description, "eta": eta,
        "performer": order.performer.as_ref().map(|p| p.name.clone()), "tracking_url": order.tracking_url,
    });
    page(&state, "track.html", language, StatusCode::OK, json!({"order": view, "stages": stages}))
}
