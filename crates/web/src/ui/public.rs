//! The pages a customer opens from a message, without signing in: `/rate/{token}` (a 1–5
//! rating with reasons and a comment, answered once) and `/track/{token}` (an order's stages).
//! The token in the address is the only key; the pages are small, need no script and speak the
//! customer's language unless `?lang=` asks for the other.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use opora_app::care::ratings::{Answer, Answered, RatingPage};
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
    if found.rating.score.is_some() {
        return page(&state, "rate.html", language, StatusCode::OK, json!({"state": "already"}));
    }
    page(&state, "rate.html", language, StatusCode::OK, rate_form(&found, &token, &Filled::default()))
}

/// What a customer filled in, shown again with the error that sent it back.
#[derive(Default)]
struct Filled<'a> {
    error: Option<&'a str>,
    score: Option<u8>,
    reasons: &'a [String],
    comment: &'a str,
}

fn rate_form(found: &RatingPage, token: &str, filled: &Filled<'_>) -> Value {
    json!({
        "state": "form", "token": token, "order": found.order, "performer": found.performer, "agent": found.agent,
        "case_number": found.case_number, "reasons": found.reasons, "chosen": filled.reasons, "comment": filled.comment,
        "error": filled.error, "score": filled.score,
    })
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
            "reasons" if reasons.len() < 20 && !reasons.iter().any(|r| *r == value) => reasons.push(value.into_owned()),
            "comment" => comment = value.chars().take(opora_domain::rating::COMMENT_MAX).collect(),
            "favourite" => favourite = value == "1",
            _ => {}
        }
    }
    let again = |error: &str, score: Option<u8>, reasons: &[String], comment: &str| {
        let filled = Filled { error: Some(error), score, reasons, comment };
        page(&state, "rate.html", language, StatusCode::UNPROCESSABLE_ENTITY, rate_form(&found, &token, &filled))
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
                "stage": name, "known": opora_domain::order::KNOWN_STAGES.contains(&name.as_str()), "current": *name == order.stage,
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

/// An extra service offered during an order: what, for how much, confirm or decline.
pub async fn extra_page(State(state): State<AppState>, Path(token): Path<String>, Query(query): Query<LangQuery>) -> Response {
    let found = match state.app.orders().extra_page(token.clone()).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&state, &query, "extra.html"),
        Err(e) => return error_page(&state, None, e.into()),
    };
    let language = chosen(&query, found.language);
    page(&state, "extra.html", language, StatusCode::OK, extra_context(&found.extra, &found.order.external_id, &token, language, None))
}

fn extra_context(extra: &opora_domain::order::Extra, order: &str, token: &str, language: Language, answered_now: Option<bool>) -> Value {
    let price = opora_domain::compensation::Money::text(extra.amount.minor, &extra.amount.currency, language);
    json!({"state": extra.status, "order": order, "token": token, "description": extra.description, "price": price, "answered_now": answered_now})
}

/// The customer's answer: `answer=confirm` or `answer=decline`; only the first counts.
pub async fn extra_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
    body: Bytes,
) -> Response {
    let found = match state.app.orders().extra_page(token.clone()).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&state, &query, "extra.html"),
        Err(e) => return error_page(&state, None, e.into()),
    };
    let language = chosen(&query, found.language);
    let answer = form_urlencoded::parse(&body).find(|(name, _)| name == "answer").map(|(_, value)| value.into_owned());
    let confirm = match answer.as_deref() {
        Some("confirm") => true,
        Some("decline") => false,
        _ => {
            let context = extra_context(&found.extra, &found.order.external_id, &token, language, None);
            return page(&state, "extra.html", language, StatusCode::UNPROCESSABLE_ENTITY, context);
        }
    };
    match state.app.orders().answer_extra(token.clone(), confirm).await {
        Ok(Some(answered)) => page(
            &state,
            "extra.html",
            language,
            StatusCode::OK,
            extra_context(&answered, &found.order.external_id, &token, language, Some(true)),
        ),
        Ok(None) => page(
            &state,
            "extra.html",
            language,
            StatusCode::OK,
            extra_context(&found.extra, &found.order.external_id, &token, language, None),
        ),
        Err(e) => error_page(&state, None, e.into()),
    }
}
