//! The pages a customer opens from a message, without signing in: `/rate/{token}` (a 1–5
//! rating with reasons and a comment, answered once), `/track/{token}` (an order's stages),
//! `/extra/{token}` and the director's form (`/survey/{token}` is in `survey`).
//! The token in the address is the only key; the pages are small, need no script and speak the
//! customer's language unless `?lang=` asks for the other.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use opora_app::care::director::Letter;
use opora_app::care::ratings::{Answer, Answered, RatingPage};
use opora_app::care::when::{customer_stamp, customer_time};
use opora_domain::Timestamp;
use opora_domain::agent::Language;
use opora_domain::customer::IdentityKind;
use opora_domain::error::Errors;
use opora_domain::rating::parse_score;
use opora_domain::validate::{EmailAddress, PhoneNumber, line};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{assets, error_page, html};
use crate::AppState;
use crate::extract::{ClientAddr, network};

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
    /// A score chosen by a link in the message ("did this help?"): the form opens with it.
    score: Option<String>,
}

pub(super) fn chosen(query: &LangQuery, customer: Language) -> Language {
    query.lang.as_deref().and_then(Language::parse).unwrap_or(customer)
}

pub(super) fn page(state: &AppState, template: &str, language: Language, status: StatusCode, extra: Value) -> Response {
    let other = if language == Language::Ru { Language::En } else { Language::Ru };
    let mut context = json!({"lang": language.as_str(), "other_lang": other.as_str(), "asset_version": assets::version()});
    if let (Some(context), Value::Object(extra)) = (context.as_object_mut(), extra) {
        context.extend(extra);
    }
    let mut response = html(state, template, &context);
    *response.status_mut() = status;
    response
}

pub(super) fn not_found(state: &AppState, query: &LangQuery, template: &str) -> Response {
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
    let chosen_score = query.score.as_deref().and_then(|s| parse_score(s).ok());
    page(&state, "rate.html", language, StatusCode::OK, rate_form(&found, &token, &Filled { score: chosen_score, ..Filled::default() }))
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
        "error": filled.error, "score": filled.score, "reply": found.rating.message_id.is_some(),
    })
}

/// Takes the form: a score 1–5, ticked reasons, a comment, the favourite box. A bad score shows
/// the form again with the error; a second answer changes nothing.
pub async fn rate_submit(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
    body: Bytes,
) -> Response {
    if let Some(turned_away) = over_limit(&state, peer, &query) {
        return turned_away;
    }
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
    let order_type = care.type_of(&order.order_type);
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
    page(&state, "extra.html", language, StatusCode::OK, extra_context(&found.extra, &found.order.external_id, &token, language))
}

fn extra_context(extra: &opora_domain::order::Extra, order: &str, token: &str, language: Language) -> Value {
    let price = opora_domain::compensation::Money::text(extra.amount.minor, &extra.amount.currency, language);
    json!({"state": extra.status, "order": order, "token": token, "description": extra.description, "price": price})
}

/// The customer's answer: `answer=confirm` or `answer=decline`; only the first counts.
pub async fn extra_submit(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
    body: Bytes,
) -> Response {
    if let Some(turned_away) = over_limit(&state, peer, &query) {
        return turned_away;
    }
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
            let context = extra_context(&found.extra, &found.order.external_id, &token, language);
            return page(&state, "extra.html", language, StatusCode::UNPROCESSABLE_ENTITY, context);
        }
    };
    match state.app.orders().answer_extra(token.clone(), confirm).await {
        Ok(Some(answered)) => {
            page(&state, "extra.html", language, StatusCode::OK, extra_context(&answered, &found.order.external_id, &token, language))
        }
        Ok(None) => {
            page(&state, "extra.html", language, StatusCode::OK, extra_context(&found.extra, &found.order.external_id, &token, language))
        }
        Err(e) => error_page(&state, None, e.into()),
    }
}

/// What the public pages' forms may take from one network: answers and letters a minute.
pub struct PublicLimits(DefaultKeyedRateLimiter<IpAddr>);

impl Default for PublicLimits {
    fn default() -> Self {
        let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
        Self(RateLimiter::keyed(Quota::per_minute(n(20)).allow_burst(n(10))))
    }
}

impl PublicLimits {
    pub fn forget_stale(&self) {
        self.0.retain_recent();
    }

    /// Whether one more form from this address may be taken now.
    fn allows(&self, peer: Option<std::net::SocketAddr>) -> bool {
        peer.is_none_or(|p| self.0.check_key(&network(p.ip())).is_ok())
    }
}

/// A form from a network over its limit, turned away before anything is read.
pub(super) fn over_limit(state: &AppState, peer: Option<std::net::SocketAddr>, query: &LangQuery) -> Option<Response> {
    (!state.public_limits.allows(peer)).then(|| too_many(state, chosen(query, state.config.default_language)))
}

fn too_many(state: &AppState, language: Language) -> Response {
    let mut response = page(state, "director.html", language, StatusCode::TOO_MANY_REQUESTS, json!({"state": "limited"}));
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
    response
}

/// "Write to the director": a letter to a named manager, with a way to answer.
pub async fn director_page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<LangQuery>) -> Response {
    let language = chosen(&query, super::login::visitor_language(&state, &headers));
    if !state.app.director().open() {
        return page(&state, "director.html", language, StatusCode::NOT_FOUND, json!({"state": "closed"}));
    }
    page(&state, "director.html", language, StatusCode::OK, json!({"state": "form", "name": "", "contact": "", "text": "", "errors": []}))
}

pub async fn director_submit(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    Query(query): Query<LangQuery>,
    body: Bytes,
) -> Response {
    let language = chosen(&query, super::login::visitor_language(&state, &headers));
    if !state.app.director().open() {
        return page(&state, "director.html", language, StatusCode::NOT_FOUND, json!({"state": "closed"}));
    }
    if !state.public_limits.allows(peer) {
        return too_many(&state, language);
    }
    let field = |name: &str| form_urlencoded::parse(&body).find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).unwrap_or_default();
    let (name, contact, text) = (field("name"), field("contact"), field("text"));
    let mut errors = Errors::default();
    let checked_name = errors.take(line("name", &name, 1, 200));
    let reach = if contact.contains('@') {
        errors.take(EmailAddress::parse("contact", &contact)).map(|e| (IdentityKind::Email, e.into_string()))
    } else {
        errors.take(PhoneNumber::parse("contact", &contact)).map(|p| (IdentityKind::Phone, p.as_str().to_owned()))
    };
    let letter = errors.take(opora_domain::validate::text("text", &text, 10, 5000));
    let (Some(name_ok), Some(reach), Some(letter)) = (checked_name, reach, letter) else {
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        let context = json!({"state": "form", "name": name, "contact": contact, "text": text, "errors": fields});
        return page(&state, "director.html", language, StatusCode::UNPROCESSABLE_ENTITY, context);
    };
    match state.app.director().write(Letter { name: name_ok, contact: reach, text: letter, language }).await {
        Ok(_) => page(&state, "director.html", language, StatusCode::OK, json!({"state": "sent"})),
        Err(e) => error_page(&state, None, e.into()),
    }
}
