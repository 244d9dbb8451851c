//! The agent workspace: server-rendered pages (minijinja templates from the binary, each
//! overridable), our own CSS and JavaScript, live updates over the event stream. Pages read
//! through the use-case layer; changes go through the JSON API, with the session cookie and CSRF token.

mod admin;
mod approvals;
mod assets;
mod case_page;
mod demo;
mod inbox;
mod kudos;
mod login;
mod profile;
pub(crate) mod public;
mod survey;
mod surveys;
mod timeline;

use axum::Router;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use opora_domain::agent::{Action, Language};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Via, from_session, session_cookie};
use crate::error::ApiError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox/mine") }))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/lang/{code}", post(login::choose_language))
        .route("/inbox/{view}", get(inbox::page))
        .route("/ui/counts", get(inbox::counts))
        .route("/cases/{id}", get(case_page::page))
        .route("/cases/{id}/live", get(case_page::live))
        .route("/admin", get(admin::first_section))
        .route("/admin/{section}", get(admin::page))
        .route("/me", get(profile::page))
        .route("/approvals", get(approvals::page))
        .route("/kudos", get(kudos::page))
        .route("/surveys", get(surveys::page))
        .route("/demo/site", get(demo::site))
        .route("/rate/{token}", get(public::rate_page).post(public::rate_submit))
        .route("/track/{token}", get(public::track_page))
        .route("/extra/{token}", get(public::extra_page).post(public::extra_submit))
        .route("/survey/{token}", get(survey::survey_page).post(survey::survey_submit))
        .route("/director", get(public::director_page).post(public::director_submit))
        .route("/static/{file}", get(assets::serve))
}

/// A signed-in agent on a UI page. Without a valid session the browser is sent to the sign-in
/// page, which brings it back afterwards.
pub struct UiAgent {
    pub caller: Caller,
    pub csrf: String,
    /// The newest event when the page was read: its live stream resumes from here, so nothing
    /// that happens between rendering and connecting is missed.
    pub live_after: i64,
}

impl FromRequestParts<AppState> for UiAgent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let back = OriginalUri::from_request_parts(parts, state).await.map(|u| u.0.to_string()).unwrap_or_else(|_| "/".into());
        let to_login = || {
            Redirect::to(&format!("/login?next={}", form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>())).into_response()
        };
        let Some(secret) = session_cookie(parts) else { return Err(to_login()) };
        match from_session(state, secret).await {
            Ok(caller) => {
                let csrf = match &caller.via {
                    Via::Session { csrf, .. } => csrf.clone(),
                    Via::Token(_) => String::new(),
                };
                let live_after = state.app.events().latest_id().await.map_err(|e| ApiError::from(e).into_response())?.0;
                Ok(UiAgent { caller, csrf, live_after })
            }
            Err(e) if e.code == "unauthenticated" => Err(to_login()),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl UiAgent {
    pub fn language(&self) -> Language {
        self.caller.agent.language
    }

    /// What every page's layout needs: who is signed in, their language and CSRF token.
    pub fn context(&self, title: String, section: &str) -> Value {
        let agent = &self.caller.agent;
        json!({
            "lang": self.language().as_str(),
            "title": title,
            "section": section,
            "csrf": self.csrf,
            "live_after": self.live_after,
            "asset_version": assets::version(),
            "me": {"id": agent.id, "name": agent.name, "email": agent.email, "role": self.caller.role.as_str(),
                   "can_work": self.caller.role.may(Action::WorkCases), "is_admin": self.caller.role.may(Action::ManageAgents),
                   "is_supervisor": self.caller.role.may(Action::TransferAnyCase)},
        })
    }
}

/// Merges page-specific values into the layout context.
pub fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}

/// No inline script or style, nothing from other sites: images from other sites (tracking
/// pixels in customers' mail) load only where an agent asked for them.
macro_rules! content_policy {
    ($images:literal) => {
        concat!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:",
            $images,
            "; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
    };
}
const CONTENT_POLICY: &str = content_policy!("");
const CONTENT_POLICY_WITH_IMAGES: &str = content_policy!(" https: http:");

/// Lets this page load images from other sites.
pub fn allow_remote_images(response: &mut Response) {
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_POLICY_WITH_IMAGES));
}

/// An HTML response with the headers every page carries: no inline script or style, no
/// framing, nothing cached.
pub fn html(state: &AppState, template: &str, context: &Value) -> Response {
    match state.templates.render(template, context) {
        Ok(body) => {
            let mut response = Html(body).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_POLICY));
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
            headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => error.into_response(),
    }
}

/// An error as a page in the agent's language, not JSON.
pub fn error_page(state: &AppState, agent: Option<&UiAgent>, error: ApiError) -> Response {
    let status = error.status();
    if let Some(cause) = &error.cause {
        tracing::error!(code = error.code, cause = %cause, "page failed");
    }
    let language = agent.map_or(state.config.default_language, UiAgent::language);
    let title = state.i18n.t(language, &format!("error-{}", error.code));
    let base =
        agent.map_or_else(|| json!({"lang": language.as_str(), "asset_version": assets::version()}), |a| a.context(title.clone(), ""));
    let mut response = html(state, "error.html", &with(base, json!({"title": title, "code": error.code, "status": status.as_u16()})));
    *response.status_mut() = if status == StatusCode::OK { StatusCode::INTERNAL_SERVER_ERROR } else { status };
    response
}
