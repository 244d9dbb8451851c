//! Signing in and out of the workspace, and choosing the language before signing in.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use opora_app::staff::AgentChange;
use opora_domain::agent::Language;
use opora_domain::validate::EmailAddress;
use serde::Deserialize;
use serde_json::json;

use super::{UiAgent, assets, html};
use crate::AppState;
use crate::api::auth::sign_in;
use crate::auth::{SESSION_COOKIE, constant_time_eq, from_session, session_cookie};
use crate::extract::ClientAddr;
use crate::i18n::from_accept_language;

const LANGUAGE_COOKIE: &str = "opora_lang";

/// The language of a signed-out visitor: their choice, else their browser's, else the default.
pub(crate) fn visitor_language(state: &AppState, headers: &HeaderMap) -> Language {
    let chosen = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANGUAGE_COOKIE)
        .and_then(|(_, value)| Language::parse(value));
    let browser = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(from_accept_language);
    chosen.or(browser).unwrap_or(state.config.default_language)
}

/// Only paths on this site, decided on the address as a browser would read it: `//evil.example`,
/// `https://…`, `/\tab/host` (browsers drop the tab and see `//host`) or a line break would send
/// people elsewhere or break the answer. What passes is re-serialised, so it is a valid header.
fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/inbox/mine";
    let Some(path) = next.filter(|p| p.starts_with('/') && !p.chars().any(|c| c.is_control() || c == '\\')) else {
        return HOME.to_owned();
    };
    let Ok(base) = url::Url::parse("http://opora.invalid/") else { return HOME.to_owned() };
    match base.join(path) {
        // `/.//host` resolves to the path `//host`, which a browser reads as another site.
        Ok(url) if url.origin() == base.origin() && !url.path().starts_with("//") => match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        },
        _ => HOME.to_owned(),
    }
}

/// A form posted from another site is refused: the browser says where it came from.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let source = headers.get(header::ORIGIN).or_else(|| headers.get(header::REFERER)).and_then(|v| v.to_str().ok());
    match source {
        None | Some("null") => source.is_none(),
        Some(url) => url.split("://").nth(1).and_then(|rest| rest.split('/').next()) == Some(host),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn render_form(state: &AppState, language: Language, email: &str, next: &str, error: Option<(&str, String)>) -> Response {
    let title = state.i18n.t(language, "login-title");
    let (field, message) = error.unwrap_or_default();
    html(
        state,
        "login.html",
        &json!({"lang": language.as_str(), "title": title, "asset_version": assets::version(), "email": email, "next": next,
                "error_field": field, "error": message}),
    )
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<NextQuery>) -> Response {
    let next = safe_next(query.next.as_deref());
    if let Some(secret) = session_cookie_of(&headers)
        && from_session(&state, secret).await.is_ok()
    {
        return Redirect::to(&next).into_response();
    }
    render_form(&state, visitor_language(&state, &headers), "", &next, None)
}

fn session_cookie_of(headers: &HeaderMap) -> Option<String> {
    let (mut parts, _) = axum::http::Request::new(()).into_parts();
    parts.headers = headers.clone();
    session_cookie(&parts)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddr(peer): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let language = visitor_language(&state, &headers);
    let next = safe_next(form.next.as_deref());
    let email_text = form.email.clone().unwrap_or_default();
    let field_error = |field: &'static str, code: &str| Some((field, state.i18n.t(language, &format!("field-{code}"))));
    if !same_origin(&headers) {
        return render_form(&state, language, &email_text, &next, Some(("", state.i18n.t(language, "error-csrf_failed"))));
    }
    let email = match EmailAddress::parse("email", &email_text) {
        Ok(email) => email.into_string(),
        Err(e) => return render_form(&state, language, &email_text, &next, field_error("email", e.code)),
    };
    let password = form.password.unwrap_or_default();
    if password.is_empty() {
        return render_form(&state, language, &email_text, &next, field_error("password", "required"));
    }
    match sign_in(&state, peer.map(|p| p.ip()), email, password).await {
        Ok((_, _, secret)) => {
            let mut response = Redirect::to(&next).into_response();
            let secure = if state.config.secure_cookies { "; Secure" } else { "" };
            let cookie = format!(
                "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                state.config.session_ttl_ms / 1000
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(error) => {
            let mut response =
                render_form(&state, language, &email_text, &next, Some(("", state.i18n.t(language, &format!("error-{}", error.code)))));
            *response.status_mut() = error.status();
            response
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: Option<String>,
}

pub async fn logout(State(state): State<AppState>, agent: UiAgent, headers: HeaderMap, Form(form): Form<LogoutForm>) -> Response {
    let sent = form.csrf_token.unwrap_or_default();
    if !same_origin(&headers) || !constant_time_eq(sent.as_bytes(), agent.csrf.as_bytes()) {
        return super::error_page(&state, Some(&agent), crate::error::ApiError::new("csrf_failed"));
    }
    if let crate::auth::Via::Session { secret, .. } = agent.caller.via {
        if let Err(e) = state.app.auth().end_session(secret).await {
            tracing::warn!(error = %e, "could not end a session");
        }
        state.auth_cache.clear();
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, HeaderValue::from_static("opora_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    response
}

#[derive(Deserialize)]
pub struct LanguageForm {
    next: Option<String>,
    csrf_token: Option<String>,
}

/// Remembers a language choice (a form posted from this site: no link or image elsewhere can
/// change it); a signed-in agent's own setting changes too, with their CSRF token.
pub async fn choose_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Form(form): Form<LanguageForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let Some(language) = Language::parse(&code).filter(|_| same_origin(&headers)) else {
        return Redirect::to(&next).into_response();
    };
    if let Some(secret) = session_cookie_of(&headers)
        && let Ok(caller) = from_session(&state, secret).await
        && let crate::auth::Via::Session { csrf, .. } = &caller.via
        && constant_time_eq(form.csrf_token.unwrap_or_default().as_bytes(), csrf.as_bytes())
        && caller.agent.language != language
    {
        let id = caller.agent.id;
        let change = AgentChange { language: Some(language), ..Default::default() };
        if state.app.staff().update_agent(opora_domain::event::Actor::agent(id), id, change).await.is_ok() {
            state.auth_cache.clear();
        }
    }
    let mut response = Redirect::to(&next).into_response();
    let cookie = format!("{LANGUAGE_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", language.as_str());
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/cases/5")), "/cases/5");
        assert_eq!(safe_next(Some("/inbox/open?page=2")), "/inbox/open?page=2");
        for hostile in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "cases",
            "/\t/evil.example",
            "/\r\nSet-Cookie: x=1",
            "/\u{b}/evil.example",
            "/.//evil.example",
            "/..//evil.example",
            "/%2e//evil.example",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/inbox/mine", "{hostile}");
        }
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("help.example.ru"));
        assert!(same_origin(&headers), "no Origin header: a same-site form from an old browser");
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://help.example.ru"));
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&headers));
    }
}
